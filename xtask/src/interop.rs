//! `cargo xtask interop`: the interop check with a client nobody here wrote. A Python venv in
//! the cache gets `confluent-kafka` from PyPI (it bundles librdkafka 2.x), and
//! `xtask/interop/interop.py` runs against the krafka-mock process (3 brokers; no duplicate
//! deliveries allowed) and against the real broker (`cargo xtask broker`; duplicates tolerated,
//! since tansu's high watermark makes a consumer re-read).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::run_command;

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("interop: unknown argument '{a}'"));
    }
    let python = venv(root)?;
    let script = root.join("xtask").join("interop").join("interop.py");
    let script = script.to_string_lossy().into_owned();

    run_command(
        root,
        "cargo",
        &["build", "-q", "-p", "krafka-mock", "--bin", "krafka-mock"],
    )?;
    let binary = root.join("target").join("debug").join("krafka-mock");
    let mut mock = Command::new(&binary)
        .args(["--brokers", "3"])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let first = mock
        .stdout
        .take()
        .and_then(|out| BufReader::new(out).lines().next())
        .and_then(Result::ok)
        .unwrap_or_default();
    let result = match first.strip_prefix("bootstrap=") {
        Some(bootstrap) => run_command(root, &python, &[&script, bootstrap]),
        None => Err(format!(
            "krafka-mock did not print its bootstrap (got '{first}')"
        )),
    };
    let _ = mock.kill();
    let _ = mock.wait();
    result?;

    let external = std::env::var_os("KRAFKA_BOOTSTRAP").is_some();
    let bootstrap = crate::broker::start(root, false)?;
    let result = run_command(
        root,
        &python,
        &[&script, &bootstrap, "--tolerate-duplicates"],
    );
    if !external {
        crate::broker::stop(root, false)?;
    }
    result
}

/// The venv's python, creating the venv and installing confluent-kafka on first use.
fn venv(root: &Path) -> Result<String, String> {
    let dir = crate::broker::cache_dir().join("venv");
    let python: PathBuf = dir.join("bin").join("python");
    let installed = python.exists()
        && Command::new(&python)
            .args(["-c", "import confluent_kafka"])
            .status()
            .is_ok_and(|s| s.success());
    if !installed {
        let dir_text = dir.to_string_lossy().into_owned();
        run_command(root, "python3", &["-m", "venv", &dir_text])?;
        let python_text = python.to_string_lossy().into_owned();
        run_command(
            root,
            &python_text,
            &["-m", "pip", "install", "--quiet", "confluent-kafka"],
        )?;
    }
    Ok(python.to_string_lossy().into_owned())
}
