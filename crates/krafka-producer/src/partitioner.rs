//! Choosing a partition: Java's murmur2 for keyed records, the uniform sticky partitioner
//! (KIP-794) for keyless ones, round-robin, or an application's own [`Partitioner`].
//!
//! Keyed placement must match the Java client and librdkafka's `murmur2_random` byte for byte,
//! or two producers in one system would split a key across partitions.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), as a signed 32-bit value.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if let Some(&first) = tail.first() {
        h ^= u32::from(first);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Java's default partitioner gives `key` among `partitions`
/// (`toPositive(murmur2(key)) % partitions`).
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    ((murmur2(key) & 0x7fff_ffff) as u32) % partitions.max(1)
}

/// An application's partitioner. Called on the `send` path for every record: keep it cheap
/// and lock-free.
pub trait Partitioner: Send + Sync + fmt::Debug {
    /// The partition (`0..partitions`) for a record; `None` defers to the built-in choice
    /// (murmur2 for keyed records, sticky for keyless ones).
    fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partitions: u32,
    ) -> Option<u32>;
}

/// Which partitioner a producer uses.
#[derive(Debug, Clone, Default)]
pub enum PartitionerChoice {
    /// Java's default: murmur2 of the key, uniform sticky without one.
    #[default]
    Default,
    /// Every record to the next partition in turn, keyed or not (Java's
    /// `RoundRobinPartitioner`).
    RoundRobin,
    /// The application's.
    Custom(Arc<dyn Partitioner>),
}

/// Per-topic state of the keyless and round-robin choices. The uniform sticky partitioner
/// (KIP-794) keeps sending to one partition until `batch_size` bytes went there, then moves
/// to another at random, so keyless records fill batches instead of scattering.
#[derive(Debug)]
pub(crate) struct TopicPartitioner {
    sticky: AtomicU32,
    sticky_bytes: AtomicUsize,
    round_robin: AtomicU32,
    rng: AtomicU64,
}

impl TopicPartitioner {
    pub(crate) fn new(seed: u64) -> Self {
        let rng = AtomicU64::new(seed | 1);
        let start = next_random(&rng);
        Self {
            sticky: AtomicU32::new(start as u32),
            sticky_bytes: AtomicUsize::new(0),
            round_robin: AtomicU32::new(start as u32),
            rng,
        }
    }

    /// The next round-robin partition.
    pub(crate) fn round_robin(&self, partitions: u32) -> u32 {
        self.round_robin.fetch_add(1, Relaxed) % partitions.max(1)
    }

    /// The sticky partition for a keyless record of `size` bytes. Racing callers may both
    /// switch; that only moves the switch point, as in Java.
    pub(crate) fn sticky(&self, partitions: u32, size: usize, batch_size: usize) -> u32 {
        let partitions = partitions.max(1);
        let current = self.sticky.load(Relaxed) % partitions;
        let sent = self.sticky_bytes.fetch_add(size, Relaxed) + size;
        if sent >= batch_size.max(1) && partitions > 1 {
            // Any other partition, uniformly.
            let step = 1 + (next_random(&self.rng) % u64::from(partitions - 1)) as u32;
            let next = (current + step) % partitions;
            self.sticky.store(next, Relaxed);
            self.sticky_bytes.store(0, Relaxed);
        }
        current
    }
}

/// xorshift64 on a shared word: good enough to spread partitions, lock-free.
fn next_random(state: &AtomicU64) -> u64 {
    let mut x = state.load(Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state.store(x, Relaxed);
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors of Kafka's own `UtilsTest.testMurmur2`.
    #[test]
    fn murmur2_matches_kafkas_test_vectors() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input),
                expected,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn sticky_switches_after_batch_size_bytes_and_covers_every_partition() {
        let p = TopicPartitioner::new(42);
        let first = p.sticky(8, 100, 1000);
        for _ in 0..8 {
            assert_eq!(
                p.sticky(8, 100, 1000),
                first,
                "stays until batch_size bytes"
            );
        }
        // The 10th record brings it to 1000 bytes: that record still goes to `first`, the next
        // one elsewhere.
        assert_eq!(p.sticky(8, 100, 1000), first);
        assert_ne!(p.sticky(8, 100, 1000), first);
        let mut seen = [0u32; 8];
        for _ in 0..8_000 {
            seen[p.sticky(8, 100, 1000) as usize] += 1;
        }
        assert!(
            seen.iter().all(|&n| n > 500),
            "uniform over partitions: {seen:?}"
        );
    }

    #[test]
    fn round_robin_cycles() {
        let p = TopicPartitioner::new(1);
        let start = p.round_robin(3);
        let next: Vec<u32> = (0..5).map(|_| p.round_robin(3)).collect();
        let expect: Vec<u32> = (1..6).map(|i| (start + i) % 3).collect();
        assert_eq!(next, expect);
    }
}
