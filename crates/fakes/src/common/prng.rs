//! SplitMix64, written out here so that generated data never changes with a dependency's version.

/// A tiny deterministic pseudo-random generator (Steele, Lea and Flood's SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl SplitMix64 {
    #[cfg(test)]
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator for one cell of the data, independent of every other cell: the seed mixed
    /// with the cell's coordinates, so generating one day or key never shifts another's numbers.
    pub(crate) fn for_cell(seed: u64, coordinates: &[u64]) -> Self {
        let mut state = seed;
        for &c in coordinates {
            state = mix(state ^ mix(c.wrapping_add(GOLDEN_GAMMA)));
        }
        Self { state }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// Uniform in `lo..=hi` (a negligible modulo bias is fine for fake data).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `per_mille / 1000`.
    pub(crate) fn chance(&mut self, per_mille: u64) -> bool {
        self.next_u64() % 1000 < per_mille
    }

    /// `len` characters drawn from `alphabet`.
    pub(crate) fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| {
                let i = self.next_u64() % alphabet.len() as u64;
                char::from(alphabet[i as usize])
            })
            .collect()
    }
}

/// The SplitMix64 output function.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) const ALPHANUMERIC: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub(crate) const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
pub(crate) const BASE64URL: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_splitmix64_sequence() {
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn cells_are_independent_and_stable() {
        let a = SplitMix64::for_cell(7, &[1, 2]).next_u64();
        let b = SplitMix64::for_cell(7, &[2, 1]).next_u64();
        assert_ne!(a, b);
        assert_eq!(a, SplitMix64::for_cell(7, &[1, 2]).next_u64());
    }

    #[test]
    fn range_stays_inside_its_bounds() {
        let mut rng = SplitMix64::new(3);
        for _ in 0..1000 {
            let v = rng.range(5, 9);
            assert!((5..=9).contains(&v));
        }
    }
}
