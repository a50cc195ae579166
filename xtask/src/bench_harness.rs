//! What every `cargo xtask bench peers` comparison shares: the options, building the peers
//! binary, a fresh broker per workload (the mock process, or tansu, plain or behind stunnel),
//! reading a client's result line, medians and the tables written into docs/performance.md.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::command::run_command;

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

    pub(crate) fn fetch_wait_ms(self) -> u64 {
        match self {
            Broker::Mock => 500,
            Broker::Tansu => 10,
        }
    }
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
