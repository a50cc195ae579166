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

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::bench::{
    Options, Profile, Row, Sample, Workload, bootstrap, build, comparison_table, parse_result, row,
    say, write_between,
};

/// Krafka first: the ratios compare every peer with it.
const CLIENTS: [&str; 3] = ["krafka", "rdkafka", "krafka-0.28"];

#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Broker {
    Mock,
    Tansu,
}

impl Broker {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Broker::Mock => "mock",
            Broker::Tansu => "tansu",
        }
    }

    fn fetch_wait_ms(self) -> u64 {
        match self {
            Broker::Mock => 500,
            Broker::Tansu => 10,
        }
    }
}

/// The comparison's own option (which brokers), then the common ones.
fn options(args: &[String]) -> Result<(Vec<Broker>, Options), String> {
    let (brokers, rest) = broker_option(args, vec![Broker::Mock, Broker::Tansu])?;
    Ok((brokers, crate::bench::options(&rest, &CLIENTS)?))
}

/// Takes `--broker mock|tansu|both` out of `args` (`default` when absent); the rest stays.
pub(crate) fn broker_option(
    args: &[String],
    default: Vec<Broker>,
) -> Result<(Vec<Broker>, Vec<String>), String> {
    let mut brokers = default;
    let mut rest = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--broker" {
            brokers = match args.next().map(String::as_str) {
                Some("mock") => vec![Broker::Mock],
                Some("tansu") => vec![Broker::Tansu],
                Some("both") => vec![Broker::Mock, Broker::Tansu],
                _ => return Err("--broker takes mock, tansu or both".into()),
            };
        } else {
            rest.push(arg.clone());
        }
    }
    Ok((brokers, rest))
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

/// A running broker for one workload; stopped when dropped.
pub(crate) enum Running {
    /// The mock process, or a plaintext tansu.
    Process(Child),
    /// tansu behind stunnel (it stops both).
    TlsFront(#[allow(dead_code)] crate::tls_front::TlsFront),
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Running::Process(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A fresh broker for one workload: where clients reach it, and the CA they trust over TLS.
pub(crate) struct Started {
    pub bootstrap: String,
    pub tls_ca: Option<PathBuf>,
    _running: Running,
}

impl Started {
    /// The options before the peers binary's mode: `--tls-ca CA` over TLS, none otherwise.
    pub(crate) fn client_options(&self) -> Vec<String> {
        match &self.tls_ca {
            Some(ca) => vec!["--tls-ca".to_owned(), ca.display().to_string()],
            None => Vec::new(),
        }
    }
}

/// A fresh broker with `topics` (name, partitions): the mock process creates them at start,
/// a tansu of its own gets them through `krafka-peers create-topic`. With `tls`, the mock
/// listens with TLS only (its test PKI under `target/bench-tls`), and tansu sits behind
/// stunnel (see `tls_front`).
pub(crate) fn start(
    root: &Path,
    broker: Broker,
    mock: &Path,
    client: &Path,
    topics: &[(&str, u32)],
    tls: bool,
) -> Result<Started, String> {
    match broker {
        Broker::Mock => {
            let mut command = Command::new(mock);
            command.arg("--no-auto-create");
            for (name, partitions) in topics {
                command.args(["--topic", &format!("{name}:{partitions}")]);
            }
            let dir = root.join("target").join("bench-tls");
            if tls {
                command.arg("--tls-dir").arg(&dir);
            }
            let mut child = command
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", mock.display()))?;
            let addr = bootstrap(&mut child);
            let running = Running::Process(child);
            Ok(Started {
                bootstrap: addr?,
                tls_ca: tls.then(|| dir.join("ca.pem")),
                _running: running,
            })
        }
        Broker::Tansu => {
            let started = if tls {
                let front = crate::tls_front::start(root)?;
                Started {
                    bootstrap: front.bootstrap.clone(),
                    tls_ca: Some(front.ca.clone()),
                    _running: Running::TlsFront(front),
                }
            } else {
                let log = root.join("target").join("bench-tansu.log");
                let (child, addr) = crate::broker::spawn_tansu(root, &log)?;
                Started {
                    bootstrap: addr,
                    tls_ca: None,
                    _running: Running::Process(child),
                }
            };
            for (name, partitions) in topics {
                let status = Command::new(client)
                    .args(started.client_options())
                    .args([
                        "create-topic",
                        &started.bootstrap,
                        name,
                        &partitions.to_string(),
                    ])
                    .stdin(Stdio::null())
                    .status()
                    .map_err(|e| format!("cannot run {}: {e}", client.display()))?;
                if !status.success() {
                    return Err(format!("creating {name} on tansu failed: {status}"));
                }
            }
            Ok(started)
        }
    }
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
    use crate::bench::replace_between;

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
