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

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::bench_consume::Broker;
use crate::run_command;

/// Krafka first: the table's ratios compare every peer with it.
pub(crate) const CLIENTS: [&str; 4] = ["krafka", "rdkafka", "rdkafka-threaded", "krafka-0.28"];
const BEGIN: &str = "<!-- peers:produce:begin (written by `cargo xtask bench peers --write`) -->";
const END: &str = "<!-- peers:produce:end -->";
const TANSU_BEGIN: &str = "<!-- peers:produce-tansu:begin (written by `cargo xtask bench peers --broker tansu --write`) -->";
const TANSU_END: &str = "<!-- peers:produce-tansu:end -->";

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("peers") if args.get(1).is_some_and(|a| a == "consume") => {
            crate::bench_consume::run(root, &args[2..])
        }
        Some("peers") if args.get(1).is_some_and(|a| a == "tls") => {
            crate::bench_tls::run(root, &args[2..])
        }
        Some("peers") => peers(root, &args[1..]),
        Some("smoke") if args.len() == 1 => smoke(root).map(|_| ()),
        _ => Err("usage: cargo xtask bench <peers [--quick] [--rounds N] [--clients krafka,rdkafka,rdkafka-threaded,krafka-0.28] [--write] | peers consume [--broker mock|tansu|both] [--quick] [--rounds N] [--clients krafka,rdkafka,krafka-0.28] [--write] | peers tls [--broker mock|tansu|both] [--quick] [--rounds N] [--clients LIST] [--write] | smoke>".into()),
    }
}

/// One workload: `records` keyed records of `size` bytes in `topic`.
pub(crate) struct Workload {
    pub topic: &'static str,
    pub partitions: u32,
    pub size: usize,
    pub records: usize,
}

/// What one client process reported.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sample {
    pub seconds: f64,
    pub cpu_seconds: f64,
    pub max_rss_kib: f64,
}

pub(crate) struct Options {
    pub quick: bool,
    pub rounds: usize,
    pub clients: Vec<String>,
    pub write: bool,
}

impl Options {
    /// "medians of N rounds", and whether the run was `--quick`, for a table's caption.
    pub(crate) fn medians(&self) -> String {
        format!(
            "medians of {} round{}{}",
            self.rounds,
            if self.rounds == 1 { "" } else { "s" },
            if self.quick {
                " (--quick: a fifth of the records)"
            } else {
                ""
            }
        )
    }
}

/// Parses the options every comparison takes; `known` are its clients (all by default).
pub(crate) fn options(args: &[String], known: &[&str]) -> Result<Options, String> {
    let mut options = Options {
        quick: false,
        rounds: 0,
        clients: known.iter().map(|c| (*c).to_owned()).collect(),
        write: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--write" => options.write = true,
            "--rounds" => {
                options.rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--rounds needs a positive number")?
            }
            "--clients" => {
                let list = args.next().ok_or("--clients needs a list")?;
                options.clients = list.split(',').map(str::to_owned).collect();
                if let Some(bad) = options
                    .clients
                    .iter()
                    .find(|c| !known.contains(&c.as_str()))
                {
                    return Err(format!(
                        "unknown client '{bad}' (known: {})",
                        known.join(", ")
                    ));
                }
            }
            other => return Err(format!("bench peers: unknown argument '{other}'")),
        }
    }
    if options.rounds == 0 {
        options.rounds = if options.quick { 1 } else { 5 };
    }
    Ok(options)
}

