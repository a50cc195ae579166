//! The smoke suite of `support`, a two-backend scenario: on a fresh krafka-mock by default, on
//! the real broker that `KRAFKA_BOOTSTRAP` names under `cargo xtask test`, so the mock is held
//! to what the real broker answers.

use krafka_mock::ScenarioCluster;

use crate::support;

#[tokio::test]
async fn the_smoke_suite() {
    let cluster = ScenarioCluster::start().await.unwrap();
    let addr = cluster.first_addr().await.unwrap();
    support::smoke(addr, &ScenarioCluster::unique_topic("krafka-smoke")).await;
    cluster.shutdown().await;
}
