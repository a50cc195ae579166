//! `cargo xtask bench peers [--quick] [--rounds N] [--clients LIST] [--write]`: Krafka side by
//! side with rdkafka 0.39 (librdkafka) and krafka 0.28.1 against the same broker.
//!
//! The clients live in `benches/peers`, a crate outside the workspace (rdkafka compiles
//! librdkafka from C, which the default build should not pay for), built into
//! `target/peers`. The broker is the `krafka-mock` binary, a separate process, started fresh for
//! every run so each client meets the same empty log. Each client runs in its own process, so
//! its CPU time and peak RSS are its own. The order of the clients rotates every round and the
//! table reports medians, because on this shared 2-core machine run-to-run spread reaches ±25%.
//!
//! `cargo xtask bench peers consume …` compares the consumers (see `bench_consume`);
//! `cargo xtask bench peers tls …` the producers over TLS against plaintext (see `bench_tls`).
//!
//! `cargo xtask bench smoke` is the quick check `cargo xtask test` runs (see [`smoke`]).
//!
//! `--write` puts the table into `docs/performance.md` between the `peers:produce` markers.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::bench_harness::{
    Broker, Options, Profile, Row, Sample, Workload, build, comparison_table, options,
    parse_result, row, say, write_between,
};

/// Krafka first: the table's ratios compare every peer with it.
pub(crate) const CLIENTS: [&str; 4] = ["krafka", "rdkafka", "rdkafka-threaded", "krafka-0.28"];

const BEGIN: &str = "<!-- peers:produce:begin (written by `cargo xtask bench peers --write`) -->";

const END: &str = "<!-- peers:produce:end -->";

const TANSU_BEGIN: &str = "<!-- peers:produce-tansu:begin (written by `cargo xtask bench peers --broker tansu --write`) -->";

const TANSU_END: &str = "<!-- peers:produce-tansu:end -->";

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("peers") => peers(root, &args[1..]),
        Some("smoke") if args.len() == 1 => smoke(root).map(|_| ()),
        _ => Err("usage: cargo xtask bench <peers [--quick] [--rounds N] [--clients krafka,rdkafka,rdkafka-threaded,krafka-0.28] [--write] | peers consume [--broker mock|tansu|both] [--quick] [--rounds N] [--clients krafka,rdkafka,krafka-0.28] [--write] | peers tls [--broker mock|tansu|both] [--quick] [--rounds N] [--clients LIST] [--write] | smoke>".into()),
    }
}

fn peers(root: &Path, args: &[String]) -> Result<(), String> {
    let (brokers, rest) = crate::bench_harness::broker_option(args, vec![Broker::Mock])?;
    let options = options(&rest, &CLIENTS)?;
    let scale = if options.quick { 5 } else { 1 };
    let workloads = produce_workloads(scale);

    let (mock, client) = build(root, Profile::Release)?;

    for broker in brokers {
        let mut rows = Vec::new();
        for w in &workloads {
            let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); options.clients.len()];
            for round in 0..options.rounds {
                for k in 0..options.clients.len() {
                    // Rotate who goes first, so no client always meets a warm (or hot) machine.
                    let i = (k + round) % options.clients.len();
                    let name = &options.clients[i];
                    let sample = run_once(root, broker, &mock, &client, name, w, false)?;
                    say(&format!(
                        "{name:12} {} {} × {} B, {} partition(s), round {}: {:.0} records/s, {:.2} CPU-s",
                        broker.name(),
                        w.records,
                        w.size,
                        w.partitions,
                        round + 1,
                        w.records as f64 / sample.seconds,
                        sample.cpu_seconds
                    ));
                    samples[i].push(sample);
                }
            }
            rows.push(row(w, &samples));
        }
        let table = table(broker, &options, &rows);
        say(&table);
        if options.write {
            write_docs(root, broker, &table)?;
            say("wrote the table into docs/performance.md");
        }
    }
    Ok(())
}

/// The produce workloads, `scale` times smaller with `--quick`: 100 B to 8 and 1 partitions,
/// then 1000 B to 8 and 1.
pub(crate) fn produce_workloads(scale: usize) -> [Workload; 4] {
    [
        Workload {
            topic: "p8",
            partitions: 8,
            size: 100,
            records: 1_000_000 / scale,
        },
        Workload {
            topic: "p1",
            partitions: 1,
            size: 100,
            records: 1_000_000 / scale,
        },
        Workload {
            topic: "p8",
            partitions: 8,
            size: 1000,
            records: 200_000 / scale,
        },
        Workload {
            topic: "p1",
            partitions: 1,
            size: 1000,
            records: 200_000 / scale,
        },
    ]
}

