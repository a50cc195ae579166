//! Reconnect backoff: exponential from `reconnect_backoff` to `reconnect_backoff_max`, with
//! ±20% jitter as in Kafka's Java client, so that many clients that lost a broker together do
//! not come back in lockstep.

use std::time::Duration;

/// The delays before successive reconnect attempts to one broker.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
    seed: u64,
}

impl Backoff {
    /// A backoff from `base` doubling to `max`; `seed` varies the jitter between instances.
    pub fn new(base: Duration, max: Duration, seed: u64) -> Self {
        // splitmix64 scrambles small seeds (broker ids, counters), which xorshift alone would
        // leave near zero for the first few steps: no jitter where it matters most.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self {
            base,
            max,
            failures: 0,
            seed: (z ^ (z >> 31)) | 1,
        }
    }

    /// The delay after one more failure.
    pub fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.delay_after(self.failures)
    }

    /// The delay after the `failures`-th consecutive failure (1 is the first: `base`), jittered,
    /// for a caller that counts failures itself: a producer batch's own attempts (KIP-580), so
    /// that batches failing together (a connection cut with several in flight) each wait one
    /// step, not one step more than the batch before them.
    pub fn delay_after(&mut self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << exponent).min(self.max);
        // xorshift64: cheap, and good enough to spread clients out.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let unit = (self.seed >> 11) as f64 / (1u64 << 53) as f64;
        raw.mul_f64(0.8 + 0.4 * unit).min(self.max.mul_f64(1.2))
    }

    /// Back to the first delay, after a successful connection.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_with_bounded_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(50), Duration::from_secs(1), 7);
        let expected = [50u64, 100, 200, 400, 800, 1000, 1000];
        for ms in expected {
            let d = b.next_delay().as_secs_f64() * 1000.0;
            let ms = ms as f64;
            assert!(d >= ms * 0.8 - 1e-6 && d <= ms * 1.2 + 1e-6, "{d} vs {ms}");
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(60));
        // Counted by the caller: the same step however often it is asked.
        for _ in 0..5 {
            let d = b.delay_after(1).as_secs_f64() * 1000.0;
            assert!((40.0..=60.0).contains(&d), "{d}");
        }
        let third = b.delay_after(3).as_secs_f64() * 1000.0;
        assert!((160.0..=240.0).contains(&third), "{third}");
        let spread: std::collections::BTreeSet<u128> = (0..20)
            .map(|s| {
                Backoff::new(Duration::from_millis(50), Duration::from_secs(1), s)
                    .next_delay()
                    .as_micros()
            })
            .collect();
        assert!(spread.len() > 10, "jitter spreads clients out");
    }
}
