//! `cargo xtask`: Krafka's developer tasks.
//!
//! - `codegen [--check] [--schemas DIR]`: generate the protocol codecs from Kafka's schemas.
//! - `cycles`: fail when two modules of a crate import each other (directly or through
//!   others).
//! - `test`: run every test the project has (what `.ci/run` and the README call).
//! - `fuzz [--seconds N] [TARGET…]`: run the cargo-fuzz targets under `fuzz/`.
//! - `msrv`: check the library crates and the CLI with the declared `rust-version`.
//! - `broker start|stop|status [--compose]`: the real broker for tests (tansu, or Kafka).
//! - `interop`: confluent-kafka (librdkafka) against the mock process and the real broker.
//! - `bench peers [--quick] [--rounds N] [--clients LIST] [--write]`: Krafka beside rdkafka
//!   and krafka 0.28.1 against the same broker (`bench peers consume …` the consumers,
//!   `bench peers tls …` the producers over TLS); `bench smoke` checks that harness quickly.

mod bench;
mod bench_consume;
mod bench_harness;
mod bench_tls;
mod broker;
mod codegen;
mod command;
mod cycles;
mod fuzz;
mod interop;
mod msrv;
mod test;
mod tls_front;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => codegen::run(&root, &args[1..]),
        Some("cycles") => cycles::run(&root, &args[1..]),
        Some("test") => test::run(&root, &args[1..]),
        Some("fuzz") => fuzz::run(&root, &args[1..]),
        Some("msrv") => msrv::run(&root, &args[1..]),
        Some("broker") => broker::run(&root, &args[1..]),
        Some("interop") => interop::run(&root, &args[1..]),
        Some("bench")
            if args.get(1).is_some_and(|a| a == "peers")
                && args.get(2).is_some_and(|a| a == "consume") =>
        {
            bench_consume::run(&root, &args[3..])
        }
        Some("bench")
            if args.get(1).is_some_and(|a| a == "peers")
                && args.get(2).is_some_and(|a| a == "tls") =>
        {
            bench_tls::run(&root, &args[3..])
        }
        Some("bench") => bench::run(&root, &args[1..]),
        _ => Err(String::from(
            "usage: cargo xtask <codegen [--check] [--schemas DIR] | cycles | test | fuzz [--seconds N] [TARGET...] | msrv | broker start|stop|status [--compose] | interop | bench peers [--quick] [--rounds N] [--clients LIST] [--write] | bench smoke>",
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("xtask: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
