//! The broker process of the throughput benchmarks: the bench binary re-executes itself with a
//! role variable set, the child runs a mock cluster and prints its bootstrap address, and the
//! parent measures only its own CPU. The child stops when its stdin closes.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use krafka_mock::MockCluster;

/// User + system CPU time of this process so far, in seconds (from `/proc/self/stat`).
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks; 100 per second on Linux.
    Some((user + system) / 100.0)
}

/// A broker child process.
#[derive(Debug)]
pub struct BrokerProcess {
    child: Child,
    /// Its bootstrap address.
    pub bootstrap: String,
}

impl BrokerProcess {
    /// Re-executes this binary with `role` set in its environment and these `args`, and waits
    /// for the address it prints (see [`serve_until_stdin_closes`]).
    pub fn spawn(role: &str, args: &[String]) -> std::io::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(args)
            .env(role, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("the broker has no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let bootstrap = line
            .trim()
            .strip_prefix("bootstrap=")
            .ok_or_else(|| std::io::Error::other(format!("the broker said {line:?}")))?
            .to_owned();
        Ok(Self { child, bootstrap })
    }

    /// Closes the broker's stdin and waits for it to exit.
    pub fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// In the broker child: tells the parent `cluster`'s address, serves until stdin closes, then
/// shuts the cluster down.
pub async fn serve_until_stdin_closes(cluster: MockCluster) -> std::io::Result<()> {
    let mut out = std::io::stdout();
    writeln!(out, "bootstrap={}", cluster.bootstrap())?;
    out.flush()?;
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await
    .map_err(std::io::Error::other)?;
    cluster.shutdown().await;
    Ok(())
}
