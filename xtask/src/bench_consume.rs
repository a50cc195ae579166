//! `cargo xtask bench peers consume [--broker mock|tansu|both] [--quick] [--rounds N]
//! [--clients LIST] [--write]`: Krafka's consumer beside rdkafka 0.39's `BaseConsumer` and
//! krafka 0.28.1's, reading the same pre-produced records from the same broker.
//!
//! Per workload a fresh broker (the `krafka-mock` process, or a tansu of its own) is filled
//! once by Krafka's producer (untimed); then every client, each in its own process, reads all
//! of it from the beginning, `--rounds` times, the order rotating every round. Fetch waits:
//! the default 500 ms on the mock (it answers as soon as data is there), 10 ms on tansu
//! (which sleeps through part of a wait even when data is ready; see PEERS.md). The table
//! reports medians, and Krafka's records per client CPU second against each peer's.
//!
//! `--write` puts the tables into `docs/performance.md` between the `peers:consume-mock` and
//! `peers:consume-tansu` markers.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::bench_harness::{
    Broker, Options, Profile, Row, Sample, Workload, broker_option, build, comparison_table,
    parse_result, row, say, start, write_between,
};

/// Krafka first: the ratios compare every peer with it.
const CLIENTS: [&str; 3] = ["krafka", "rdkafka", "krafka-0.28"];

/// The comparison's own option (which brokers), then the common ones.
fn options(args: &[String]) -> Result<(Vec<Broker>, Options), String> {
    let (brokers, rest) = broker_option(args, vec![Broker::Mock, Broker::Tansu])?;
    Ok((brokers, crate::bench_harness::options(&rest, &CLIENTS)?))
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let (brokers, options) = options(args)?;
    let scale = if options.quick { 5 } else { 1 };
    let workloads = [
        Workload {
            topic: "c8",
            partitions: 8,
            size: 100,
            records: 1_000_000 / scale,
        },
        Workload {
            topic: "c1",
            partitions: 1,
            size: 100,
            records: 1_000_000 / scale,
        },
        Workload {
            topic: "k8",
            partitions: 8,
            size: 1000,
            records: 200_000 / scale,
        },
    ];
    let (mock, client) = build(root, Profile::Release)?;
    let mut tables = Vec::new();
    for broker in &brokers {
        let mut rows = Vec::new();
        for w in &workloads {
            rows.push(measure(root, *broker, &mock, &client, w, &options)?);
        }
        let table = table(*broker, &options, &rows);
        say(&table);
        tables.push((*broker, table));
    }
    if options.write {
        for (broker, table) in &tables {
            write_docs(root, *broker, table)?;
        }
        say("wrote the tables into docs/performance.md");
    }
    Ok(())
}

/// The consume part of `cargo xtask bench smoke`: every consumer reads 2,000 records from a
/// fresh mock process; returns the number of consumers checked.
pub fn smoke(root: &Path, mock: &Path, client: &Path) -> Result<usize, String> {
    let w = Workload {
        topic: "c8",
        partitions: 8,
        size: 100,
        records: 2000,
    };
    let options = Options {
        quick: true,
        rounds: 1,
        clients: CLIENTS.iter().map(|c| (*c).to_owned()).collect(),
        write: false,
    };
    measure(root, Broker::Mock, mock, client, &w, &options)?;
    say(&format!(
        "bench peers smoke: {} consumers each read {} records",
        CLIENTS.len(),
        w.records
    ));
    Ok(CLIENTS.len())
}

/// Runs the peers binary; its result line, checked for `expected` records.
fn peers(client: &Path, args: &[&str], expected: usize) -> Result<Sample, String> {
    let output = Command::new(client)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", client.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "krafka-peers {} failed ({}): {stdout}",
            args.join(" "),
            output.status
        ));
    }
    parse_result(&stdout, expected)
}

/// One workload on a fresh broker: fill it, then every client reads it `rounds` times.
fn measure(
    root: &Path,
    broker: Broker,
    mock: &Path,
    client: &Path,
    w: &Workload,
    options: &Options,
) -> Result<Row, String> {
    let started = start(
        root,
        broker,
        mock,
        client,
        &[(w.topic, w.partitions)],
        false,
    )?;
    let addr = started.bootstrap.clone();
    let (records, size, partitions) = (
        w.records.to_string(),
        w.size.to_string(),
        w.partitions.to_string(),
    );
    peers(
        client,
        &["produce", "krafka", &addr, w.topic, &records, &size],
        w.records,
    )?;
    // The producer client sends one warm-up record before its timed ones: the topic holds one
    // more than the workload's count, and every consumer reads them all.
    let stored = w.records + 1;
    let records = stored.to_string();
    let wait = broker.fetch_wait_ms().to_string();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); options.clients.len()];
    for round in 0..options.rounds {
        for k in 0..options.clients.len() {
            let i = (k + round) % options.clients.len();
            let name = options.clients[i].as_str();
            let args = [
                "consume",
                name,
                &addr,
                w.topic,
                &records,
                &size,
                &partitions,
                &wait,
            ];
            let sample = peers(client, &args, stored)
                .map_err(|e| format!("{name} on {}: {e}", broker.name()))?;
            say(&format!(
                "{name:12} {} consume {} × {} B, {} partition(s), round {}: {:.0} records/s, {:.2} CPU-s",
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
    Ok(row(w, &samples))
}

fn table(broker: Broker, options: &Options, rows: &[Row]) -> String {
    comparison_table(
        &format!(
            "Consume from the beginning, {} broker in its own process, fetch wait {} ms; every \
             value read",
            broker.name(),
            broker.fetch_wait_ms()
        ),
        options,
        rows,
    )
}

fn markers(broker: Broker) -> (String, String) {
    (
        format!(
            "<!-- peers:consume-{}:begin (written by `cargo xtask bench peers consume --write`) -->",
            broker.name()
        ),
        format!("<!-- peers:consume-{}:end -->", broker.name()),
    )
}

fn write_docs(root: &Path, broker: Broker, table: &str) -> Result<(), String> {
    let (begin, end) = markers(broker);
    write_between(root, &begin, &end, table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench_harness::replace_between;

    #[test]
    fn options_pick_brokers_and_refuse_unknown_clients() {
        let args = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        let (brokers, o) = options(&args("--broker tansu --quick")).unwrap();
        assert_eq!(brokers, [Broker::Tansu]);
        assert_eq!(o.rounds, 1);
        assert!(options(&args("--clients krafka,rdkafka-threaded")).is_err());
        assert!(options(&args("--broker kafka")).is_err());
    }

    #[test]
    fn each_broker_has_its_own_markers() {
        let text = "a\n<!-- peers:consume-mock:begin (written by `cargo xtask bench peers consume --write`) -->\nold\n<!-- peers:consume-mock:end -->\nb";
        let (begin, end) = markers(Broker::Mock);
        let out = replace_between(text, &begin, &end, "new\n").unwrap();
        assert!(out.contains("new\n<!-- peers:consume-mock:end -->"));
        assert!(!out.contains("old"));
        let (begin, end) = markers(Broker::Tansu);
        assert!(replace_between(text, &begin, &end, "x").is_none());
    }
}
