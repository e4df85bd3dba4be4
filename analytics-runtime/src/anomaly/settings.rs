//! Tuning knobs of the streaming detector, with defaults that suit all streams.

/// Settings of a [`StreamDetector`](super::StreamDetector). One setting serves every
/// stream: the detector adapts its scales and its alert level to each stream on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorSettings {
    /// Values in the plain rolling z-score window.
    pub window_size: usize,
    /// `|z_score|` at or above which [`Observation::z_alert`](super::Observation) is set.
    pub z_score_threshold: f64,
    /// Values in the long baseline (median, robust spread and value density); the window
    /// moves by blocks of about 1/63 of it and holds at least this many values.
    pub long_window: usize,
    /// Absolute differences kept to estimate the typical step between values (at least this
    /// many, moving by blocks like the long baseline).
    pub diff_window: usize,
    /// Points averaged by the short-term level and volatility statistics.
    pub short_window: usize,
    /// Past values of each statistic against which a new value is compared (at most this
    /// many, and more than this minus `record_block` once the stream is long enough).
    pub history_window: usize,
    /// Values per block of those histories: each block keeps only its top values, and the
    /// history window moves by whole blocks.
    pub record_block: usize,
    /// Points read before any non-zero score is given.
    pub warmup: usize,
    /// Half-width of the neighbourhood used for value density, in robust spreads.
    pub novelty_bandwidth: f64,
    /// Share of the density-novelty history above its tail reference (see `tail`).
    pub novelty_tail: f64,
    /// Share of each statistic's history above the reference point of its tail model: the
    /// tail probability of a value is a power law through that point and the maximum.
    pub tail: f64,
    /// Smallest tail exponent (heaviest tail) the power law may take.
    pub alpha_min: f64,
    /// Largest tail exponent (lightest tail) the power law may take.
    pub alpha_max: f64,
    /// Surprise (`-log10` of the combined tail probability) that maps to score 0.5:
    /// `score = s / (s + score_scale)`.
    pub score_scale: f64,
    /// Half-life, in points, of the recent score peak below which scores are damped
    /// (0 turns damping off).
    pub refractory: f64,
    /// Factor applied to the surprise of a point that does not beat the recent peak.
    pub refractory_damping: f64,
}

impl Default for DetectorSettings {
    fn default() -> Self {
        Self {
            window_size: 100,
            z_score_threshold: 3.0,
            long_window: 2000,
            diff_window: 1000,
            short_window: 10,
            history_window: 1500,
            record_block: 50,
            warmup: 150,
            novelty_bandwidth: 0.5,
            novelty_tail: 0.001,
            tail: 0.002,
            alpha_min: 1.0,
            alpha_max: 12.0,
            score_scale: 4.0,
            refractory: 20.0,
            refractory_damping: 0.5,
        }
    }
}

impl DetectorSettings {
    /// Sets the field named `key` from text (command-line overrides for experiments).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
            value
                .parse()
                .map_err(|_| format!("bad value {value:?} for {key}"))
        }
        match key {
            "window_size" => self.window_size = parse(key, value)?,
            "z_score_threshold" => self.z_score_threshold = parse(key, value)?,
            "long_window" => self.long_window = parse(key, value)?,
            "diff_window" => self.diff_window = parse(key, value)?,
            "short_window" => self.short_window = parse(key, value)?,
            "history_window" => self.history_window = parse(key, value)?,
            "record_block" => self.record_block = parse(key, value)?,
            "warmup" => self.warmup = parse(key, value)?,
            "novelty_bandwidth" => self.novelty_bandwidth = parse(key, value)?,
            "novelty_tail" => self.novelty_tail = parse(key, value)?,
            "tail" => self.tail = parse(key, value)?,
            "alpha_min" => self.alpha_min = parse(key, value)?,
            "alpha_max" => self.alpha_max = parse(key, value)?,
            "score_scale" => self.score_scale = parse(key, value)?,
            "refractory" => self.refractory = parse(key, value)?,
            "refractory_damping" => self.refractory_damping = parse(key, value)?,
            _ => return Err(format!("unknown setting {key}")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let mut s = DetectorSettings::default();
        assert_eq!(s.window_size, 100);
        assert_eq!(s.z_score_threshold, 3.0);
        s.set("window_size", "50").unwrap();
        s.set("refractory", "0").unwrap();
        assert_eq!(s.window_size, 50);
        assert_eq!(s.refractory, 0.0);
        assert!(s.set("nope", "1").is_err());
        assert!(s.set("warmup", "x").is_err());
    }
}
