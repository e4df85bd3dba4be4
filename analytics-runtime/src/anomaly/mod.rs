//! Streaming anomaly detection, usable on any metric stream on its own.
//!
//! * [`StreamDetector`]: one stream, one value at a time, bounded memory (about 14 KB), no
//!   look-ahead. Each value gets the plain rolling z-score against the previous `window_size`
//!   values and a calibrated anomaly score in [0, 1] from robust statistics at several time
//!   scales, with the statistic that gave it (see [`detector`] for the method).
//! * [`AnomalyDetector`]: one stream detector per key, severity bands of the score, the
//!   evidence of each anomaly, the store of recent anomalies, the findings that anomalies at
//!   the same instant form and the patterns repeated anomalies form, all capped.
//!
//! The runtime feeds it every phase's durations; users feed it any metric with
//! [`Runtime::observe`](crate::Runtime::observe) or hold their own detector.

mod block_window;
pub mod detector;
#[cfg(test)]
mod false_alarms;
mod keyed;
mod observation;
mod record;
mod refractory;
mod rolling;
mod settings;

pub use crate::report::{Anomaly, AnomalyFinding, Pattern, Severity};
pub use detector::StreamDetector;
pub(crate) use keyed::now;
#[allow(deprecated)]
pub use keyed::{
    AnomalyDetector, AnomalySettings, DEFAULT_SCORE_THRESHOLD, OVERFLOW_KEY, severity,
    severity_of_score,
};
pub use observation::{Component, Observation};
pub use settings::DetectorSettings;
