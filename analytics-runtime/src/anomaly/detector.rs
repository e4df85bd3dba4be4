//! The per-stream detector: robust statistics at several time scales, each rated against
//! its own recent extremes by a tail model, combined into one calibrated score.
//!
//! For every value `x` the detector computes five non-negative statistics against a long
//! baseline of the last `long_window` values (median `m`, robust spread `s`) and the typical
//! step `d` (median absolute difference of consecutive values):
//!
//! 1. level: `|x - m| / s` (spikes, level shifts);
//! 2. step: `|x - x_prev| / (1.4826 d)` (sudden jumps);
//! 3. short-term level: `|mean of last short_window values - m| / s` (sustained shifts);
//! 4. volatility: `|ln((mean recent step + 0.1 d) / (1.1 d))|` (noise appearing or vanishing);
//! 5. density novelty: `(n + 1) / (values within ±novelty_bandwidth·s of x + 1)` (values in
//!    rarely visited places, even when not extreme).
//!
//! Each statistic is rated against its own last `history_window` values by a tail model
//! (`RecordRatio::surprise`): a power law through an upper quantile (the top `tail` share;
//! `novelty_tail` for density novelty) and the maximum, so a value past the recent extremes
//! gets a tail probability `p` that accounts for how heavy that statistic's tail is in this
//! stream (peaks-over-threshold calibration, as in SPOT, Siffer et al., KDD 2017). The
//! surprise `-log10 p` of the most surprising statistic, less `log10 5` for testing five,
//! is damped when it does not beat the recent peak (`Refractory`: one event, one alert) and
//! reported as `s / (s + score_scale)`: score 0.5 means a tail probability of
//! `10^-score_scale`. The score thus means the same in every stream, so one threshold
//! serves a whole corpus; the default threshold is the one leave-one-group-out
//! cross-validation on NAB selects (`nab --cross-validate`). Everything is one pass with
//! fixed-size buffers.
//!
//! Memory is about 13.6 KB per stream with the default settings (see
//! [`StreamDetector::heap_bytes`]), because every window is kept compactly and moves by
//! blocks of consecutive values:
//!
//! - the long baseline and the step window are `BlockWindow`s: one sorted array of
//!   4-byte keys (value relative to an anchor at 17 significant bits, plus the tag of its
//!   block), holding at least `long_window` / `diff_window` values (up to one block of
//!   about 1/63 of the window more); median, spread, step median and the value density
//!   around `x` are read from it by rank and binary search;
//! - each record history keeps, per block of `record_block` values, only its top few
//!   values (as log-grid bin numbers), over at most `history_window` values;
//! - only the plain z-score window (`window_size`) and the two short means keep raw `f64`s.

use super::block_window::BlockWindow;
use super::observation::{Component, Observation};
use super::record::RecordRatio;
use super::refractory::Refractory;
use super::rolling::RollingStats;
use super::settings::DetectorSettings;

/// Largest magnitude reported for a z-score.
const Z_CAP: f64 = 1e6;
/// Inputs are clamped to this magnitude so that squared sums stay finite.
const VALUE_LIMIT: f64 = 1e150;
/// Values in the long baseline before statistics are computed.
const MIN_BASELINE: usize = 20;
/// Floors of the record references of the five statistics (in their own units).
const FLOORS: [f64; 5] = [2.0, 2.0, 1.0, 0.5, 4.0];
/// `log10(5)`: the surprise of the largest of five statistics is corrected for testing five.
const BONFERRONI: f64 = 0.698_970_004_336_018_8;
/// Consistency factor of the median absolute step to a Gaussian standard deviation.
const MAD_TO_SD: f64 = 1.4826;

/// A streaming anomaly detector for one stream. Memory is fixed at construction.
#[derive(Debug, Clone)]
pub struct StreamDetector {
    settings: DetectorSettings,
    plain: RollingStats,
    baseline: BlockWindow,
    steps: BlockWindow,
    recent_values: RollingStats,
    recent_steps: RollingStats,
    records: [RecordRatio; 5],
    refractory: Refractory,
    previous: Option<f64>,
    seen: usize,
}

