//! `krafka groups list|describe`: the cluster's consumer groups, and a group's state, its
//! members with their partitions, and its committed offsets and lag per partition, through
//! `krafka::Admin`.

use clap::{Args, Subcommand};
use krafka::{Admin, AdminError, GroupDescription};

use crate::output::say;

/// Which cluster, and what to show.
#[derive(Args)]
pub struct GroupsArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Lists every group with its state.
    List,
    /// Shows a group's state and members, and each partition's owner, committed offset, log
    /// end and lag.
    Describe {
        /// The group.
        group: String,
    },
}

pub async fn run(args: GroupsArgs, client: &crate::client::ClientOpts) -> Result<(), String> {
    let kafka = client.connect().await?;
    let admin = kafka.admin();
    let result = match args.action {
        Action::List => admin.list_groups().await.map(|groups| {
            for g in groups {
                say(&format!("{}\t{}\t{}", g.group, g.state, g.protocol_type));
            }
        }),
        Action::Describe { group } => describe(&admin, &group).await,
    };
    kafka.close().await;
    result.map_err(|e| e.to_string())
}

async fn describe(admin: &Admin, group: &str) -> Result<(), AdminError> {
    let description = admin.describe_group(group).await?;
    let partitions = admin.group_lag(group).await?;
    let GroupDescription {
        state,
        protocol_type,
        assignor,
        members,
        ..
    } = &description;
    let kind = match (protocol_type.as_str(), assignor.as_str()) {
        ("", _) => String::new(),
        (kind, "") => format!(" ({kind})"),
        (kind, assignor) => format!(" ({kind}, {assignor})"),
    };
    say(&format!(
        "group {group}: {state}{kind}, {} member{}",
        members.len(),
        if members.len() == 1 { "" } else { "s" }
    ));
    if !members.is_empty() {
        say("member\tinstance\tclient\thost\tpartitions");
        for m in members {
            let owned: Vec<String> = m
                .assignment
                .iter()
                .map(|(topic, ps)| {
                    let ps: Vec<String> = ps.iter().map(i32::to_string).collect();
                    format!("{topic}:{}", ps.join(","))
                })
                .collect();
            say(&format!(
                "{}\t{}\t{}\t{}\t{}",
                m.member_id,
                m.instance_id.as_deref().unwrap_or("-"),
                m.client_id,
                m.host,
                if owned.is_empty() {
                    "-".to_owned()
                } else {
                    owned.join(" ")
                }
            ));
        }
    }
    // Each partition's owner, as Kafka's kafka-consumer-groups tool shows it.
    let owner = |topic: &str, partition: i32| {
        members
            .iter()
            .find(|m| {
                m.assignment
                    .iter()
                    .any(|(t, ps)| t == topic && ps.contains(&partition))
            })
            .map_or("-", |m| m.member_id.as_str())
    };
    say("topic\tpartition\tcommitted\tend\tlag\tmember");
    let mut total = 0;
    let show = |v: Option<i64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
    for p in &partitions {
        total += p.lag.unwrap_or(0);
        say(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            p.topic,
            p.partition,
            p.committed,
            show(p.end),
            show(p.lag),
            owner(&p.topic, p.partition)
        ));
    }
    say(&format!("total lag {total}"));
    Ok(())
}
