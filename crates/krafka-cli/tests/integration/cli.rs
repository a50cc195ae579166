//! The `krafka` binary end to end: `perf` against its embedded cluster, and failures that must
//! be one clear line (a bad flag, an unreachable broker), never a panic or a backtrace.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::{Duration, Instant};

fn krafka(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_krafka"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        // These tests pick their clusters; an inherited one would change what perf measures.
        .env_remove("KRAFKA_BOOTSTRAP")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn perf_with_the_embedded_cluster_reports_throughput_and_latency() {
    let (ok, stdout, stderr) = krafka(&["perf", "--records", "3000", "--size", "64"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("cluster: embedded krafka-mock"), "{stdout}");
    assert!(stdout.contains("produce: 3,000 records in"), "{stdout}");
    assert!(stdout.contains("consume: 3,000 records in"), "{stdout}");
    let latency = stdout
        .lines()
        .find(|l| l.starts_with("end-to-end latency: p50 "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        latency.contains("p99.9") && latency.contains("max"),
        "{latency}"
    );
}

#[test]
fn a_bad_flag_is_one_line_and_a_failing_status() {
    let (ok, _, stderr) = krafka(&["perf", "--size", "4"]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--size must be at least 8"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_unknown_flag_is_one_line() {
    let (ok, _, stderr) = krafka(&["perf", "--bogus"]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--bogus"), "{stderr}");
}

#[test]
fn an_unreachable_broker_is_one_line_not_a_panic() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let (ok, _, stderr) = krafka(&["perf", "--bootstrap", &format!("127.0.0.1:{port}")]);
    assert!(!ok);
    assert!(stderr.starts_with("krafka: "), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn plot_writes_an_svg_with_the_data() {
    let dir = std::env::temp_dir().join(format!("krafka-cli-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("latency.svg");
    let (ok, stdout, stderr) = krafka(&[
        "perf",
        "--records",
        "3000",
        "--plot",
        path.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.matches("<circle").count() >= 1, "no data points");
    assert!(svg.contains("end-to-end latency over the run"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sweep_runs_the_grid_and_plots_the_tradeoff() {
    let dir = std::env::temp_dir().join(format!("krafka-cli-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sweep.svg");
    let (ok, stdout, stderr) = krafka(&[
        "perf",
        "--records",
        "2000",
        "--sweep",
        "linger=0,5",
        "batch=16k,64k",
        "--plot",
        path.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| linger="))
        .collect();
    assert_eq!(rows.len(), 4, "{stdout}");
    assert!(
        rows.iter().any(|r| r.starts_with("| linger=5 batch=64k |")),
        "{stdout}"
    );
    let svg = std::fs::read_to_string(&path).unwrap();
    assert_eq!(svg.matches("<circle").count(), 4);
    assert!(svg.contains("<polyline"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_profile_sets_what_it_says_and_a_flag_overrides_it() {
    let (ok, stdout, stderr) = krafka(&[
        "perf",
        "--records",
        "1000",
        "--profile",
        "throughput",
        "--linger-ms",
        "7",
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("profile throughput: acks=all, idempotence true, linger 7 ms, batch 256k, compression lz4"),
        "{stdout}"
    );
    let (ok, _, stderr) = krafka(&["perf", "--sweep", "speed=1,2"]);
    assert!(!ok);
    assert!(stderr.contains("unknown key 'speed'"), "{stderr}");
}

/// Kills the broker however the test ends (it holds the test's stderr open).
struct Broker(std::process::Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A mock cluster process of the CLI's own, `krafka broker` on a free port; its bootstrap.
fn broker(extra: &[&str]) -> (Broker, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut broker = Broker(
        Command::new(env!("CARGO_BIN_EXE_krafka"))
            .args(["broker", "--port", &port.to_string()])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(broker.0.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let bootstrap = first
        .trim()
        .strip_prefix("bootstrap.servers=")
        .unwrap()
        .to_owned();
    (broker, bootstrap)
}

#[test]
fn topics_are_created_listed_described_and_deleted() {
    let (broker, bootstrap) = broker(&[]);
    let run = |args: &[&str]| {
        let mut all = vec!["topics", "--bootstrap", bootstrap.as_str()];
        all.extend_from_slice(args);
        krafka(&all)
    };
    let (ok, out, err) = run(&[
        "create",
        "events",
        "--partitions",
        "3",
        "--topic-config",
        "retention.ms=1000",
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, _) = run(&["list"]);
    assert!(ok && out.lines().any(|l| l == "events"), "{out}");
    let (ok, out, _) = run(&["describe", "events"]);
    assert!(ok && out.starts_with("topic events: 3 partitions"), "{out}");
    let (ok, _, err) = run(&["create", "events"]);
    assert!(!ok && err.contains("TOPIC_ALREADY_EXISTS"), "{err}");
    // Lines in, records out, keys and headers kept.
    let input = std::env::temp_dir().join(format!("krafka-cli-input-{}", std::process::id()));
    std::fs::write(&input, "k1|hello\nk2|wor\"ld\n").unwrap();
    let (ok, out, err) = krafka(&[
        "produce",
        "--bootstrap",
        &bootstrap,
        "events",
        "--file",
        input.to_str().unwrap(),
        "--key-separator",
        "|",
        "--header",
        "source=cli",
    ]);
    std::fs::remove_file(&input).unwrap();
    assert!(ok && out.contains("produced 2 record(s)"), "{out}{err}");
    let (ok, out, err) = krafka(&[
        "consume",
        "--bootstrap",
        &bootstrap,
        "events",
        "--from-beginning",
        "--count",
        "2",
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(r#""key":"k1","value":"hello","headers":[["source","cli"]]"#)),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.contains(r#""value":"wor\"ld""#)),
        "{out}"
    );
    let (ok, out, _) = krafka(&[
        "consume",
        "--bootstrap",
        &bootstrap,
        "events",
        "--from-beginning",
        "--idle-ms",
        "500",
    ]);
    assert!(ok);
    let mut values: Vec<&str> = out.lines().collect();
    values.sort();
    assert_eq!(values, ["hello", "wor\"ld"]);
    // A group that read everything has no lag.
    let (ok, _, err) = krafka(&[
        "consume",
        "--bootstrap",
        &bootstrap,
        "events",
        "--group",
        "readers",
        "--from-beginning",
        "--count",
        "2",
    ]);
    assert!(ok, "{err}");
    let (ok, out, err) = krafka(&["groups", "--bootstrap", &bootstrap, "list"]);
    assert!(
        ok && out.lines().any(|l| l.starts_with("readers\t")),
        "{out}{err}"
    );
    let (ok, out, err) = krafka(&["groups", "--bootstrap", &bootstrap, "describe", "readers"]);
    assert!(ok && out.contains("total lag 0"), "{out}{err}");
    assert!(out.starts_with("group readers: Empty"), "{out}");
    // A live member: its partitions, client id and address.
    let watcher = Broker(
        Command::new(env!("CARGO_BIN_EXE_krafka"))
            .args(["consume", "--bootstrap", &bootstrap, "events"])
            .args(["--group", "watchers"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let out = loop {
        let (ok, out, err) = krafka(&["groups", "--bootstrap", &bootstrap, "describe", "watchers"]);
        assert!(ok, "{out}{err}");
        if out.starts_with("group watchers: Stable (consumer, ") && out.contains("1 member\n") {
            break out;
        }
        assert!(Instant::now() < deadline, "never stable: {out}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let member: Vec<&str> = out.lines().nth(2).unwrap().split('\t').collect();
    assert_eq!(
        member[1..],
        ["-", "krafka-cli", "/127.0.0.1", "events:0,1,2"],
        "{out}"
    );
    drop(watcher);
    let (ok, _, _) = run(&["delete", "events"]);
    assert!(ok);
    let (ok, out, _) = run(&["list"]);
    assert!(ok && !out.lines().any(|l| l == "events"), "{out}");
    drop(broker);
}

#[test]
fn a_missing_topic_is_created_on_request_or_is_one_line_at_once() {
    let input = std::env::temp_dir().join(format!("krafka-cli-missing-{}", std::process::id()));
    std::fs::write(&input, "one\n").unwrap();
    let file = input.to_str().unwrap();

    // A broker that creates topics on request (Kafka's default): produce creates it.
    let (_creating, bootstrap) = broker(&[]);
    let (ok, out, err) = krafka(&[
        "produce",
        "--bootstrap",
        &bootstrap,
        "fresh",
        "--file",
        file,
    ]);
    assert!(
        ok && out.contains("produced 1 record(s) to fresh"),
        "{out}{err}"
    );
    let (ok, out, _) = krafka(&["topics", "--bootstrap", &bootstrap, "list"]);
    assert!(ok && out.lines().any(|l| l == "fresh"), "{out}");

    // One that does not: one line, at once (not after max.block.ms), for both directions.
    let (_strict, bootstrap) = broker(&["--no-auto-create"]);
    for args in [
        [
            "produce",
            "--bootstrap",
            &bootstrap,
            "nosuch",
            "--file",
            file,
        ],
        [
            "consume",
            "--bootstrap",
            &bootstrap,
            "nosuch",
            "--idle-ms",
            "500",
        ],
    ] {
        let started = Instant::now();
        let (ok, _, stderr) = krafka(&args);
        assert!(!ok, "{args:?}");
        assert_eq!(stderr.trim(), "krafka: unknown topic nosuch", "{args:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "{args:?}");
    }
    std::fs::remove_file(&input).unwrap();
}

/// A properties file in a directory of its own.
fn properties_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("krafka-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("client.properties");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn topics_list_over_sasl_ssl_with_a_config_file_and_global_flags_anywhere() {
    let tls_dir = std::env::temp_dir().join(format!("krafka-cli-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tls_dir);
    let tls = tls_dir.to_str().unwrap();
    let (_broker, bootstrap) = broker(&[
        "--security-protocol",
        "SASL_SSL",
        "--sasl-mechanisms",
        "SCRAM-SHA-512",
        "--user",
        "alice:alice-secret",
        "--tls-dir",
        tls,
        "--topic",
        "orders:2",
    ]);
    for file in [
        "ca.pem",
        "server.pem",
        "server.key",
        "client.pem",
        "client.key",
    ] {
        assert!(tls_dir.join(file).exists(), "{file} not written");
    }
    let ca = tls_dir.join("ca.pem");
    let good = properties_file(
        "good",
        &format!(
            "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.username=alice\nsasl.password=alice-secret\nssl.ca.location={}\n",
            ca.display()
        ),
    );
    let good = good.to_str().unwrap();
    // -b and --config after the subcommand, and before it.
    let (ok, out, err) = krafka(&["topics", "list", "-b", &bootstrap, "--config", good]);
    assert!(ok && out.lines().any(|l| l == "orders"), "{out}{err}");
    let (ok, out, err) = krafka(&["--config", good, "-b", &bootstrap, "topics", "list"]);
    assert!(ok && out.lines().any(|l| l == "orders"), "{out}{err}");
    // -X overrides the file: a wrong password is one line that says authentication failed.
    let (ok, _, err) = krafka(&[
        "topics",
        "list",
        "-b",
        &bootstrap,
        "--config",
        good,
        "-X",
        "sasl.password=wrong",
    ]);
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.to_lowercase().contains("authentication failed"),
        "{err}"
    );
    assert!(
        !err.contains("wrong") && !err.contains("alice-secret"),
        "{err}"
    );

    // A file as a Java service writes it: no -b, JAAS over continued lines, a PEM trust store,
    // Kafka's serializer classes.
    let java = properties_file(
        "java",
        &format!(
            "bootstrap.servers={bootstrap}\n\
             security.protocol : SASL_SSL\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n\
             \x20   username=\"alice\" \\\n\
             \x20   password=\"alice-secret\";\n\
             ssl.truststore.type=PEM\n\
             ssl.truststore.location={}\n\
             key.serializer=org.apache.kafka.common.serialization.StringSerializer\n\
             value.serializer=org.apache.kafka.common.serialization.ByteArraySerializer\n",
            ca.display()
        ),
    );
    let (ok, out, err) = krafka(&["topics", "list", "--config", java.to_str().unwrap()]);
    assert!(ok && out.lines().any(|l| l == "orders"), "{out}{err}");

    // Produce and consume through the same file.
    let input = std::env::temp_dir().join(format!("krafka-cli-sec-input-{}", std::process::id()));
    std::fs::write(&input, "one\ntwo\nthree\n").unwrap();
    let (ok, out, err) = krafka(&[
        "produce",
        "orders",
        "--file",
        input.to_str().unwrap(),
        "--config",
        good,
        "-b",
        &bootstrap,
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = krafka(&[
        "consume",
        "orders",
        "--from-beginning",
        "--count",
        "3",
        "--config",
        good,
        "-b",
        &bootstrap,
    ]);
    assert!(ok, "{out}{err}");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["one", "three", "two"]);
}

#[test]
fn no_cluster_and_bad_properties_are_one_line() {
    let (ok, _, err) = krafka(&["topics", "list"]);
    assert!(!ok && err.contains("no cluster given"), "{err}");
    let (ok, _, err) = krafka(&["topics", "list", "-b", "127.0.0.1:1", "-X", "linger.msec=5"]);
    assert!(!ok && err.contains("linger.msec"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (ok, _, err) = krafka(&["topics", "list", "--config", "/no/such/file.properties"]);
    assert!(!ok && err.contains("/no/such/file.properties"), "{err}");
}

#[test]
fn perf_runs_over_tls_and_sasl_on_the_embedded_cluster() {
    for protocol in ["SSL", "SASL_SSL"] {
        let (ok, stdout, stderr) = krafka(&[
            "perf",
            "--records",
            "2000",
            "--size",
            "64",
            "--security-protocol",
            protocol,
        ]);
        assert!(ok, "{protocol}: {stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("in this process, {protocol}")),
            "{stdout}"
        );
        assert!(stdout.contains("consume: 2,000 records in"), "{stdout}");
    }
    let (ok, _, stderr) = krafka(&["perf", "--security-protocol", "TLS"]);
    assert!(
        !ok && stderr.contains("unknown security protocol"),
        "{stderr}"
    );
}
