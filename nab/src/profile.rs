//! NAB scoring profiles: the relative weights of true positives, misses and false alarms.

/// Weights of one NAB application profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    /// NAB's name for the profile.
    pub name: &'static str,
    /// Reward for detecting a window at its very start.
    pub tp_weight: f64,
    /// Penalty for a window with no detection.
    pub fn_weight: f64,
    /// Penalty for a detection far from any window.
    pub fp_weight: f64,
}

/// NAB's standard profile.
pub const STANDARD: Profile = Profile {
    name: "standard",
    tp_weight: 1.0,
    fn_weight: 1.0,
    fp_weight: 0.11,
};

/// NAB's profile that penalises false positives twice as much.
pub const REWARD_LOW_FP_RATE: Profile = Profile {
    name: "reward_low_FP_rate",
    tp_weight: 1.0,
    fn_weight: 1.0,
    fp_weight: 0.22,
};

/// NAB's profile that penalises missed windows twice as much.
pub const REWARD_LOW_FN_RATE: Profile = Profile {
    name: "reward_low_FN_rate",
    tp_weight: 1.0,
    fn_weight: 2.0,
    fp_weight: 0.11,
};

/// The three NAB profiles in NAB's usual order.
pub const PROFILES: [Profile; 3] = [STANDARD, REWARD_LOW_FP_RATE, REWARD_LOW_FN_RATE];
