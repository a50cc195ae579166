//! `krafka topics list|create|delete|describe`: topic administration through `krafka::Admin`.
//! Also the topic creation `perf` uses, and the topic lookup `produce` and `consume` start
//! with, so that a missing topic is one line at once rather than a wait.

use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use krafka::NewTopic;
use krafka::net::ClusterMetadata;
use krafka::protocol::ErrorCode;

use crate::client::ClientOpts;

use crate::output::say;

/// Which cluster, and what to do with its topics.
#[derive(Args)]
pub struct TopicsArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Lists every topic.
    List,
    /// Creates a topic.
    Create {
        /// Its name.
        name: String,
        /// Its partitions.
        #[arg(long, default_value_t = 1)]
        partitions: i32,
        /// Copies of each partition (the broker's default if not given).
        #[arg(long)]
        replication_factor: Option<i16>,
        /// Topic configs as KEY=VALUE (repeatable), e.g. min.insync.replicas=2. (--config is
        /// the client properties file, as the Kafka scripts' --command-config.)
        #[arg(long = "topic-config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
    },
    /// Deletes topics.
    Delete {
        /// Their names.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Shows a topic's partitions (leader, replicas, in-sync replicas) and configs.
    Describe {
        /// Its name.
        name: String,
    },
}

/// Creates `topic` unless it exists (what `perf` needs).
pub async fn ensure(
    client: &ClientOpts,
    topic: &str,
    partitions: i32,
    replication: Option<(i16, &str)>,
) -> Result<(), String> {
    let kafka = client.connect().await?;
    let mut new = NewTopic::new(topic, partitions);
    if let Some((copies, min_insync)) = replication {
        new = new
            .replication_factor(copies)
            .config("min.insync.replicas", min_insync);
    }
    let result = kafka.admin().create_topics(&[new]).await;
    kafka.close().await;
    match result {
        Err(krafka::AdminError::Broker { code, .. })
            if code == krafka::protocol::ErrorCode::TOPIC_ALREADY_EXISTS =>
        {
            Ok(())
        }
        other => other.map_err(|e| format!("creating the topic: {e}")),
    }
}

pub async fn run(args: TopicsArgs, client: &ClientOpts) -> Result<(), String> {
    let kafka = client.connect().await?;
    let admin = kafka.admin();
    let result = match args.action {
        Action::List => admin.list_topics().await.map(|names| {
            for name in names {
                say(&name);
            }
        }),
        Action::Create {
            name,
            partitions,
            replication_factor,
            configs,
        } => {
            let mut topic = NewTopic::new(&name, partitions);
            if let Some(copies) = replication_factor {
                topic = topic.replication_factor(copies);
            }
            for kv in &configs {
                let Some((k, v)) = kv.split_once('=') else {
                    return Err(format!("--topic-config {kv}: expected KEY=VALUE"));
                };
                topic = topic.config(k, v);
            }
            admin
                .create_topics(&[topic])
                .await
                .map(|()| say(&format!("created {name}")))
        }
        Action::Delete { names } => admin
            .delete_topics(&names)
            .await
            .map(|()| say(&format!("deleted {}", names.join(", ")))),
        Action::Describe { name } => admin.describe_topic(&name).await.map(|t| {
            say(&format!(
                "topic {}: {} partitions",
                t.name,
                t.partitions.len()
            ));
            for p in &t.partitions {
                say(&format!(
                    "  partition {}: leader {}, replicas {:?}, in sync {:?}",
                    p.partition, p.leader, p.replicas, p.isr
                ));
            }
            for (k, v) in &t.configs {
                say(&format!("  {k}={v}"));
            }
        }),
    };
    kafka.close().await;
    result.map_err(|e| e.to_string())
}

/// `topic`'s partition count. The lookup asks for the topic to be created where the broker
/// allows it (as the clients' own requests do), and waits up to 10 s for one the broker is
/// still creating; a broker that has no such topic and will not create it makes it
/// "unknown topic".
pub async fn partition_count(metadata: &ClusterMetadata, topic: &str) -> Result<i32, String> {
    metadata.add_topics([topic]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let snapshot = metadata.refresh().await.map_err(|e| e.to_string())?;
        let error = match snapshot.topic(topic) {
            Some(t) if t.error.is_ok() && !t.partitions.is_empty() => {
                return Ok(i32::try_from(t.partitions.len()).unwrap_or(i32::MAX));
            }
            Some(t) => t.error,
            None => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
        };
        if error == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION {
            return Err(format!("unknown topic {topic}"));
        }
        if error == ErrorCode::INVALID_TOPIC_EXCEPTION || Instant::now() >= deadline {
            return Err(format!("topic {topic}: {error}"));
        }
        // Being created (LEADER_NOT_AVAILABLE, …): ask again shortly.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
