//! A small deterministic generator (SplitMix64) and the call ids derived from the seed: the
//! same seed and coordinates always give the same numbers, whatever else changes.

use sha2::{Digest, Sha256};

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for one cell (seed + coordinates), independent of every other cell.
    pub(crate) fn cell(seed: u64, parts: &[&str]) -> Rng {
        let digest = digest(seed, parts);
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        Rng {
            state: u64::from_le_bytes(bytes),
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// An index drawn with the given weights (none all zero).
    pub(crate) fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        if total == 0 {
            return 0;
        }
        let mut pick = self.next_u64() % total;
        for (i, w) in weights.iter().enumerate() {
            if pick < *w {
                return i;
            }
            pick -= w;
        }
        weights.len() - 1
    }
}

fn digest(seed: u64, parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_be_bytes());
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// A call id: `demo-` and 24 hex digits of a hash of the seed and the coordinates.
pub(crate) fn call_id(seed: u64, parts: &[&str]) -> String {
    format!("demo-{}", &hex::encode(digest(seed, parts))[..24])
}

/// The OTLP trace id (16 bytes) and span id (8 bytes) of a call, from its id.
pub(crate) fn span_ids(call_id: &str) -> (Vec<u8>, Vec<u8>) {
    let d = digest(0x0_7E1E, &[call_id]);
    let mut trace = d[..16].to_vec();
    let mut span = d[16..24].to_vec();
    // Neither may be all zero (the receiver refuses those).
    trace[0] |= 1;
    span[0] |= 1;
    (trace, span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_coordinates_give_the_same_numbers_and_ids() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::cell(7, &["a", "b"]);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::cell(7, &["a", "b"]);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(
            Rng::cell(7, &["ab"]).next_u64(),
            Rng::cell(7, &["a", "b"]).next_u64()
        );
        assert_eq!(call_id(7, &["x"]), call_id(7, &["x"]));
        assert_ne!(call_id(7, &["x"]), call_id(8, &["x"]));
        assert_eq!(call_id(7, &["x"]).len(), 29);
    }

    #[test]
    fn ranges_and_weights_stay_in_bounds() {
        let mut r = Rng::cell(1, &[]);
        for _ in 0..1000 {
            let v = r.range(3, 9);
            assert!((3..=9).contains(&v));
            assert_ne!(r.weighted(&[0, 5, 0, 1]), 0);
        }
        let (trace, span) = span_ids("demo-1");
        assert_eq!((trace.len(), span.len()), (16, 8));
    }
}
