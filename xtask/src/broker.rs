//! `cargo xtask broker start|stop|status [--compose]`: the real broker the tests run against.
//!
//! By default that is tansu 0.6.0, a Kafka-compatible broker from crates.io, installed once into
//! a cache (`$KRAFKA_CACHE`, else `~/.cache/krafka`) and started on a free 127.0.0.1 port with
//! in-memory storage. `--compose` starts Apache Kafka from `docker-compose.yml` instead, where a
//! Docker engine exists. `KRAFKA_BOOTSTRAP`, when set, names an external cluster and nothing is
//! started. The running broker's pid and address live in `target/krafka-broker/`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::command::run_command;

const TANSU_VERSION: &str = "0.6.0";

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let compose = args.iter().any(|a| a == "--compose");
    match args.first().map(String::as_str) {
        Some("start") => {
            let bootstrap = start(root, compose)?;
            say(&bootstrap);
            Ok(())
        }
        Some("stop") => stop(root, compose),
        Some("status") => {
            match running(root) {
                Some((pid, addr)) => say(&format!("running: pid {pid}, bootstrap {addr}")),
                None => say("not running"),
            }
            Ok(())
        }
        _ => Err("usage: cargo xtask broker <start|stop|status> [--compose]".into()),
    }
}

#[allow(clippy::print_stdout)]
fn say(line: &str) {
    println!("{line}");
}

fn state_dir(root: &Path) -> PathBuf {
    root.join("target").join("krafka-broker")
}

pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KRAFKA_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("krafka")
}

/// The tansu binary, installed into the cache on first use (about 9 minutes on 2 cores).
pub fn tansu_binary(root: &Path) -> Result<PathBuf, String> {
    let install_root = cache_dir().join(format!("tansu-{TANSU_VERSION}"));
    let binary = install_root.join("bin").join("tansu");
    if binary.exists() {
        return Ok(binary);
    }
    let install_root_text = install_root.to_string_lossy().into_owned();
    run_command(
        root,
        "cargo",
        &[
            "install",
            "tansu",
            "--locked",
            "--version",
            TANSU_VERSION,
            "--features",
            "dynostore",
            "--root",
            &install_root_text,
        ],
    )?;
    if binary.exists() {
        Ok(binary)
    } else {
        Err(format!("{} was not installed", binary.display()))
    }
}

/// Starts the broker (or finds the running or external one) and returns its bootstrap address.
pub fn start(root: &Path, compose: bool) -> Result<String, String> {
    if let Ok(external) = std::env::var("KRAFKA_BOOTSTRAP") {
        return Ok(external);
    }
    if compose {
        run_command(root, "docker", &["compose", "up", "-d", "--wait"])?;
        return Ok("127.0.0.1:9092".into());
    }
    if let Some((_, addr)) = running(root) {
        return Ok(addr);
    }
    let dir = state_dir(root);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (child, addr) = spawn_tansu(root, &dir.join("tansu.log"))?;
    std::fs::write(dir.join("pid"), child.id().to_string()).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("bootstrap"), &addr).map_err(|e| e.to_string())?;
    Ok(addr)
}

/// Starts a tansu of its own on a free port, logging to `log`; returns the process and its
/// address once it listens. [`start`] keeps one running for the tests; the benchmarks start a
/// fresh one per measurement (a long-lived tansu slows down as topics pile up).
pub fn spawn_tansu(root: &Path, log: &Path) -> Result<(std::process::Child, String), String> {
    spawn(root, log, None)
}

/// Like [`spawn_tansu`], advertising `advertised` (`host:port`, a TLS front's) instead of the
/// port it listens on.
pub fn spawn_tansu_advertising(
    root: &Path,
    log: &Path,
    advertised: &str,
) -> Result<(std::process::Child, String), String> {
    spawn(root, log, Some(advertised))
}

fn spawn(
    root: &Path,
    log: &Path,
    advertised: Option<&str>,
) -> Result<(std::process::Child, String), String> {
    let binary = tansu_binary(root)?;
    let port = free_port()?;
    let url = format!("tcp://127.0.0.1:{port}");
    let advertised_url = advertised.map_or_else(|| url.clone(), |a| format!("tcp://{a}"));
    let log = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let mut child = Command::new(&binary)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &advertised_url,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let addr = format!("127.0.0.1:{port}");
    if let Err(e) = wait_until_listening(&addr, Duration::from_secs(60)) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok((child, addr))
}

/// Stops the broker this harness started (nothing for an external one).
pub fn stop(root: &Path, compose: bool) -> Result<(), String> {
    if compose {
        return run_command(root, "docker", &["compose", "down"]);
    }
    let dir = state_dir(root);
    if let Ok(pid) = std::fs::read_to_string(dir.join("pid")) {
        let _ = Command::new("kill").arg(pid.trim()).status();
    }
    let _ = std::fs::remove_file(dir.join("pid"));
    let _ = std::fs::remove_file(dir.join("bootstrap"));
    Ok(())
}

/// The pid and address of a broker this harness started that still accepts connections.
fn running(root: &Path) -> Option<(String, String)> {
    let dir = state_dir(root);
    let pid = std::fs::read_to_string(dir.join("pid"))
        .ok()?
        .trim()
        .to_string();
    let addr = std::fs::read_to_string(dir.join("bootstrap"))
        .ok()?
        .trim()
        .to_string();
    let alive = Command::new("kill")
        .args(["-0", &pid])
        .status()
        .is_ok_and(|s| s.success());
    let socket: SocketAddr = addr.parse().ok()?;
    let listening = TcpStream::connect_timeout(&socket, Duration::from_secs(1)).is_ok();
    (alive && listening).then_some((pid, addr))
}

pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Waits for the broker process to accept connections. A bounded wait for another process to
/// come up is the one place a retry loop is the right tool.
pub fn wait_until_listening(addr: &str, limit: Duration) -> Result<(), String> {
    let socket: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let started = Instant::now();
    while started.elapsed() < limit {
        if TcpStream::connect_timeout(&socket, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "the broker did not listen on {addr} within {limit:?}"
    ))
}
