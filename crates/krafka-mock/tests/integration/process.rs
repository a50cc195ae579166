//! The standalone `krafka-mock` process: it prints its bootstrap address and serves the same
//! smoke suite as the in-process cluster.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn the_binary_serves_on_the_port_it_prints() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_krafka-mock"))
        .args(["--brokers", "2", "--topic", "preset:4"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let bootstrap = first
        .strip_prefix("bootstrap=")
        .expect("first line names the bootstrap");
    let addrs: Vec<std::net::SocketAddr> =
        bootstrap.split(',').map(|a| a.parse().unwrap()).collect();
    assert_eq!(addrs.len(), 2);
    support::smoke(addrs[0], "from-another-process").await;
    child.kill().await.unwrap();
}

#[tokio::test]
async fn bad_arguments_are_one_line_errors() {
    let output = Command::new(env!("CARGO_BIN_EXE_krafka-mock"))
        .args(["--topic", "no-partition-count"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("NAME:PARTITIONS"));
}
