//! Record ratios: how far a statistic exceeds the extremes of its own recent history.
//!
//! Dividing a statistic by an upper quantile (by default the maximum) of its own past
//! values makes it scale-free and self-calibrating: a ratio above 1 means "more extreme
//! than anything seen lately", whatever the stream. A floor keeps flat streams from
//! turning tiny wobbles into huge ratios.
//!
//! An upper quantile of a sliding window needs only the top values, so the history is a
//! ring of blocks of `block` consecutive values, each keeping just its `k` largest values
//! (`k` = number of history values above the quantile, plus one): the window is granular
//! to blocks and memory is `k` entries per block instead of one per value. Values are kept
//! on a logarithmic grid (eight bins per octave, `2^-12 .. 2^24`) as `u16` bin numbers and
//! the reference is the upper edge of the bin holding the quantile, so it is at least the
//! true quantile and at most about 9% above it.

/// Bins per doubling of the value.
const BINS_PER_OCTAVE: f64 = 8.0;
/// Smallest resolved value: `2^MIN_EXP`; smaller values share the first bin.
const MIN_EXP: f64 = -12.0;
/// Number of bins (covers `2^-12 .. 2^24`).
const BINS: usize = 288;

/// The log-grid bin of a value (negative or NaN values fall in bin 0).
fn bin(value: f64) -> u16 {
    if value.is_nan() || value <= 0.0 {
        return 0;
    }
    let b = (value.log2() - MIN_EXP) * BINS_PER_OCTAVE;
    b.clamp(0.0, (BINS - 1) as f64) as u16
}

/// Lower edge of a bin.
fn edge(bin: usize) -> f64 {
    (bin as f64 / BINS_PER_OCTAVE + MIN_EXP).exp2()
}

/// Inserts `bin` into a descending list of fixed length, dropping its smallest entry.
fn insert_top(list: &mut [u16], bin: u16) {
    let Some(last) = list.last() else { return };
    if bin <= *last {
        return;
    }
    let mut i = list.len() - 1;
    while i > 0 && list[i - 1] < bin {
        list[i] = list[i - 1];
        i -= 1;
    }
    list[i] = bin;
}

/// Tracks one non-negative statistic and rates new values against its history.
#[derive(Debug, Clone)]
pub(crate) struct RecordRatio {
    /// `slots` descending lists of `per_block` bins: the top of each block of the ring.
    tops: Vec<u16>,
    /// The top `k` bins of the full blocks, descending.
    merged: Vec<u16>,
    per_block: usize,
    k: usize,
    block: usize,
    blocks: usize,
    slot: usize,
    full: usize,
    filled: usize,
    quantile: f64,
    floor: f64,
}

impl RecordRatio {
    /// Keeps about `capacity` past values in blocks of `block` (between
    /// `capacity - block + 1` and `capacity` values once full); the reference is their upper
    /// `1 - tail` quantile (`tail = 0` is the maximum), never below `floor`.
    pub(crate) fn new(capacity: usize, tail: f64, floor: f64, block: usize) -> Self {
        let capacity = capacity.max(1);
        let block = block.clamp(1, capacity);
        let blocks = (capacity / block).saturating_sub(1);
        let quantile = 1.0 - tail.clamp(0.0, 1.0);
        let k = (((1.0 - quantile) * capacity as f64).floor() as usize + 1).min(capacity);
        let per_block = k.min(block);
        Self {
            tops: vec![0; (blocks + 1) * per_block],
            merged: vec![0; k],
            per_block,
            k,
            block,
            blocks,
            slot: 0,
            full: 0,
            filled: 0,
            quantile,
            floor,
        }
    }