impl StreamDetector {
    /// Creates a fresh detector; all buffers are allocated here, once.
    pub fn new(settings: &DetectorSettings) -> Self {
        let h = settings.history_window;
        let record = |i: usize| {
            let tail = if i == 4 {
                settings.novelty_tail
            } else {
                settings.tail
            };
            RecordRatio::new(h, tail, FLOORS[i], settings.record_block)
        };
        Self {
            settings: settings.clone(),
            plain: RollingStats::new(settings.window_size),
            baseline: BlockWindow::new(settings.long_window),
            steps: BlockWindow::new(settings.diff_window),
            recent_values: RollingStats::new(settings.short_window),
            recent_steps: RollingStats::new(settings.short_window),
            records: std::array::from_fn(record),
            refractory: Refractory::new(settings.refractory, settings.refractory_damping),
            previous: None,
            seen: 0,
        }
    }

    /// Reads the next value. Non-finite values are ignored: they give a neutral
    /// observation (`ignored`, zero scores) and leave the state untouched.
    pub fn observe(&mut self, value: f64) -> Observation {
        if !value.is_finite() {
            return Observation {
                ignored: true,
                ..Observation::default()
            };
        }
        let x = value.clamp(-VALUE_LIMIT, VALUE_LIMIT);
        let z = self.plain.z_score(x, Z_CAP);
        self.plain.push(x);
        let mut out = Observation {
            z_score: z,
            z_alert: z.abs() >= self.settings.z_score_threshold,
            ..Observation::default()
        };
        self.score(x, &mut out);
        out
    }

    /// Number of values read (ignored values excluded).
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// Heap bytes held by this detector: the capacities of all its buffers, fixed at
    /// construction (13 620 bytes with the default settings).
    pub fn heap_bytes(&self) -> usize {
        self.plain.heap_bytes()
            + self.baseline.heap_bytes()
            + self.steps.heap_bytes()
            + self.recent_values.heap_bytes()
            + self.recent_steps.heap_bytes()
            + self
                .records
                .iter()
                .map(RecordRatio::heap_bytes)
                .sum::<usize>()
    }

    /// Updates the state with `x` and fills in its score and explanation.
    fn score(&mut self, x: f64, out: &mut Observation) {
        self.seen += 1;
        let step = self.previous.map_or(0.0, |p| (x - p).abs());
        self.recent_values.push(x);
        self.recent_steps.push(step);
        out.baseline_len = self.baseline.len();
        let surprise = if self.baseline.len() >= MIN_BASELINE {
            self.surprise(x, step, out)
        } else {
            0.0
        };
        if self.previous.is_some() {
            self.steps.push(step);
        }
        self.baseline.push(x);
        self.previous = Some(x);
        if self.seen < self.settings.warmup {
            out.component = Component::None;
            out.surprise = 0.0;
            return;
        }
        let s = self.refractory.apply(surprise);
        out.score = if s.is_finite() {
            s / (s + self.settings.score_scale.max(1e-9))
        } else {
            1.0
        };
    }

