//! `krafka produce`: records from stdin or a file, one per line, to a topic. With
//! `--key-separator` each line is `key<sep>value`. Every record is acknowledged before the
//! command ends; the first failure ends it with the line number.

use std::io::BufRead;

use clap::Args;
use krafka::prelude::*;

use crate::output::say;

/// Where to write, and how to read the input.
#[derive(Args)]
pub struct ProduceArgs {
    /// The topic.
    topic: String,
    /// Read from this file instead of stdin.
    #[arg(long)]
    file: Option<std::path::PathBuf>,
    /// Split each line into key and value at the first occurrence of this text.
    #[arg(long)]
    key_separator: Option<String>,
    /// A header for every record, as KEY=VALUE (repeatable).
    #[arg(long = "header", value_name = "KEY=VALUE")]
    headers: Vec<String>,
    /// The tuning profile the producer starts from.
    #[arg(long, default_value_t = Profile::Balanced)]
    profile: Profile,
}

/// Deliveries awaited at most at once before the oldest is confirmed.
const MAX_PENDING: usize = 65_536;

pub async fn run(args: ProduceArgs, client: &crate::client::ClientOpts) -> Result<(), String> {
    let mut headers = Vec::new();
    for h in &args.headers {
        let (k, v) = h
            .split_once('=')
            .ok_or_else(|| format!("--header {h}: expected KEY=VALUE"))?;
        headers.push((k.to_owned(), v.to_owned()));
    }
    let input: Box<dyn BufRead> = match &args.file {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let base = client
        .cluster_properties()?
        .producer()
        .map_err(|e| e.to_string())?;
    let producer = args
        .profile
        .producer(base)
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    // At once, not after `max.block.ms` (60 s) on the first record.
    if let Err(e) = crate::topics::partition_count(producer.metadata(), &args.topic).await {
        producer.close().await;
        return Err(e);
    }
    let topic: std::sync::Arc<str> = args.topic.as_str().into();
    // Deliveries still to confirm, oldest first; bounded, so a large input does not keep
    // every delivery future until the end.
    let mut pending: std::collections::VecDeque<(usize, krafka::producer::DeliveryFuture)> =
        std::collections::VecDeque::new();
    let mut count = 0usize;
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("reading line {}: {e}", n + 1))?;
        let mut record = ProducerRecord::new(topic.clone());
        match args
            .key_separator
            .as_deref()
            .and_then(|sep| line.split_once(sep))
        {
            Some((key, value)) => {
                record = record.key(key.to_owned()).value(value.to_owned());
            }
            None => record = record.value(line),
        }
        for (k, v) in &headers {
            record = record.header(k.clone(), Some(v.clone().into()));
        }
        let delivery = producer
            .send(record)
            .await
            .map_err(|e| format!("line {}: {e}", n + 1))?;
        if pending.len() >= MAX_PENDING
            && let Some((line, oldest)) = pending.pop_front()
        {
            oldest.await.map_err(|e| format!("line {line}: {e}"))?;
        }
        pending.push_back((n + 1, delivery));
        count += 1;
    }
    for (line, delivery) in pending {
        delivery.await.map_err(|e| format!("line {line}: {e}"))?;
    }
    producer.close().await;
    say(&format!("produced {count} record(s) to {}", args.topic));
    Ok(())
}
