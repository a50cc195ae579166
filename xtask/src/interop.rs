//! `cargo xtask interop`: the interop check with a client nobody here wrote. A Python venv in
//! the cache gets `confluent-kafka` from PyPI (it bundles librdkafka 2.x), and
//! `xtask/interop/interop.py` runs against the krafka-mock process (3 brokers; no duplicate
//! deliveries allowed) and against the real broker (`cargo xtask broker`; duplicates tolerated,
//! since tansu's high watermark makes a consumer re-read). The mock runs again over SSL and over
//! SASL_SSL with each SASL mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER with
//! librdkafka's unsecured tokens), which proves the mock's server side is what an OpenSSL
//! client expects.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::command::run_command;

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
    run_against_mock(root, &binary, &python, &script, &["--brokers", "3"], &[])?;

    let tls_dir = root.join("target").join("interop-tls");
    let tls_dir_text = tls_dir.to_string_lossy().into_owned();
    let ca = tls_dir.join("ca.pem").to_string_lossy().into_owned();
    let ssl = ["--tls-dir", tls_dir_text.as_str(), "--brokers", "2"];
    let ca_setting = format!("ssl.ca.location={ca}");
    run_against_mock(
        root,
        &binary,
        &python,
        &script,
        &ssl,
        &["--quick", "-X", "security.protocol=SSL", "-X", &ca_setting],
    )?;
    let sasl_ssl = [ssl.as_slice(), &["--user", "alice:alice-secret"]].concat();
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] {
        let mechanism_setting = format!("sasl.mechanisms={mechanism}");
        let mut client = vec![
            "--quick",
            "-X",
            "security.protocol=SASL_SSL",
            "-X",
            &ca_setting,
            "-X",
            &mechanism_setting,
        ];
        if mechanism == "OAUTHBEARER" {
            client.extend([
                "-X",
                "enable.sasl.oauthbearer.unsecure.jwt=true",
                "-X",
                "sasl.oauthbearer.config=principal=alice",
            ]);
        } else {
            client.extend([
                "-X",
                "sasl.username=alice",
                "-X",
                "sasl.password=alice-secret",
            ]);
        }
        run_against_mock(root, &binary, &python, &script, &sasl_ssl, &client)?;
    }

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

/// Starts the krafka-mock process with `mock_args`, runs the script against it with
/// `client_args`, and stops it.
fn run_against_mock(
    root: &Path,
    binary: &Path,
    python: &str,
    script: &str,
    mock_args: &[&str],
    client_args: &[&str],
) -> Result<(), String> {
    let mut mock = Command::new(binary)
        .args(mock_args)
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
        Some(bootstrap) => {
            let args = [&[script, bootstrap][..], client_args].concat();
            run_command(root, python, &args)
        }
        None => Err(format!(
            "krafka-mock did not print its bootstrap (got '{first}')"
        )),
    };
    let _ = mock.kill();
    let _ = mock.wait();
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
