//! `krafka-mock`: the mock cluster as a standalone process, for clients in other processes
//! (the interop script, peer clients, benchmarks).
//!
//! ```text
//! krafka-mock [--port 9092] [--brokers 1] [--partitions 1] [--topic NAME:PARTITIONS]... [--no-auto-create]
//!             [--tls-dir DIR [--require-client-cert]] [--sasl-mechanisms A,B] [--user NAME:PASSWORD]...
//! ```
//!
//! `--tls-dir` serves TLS with the certificates there (written when missing: `ca.pem`,
//! `server.pem`, `server.key`, `client.pem`, `client.key`); `--user` or `--sasl-mechanisms`
//! requires SASL (all mechanisms unless `--sasl-mechanisms` narrows them).
//!
//! Prints `bootstrap=HOST:PORT,...` on its first line once every broker listens, then serves
//! until interrupted (Ctrl-C / SIGINT).

use std::process::ExitCode;

use krafka_mock::{MockCluster, MockSasl, MockTls, SaslMechanismName, TestPki};

#[allow(clippy::print_stdout, clippy::print_stderr)]
#[tokio::main]
async fn main() -> ExitCode {
    let mut builder = MockCluster::builder();
    let mut tls_dir: Option<std::path::PathBuf> = None;
    let mut require_client_cert = false;
    let mut mechanisms: Vec<SaslMechanismName> = Vec::new();
    let mut users: Vec<(String, String)> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let parsed: Result<(), String> = (|| {
            match arg.as_str() {
                "--port" => builder = std::mem::take(&mut builder).port(number(&value("--port")?)?),
                "--brokers" => {
                    builder = std::mem::take(&mut builder).brokers(number(&value("--brokers")?)?)
                }
                "--partitions" => {
                    builder = std::mem::take(&mut builder)
                        .default_partitions(number(&value("--partitions")?)?)
                }
                "--topic" => {
                    let spec = value("--topic")?;
                    let (name, partitions) = spec
                        .split_once(':')
                        .ok_or_else(|| format!("--topic {spec}: expected NAME:PARTITIONS"))?;
                    builder = std::mem::take(&mut builder).topic(name, number(partitions)?);
                }
                "--no-auto-create" => {
                    builder = std::mem::take(&mut builder).auto_create_topics(false)
                }
                "--tls-dir" => tls_dir = Some(value("--tls-dir")?.into()),
                "--require-client-cert" => require_client_cert = true,
                "--sasl-mechanisms" => {
                    for name in value("--sasl-mechanisms")?.split(',') {
                        mechanisms.push(
                            SaslMechanismName::parse(name)
                                .ok_or_else(|| format!("unknown SASL mechanism {name}"))?,
                        );
                    }
                }
                "--user" => {
                    let spec = value("--user")?;
                    let (name, password) = spec
                        .split_once(':')
                        .ok_or_else(|| format!("--user {spec}: expected NAME:PASSWORD"))?;
                    users.push((name.to_owned(), password.to_owned()));
                }
                "-h" | "--help" => {
                    println!(
                        "krafka-mock [--port P] [--brokers N] [--partitions N] [--topic NAME:PARTITIONS]... [--no-auto-create] [--tls-dir DIR [--require-client-cert]] [--sasl-mechanisms A,B] [--user NAME:PASSWORD]..."
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other}")),
            }
            Ok(())
        })();
        if let Err(e) = parsed {
            eprintln!("krafka-mock: {e}");
            return ExitCode::from(2);
        }
    }
    if let Some(dir) = &tls_dir {
        match TestPki::load_or_create(dir) {
            Ok(pki) => {
                builder = builder.tls(MockTls::new(pki).require_client_cert(require_client_cert))
            }
            Err(e) => {
                eprintln!("krafka-mock: --tls-dir {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
    }
    if !users.is_empty() || !mechanisms.is_empty() {
        if mechanisms.is_empty() {
            mechanisms = SaslMechanismName::ALL.to_vec();
        }
        let mut sasl = MockSasl::new(mechanisms);
        for (name, password) in users {
            sasl = sasl.user(name, password);
        }
        builder = builder.sasl(sasl);
    }
    let cluster = match builder.start().await {
        Ok(cluster) => cluster,
        Err(e) => {
            eprintln!("krafka-mock: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("bootstrap={}", cluster.bootstrap());
    let _ = tokio::signal::ctrl_c().await;
    cluster.shutdown().await;
    ExitCode::SUCCESS
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("not a number: {text}"))
}
