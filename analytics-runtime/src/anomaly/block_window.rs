//! A compact sliding window kept in sorted order, for quantiles and value density.
//!
//! The window is a ring of blocks of `block` consecutive values: the current block plus
//! the last `blocks` full ones (up to 64 blocks in all). Values are stored once, as 32-bit keys in one sorted
//! array: the top bits are an order-preserving code of `value - anchor` (an `f32` with its
//! lowest `TAG_BITS` (6) mantissa bits dropped, i.e. 17 significant bits), the low bits tag
//! the block the value arrived in. When a block falls out of the window, one pass over
//! the array removes every key carrying its tag, so no arrival-order copy is needed: four
//! bytes per value instead of sixteen for an `f64` ring plus an `f64` sorted copy.
//!
//! The anchor is the first value and is moved to the median (re-encoding every key, order
//! is preserved) whenever the median drifts more than `REANCHOR` (64) robust spreads from it,
//! so the resolution stays about `2^-17 · |value - anchor|`, far below the spread. Offsets
//! beyond the `f32` range saturate.

/// Low key bits tagging the block a value belongs to.
const TAG_BITS: u32 = 6;
/// Number of distinct block tags.
const TAGS: usize = 1 << TAG_BITS;
/// Mask of the tag bits.
const TAG_MASK: u32 = (1 << TAG_BITS) - 1;
/// Median drift (in robust spreads) from the anchor that triggers re-anchoring.
const REANCHOR: f64 = 64.0;

/// The last `capacity` values (granular to blocks), sorted, in four bytes per value.
#[derive(Debug, Clone)]
pub(crate) struct BlockWindow {
    keys: Vec<u32>,
    block: usize,
    blocks: usize,
    full: usize,
    filled: usize,
    tag: u32,
    anchor: f64,
}

impl BlockWindow {
    /// Creates an empty window over at least the last `capacity` values (`capacity` at
    /// least 1): the current block plus `ceil((capacity - 1) / block)` full blocks, with
    /// `block = ceil(capacity / 63)`, so it holds fewer than `capacity + 2 * block` values.
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let block = capacity.div_ceil(TAGS - 1);
        let blocks = (capacity - 1).div_ceil(block);
        Self {
            keys: Vec::with_capacity((blocks + 1) * block),
            block,
            blocks,
            full: 0,
            filled: 0,
            tag: 0,
            anchor: f64::NAN,
        }
    }

    /// Number of values held.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Heap bytes held (fixed at construction).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.keys.capacity() * std::mem::size_of::<u32>()
    }

    /// Order-preserving code of `value` (tag bits zero).
    fn code(&self, value: f64) -> u32 {
        encode(value - self.anchor)
    }

    /// The value a key stands for.
    fn decode(&self, key: u32) -> f64 {
        offset(key) + self.anchor
    }

    /// Adds a finite value; when the current block is full, a new one starts and the
    /// oldest block is dropped once `blocks` full blocks are held.
    pub(crate) fn push(&mut self, value: f64) {
        if self.anchor.is_nan() {
            self.anchor = value;
        }
        if self.filled == self.block {
            self.rotate();
        }
        let key = self.code(value) | self.tag;
        let pos = self.keys.partition_point(|&k| k < key);
        self.keys.insert(pos, key);
        self.filled += 1;
    }

    /// Starts a new block, evicting the oldest one and re-anchoring if needed.
    fn rotate(&mut self) {
        self.filled = 0;
        self.tag = (self.tag + 1) & TAG_MASK;
        if self.full == self.blocks {
            let old = (self.tag + TAGS as u32 - self.blocks as u32 - 1) & TAG_MASK;
            if self.blocks == 0 {
                self.keys.clear();
            } else {
                self.keys.retain(|&k| k & TAG_MASK != old);
            }
        } else {
            self.full += 1;
        }
        let median = self.quantile(0.5);
        if (median - self.anchor).abs() > REANCHOR * self.robust_scale() {
            self.reanchor(median);
        }
    }

    /// Moves the anchor to `anchor`, re-encoding every key (their order is unchanged:
    /// adding a constant and rounding are monotone).
    fn reanchor(&mut self, anchor: f64) {
        let shift = self.anchor - anchor;
        for key in &mut self.keys {
            *key = encode(offset(*key) + shift) | (*key & TAG_MASK);
        }
        self.anchor = anchor;
    }

    /// The `q`-quantile (`q` in `[0, 1]`, linear interpolation); 0 when empty.
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        let n = self.keys.len();
        if n == 0 {
            return 0.0;
        }
        let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        let frac = pos - lo as f64;
        let a = self.decode(self.keys[lo]);
        if frac == 0.0 {
            return a;
        }
        a + (self.decode(self.keys[hi]) - a) * frac
    }

    /// Number of held values in `[lo, hi]` (at the resolution of the keys).
    pub(crate) fn count_between(&self, lo: f64, hi: f64) -> usize {
        if self.keys.is_empty() || lo > hi {
            return 0;
        }
        let lo = self.code(lo);
        let hi = self.code(hi) | TAG_MASK;
        let a = self.keys.partition_point(|&k| k < lo);
        let b = self.keys.partition_point(|&k| k <= hi);
        b.saturating_sub(a)
    }

    /// Robust spread: IQR / 1.349 (the standard deviation for Gaussian data), falling
    /// back to wider quantile ranges when most values are equal, and to a tiny scale
    /// relative to the level (at least 1e-9) when all are equal or the window is empty.
    pub(crate) fn robust_scale(&self) -> f64 {
        let iqr = (self.quantile(0.75) - self.quantile(0.25)) / 1.349;
        if iqr > 0.0 {
            return iqr;
        }
        let wide = (self.quantile(0.95) - self.quantile(0.05)) / 3.29;
        if wide > 0.0 {
            return wide;
        }
        let full = (self.quantile(1.0) - self.quantile(0.0)) / 6.0;
        if full > 0.0 {
            return full;
        }
        (self.quantile(0.5).abs() * 1e-3).max(1e-9)
    }
}

