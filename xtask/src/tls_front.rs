//! tansu behind TLS: Debian's `stunnel4` (OpenSSL) terminates TLS in front of a tansu of its
//! own, so Krafka's TLS client is tested against a server nobody here wrote. tansu 0.6.0's own
//! `--cert`/`--key` flags conflict in its command line, hence stunnel.
//!
//! tansu listens on a plaintext port and advertises the TLS port, so clients that follow the
//! metadata come back through stunnel. The certificates are the run-time test PKI
//! (krafka-mock's `TestPki`), written under `target/krafka-tls-front/`. stunnel4 is installed
//! with apt-get when missing (it is a Debian package; `apt-get update` first).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::command::run_command;

/// A TLS front and the tansu behind it; both are stopped when this is dropped.
pub struct TlsFront {
    /// The TLS address clients bootstrap from.
    pub bootstrap: String,
    /// The CA certificate clients trust.
    pub ca: PathBuf,
    children: Vec<Child>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The stunnel binary, installing Debian's stunnel4 if there is none.
pub fn stunnel() -> Result<String, String> {
    for name in ["stunnel4", "stunnel"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if found {
            return Ok(name.to_owned());
        }
    }
    let root = Path::new("/");
    run_command(root, "apt-get", &["update", "-qq"])?;
    run_command(root, "apt-get", &["install", "-y", "-qq", "stunnel4"])?;
    Ok("stunnel4".to_owned())
}

/// Starts tansu and stunnel in front of it.
pub fn start(root: &Path) -> Result<TlsFront, String> {
    let stunnel = stunnel()?;
    let dir = root.join("target").join("krafka-tls-front");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let pki = krafka_mock::TestPki::generate().map_err(|e| e.to_string())?;
    pki.write(&dir).map_err(|e| e.to_string())?;
    let tls_port = crate::broker::free_port()?;
    let (tansu, plain) = crate::broker::spawn_tansu_advertising(
        root,
        &dir.join("tansu.log"),
        &format!("127.0.0.1:{tls_port}"),
    )?;
    let mut front = TlsFront {
        bootstrap: format!("127.0.0.1:{tls_port}"),
        ca: dir.join("ca.pem"),
        children: vec![tansu],
    };
    let config = dir.join("stunnel.conf");
    std::fs::write(
        &config,
        format!(
            "foreground = yes\npid =\noutput = {log}\ndebug = 4\n\n[kafka]\naccept = 127.0.0.1:{tls_port}\nconnect = {plain}\ncert = {cert}\nkey = {key}\n",
            log = dir.join("stunnel.log").display(),
            cert = dir.join("server.pem").display(),
            key = dir.join("server.key").display(),
        ),
    )
    .map_err(|e| e.to_string())?;
    let child = Command::new(&stunnel)
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {stunnel}: {e}"))?;
    front.children.push(child);
    crate::broker::wait_until_listening(&front.bootstrap, Duration::from_secs(30))?;
    Ok(front)
}