fn peers(root: &Path, args: &[String]) -> Result<(), String> {
    let (brokers, rest) = crate::bench_consume::broker_option(args, vec![Broker::Mock])?;
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

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Profile {
    /// Optimised, as measured.
    Release,
    /// Quick to build: for the smoke check in `cargo xtask test`.
    Dev,
}

/// Builds the `krafka-mock` binary and the peer clients (outside the workspace, into
/// `target/peers`); returns their paths.
pub(crate) fn build(root: &Path, profile: Profile) -> Result<(PathBuf, PathBuf), String> {
    let (flag, dir) = match profile {
        Profile::Release => ("--release", "release"),
        Profile::Dev => ("--profile=dev", "debug"),
    };
    run_command(
        root,
        "cargo",
        &[
            "build",
            flag,
            "-q",
            "-p",
            "krafka-mock",
            "--bin",
            "krafka-mock",
        ],
    )?;
    let peers_target = root.join("target").join("peers");
    say(&format!(
        "building benches/peers into {} (rdkafka compiles librdkafka: minutes on a cold cache)",
        peers_target.display()
    ));
    let status = Command::new("cargo")
        .args([
            "build",
            flag,
            "-q",
            "--manifest-path",
            "benches/peers/Cargo.toml",
        ])
        .env("CARGO_TARGET_DIR", &peers_target)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building benches/peers failed: {status}"));
    }
    Ok((
        root.join("target").join(dir).join("krafka-mock"),
        peers_target.join(dir).join("krafka-peers"),
    ))
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
        crate::bench_consume::start(root, broker, mock, client, &[(w.topic, w.partitions)], tls)?;
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

pub(crate) fn bootstrap(broker: &mut Child) -> Result<String, String> {
    let first = broker
        .stdout
        .take()
        .and_then(|out| BufReader::new(out).lines().next())
        .and_then(Result::ok)
        .unwrap_or_default();
    first
        .strip_prefix("bootstrap=")
        .map(str::to_owned)
        .ok_or_else(|| format!("krafka-mock did not print its bootstrap (got '{first}')"))
}

/// Parses the client's last line, `result records=N seconds=S cpu_seconds=C max_rss_kib=R`,
/// and checks that every record was delivered.
pub(crate) fn parse_result(stdout: &str, expected: usize) -> Result<Sample, String> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("result "))
        .ok_or_else(|| format!("no result line in '{stdout}'"))?;
    let field = |name: &str| -> Result<f64, String> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("result line lacks {name}: '{line}'"))
    };
    let records = field("records")?;
    if records != expected as f64 {
        return Err(format!("delivered {records} of {expected} records"));
    }
    Ok(Sample {
        seconds: field("seconds")?,
        cpu_seconds: field("cpu_seconds")?,
        max_rss_kib: field("max_rss_kib")?,
    })
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Medians of one workload, per client: (records/s, MB/s, CPU-s per 1M records, peak RSS MiB).
pub(crate) struct Row {
    pub label: String,
    pub per_client: Vec<[f64; 4]>,
}

pub(crate) fn row(w: &Workload, samples: &[Vec<Sample>]) -> Row {
    let per_client = samples
        .iter()
        .map(|runs| {
            let rate = median(runs.iter().map(|s| w.records as f64 / s.seconds).collect());
            let cpu = median(
                runs.iter()
                    .map(|s| s.cpu_seconds / (w.records as f64 / 1e6))
                    .collect(),
            );
            let rss = median(runs.iter().map(|s| s.max_rss_kib / 1024.0).collect());
            [rate, rate * w.size as f64 / 1e6, cpu, rss]
        })
        .collect();
    Row {
        label: format!(
            "{} × {} B, {} partition{}",
            thousands(w.records),
            w.size,
            w.partitions,
            if w.partitions == 1 { "" } else { "s" }
        ),
        per_client,
    }
}

pub(crate) fn thousands(n: usize) -> String {
    if n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else {
        format!("{}k", n / 1000)
    }
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

/// A Markdown table after `what` (and how many rounds): one line per workload and client,
/// and for Krafka its records per CPU second relative to each peer's.
pub(crate) fn comparison_table(what: &str, options: &Options, rows: &[Row]) -> String {
    let mut out = format!(
        "{what}; {}.\n\n\
         | workload | client | records/s | MB/s | client CPU-s per 1M records | peak RSS MiB | Krafka's records per CPU-s vs this client |\n\
         |---|---|---|---|---|---|---|\n",
        options.medians()
    );
    let krafka = options.clients.iter().position(|c| c == "krafka");
    for row in rows {
        for (client, [rate, mb, cpu, rss]) in options.clients.iter().zip(&row.per_client) {
            let ratio = match krafka {
                Some(k) if options.clients[k] != *client => {
                    format!("{:.2}×", cpu / row.per_client[k][2])
                }
                _ => "—".to_owned(),
            };
            out.push_str(&format!(
                "| {} | {client} | {} | {mb:.1} | {cpu:.2} | {rss:.0} | {ratio} |\n",
                row.label,
                thousands_rate(*rate)
            ));
        }
    }
    out
}

pub(crate) fn thousands_rate(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2}M", rate / 1e6)
    } else {
        format!("{:.0}k", rate / 1e3)
    }
}

fn write_docs(root: &Path, broker: Broker, table: &str) -> Result<(), String> {
    match broker {
        Broker::Mock => write_between(root, BEGIN, END, table),
        Broker::Tansu => write_between(root, TANSU_BEGIN, TANSU_END, table),
    }
}

/// Puts `table` into `docs/performance.md` between the `begin` and `end` markers.
pub(crate) fn write_between(
    root: &Path,
    begin: &str,
    end: &str,
    table: &str,
) -> Result<(), String> {
    let path = root.join("docs").join("performance.md");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let replaced = replace_between(&text, begin, end, table)
        .ok_or_else(|| format!("{} lacks the markers {begin} … {end}", path.display()))?;
    std::fs::write(&path, replaced).map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) fn replace_between(text: &str, begin: &str, end: &str, table: &str) -> Option<String> {
    let start = text.find(begin)? + begin.len();
    let stop = start + text[start..].find(end)?;
    Some(format!("{}\n{}{}", &text[..start], table, &text[stop..]))
}

#[allow(clippy::print_stdout)]
pub(crate) fn say(line: &str) {
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

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
