//! `cargo xtask test`: every test the project has, in one command.
//!
//! The whole workspace's unit, integration, benchmark-smoke and doc tests, then the suites that
//! need a real broker: `cargo xtask broker` starts tansu (installing it into the cache on first
//! use, about 9 minutes on 2 cores) unless `KRAFKA_BOOTSTRAP` names a cluster, and every
//! crate's `scenarios::` tests (which the first run ran on krafka-mock) run again against it; then Krafka over TLS against a tansu of its own behind
//! stunnel4 (installed with apt-get when missing; the `real_broker_tls` target); then
//! `cargo xtask interop` (confluent-kafka against the mock process, plain and over TLS and
//! SASL, and the real broker), and last the smoke check of `cargo xtask bench peers`
//! (rdkafka and krafka 0.28.1 beside Krafka, 2,000 records each; building librdkafka takes a
//! few minutes on a cold cache). The output of each run is passed through, and the command ends
//! with one line totalling every run (`N passed, M failed`), since the last run's own summary
//! (often a crate with no doc tests) says nothing about the whole.
//!
//! `--skip real-broker,interop,peers` leaves those parts out (each needs network access, and
//! interop Python 3 with venv), for a machine that lacks them; what was skipped is said at the
//! end. The default runs everything.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

#[derive(Default)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
}

/// The parts `--skip` may leave out.
const SKIPPABLE: [&str; 3] = ["real-broker", "interop", "peers"];

/// The parts named by `--skip LIST`.
fn skipped(args: &[String]) -> Result<Vec<String>, String> {
    let mut skip = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--skip" => {
                let list = args
                    .next()
                    .ok_or("--skip needs a list, e.g. --skip interop,peers")?;
                for part in list.split(',').filter(|p| !p.is_empty()) {
                    if !SKIPPABLE.contains(&part) {
                        return Err(format!(
                            "test: cannot skip '{part}' (parts: {})",
                            SKIPPABLE.join(", ")
                        ));
                    }
                    skip.push(part.to_owned());
                }
            }
            other => return Err(format!("test: unknown argument '{other}'")),
        }
    }
    Ok(skip)
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let skip = skipped(args)?;
    let runs = |part: &str| !skip.iter().any(|s| s == part);
    let mut totals = Totals::default();
    let mut result = cargo_test(
        root,
        &["test", "--workspace", "--all-targets"],
        &[],
        &mut totals,
    );
    if result.is_ok() {
        result = cargo_test(root, &["test", "--workspace", "--doc"], &[], &mut totals);
    }
    if result.is_ok() && runs("real-broker") {
        result = real_broker_tests(root, &mut totals);
    }
    if result.is_ok() && runs("interop") {
        result = crate::interop::run(root, &[]);
        // The interop script is one check per broker; count it as the runners do.
        totals.passed += u64::from(result.is_ok()) * 2;
        totals.failed += u64::from(result.is_err());
    }
    if result.is_ok() && runs("peers") {
        match crate::bench::smoke(root) {
            Ok(clients) => totals.passed += clients,
            Err(e) => {
                totals.failed += 1;
                result = Err(e);
            }
        }
    }
    say(&format!(
        "xtask test: {} passed, {} failed, {} ignored",
        totals.passed, totals.failed, totals.ignored
    ));
    if !skip.is_empty() {
        say(&format!(
            "xtask test: skipped {} (run without --skip for everything)",
            skip.join(", ")
        ));
    }
    say(&format!(
        "{} passed, {} failed",
        totals.passed, totals.failed
    ));
    result
}

#[allow(clippy::print_stdout)]
fn say(line: &str) {
    println!("{line}");
}

/// Starts the real broker (or uses `KRAFKA_BOOTSTRAP`), runs every crate's two-backend
/// `scenarios::` tests against it, and stops what it started; then the TLS suite.
///
/// Both runs select the whole workspace (`--workspace --test …`), so the features resolve as
/// in the first run and nothing is compiled twice: `-p CRATE` would resolve each crate's
/// features on their own and rebuild tokio and everything above it once per crate.
fn real_broker_tests(root: &Path, totals: &mut Totals) -> Result<(), String> {
    let external = std::env::var_os("KRAFKA_BOOTSTRAP").is_some();
    let bootstrap = crate::broker::start(root, false)?;
    // The tansu started here has known deviations a scenario may step around; a cluster named
    // by KRAFKA_BOOTSTRAP is taken as Kafka unless KRAFKA_BROKER_KIND says otherwise.
    let kind = if external {
        std::env::var("KRAFKA_BROKER_KIND").unwrap_or_default()
    } else {
        "tansu".to_owned()
    };
    let env = [
        ("KRAFKA_BOOTSTRAP", bootstrap.as_str()),
        ("KRAFKA_BROKER_KIND", kind.as_str()),
    ];
    let result = cargo_test(
        root,
        &[
            "test",
            "--workspace",
            "--test",
            "integration",
            "--",
            "scenarios::",
        ],
        &env,
        totals,
    );
    if !external {
        crate::broker::stop(root, false)?;
    }
    result?;
    // TLS against an OpenSSL server: tansu behind stunnel4.
    let front = crate::tls_front::start(root)?;
    let ca = front.ca.to_string_lossy().into_owned();
    let env = [
        ("KRAFKA_TLS_BOOTSTRAP", front.bootstrap.as_str()),
        ("KRAFKA_TLS_CA", ca.as_str()),
    ];
    cargo_test(
        root,
        &["test", "--workspace", "--test", "real_broker_tls"],
        &env,
        totals,
    )
}

/// Runs one `cargo test`, echoing its output and adding up its `test result:` lines.
fn cargo_test(
    root: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
    totals: &mut Totals,
) -> Result<(), String> {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("xtask: running cargo {}", args.join(" "));
    }
    let mut child = Command::new("cargo")
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| e.to_string())?;
            say(&line);
            if let Some(rest) = line.strip_prefix("test result: ") {
                add_counts(rest, totals);
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed: {status}", args.join(" ")))
    }
}

/// Parses `ok. 12 passed; 0 failed; 1 ignored; ...`.
fn add_counts(summary: &str, totals: &mut Totals) {
    for part in summary.split(';') {
        let words: Vec<&str> = part.split_whitespace().collect();
        let (number, label) = match words.as_slice() {
            [.., n, label] => (n.parse::<u64>().ok(), *label),
            _ => (None, ""),
        };
        match (number, label) {
            (Some(n), "passed") => totals.passed += n,
            (Some(n), "failed") => totals.failed += n,
            (Some(n), "ignored") => totals.ignored += n,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_names_known_parts_only() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            skipped(&args(&["--skip", "interop,peers"])).unwrap(),
            ["interop", "peers"]
        );
        assert!(skipped(&args(&[])).unwrap().is_empty());
        assert!(
            skipped(&args(&["--skip", "unit"]))
                .unwrap_err()
                .contains("cannot skip")
        );
        assert!(skipped(&args(&["--skip"])).is_err());
        assert!(skipped(&args(&["--fast"])).is_err());
    }

    #[test]
    fn adds_up_cargo_summaries() {
        let mut totals = Totals::default();
        add_counts(
            "ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out",
            &mut totals,
        );
        add_counts(
            "FAILED. 3 passed; 2 failed; 0 ignored; 0 measured",
            &mut totals,
        );
        assert_eq!((totals.passed, totals.failed, totals.ignored), (15, 2, 1));
    }
}
