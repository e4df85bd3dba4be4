//! O(1) rolling mean and standard deviation over a fixed-size ring buffer.
//!
//! Sums are kept relative to a shift (the first value seen since the last refresh) to avoid
//! catastrophic cancellation, and are recomputed exactly from the buffer once per full
//! turn of the ring, so rounding errors cannot accumulate (amortised O(1) per value).

/// Rolling statistics over the last `capacity` values.
#[derive(Debug, Clone)]
pub(crate) struct RollingStats {
    buffer: Vec<f64>,
    capacity: usize,
    head: usize,
    shift: f64,
    sum: f64,
    sum_sq: f64,
    since_refresh: usize,
}

impl RollingStats {
    /// Creates an empty window holding at most `capacity` values (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            buffer: Vec::with_capacity(capacity),
            capacity,
            head: 0,
            shift: 0.0,
            sum: 0.0,
            sum_sq: 0.0,
            since_refresh: 0,
        }
    }

    /// Heap bytes held (fixed at construction).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buffer.capacity() * std::mem::size_of::<f64>()
    }

    /// Adds a finite value, evicting the oldest one when full.
    pub(crate) fn push(&mut self, value: f64) {
        if self.buffer.is_empty() {
            self.shift = value;
        }
        let d = value - self.shift;
        if self.buffer.len() < self.capacity {
            self.buffer.push(value);
        } else {
            let old = self.buffer[self.head] - self.shift;
            self.buffer[self.head] = value;
            self.head = (self.head + 1) % self.capacity;
            self.sum -= old;
            self.sum_sq -= old * old;
        }
        self.sum += d;
        self.sum_sq += d * d;
        self.since_refresh += 1;
        if self.since_refresh >= self.capacity {
            self.refresh();
        }
    }

    /// Recomputes the sums exactly, re-centring on the current mean.
    fn refresh(&mut self) {
        let n = self.buffer.len() as f64;
        let mean = self.buffer.iter().sum::<f64>() / n;
        self.shift = mean;
        self.sum = 0.0;
        self.sum_sq = 0.0;
        for &v in &self.buffer {
            let d = v - mean;
            self.sum += d;
            self.sum_sq += d * d;
        }
        self.since_refresh = 0;
    }

    /// Mean of the window (0 when empty).
    pub(crate) fn mean(&self) -> f64 {
        if self.buffer.is_empty() {
            0.0
        } else {
            self.shift + self.sum / self.buffer.len() as f64
        }
    }

    /// Population standard deviation of the window (0 with fewer than two values).
    pub(crate) fn std_dev(&self) -> f64 {
        let n = self.buffer.len() as f64;
        if n < 2.0 {
            return 0.0;
        }
        let m = self.sum / n;
        (self.sum_sq / n - m * m).max(0.0).sqrt()
    }

    /// Z-score of `value` against the window, capped to `±cap`; 0 with fewer than two
    /// values. A window without spread gives 0 for its own value and `±cap` otherwise.
    pub(crate) fn z_score(&self, value: f64, cap: f64) -> f64 {
        if self.buffer.len() < 2 {
            return 0.0;
        }
        let mean = self.mean();
        let sd = self.std_dev();
        let diff = value - mean;
        let tiny = 1e-12 * mean.abs().max(1e-300);
        if sd <= tiny {
            return if diff.abs() <= tiny {
                0.0
            } else {
                cap.copysign(diff)
            };
        }
        (diff / sd).clamp(-cap, cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(values: &[f64]) -> (f64, f64) {
        let n = values.len() as f64;
        let m = values.iter().sum::<f64>() / n;
        let v = values.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
        (m, v.sqrt())
    }

    #[test]
    fn matches_naive_window() {
        let mut r = RollingStats::new(5);
        let data: Vec<f64> = (0..37)
            .map(|i| ((i * 7919) % 13) as f64 * 0.5 + 1e6)
            .collect();
        for (i, &x) in data.iter().enumerate() {
            r.push(x);
            let lo = (i + 1).saturating_sub(5);
            let (m, s) = naive(&data[lo..=i]);
            assert!((r.mean() - m).abs() < 1e-6);
            if i > 0 {
                assert!((r.std_dev() - s).abs() < 1e-6, "{i}");
            }
        }
    }

    #[test]
    fn flat_window_z() {
        let mut r = RollingStats::new(4);
        for _ in 0..4 {
            r.push(3.0);
        }
        assert_eq!(r.z_score(3.0, 50.0), 0.0);
        assert_eq!(r.z_score(4.0, 50.0), 50.0);
        assert_eq!(r.z_score(2.0, 50.0), -50.0);
    }

    proptest::proptest! {
        #[test]
        fn stays_accurate_on_large_offsets(values in proptest::collection::vec(-1e3f64..1e3, 10..300)) {
            let mut r = RollingStats::new(8);
            for (i, &x) in values.iter().enumerate() {
                r.push(x + 1e9);
                let lo = (i + 1).saturating_sub(8);
                let window: Vec<f64> = values[lo..=i].iter().map(|v| v + 1e9).collect();
                let (m, s) = naive(&window);
                proptest::prop_assert!((r.mean() - m).abs() < 1e-4);
                proptest::prop_assert!((r.std_dev() - s).abs() < 1e-3);
            }
        }
    }
}