/// Order-preserving code of an offset from the anchor (tag bits zero).
fn encode(offset: f64) -> u32 {
    let limit = f64::from(f32::MAX);
    let bits = (offset.clamp(-limit, limit) as f32).to_bits();
    let ordered = if bits >> 31 == 1 {
        !bits
    } else {
        bits | 0x8000_0000
    };
    ordered & !TAG_MASK
}

/// The offset from the anchor a key stands for.
fn offset(key: u32) -> f64 {
    let code = key & !TAG_MASK;
    // Both signs are truncated toward zero, so values with 17 significant bits are exact.
    let bits = if code >> 31 == 1 {
        code & 0x7FFF_FFFF
    } else {
        !(code | TAG_MASK)
    };
    f64::from(f32::from_bits(bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values a window of `capacity` holds after `values` (block-granular).
    fn expected(values: &[f64], capacity: usize) -> Vec<f64> {
        let w = BlockWindow::new(capacity);
        let n = values.len();
        let current = if n == 0 { 0 } else { (n - 1) % w.block + 1 };
        let full = (n - current) / w.block;
        let keep = current + full.min(w.blocks) * w.block;
        let mut v = values[n - keep..].to_vec();
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn quantiles_follow_the_window() {
        let mut w = BlockWindow::new(5);
        for x in [5.0, 1.0, 4.0, 2.0, 3.0] {
            w.push(x);
        }
        assert_eq!(w.quantile(0.5), 3.0);
        assert_eq!(w.quantile(0.0), 1.0);
        assert_eq!(w.quantile(1.0), 5.0);
        w.push(10.0); // block size 1: evicts 5
        assert_eq!(w.quantile(1.0), 10.0);
        assert_eq!(w.len(), 5);
        assert_eq!(w.quantile(0.25), 2.0);
        assert_eq!(w.count_between(2.0, 4.0), 3);
        assert_eq!(w.count_between(11.0, 12.0), 0);
    }

    #[test]
    fn large_windows_are_block_granular_and_compact() {
        let mut w = BlockWindow::new(2000);
        assert_eq!(w.block, 32);
        assert!(w.heap_bytes() <= 2048 * 4);
        let values: Vec<f64> = (0..5000).map(|i| f64::from((i * 7919) % 1000)).collect();
        for (i, &x) in values.iter().enumerate() {
            w.push(x);
            assert!(w.len() <= 2048);
            if i >= 2000 {
                assert!(w.len() >= 2000, "{}", w.len());
            }
        }
        let e = expected(&values, 2000);
        assert_eq!(w.len(), e.len());
        let mid = (e.len() - 1) / 2;
        let median = if e.len() % 2 == 1 {
            e[mid]
        } else {
            (e[mid] + e[mid + 1]) / 2.0
        };
        assert_eq!(w.quantile(0.5), median);
    }

    #[test]
    fn flat_series_are_exact_and_offsets_resolved() {
        let mut w = BlockWindow::new(100);
        for _ in 0..99 {
            w.push(1e6);
        }
        assert_eq!(w.quantile(0.5), 1e6);
        assert!(w.robust_scale() > 0.0 && w.robust_scale() <= 1e3);
        w.push(1e6 + 6.0);
        assert_eq!(w.quantile(1.0), 1e6 + 6.0);
        // After a drift far from the first value, re-anchoring restores fine resolution.
        let mut d = BlockWindow::new(200);
        for i in 0..20_000 {
            d.push(1e3 * f64::from(i));
        }
        for i in 0..400 {
            d.push(2e7 + f64::from(i % 2) * 0.01);
        }
        assert!((d.quantile(0.0) - 2e7).abs() < 1e-4, "{}", d.quantile(0.0));
        assert!(
            (d.quantile(1.0) - 2e7 - 0.01).abs() < 1e-4,
            "{}",
            d.quantile(1.0)
        );
    }

    #[test]
    fn robust_scale_falls_back() {
        let mut w = BlockWindow::new(100);
        for _ in 0..99 {
            w.push(0.0);
        }
        assert!(w.robust_scale() > 0.0 && w.robust_scale() < 1e-6);
        w.push(6.0);
        assert!((w.robust_scale() - 1.0).abs() < 1e-12);
    }

    proptest::proptest! {
        #[test]
        fn sorted_matches_window(values in proptest::collection::vec(-5i32..5, 1..400), cap in 1usize..300) {
            let mut w = BlockWindow::new(cap);
            let mut seen = Vec::new();
            for &x in &values {
                w.push(f64::from(x));
                seen.push(f64::from(x));
                let e = expected(&seen, cap);
                let got: Vec<f64> = w.keys.iter().map(|&k| w.decode(k)).collect();
                proptest::prop_assert_eq!(&got, &e);
                proptest::prop_assert_eq!(w.count_between(-1.0, 1.0), e.iter().filter(|v| v.abs() <= 1.0).count());
            }
        }
    }
}