    /// Heap bytes held (fixed at construction).
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.tops.capacity() + self.merged.capacity()) * std::mem::size_of::<u16>()
    }

    /// Number of values in the history.
    pub(crate) fn len(&self) -> usize {
        self.full * self.block + self.filled
    }

    /// Ratio of `value` to the reference of the values seen before it; then records it.
    #[cfg(test)]
    pub(crate) fn rate(&mut self, value: f64) -> f64 {
        let reference = self.reference().max(self.floor);
        self.push(value);
        value / reference
    }

    /// Surprise of `value`, `-log10` of its estimated upper-tail probability among the
    /// values seen before it; then records it.
    ///
    /// The tail is a power law through two points of the history's top: the reference
    /// (upper quantile, probability `j / (n + 1)` for the `j` values at or above it) and
    /// the maximum (probability `1 / (n + 1)`): `P(X >= x) = p_ref * (x / ref)^-alpha`, with
    /// `alpha` from those two points, clamped to `[alpha_min, alpha_max]` (a light tail
    /// makes a record past the maximum very unlikely, a heavy tail makes it common). Both
    /// points are at least `floor`. This is peaks-over-threshold extreme-value
    /// calibration: one number means the same in every stream.
    pub(crate) fn surprise(&mut self, value: f64, alpha: (f64, f64)) -> f64 {
        let n = self.len();
        let s = if n == 0 {
            0.0
        } else {
            let above = ((1.0 - self.quantile) * n as f64).floor() as usize;
            let rank = above.min(self.k - 1).min(n - 1);
            let reference = self.at_rank(rank).max(self.floor);
            let top = self.at_rank(0).max(reference);
            let count = (rank + 1) as f64;
            let a = if rank == 0 || top <= reference {
                alpha.1
            } else {
                count.ln() / (top / reference).ln()
            }
            .clamp(alpha.0, alpha.1);
            let p_ref = count / (n as f64 + 1.0);
            (-p_ref.log10() + a * (value.max(1e-300) / reference).log10()).max(0.0)
        };
        self.push(value);
        s
    }

    /// The upper quantile of the history (bin upper edge); 0 when empty or in bin 0.
    #[cfg(test)]
    fn reference(&self) -> f64 {
        let n = self.len();
        if n == 0 {
            return 0.0;
        }
        let above = ((1.0 - self.quantile) * n as f64).floor() as usize;
        let rank = above.min(self.k - 1).min(n - 1);
        self.at_rank(rank)
    }

    /// The value of rank `rank` from the top of the history (0: the maximum), as its bin's
    /// upper edge; 0 when in bin 0. `rank` must be below `k`.
    fn at_rank(&self, rank: usize) -> f64 {
        let current = &self.tops[self.slot * self.per_block..][..self.per_block];
        let (mut i, mut j) = (0, 0);
        let mut bin = 0;
        for _ in 0..=rank {
            let a = self.merged.get(i).copied().unwrap_or(0);
            let b = current.get(j).copied().unwrap_or(0);
            if a >= b {
                bin = a;
                i += 1;
            } else {
                bin = b;
                j += 1;
            }
        }
        if bin == 0 {
            0.0
        } else {
            edge(usize::from(bin) + 1)
        }
    }

    /// Records a value, starting a new block (and dropping the oldest) when needed.
    fn push(&mut self, value: f64) {
        if self.filled == self.block {
            self.rotate();
        }
        let start = self.slot * self.per_block;
        insert_top(&mut self.tops[start..start + self.per_block], bin(value));
        self.filled += 1;
    }

    /// Closes the current block and re-merges the tops of the full blocks.
    fn rotate(&mut self) {
        let slots = self.blocks + 1;
        self.filled = 0;
        self.full = (self.full + 1).min(self.blocks);
        self.slot = (self.slot + 1) % slots;
        let start = self.slot * self.per_block;
        self.tops[start..start + self.per_block].fill(0);
        self.merged.fill(0);
        for (s, list) in self.tops.chunks_exact(self.per_block).enumerate() {
            if s != self.slot {
                for &b in list {
                    insert_top(&mut self.merged, b);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_records_exceed_one() {
        let mut r = RecordRatio::new(100, 0.0, 1.0, 10);
        for _ in 0..50 {
            assert!(r.rate(4.0) <= 4.0);
        }
        assert!(r.rate(4.0) <= 1.0);
        assert!(r.rate(12.0) > 2.5);
        assert!(r.rate(12.0) <= 1.0);
        assert!(r.rate(11.0) < 1.0);
    }

    #[test]
    fn floor_applies_to_flat_history() {
        let mut r = RecordRatio::new(10, 0.0, 2.0, 3);
        for _ in 0..10 {
            r.rate(0.0);
        }
        assert_eq!(r.rate(1.0), 0.5);
    }

    #[test]
    fn window_forgets_by_blocks() {
        let mut r = RecordRatio::new(100, 0.0, 0.0, 10);
        r.rate(1000.0);
        for _ in 0..99 {
            r.rate(1.0);
        }
        assert!(r.reference() > 1000.0);
        for _ in 0..10 {
            r.rate(1.0);
        }
        assert!(r.reference() <= 1.1, "{}", r.reference());
        assert!(r.len() > 90 && r.len() <= 100);
    }

    /// The upper-edge bin reference of the last `len` values, computed directly.
    fn naive(values: &[f64], len: usize, tail: f64) -> f64 {
        let mut bins: Vec<u16> = values[values.len() - len..]
            .iter()
            .map(|&v| bin(v))
            .collect();
        bins.sort_unstable_by(|a, b| b.cmp(a));
        let above = (tail * len as f64).floor() as usize;
        let b = bins[above.min(len - 1)];
        if b == 0 {
            0.0
        } else {
            edge(usize::from(b) + 1)
        }
    }

    proptest::proptest! {
        #[test]
        fn matches_sorted_history(
            values in proptest::collection::vec(0.0f64..1e4, 1..500),
            cap in 1usize..200,
            block in 1usize..40,
            tail in proptest::prop_oneof![proptest::strategy::Just(0.0), 0.0f64..0.05],
        ) {
            let mut r = RecordRatio::new(cap, tail, 0.0, block);
            for (i, &v) in values.iter().enumerate() {
                r.push(v);
                let got = r.reference();
                let want = naive(&values[..=i], r.len(), 1.0 - (1.0 - tail));
                proptest::prop_assert_eq!(got, want, "i {} len {}", i, r.len());
            }
        }
    }
}
