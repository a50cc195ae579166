//! `krafka perf` against a cluster given with `--bootstrap`, a two-backend scenario: a
//! krafka-mock started by the test by default, the real broker that `KRAFKA_BOOTSTRAP` names
//! under `cargo xtask test`.

use std::process::Command;

use krafka_mock::ScenarioCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perf_runs_against_a_given_cluster() {
    let cluster = ScenarioCluster::start().await.unwrap();
    let bootstrap = cluster.bootstrap().to_owned();
    // A short fetch wait: tansu sleeps through part of a long one even with data ready.
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_krafka"))
            .args(["perf", "--bootstrap", &bootstrap, "--records", "5000"])
            .args(["--partitions", "3", "--fetch-wait-ms", "10"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}\n{stdout}\n{stderr}",
        cluster.describe()
    );
    assert!(
        stdout.contains(&format!("cluster: {}", cluster.bootstrap())),
        "{stdout}"
    );
    assert!(stdout.contains("produce: 5,000 records in"), "{stdout}");
    assert!(stdout.contains("consume: 5,000 records in"), "{stdout}");
    assert!(stdout.contains("end-to-end latency: p50 "), "{stdout}");
    cluster.shutdown().await;
}
