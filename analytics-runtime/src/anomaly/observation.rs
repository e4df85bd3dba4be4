//! The detector's verdict on one value.

/// The statistic of the detector that gave a value its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Component {
    /// No statistic (warm-up, ignored value, or nothing surprising).
    #[default]
    None,
    /// Level: distance of the value from the long baseline's median, in robust spreads.
    Level,
    /// Step: size of the jump from the previous value, in typical steps.
    Step,
    /// Short-term level: distance of the mean of the last `short_window` values from the
    /// baseline's median, in robust spreads (a sustained shift).
    Shift,
    /// Volatility: log-ratio of the recent mean step to the typical step (noise appearing
    /// or vanishing).
    Volatility,
    /// Density novelty: how rarely the baseline visited the value's neighbourhood.
    Novelty,
}

impl Component {
    /// The five statistics in the detector's order.
    pub const ALL: [Component; 5] = [
        Component::Level,
        Component::Step,
        Component::Shift,
        Component::Volatility,
        Component::Novelty,
    ];

    /// Short name (`level`, `step`, `shift`, `volatility`, `novelty`, `none`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Component::None => "none",
            Component::Level => "level",
            Component::Step => "step",
            Component::Shift => "shift",
            Component::Volatility => "volatility",
            Component::Novelty => "novelty",
        }
    }
}

/// What the detector says about one value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Observation {
    /// Plain rolling z-score of the value against the previous `window_size` values
    /// (0 until two values are known; `±1e6` when the window has no spread).
    pub z_score: f64,
    /// Whether `|z_score| >= z_score_threshold`.
    pub z_alert: bool,
    /// Anomaly score in `[0, 1]`: `s / (s + score_scale)` of the surprise `s`, so the score
    /// is 0.5 where the value's combined tail probability is `10^-score_scale`.
    pub score: f64,
    /// Whether the value was ignored (not finite); the observation is then neutral.
    pub ignored: bool,
    /// The statistic with the largest surprise (the one that gave the score).
    pub component: Component,
    /// That statistic's value (in its own unit: robust spreads, typical steps, ...).
    pub statistic: f64,
    /// Surprise: `-log10` of the estimated probability of a value at least this extreme,
    /// for the most surprising statistic, corrected for testing five (before damping).
    pub surprise: f64,
    /// Median of the long baseline before this value.
    pub baseline_median: f64,
    /// Values in the long baseline before this value.
    pub baseline_len: usize,
}
