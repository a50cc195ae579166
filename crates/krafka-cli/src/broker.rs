//! `krafka broker`: krafka-mock as a standalone cluster, for trying clients against without a
//! Kafka installation. It prints its bootstrap address and serves until Ctrl-C.

use clap::Args;

use crate::say;

/// Where and how the mock cluster runs.
#[derive(Args)]
pub struct BrokerArgs {
    /// The first broker's port (the others take the next ones); 0 picks free ports.
    #[arg(long, default_value_t = 9092)]
    port: u16,
    /// How many brokers.
    #[arg(long, default_value_t = 1)]
    brokers: i32,
    /// Topics to create at start, as NAME:PARTITIONS (repeatable). Others are created when a
    /// client asks for them, unless --no-auto-create.
    #[arg(long = "topic", value_name = "NAME:PARTITIONS")]
    topics: Vec<String>,
    /// Refuse to create topics on a client's request, as a broker with
    /// `auto.create.topics.enable=false`.
    #[arg(long)]
    no_auto_create: bool,
}

pub async fn run(args: BrokerArgs) -> Result<(), String> {
    let mut builder = krafka_mock::MockCluster::builder()
        .brokers(args.brokers)
        .port(args.port)
        .auto_create_topics(!args.no_auto_create);
    for spec in &args.topics {
        let (name, partitions) = spec
            .split_once(':')
            .and_then(|(n, p)| Some((n, p.parse::<i32>().ok()?)))
            .filter(|(n, p)| !n.is_empty() && *p > 0)
            .ok_or_else(|| format!("--topic {spec}: expected NAME:PARTITIONS"))?;
        builder = builder.topic(name, partitions);
    }
    let cluster = builder
        .start()
        .await
        .map_err(|e| format!("cannot start the mock cluster on port {}: {e}", args.port))?;
    say(&format!("bootstrap.servers={}", cluster.bootstrap()));
    say("serving until Ctrl-C");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    cluster.shutdown().await;
    Ok(())
}
