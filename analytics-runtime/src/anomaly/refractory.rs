//! Refractory damping: one event should give one high score.
//!
//! NAB-style evaluation rewards the first detection of an anomaly and penalises repeated
//! alerts. This keeps an exponentially decaying peak of recent surprises and damps every
//! surprise that does not beat it, so a burst yields a single peak unless it escalates.

/// Decaying peak with damping of non-record values.
#[derive(Debug, Clone)]
pub(crate) struct Refractory {
    peak: f64,
    decay: f64,
    damping: f64,
}

impl Refractory {
    /// Peak half-life `half_life` points (0 disables damping); non-record surprises are
    /// multiplied by `damping`.
    pub(crate) fn new(half_life: f64, damping: f64) -> Self {
        let decay = if half_life > 0.0 {
            0.5_f64.powf(1.0 / half_life)
        } else {
            0.0
        };
        Self {
            peak: 0.0,
            decay,
            damping: damping.clamp(0.0, 1.0),
        }
    }

    /// Returns `surprise`, damped unless it exceeds the recent peak, and updates the peak.
    pub(crate) fn apply(&mut self, surprise: f64) -> f64 {
        if self.decay == 0.0 {
            return surprise;
        }
        let peak = self.peak;
        self.peak = (peak * self.decay).max(surprise);
        if surprise > peak {
            surprise
        } else {
            surprise * self.damping
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_gives_one_peak() {
        let mut r = Refractory::new(20.0, 0.5);
        assert_eq!(r.apply(2.0), 2.0);
        assert_eq!(r.apply(1.9), 0.95);
        assert_eq!(r.apply(3.0), 3.0);
        for _ in 0..200 {
            r.apply(0.0);
        }
        assert_eq!(r.apply(1.0), 1.0);
    }

    #[test]
    fn disabled_is_identity() {
        let mut r = Refractory::new(0.0, 0.5);
        assert_eq!(r.apply(2.0), 2.0);
        assert_eq!(r.apply(1.0), 1.0);
    }
}