/// The check `cargo xtask test` runs: every peer client, built quickly, sends 2,000 records to
/// 8 partitions of a fresh mock, in plaintext and over TLS, and must see each acknowledged, and
/// every peer consumer reads 2,000 records back. It keeps the harness (and the peers' pinned
/// versions) building and honest between measurements; returns the number of client runs
/// checked.
pub fn smoke(root: &Path) -> Result<u64, String> {
    let (mock, client) = build(root, Profile::Dev)?;
    let w = Workload {
        topic: "p8",
        partitions: 8,
        size: 100,
        records: 2000,
    };
    for name in CLIENTS {
        run_once(root, Broker::Mock, &mock, &client, name, &w, false)?;
        say(&format!(
            "bench peers smoke: {name} delivered {} records",
            w.records
        ));
    }
    // The TLS comparison's path: every client over TLS to the mock.
    for name in CLIENTS {
        run_once(root, Broker::Mock, &mock, &client, name, &w, true)?;
        say(&format!(
            "bench peers smoke: {name} delivered {} records over TLS",
            w.records
        ));
    }
    let consumers = crate::bench_consume::smoke(root, &mock, &client)?;
    Ok((2 * CLIENTS.len() + consumers) as u64)
}

/// One client run against a fresh broker (the mock process, or a tansu of its own), over TLS
/// when `tls` is set.
pub(crate) fn run_once(
    root: &Path,
    broker: Broker,
    mock: &Path,
    client: &Path,
    name: &str,
    w: &Workload,
    tls: bool,
) -> Result<Sample, String> {
    let started =
        crate::bench_harness::start(root, broker, mock, client, &[(w.topic, w.partitions)], tls)?;
    let output = Command::new(client)
        .args(started.client_options())
        .args([
            "produce",
            name,
            &started.bootstrap,
            w.topic,
            &w.records.to_string(),
            &w.size.to_string(),
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", client.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("{name} failed ({}): {stdout}", output.status));
    }
    parse_result(&stdout, w.records).map_err(|e| format!("{name}: {e}"))
}

/// The produce table.
fn table(broker: Broker, options: &Options, rows: &[Row]) -> String {
    let what = match broker {
        Broker::Mock => "mock broker in its own process".to_owned(),
        Broker::Tansu => "tansu 0.6.0 (memory storage) in its own process".to_owned(),
    };
    comparison_table(
        &format!(
            "Produce, acks=all, idempotent, linger 5 ms, batch 16 KiB, keyed, every delivery \
             awaited; {what}"
        ),
        options,
        rows,
    )
}

fn write_docs(root: &Path, broker: Broker, table: &str) -> Result<(), String> {
    match broker {
        Broker::Mock => write_between(root, BEGIN, END, table),
        Broker::Tansu => write_between(root, TANSU_BEGIN, TANSU_END, table),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench_harness::{Broker, median, replace_between};

    #[test]
    fn result_line_is_parsed_and_short_deliveries_refused() {
        let out = "noise\nresult records=1000 seconds=0.5000 cpu_seconds=0.2500 max_rss_kib=4096\n";
        let sample = parse_result(out, 1000).unwrap();
        assert_eq!(
            sample,
            Sample {
                seconds: 0.5,
                cpu_seconds: 0.25,
                max_rss_kib: 4096.0
            }
        );
        assert!(
            parse_result(out, 1001)
                .unwrap_err()
                .contains("delivered 1000 of 1001")
        );
        assert!(parse_result("result records=1000 seconds=x", 1000).is_err());
        assert!(parse_result("", 1).is_err());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn the_table_goes_between_the_markers_and_only_there() {
        let doc = format!("before\n{BEGIN}\nold table\n{END}\nafter\n");
        let new = replace_between(&doc, BEGIN, END, "new table\n").unwrap();
        assert_eq!(new, format!("before\n{BEGIN}\nnew table\n{END}\nafter\n"));
        // Writing twice gives the same document.
        assert_eq!(
            replace_between(&new, BEGIN, END, "new table\n").unwrap(),
            new
        );
        assert!(replace_between("no markers", BEGIN, END, "t").is_none());
    }

    #[test]
    fn ratios_compare_cpu_per_record_with_krafka() {
        let options = Options {
            quick: false,
            rounds: 3,
            clients: vec!["krafka".into(), "rdkafka".into()],
            write: false,
        };
        let rows = [Row {
            label: "w".into(),
            per_client: vec![[2e6, 200.0, 0.5, 10.0], [1e6, 100.0, 1.5, 30.0]],
        }];
        let table = table(Broker::Mock, &options, &rows);
        assert!(
            table.contains("| w | krafka | 2.00M | 200.0 | 0.50 | 10 | — |"),
            "{table}"
        );
        assert!(
            table.contains("| w | rdkafka | 1.00M | 100.0 | 1.50 | 30 | 3.00× |"),
            "{table}"
        );
    }
}