    /// The combined surprise of `x` (before `x` is recorded): the largest of the five
    /// statistics' tail surprises, less `log10(5)` for testing five (Bonferroni).
    fn surprise(&mut self, x: f64, step: f64, out: &mut Observation) -> f64 {
        let median = self.baseline.quantile(0.5);
        let spread = self.baseline.robust_scale();
        let typical_step = self.steps.quantile(0.5).max(spread * 1e-3).max(1e-12);
        let h = spread * self.settings.novelty_bandwidth;
        let n = self.baseline.len() as f64;
        let near = self.baseline.count_between(x - h, x + h) as f64;
        let stats = [
            (x - median).abs() / spread,
            step / (typical_step * MAD_TO_SD),
            (self.recent_values.mean() - median).abs() / spread,
            ((self.recent_steps.mean() + 0.1 * typical_step) / (1.1 * typical_step))
                .ln()
                .abs(),
            (n + 1.0) / (near + 1.0),
        ];
        let alpha = (self.settings.alpha_min, self.settings.alpha_max);
        let mut best = (0.0, Component::None, 0.0);
        for ((record, stat), component) in self.records.iter_mut().zip(stats).zip(Component::ALL) {
            let s = record.surprise(stat, alpha);
            if s > best.0 {
                best = (s, component, stat);
            }
        }
        out.baseline_median = median;
        out.component = best.1;
        out.statistic = best.2;
        let combined = (best.0 - BONFERRONI).max(0.0);
        out.surprise = combined;
        combined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-noise in [-1, 1].
    fn noise(i: usize) -> f64 {
        let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
        (h as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    fn run(values: impl IntoIterator<Item = f64>) -> Vec<Observation> {
        let mut d = StreamDetector::new(&DetectorSettings::default());
        values.into_iter().map(|v| d.observe(v)).collect()
    }

    #[test]
    fn plain_z_score_matches_definition() {
        let obs = run((0..101).map(|i| if i == 100 { 10.0 } else { f64::from(i % 2) }));
        // Previous 100 values alternate 0/1: mean 0.5, population sd 0.5.
        assert!((obs[100].z_score - 19.0).abs() < 1e-9);
        assert!(obs[100].z_alert);
        assert!(!obs[99].z_alert);
    }

    #[test]
    fn spike_scores_high_once() {
        let obs = run((0..1500).map(|i| if i == 1200 { 50.0 } else { 10.0 + noise(i) }));
        let spike = obs[1200].score;
        let others = obs[300..1200].iter().map(|o| o.score).fold(0.0, f64::max);
        assert!(spike > 0.8, "{spike}");
        assert!(others < spike - 0.2, "{others}");
        assert!(obs[1201].score < spike);
    }

    #[test]
    fn level_shift_is_detected() {
        let obs = run((0..1500).map(|i| noise(i) + if i >= 1000 { 8.0 } else { 0.0 }));
        let at = obs[1000..1010].iter().map(|o| o.score).fold(0.0, f64::max);
        let before = obs[300..1000].iter().map(|o| o.score).fold(0.0, f64::max);
        assert!(at > before, "{at} vs {before}");
        assert!(at > 0.6);
    }

    #[test]
    fn flat_series_is_calm_until_it_moves() {
        let obs = run((0..600).map(|i| if i == 500 { 46.0 } else { 45.0 }));
        assert!(obs[..500].iter().all(|o| o.score < 0.5));
        assert!(obs[500].score > 0.9);
    }

    #[test]
    fn small_moves_on_a_large_offset_are_resolved() {
        let obs = run((0..1500).map(|i| 1e9 + if i == 1200 { 0.05 } else { 1e-3 * noise(i) }));
        let spike = obs[1200].score;
        let others = obs[300..1200].iter().map(|o| o.score).fold(0.0, f64::max);
        assert!(spike > 0.8, "{spike}");
        assert!(others < spike - 0.2, "{others}");
    }

    #[test]
    fn memory_is_small_and_fixed() {
        let mut d = StreamDetector::new(&DetectorSettings::default());
        let bytes = d.heap_bytes();
        assert!(bytes <= 16 * 1024, "{bytes}");
        for i in 0..5000 {
            d.observe(noise(i));
        }
        assert_eq!(d.heap_bytes(), bytes);
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let mut d = StreamDetector::new(&DetectorSettings::default());
        for i in 0..300 {
            d.observe(noise(i));
        }
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let o = d.observe(bad);
            assert!(o.ignored);
            assert_eq!(o.score, 0.0);
            assert_eq!(o.z_score, 0.0);
        }
        assert_eq!(d.seen(), 300);
        let o = d.observe(noise(300));
        assert!(o.score.is_finite() && o.z_score.is_finite());
    }

    #[test]
    fn scores_are_identical_for_identical_streams() {
        let a = run((0..800).map(noise));
        let b = run((0..800).map(noise));
        assert_eq!(a, b);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_stays_in_range(
            values in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::num::f64::ANY,
                    -1e6f64..1e6,
                    proptest::strategy::Just(0.0),
                ],
                0..400,
            )
        ) {
            let mut d = StreamDetector::new(&DetectorSettings {
                warmup: 5,
                long_window: 50,
                history_window: 30,
                ..DetectorSettings::default()
            });
            for v in values {
                let o = d.observe(v);
                proptest::prop_assert!((0.0..=1.0).contains(&o.score), "{:?}", o);
                proptest::prop_assert!(o.z_score.is_finite());
            }
        }
    }
}
