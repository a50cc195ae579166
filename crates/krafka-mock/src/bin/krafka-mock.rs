//! `krafka-mock`: the mock cluster as a standalone process, for clients in other processes
//! (the interop script, peer clients, benchmarks).
//!
//! ```text
//! krafka-mock [--port 9092] [--brokers 1] [--partitions 1] [--topic NAME:PARTITIONS]... [--no-auto-create]
//! ```
//!
//! Prints `bootstrap=HOST:PORT,...` on its first line once every broker listens, then serves
//! until interrupted (Ctrl-C / SIGINT).

use std::process::ExitCode;

use krafka_mock::MockCluster;

#[allow(clippy::print_stdout, clippy::print_stderr)]
#[tokio::main]
async fn main() -> ExitCode {
    let mut builder = MockCluster::builder();
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
                "-h" | "--help" => {
                    println!(
                        "krafka-mock [--port P] [--brokers N] [--partitions N] [--topic NAME:PARTITIONS]... [--no-auto-create]"
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
