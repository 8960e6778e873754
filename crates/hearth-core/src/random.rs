//! SplitMix64: a tiny, fixed pseudo-random generator, so training, sampling and evaluation
//! draw the same numbers on every machine.

#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next_u64() % u64::try_from(bound.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let value = (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64;
        value
    }

    /// Uniform in [-1, 1).
    pub fn symmetric(&mut self) -> f32 {
        #[allow(clippy::cast_precision_loss)]
        let value = ((self.next_u64() >> 40) as f32 / (1_u64 << 24) as f32) * 2.0 - 1.0;
        value
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            let other = self.below(index + 1);
            items.swap(index, other);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_fixed() {
        let mut random = SplitMix64(1);
        assert_eq!(random.next_u64(), 0x910a_2dec_8902_5cc1);
    }
}
