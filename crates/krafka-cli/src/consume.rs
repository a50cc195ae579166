//! `krafka consume`: records of a topic to stdout (or a file), as their values one per line,
//! or as JSON lines with topic, partition, offset, timestamp, key, value and headers.

use std::io::Write;
use std::time::Duration;

use clap::{Args, ValueEnum};
use krafka::prelude::*;

/// What to read and how to print it.
#[derive(Args)]
pub struct ConsumeArgs {
    /// The topic.
    topic: String,
    /// Consume as a member of this group (committing as it goes) instead of reading every
    /// partition.
    #[arg(long)]
    group: Option<String>,
    /// Start from the beginning where there is no committed offset (default: the end).
    #[arg(long)]
    from_beginning: bool,
    /// Stop after this many records.
    #[arg(long)]
    count: Option<usize>,
    /// Stop when nothing arrives for this many milliseconds.
    #[arg(long)]
    idle_ms: Option<u64>,
    /// How to print each record.
    #[arg(long, value_enum, default_value_t = Format::Value)]
    format: Format,
    /// Write to this file instead of stdout.
    #[arg(long)]
    output: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// The value, as text, one per line.
    Value,
    /// One JSON object per record.
    Json,
}

fn json_string(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn optional(bytes: Option<&[u8]>) -> String {
    bytes.map_or_else(|| "null".to_owned(), json_string)
}

fn line(record: &ConsumerRecord, format: Format) -> String {
    match format {
        Format::Value => String::from_utf8_lossy(record.value().unwrap_or_default()).into_owned(),
        Format::Json => {
            let headers: Vec<String> = record
                .headers()
                .iter()
                .map(|(k, v)| format!("[{},{}]", json_string(k), optional(v)))
                .collect();
            format!(
                r#"{{"topic":{},"partition":{},"offset":{},"timestamp":{},"key":{},"value":{},"headers":[{}]}}"#,
                json_string(record.topic().as_bytes()),
                record.partition(),
                record.offset(),
                record.timestamp(),
                optional(record.key()),
                optional(record.value()),
                headers.join(",")
            )
        }
    }
}

pub async fn run(args: ConsumeArgs, client: &crate::client::ClientOpts) -> Result<(), String> {
    let reset = if args.from_beginning {
        OffsetReset::Earliest
    } else {
        OffsetReset::Latest
    };
    let mut builder = client
        .cluster_properties()?
        .consumer()
        .map_err(|e| e.to_string())?
        .auto_offset_reset(reset);
    if let Some(group) = &args.group {
        builder = builder.group_id(group.as_str());
    }
    let mut consumer = builder.connect().await.map_err(|e| e.to_string())?;
    if args.group.is_some() {
        consumer
            .subscribe([args.topic.as_str()])
            .map_err(|e| e.to_string())?;
    } else {
        let partitions = crate::topics::partition_count(consumer.metadata(), &args.topic).await?;
        consumer
            .assign((0..partitions).map(|p| TopicPartition::new(args.topic.as_str(), p)))
            .map_err(|e| e.to_string())?;
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let limit = args.count.unwrap_or(usize::MAX);
    let mut seen = 0usize;
    let result = loop {
        if seen >= limit {
            break Ok(());
        }
        let polled = match args.idle_ms {
            Some(ms) => {
                match tokio::time::timeout(Duration::from_millis(ms), consumer.poll(500)).await {
                    Ok(polled) => polled,
                    Err(_) => break Ok(()),
                }
            }
            None => consumer.poll(500).await,
        };
        let records = match polled {
            Ok(records) => records,
            Err(e) => break Err(e.to_string()),
        };
        for record in records.iter().take(limit - seen) {
            if writeln!(out, "{}", line(record, args.format)).is_err() {
                // stdout closed (`| head`): stop quietly.
                seen = limit;
                break;
            }
            seen += 1;
        }
    };
    let _ = out.flush();
    consumer.close().await;
    result
}
