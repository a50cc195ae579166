//! `krafka perf` against a real broker: tansu, or whatever `KRAFKA_BOOTSTRAP` names. `cargo
//! xtask test` starts the broker and runs this target; plain `cargo test` skips it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn perf_runs_against_a_real_broker() {
    let bootstrap = std::env::var("KRAFKA_BOOTSTRAP")
        .expect("KRAFKA_BOOTSTRAP must name a broker; run this through `cargo xtask test`");
    // A short fetch wait: tansu sleeps through part of a long one even with data ready.
    let out = Command::new(env!("CARGO_BIN_EXE_krafka"))
        .args(["perf", "--bootstrap", &bootstrap, "--records", "5000"])
        .args(["--partitions", "3", "--fetch-wait-ms", "10"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("cluster: {bootstrap}")),
        "{stdout}"
    );
    assert!(stdout.contains("produce: 5,000 records in"), "{stdout}");
    assert!(stdout.contains("consume: 5,000 records in"), "{stdout}");
    assert!(stdout.contains("end-to-end latency: p50 "), "{stdout}");
}
