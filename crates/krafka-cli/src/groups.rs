//! `krafka groups list|describe`: the cluster's consumer groups, and a group's committed
//! offsets and lag per partition, through `krafka::Admin`.

use clap::{Args, Subcommand};
use krafka::Krafka;

use crate::say;

/// Which cluster, and what to show.
#[derive(Args)]
pub struct GroupsArgs {
    /// The cluster (host:port,...).
    #[arg(long)]
    bootstrap: String,
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Lists every group with its state.
    List,
    /// Shows a group's committed offset, log end and lag for each partition.
    Describe {
        /// The group.
        group: String,
    },
}

pub async fn run(args: GroupsArgs) -> Result<(), String> {
    let kafka = Krafka::builder(args.bootstrap.as_str())
        .client_id("krafka-cli")
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let admin = kafka.admin();
    let result = match args.action {
        Action::List => admin.list_groups().await.map(|groups| {
            for g in groups {
                say(&format!("{}\t{}\t{}", g.group, g.state, g.protocol_type));
            }
        }),
        Action::Describe { group } => admin.group_lag(&group).await.map(|partitions| {
            say("topic\tpartition\tcommitted\tend\tlag");
            let mut total = 0;
            for p in &partitions {
                total += p.lag.unwrap_or(0);
                let show = |v: Option<i64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
                say(&format!(
                    "{}\t{}\t{}\t{}\t{}",
                    p.topic,
                    p.partition,
                    p.committed,
                    show(p.end),
                    show(p.lag)
                ));
            }
            say(&format!("total lag {total}"));
        }),
    };
    kafka.close().await;
    result.map_err(|e| e.to_string())
}
