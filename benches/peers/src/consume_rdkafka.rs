//! rdkafka 0.39 (librdkafka 2.12.1)'s `BaseConsumer`, driven as its docs and PEERS.md advise:
//! `assign` every partition at the beginning (a throwaway `group.id`, which assign needs), no
//! commits, and `poll` in a loop, reading each value's bytes.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::{ConsumeRun, Timed};

pub fn run(run: &ConsumeRun) -> Result<(Timed, usize), String> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &run.bootstrap)
        .set("group.id", format!("peers-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("fetch.wait.max.ms", run.fetch_wait_ms.to_string());
    if let Some(ca) = &run.tls_ca {
        config
            .set("security.protocol", "ssl")
            .set("ssl.ca.location", ca);
    }
    let consumer: BaseConsumer = config.create().map_err(|e| format!("create: {e}"))?;
    let mut timed = Timed::start();
    let mut list = TopicPartitionList::new();
    for p in 0..run.partitions {
        list.add_partition_offset(&run.topic, p, Offset::Beginning)
            .map_err(|e| e.to_string())?;
    }
    consumer.assign(&list).map_err(|e| format!("assign: {e}"))?;
    let mut received = 0;
    let mut bytes = 0usize;
    while received < run.records {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                received += 1;
                bytes += message.payload().map_or(0, <[u8]>::len);
            }
            Some(Err(e)) => return Err(format!("poll: {e}")),
            None => {}
        }
    }
    timed.stop();
    drop(consumer);
    run.check_bytes(received, bytes)?;
    Ok((timed, received))
}
