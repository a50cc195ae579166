//! The smoke suite of `tests/support` against a real broker: tansu, or whatever
//! `KRAFKA_BOOTSTRAP` names. `cargo xtask test` starts the broker and runs this target; plain
//! `cargo test` skips it (it is `test = false` in Cargo.toml) because it needs that broker.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[tokio::test]
async fn the_smoke_suite_against_a_real_broker() {
    let bootstrap = std::env::var("KRAFKA_BOOTSTRAP")
        .expect("KRAFKA_BOOTSTRAP must name a broker; run this through `cargo xtask test`");
    let first = bootstrap.split(',').next().unwrap();
    let addr = tokio::net::lookup_host(first)
        .await
        .unwrap()
        .next()
        .unwrap();
    let topic = format!("krafka-smoke-{}", std::process::id());
    support::smoke(addr, &topic).await;
}
