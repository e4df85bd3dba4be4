//! The detector's verdict on one value.

/// What the detector says about one value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Observation {
    /// Plain rolling z-score of the value against the previous `window_size` values
    /// (0 until two values are known; `±1e6` when the window has no spread).
    pub z_score: f64,
    /// Whether `|z_score| >= z_score_threshold`.
    pub z_alert: bool,
    /// Anomaly score in `[0, 1]`: `r / (1 + r)` of the largest record ratio `r`, so scores
    /// above 0.5 mean "more extreme than anything seen lately" on some statistic.
    pub score: f64,
    /// Whether the value was ignored (not finite); the observation is then neutral.
    pub ignored: bool,
}
