//! Shared inputs for Krafka's criterion benchmarks (see `benches/`).
//!
//! Payloads are deterministic and text-like, so compression ratios resemble real JSON-ish
//! records rather than random bytes (incompressible) or zeros (trivially compressible).

/// A deterministic payload of `len` bytes that compresses about as well as typical JSON.
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "\"id\":",
        "\"user\":",
        "\"event\":",
        "click",
        "view",
        "purchase",
        "\"ts\":",
        "true",
        "false",
        "null",
        "{",
        "}",
        ",",
        "\"amount\":",
        "\"sku\":",
        "\"session\":",
    ];
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let pick = (state >> 33) as usize;
        if pick.is_multiple_of(3) {
            // Digits keep the data from being a pure dictionary.
            out.extend_from_slice(format!("{}", (state >> 40) % 100_000).as_bytes());
        } else {
            out.extend_from_slice(WORDS[pick % WORDS.len()].as_bytes());
        }
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn payload_is_deterministic_and_sized() {
        assert_eq!(super::payload(100, 1), super::payload(100, 1));
        assert_ne!(super::payload(100, 1), super::payload(100, 2));
        assert_eq!(super::payload(1024, 3).len(), 1024);
    }
}
