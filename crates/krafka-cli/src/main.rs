//! The `krafka` command. Subcommands live in their own modules; this file parses the command
//! line and turns every failure into one line on stderr (never a panic or a backtrace).
//!
//! - [`client`]: the global `-b`, `--config FILE` and `-X key=value` every client command takes;
//! - `perf` ([`perf`]): the main job — produce N records and consume them back, reporting
//!   throughput and end-to-end latency; an embedded mock cluster when no broker is given;
//! - `broker` ([`broker`]): krafka-mock as a standalone cluster on a port;
//! - `topics` ([`topics`]): list, create, delete and describe topics;
//! - `groups` ([`groups`]): list groups, and a group's offsets and lag;
//! - `produce` ([`produce`]) and `consume` ([`consume`]): records from lines, records to
//!   lines or JSON.

mod broker;
mod client;
mod consume;
mod groups;
mod output;
mod perf;
mod plot;
mod produce;
mod progress;
mod topics;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Krafka's command line: a Kafka client you can measure with.
#[derive(Parser)]
#[command(name = "krafka", version, about)]
struct Cli {
    #[command(flatten)]
    client: client::ClientOpts,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Produces records to a topic and consumes them back, reporting throughput (records/s,
    /// MB/s) for both sides and end-to-end latency percentiles. Without --bootstrap it starts
    /// an embedded in-process mock cluster.
    Perf(perf::PerfArgs),
    /// Runs krafka-mock, an in-process Kafka-compatible cluster, until interrupted.
    Broker(broker::BrokerArgs),
    /// Lists, creates, deletes and describes topics.
    Topics(topics::TopicsArgs),
    /// Lists consumer groups, and shows a group's offsets and lag.
    Groups(groups::GroupsArgs),
    /// Produces records read from stdin or a file, one per line.
    Produce(produce::ProduceArgs),
    /// Prints a topic's records, as values or JSON lines.
    Consume(consume::ConsumeArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        // Clap's message is several lines (usage, hints): the first says what is wrong.
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            return fail(first.trim_start_matches("error: "));
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Perf(args) => perf::run(args, &cli.client).await,
            Command::Broker(args) => broker::run(args).await,
            Command::Topics(args) => topics::run(args, &cli.client).await,
            Command::Groups(args) => groups::run(args, &cli.client).await,
            Command::Produce(args) => produce::run(args, &cli.client).await,
            Command::Consume(args) => consume::run(args, &cli.client).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// The CLI is the one place that talks to a terminal: one line, then a failing status.
fn fail(message: &str) -> ExitCode {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("krafka: {message}");
    }
    ExitCode::FAILURE
}
