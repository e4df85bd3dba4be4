//! [`AnomalyDetector`]: one streaming detector per metric key, with severity bands, the store
//! of recent anomalies and the patterns that repeated anomalies form. Bounded everywhere: keys,
//! stored anomalies and patterns each have a cap.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::observation::Component;
use super::{DetectorSettings, Observation, StreamDetector};
use crate::report::{AnomaliesReport, Anomaly, AnomalyFinding, BySeverity, Pattern, Severity};

/// The key that takes the observations of new keys once `max_keys` keys exist, so a caller
/// that invents names cannot make the detector grow.
pub const OVERFLOW_KEY: &str = "other";

/// Observations of a key before its z-score can make an anomaly (or the whole window, if
/// shorter).
const MIN_HISTORY: u64 = 30;

/// Anomalies on one key needed within `window_size` observations to form a pattern.
const PATTERN_MIN: u64 = 3;

/// Settings of an [`AnomalyDetector`].
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalySettings {
    /// Settings of each key's streaming detector (`window_size`: the rolling z-score window).
    pub detector: DetectorSettings,
    /// `|z|` at or above which an observation's z-score is flagged (evidence only).
    pub z_score_threshold: f64,
    /// Detector score at or above which an observation is an anomaly; its severity is the
    /// band of the score (see [`severity_of_score`]).
    pub score_threshold: f64,
    /// Distinct keys tracked; observations of further keys go to [`OVERFLOW_KEY`].
    pub max_keys: usize,
    /// Anomalies kept for [`AnomalyDetector::recent`] (the oldest are dropped first).
    pub max_anomalies: usize,
    /// Patterns kept (the oldest are dropped first).
    pub max_patterns: usize,
}

impl Default for AnomalySettings {
    fn default() -> Self {
        AnomalySettings {
            detector: DetectorSettings::default(),
            z_score_threshold: 3.0,
            score_threshold: DEFAULT_SCORE_THRESHOLD,
            max_keys: 256,
            max_anomalies: 500,
            max_patterns: 100,
        }
    }
}

/// The default [`AnomalySettings::score_threshold`]: the threshold leave-one-group-out
/// cross-validation on the NAB subset selects (`nab --cross-validate`: 0.389 to 0.392 in
/// four of five folds, chosen on the training groups only; the standard score varies
/// smoothly around it, 68 at 0.375 and 66 at 0.40). At this threshold stationary durations
/// of any shape (normal, lognormal, bimodal, heavy-tailed) flag at most 0.2 % of runs (the
/// false-alarm test), since a score of 0.39 means a tail probability of about 10^-2.6 after
/// correcting for the five statistics.
pub const DEFAULT_SCORE_THRESHOLD: f64 = 0.39;

/// The severity band of an observation, or `None` if it is not an anomaly.
///
/// Kept for compatibility: the severity comes from the score alone (see
/// [`severity_of_score`]); `z_score_threshold` is not used.
#[must_use]
#[deprecated(note = "the severity comes from the score alone: use `severity_of_score`")]
pub fn severity(
    observation: &Observation,
    _z_score_threshold: f64,
    score_threshold: f64,
) -> Option<Severity> {
    severity_of_score(observation.score, score_threshold)
}

/// The severity band of an anomaly score, or `None` below `score_threshold`.
///
/// The interval from `score_threshold` to 1 is cut in four equal bands (low, medium, high,
/// critical), so the severity is a non-decreasing function of the score: a higher score is
/// never a lower severity.
#[must_use]
pub fn severity_of_score(score: f64, score_threshold: f64) -> Option<Severity> {
    band((score - score_threshold) / ((1.0 - score_threshold) / 4.0).max(1e-9))
}

/// Band of a position past the threshold in units of one band (negative: no anomaly).
fn band(position: f64) -> Option<Severity> {
    // NaN (from a NaN score or z) is no anomaly either.
    if position.is_nan() || position < 0.0 {
        return None;
    }
    Some(match position {
        p if p < 1.0 => Severity::Low,
        p if p < 2.0 => Severity::Medium,
        p if p < 3.0 => Severity::High,
        _ => Severity::Critical,
    })
}

/// The state of `key`, created with a fresh detector on first use (the key is copied only
/// then: observing a known key allocates nothing).
fn key_state<'a>(
    keys: &'a mut HashMap<Box<str>, KeyState>,
    key: &str,
    detector: &DetectorSettings,
) -> Option<&'a mut KeyState> {
    if !keys.contains_key(key) {
        keys.insert(
            key.into(),
            KeyState {
                detector: StreamDetector::new(detector),
                observed: 0,
                last_anomalies: [None, None],
                open_pattern: None,
                last_seen: Instant::now(),
            },
        );
    }
    keys.get_mut(key)
}

/// What one key remembers.
#[derive(Debug)]
struct KeyState {
    detector: StreamDetector,
    /// Observations so far (finite ones).
    observed: u64,
    /// Observation indices of the last two anomalies, newest first.
    last_anomalies: [Option<u64>; 2],
    /// The pattern this key is building, by id, while anomalies keep coming.
    open_pattern: Option<u64>,
    /// When the key last received a value (for idle eviction).
    last_seen: Instant,
}

/// One streaming detector per key, and what they found.
///
/// ```
/// use analytics_runtime::anomaly::{AnomalyDetector, AnomalySettings};
///
/// let mut detector = AnomalyDetector::new(AnomalySettings::default());
/// for i in 0..500 {
///     let value = 100.0 + f64::from(i % 7);
///     assert!(detector.observe("queue_depth", value).is_none());
/// }
/// let spike = detector.observe("queue_depth", 900.0).expect("a spike is an anomaly");
/// assert_eq!(spike.key, "queue_depth");
/// assert!(spike.z_score > 3.0);
/// ```
#[derive(Debug)]
pub struct AnomalyDetector {
    settings: AnomalySettings,
    keys: HashMap<Box<str>, KeyState>,
    /// Observations of keys refused by the `max_keys` cap (sent to [`OVERFLOW_KEY`]).
    overflowed: u64,
    /// Non-finite values ignored.
    ignored: u64,
    total: u64,
    by_severity: BySeverity,
    recent: VecDeque<Anomaly>,
    patterns: VecDeque<(u64, Pattern)>,
    next_pattern_id: u64,
    /// Recent anomalies grouped by overlapping spans (capped like the patterns).
    findings: VecDeque<AnomalyFinding>,
}

impl AnomalyDetector {
    /// A detector with no keys yet.
    #[must_use]
    pub fn new(settings: AnomalySettings) -> AnomalyDetector {
        AnomalyDetector {
            settings,
            keys: HashMap::new(),
            overflowed: 0,
            ignored: 0,
            total: 0,
            by_severity: BySeverity::default(),
            recent: VecDeque::new(),
            patterns: VecDeque::new(),
            next_pattern_id: 0,
            findings: VecDeque::new(),
        }
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &AnomalySettings {
        &self.settings
    }

    /// Reads the next value of `key`; returns the anomaly if it is one.
    ///
    /// Non-finite values are ignored (counted in [`AnomalyDetector::ignored`]) and never reach
    /// the statistics.
    pub fn observe(&mut self, key: &str, value: f64) -> Option<Anomaly> {
        let time = now();
        self.observe_span(key, value, time, time)
    }

    /// Reads the next value of `key`, measured over `start..end` (seconds since the Unix
    /// epoch: a run's start and end); returns the anomaly if it is one. Anomalies whose
    /// spans overlap become one [finding](crate::report::AnomalyFinding).
    pub fn observe_span(&mut self, key: &str, value: f64, start: f64, end: f64) -> Option<Anomaly> {
        if !value.is_finite() {
            self.ignored += 1;
            return None;
        }
        let key = self.admit(key);
        let settings = &self.settings;
        let state = key_state(&mut self.keys, key, &settings.detector)?;
        state.last_seen = Instant::now();
        let observation = state.detector.observe(value);
        let index = state.observed;
        state.observed += 1;
        // A score over a handful of values means nothing: wait for a usable window.
        if index < (settings.detector.window_size as u64).min(MIN_HISTORY) {
            return None;
        }
        let severity = severity_of_score(observation.score, settings.score_threshold)?;
        let time = end;
        let anomaly = Anomaly {
            key: key.to_string(),
            value,
            z_score: observation.z_score,
            score: observation.score,
            severity,
            time,
            rule: observation.component.name().to_string(),
            evidence: evidence(value, &observation, &settings.detector),
            start: start.min(end),
        };
        group_into(&mut self.findings, &anomaly, settings.max_patterns);

        // Patterns: the third anomaly within one window opens a pattern; later ones within a
        // window of the previous extend it; a longer gap closes it.
        let window = settings.detector.window_size as u64;
        let [last, second] = state.last_anomalies;
        state.last_anomalies = [Some(index), last];
        let extends = last.is_some_and(|l| index - l <= window);
        let opens = second.is_some_and(|s| index - s <= window);
        let open_pattern = state.open_pattern.filter(|_| extends);
        state.open_pattern = match open_pattern {
            Some(id) => {
                if let Some((_, pattern)) = self.patterns.iter_mut().find(|(i, _)| *i == id) {
                    pattern.count += 1;
                    pattern.last = time;
                    pattern.max_severity = pattern.max_severity.max(severity);
                }
                Some(id)
            }
            None if opens => {
                let id = self.next_pattern_id;
                self.next_pattern_id += 1;
                let first = self
                    .recent
                    .iter()
                    .rev()
                    .filter(|a| a.key == key)
                    .nth(1)
                    .map_or(time, |a| a.time);
                let max_severity = self
                    .recent
                    .iter()
                    .rev()
                    .filter(|a| a.key == key)
                    .take(2)
                    .fold(severity, |m, a| m.max(a.severity));
                push_capped(
                    &mut self.patterns,
                    (
                        id,
                        Pattern {
                            key: key.to_string(),
                            count: PATTERN_MIN,
                            first,
                            last: time,
                            max_severity,
                        },
                    ),
                    self.settings.max_patterns,
                );
                Some(id)
            }
            None => None,
        };

        self.total += 1;
        self.by_severity.add(severity);
        push_capped(
            &mut self.recent,
            anomaly.clone(),
            self.settings.max_anomalies,
        );
        Some(anomaly)
    }

    /// Feeds `value` to `key`'s detector as history only (a restored snapshot): the detector
    /// learns the stream's baseline, but nothing is recorded as an anomaly.
    pub fn warm(&mut self, key: &str, value: f64) {
        if !value.is_finite() {
            return;
        }
        let key = self.admit(key);
        let settings = &self.settings;
        let Some(state) = key_state(&mut self.keys, key, &settings.detector) else {
            return;
        };
        state.detector.observe(value);
        state.observed += 1;
    }

    /// The key observations of `key` are recorded under: `key` itself, or [`OVERFLOW_KEY`]
    /// once `max_keys` distinct keys exist.
    fn admit<'a>(&mut self, key: &'a str) -> &'a str {
        if self.keys.contains_key(key) || self.keys.len() < self.settings.max_keys.max(1) {
            key
        } else {
            self.overflowed += 1;
            OVERFLOW_KEY
        }
    }

    /// Removes the keys that received nothing for `idle` (their detectors start afresh if they
    /// come back), keeping `keep` (the keys of live phases); returns how many were removed.
    pub fn evict_idle(
        &mut self,
        now: Instant,
        idle: Duration,
        keep: impl Fn(&str) -> bool,
    ) -> usize {
        let before = self.keys.len();
        self.keys.retain(|key, state| {
            keep(key) || now.saturating_duration_since(state.last_seen) < idle
        });
        before - self.keys.len()
    }

    /// Gives back the spare capacity of the key map and the stores.
    pub fn shrink(&mut self) {
        self.keys.shrink_to_fit();
        self.recent.shrink_to_fit();
        self.patterns.shrink_to_fit();
        self.findings.shrink_to_fit();
    }

    /// Anomalies detected so far (including those no longer stored).
    #[must_use]
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The stored anomalies, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = &Anomaly> {
        self.recent.iter()
    }

    /// The stored patterns, oldest first.
    pub fn patterns(&self) -> impl Iterator<Item = &Pattern> {
        self.patterns.iter().map(|(_, p)| p)
    }

    /// Distinct keys tracked.
    #[must_use]
    pub fn keys(&self) -> usize {
        self.keys.len()
    }

    /// Observations sent to [`OVERFLOW_KEY`] because the key cap was reached.
    #[must_use]
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }

    /// Non-finite values ignored.
    #[must_use]
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// The `anomalies` section of a report.
    #[must_use]
    pub fn summary(&self) -> AnomaliesReport {
        AnomaliesReport {
            total: self.total,
            by_severity: self.by_severity,
            recent: self.recent.iter().cloned().collect(),
            findings: self.findings.iter().cloned().collect(),
        }
    }

    /// Bytes held on the heap: the key map's table (entries inline, plus a control byte each),
    /// every key's name and detector buffers, and the stores, from their capacities.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        let keys: usize = self
            .keys
            .iter()
            .map(|(k, s)| k.len() + s.detector.heap_bytes())
            .sum();
        let map_slots = self.keys.capacity() * (std::mem::size_of::<(Box<str>, KeyState)>() + 1);
        let anomalies: usize = self.recent.capacity() * std::mem::size_of::<Anomaly>()
            + self.recent.iter().map(|a| a.key.capacity()).sum::<usize>();
        let patterns: usize = self.patterns.capacity() * std::mem::size_of::<(u64, Pattern)>()
            + self
                .patterns
                .iter()
                .map(|(_, p)| p.key.capacity())
                .sum::<usize>();
        let findings: usize = self.findings.capacity() * std::mem::size_of::<AnomalyFinding>()
            + self
                .findings
                .iter()
                .map(|f| {
                    f.evidence.capacity()
                        + f.keys.capacity() * std::mem::size_of::<String>()
                        + f.keys.iter().map(String::capacity).sum::<usize>()
                })
                .sum::<usize>();
        let texts: usize = self
            .recent
            .iter()
            .map(|a| a.rule.capacity() + a.evidence.capacity())
            .sum();
        keys + map_slots + anomalies + patterns + findings + texts
    }
}

/// Findings (from the newest back) an anomaly is compared with: the engine reads phase by
/// phase, so the anomalies of one stall arrive interleaved with a few others.
const GROUP_LOOKBACK: usize = 16;

/// Slack, in seconds, allowed between spans that still count as the same instant.
const GROUP_SLACK: f64 = 1e-3;

/// Adds `anomaly` to the finding whose span it overlaps (another key at the same instant),
/// or opens a new finding.
fn group_into(findings: &mut VecDeque<AnomalyFinding>, anomaly: &Anomaly, cap: usize) {
    let joins = findings.iter_mut().rev().take(GROUP_LOOKBACK).find(|f| {
        anomaly.start <= f.end + GROUP_SLACK
            && f.start <= anomaly.time + GROUP_SLACK
            && !f.keys.contains(&anomaly.key)
    });
    if let Some(f) = joins {
        f.keys.push(anomaly.key.clone());
        f.count += 1;
        f.start = f.start.min(anomaly.start);
        f.end = f.end.max(anomaly.time);
        if anomaly.score > f.score {
            f.score = anomaly.score;
            f.severity = anomaly.severity;
            f.evidence = format!("{}: {}", anomaly.key, anomaly.evidence);
        }
        return;
    }
    push_capped(
        findings,
        AnomalyFinding {
            keys: vec![anomaly.key.clone()],
            count: 1,
            start: anomaly.start,
            end: anomaly.time,
            score: anomaly.score,
            severity: anomaly.severity,
            evidence: format!("{}: {}", anomaly.key, anomaly.evidence),
        },
        cap.max(1),
    );
}

/// The words and numbers behind an anomaly: what the statistic that fired saw, then the
/// plain z-score and the tail probability.
fn evidence(value: f64, o: &Observation, settings: &DetectorSettings) -> String {
    let n = o.baseline_len;
    let m = o.baseline_median;
    // Far from the median, say how far in the unit a person thinks in.
    let ratio = if m > 0.0 && value > 0.0 && (value / m >= 1.5 || value / m <= 0.67) {
        format!(
            "{:.1}x the median of the last {n} values ({}); ",
            value / m,
            short(m)
        )
    } else {
        String::new()
    };
    let what = match o.component {
        Component::Level if !ratio.is_empty() => {
            format!("{:.1} robust spreads from that median", o.statistic)
        }
        Component::Level => format!(
            "{:.1} robust spreads from the median of the last {n} values ({})",
            o.statistic,
            short(m)
        ),
        Component::Step => format!(
            "jump from the previous value {:.1}x the typical step",
            o.statistic
        ),
        Component::Shift => format!(
            "mean of the last {} values {:.1} robust spreads from the median of the last {n} ({})",
            settings.short_window,
            o.statistic,
            short(m)
        ),
        Component::Volatility => format!(
            "recent step sizes a factor {:.1} off the typical step",
            o.statistic.exp()
        ),
        Component::Novelty => {
            let near = ((n as f64 + 1.0) / o.statistic.max(1e-9) - 1.0).max(0.0);
            format!("value in a range seen {near:.0} times in the last {n} values")
        }
        Component::None => "no statistic stood out".to_string(),
    };
    format!(
        "{ratio}{} rule: {what}; z {:.1}; tail probability ~1e-{:.1}",
        o.component.name(),
        o.z_score,
        o.surprise
    )
}

/// A number in at most four significant digits.
fn short(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e5 || x.abs() < 1e-3) {
        format!("{x:.3e}")
    } else {
        format!("{}", (x * 1e3).round() / 1e3)
    }
}

fn push_capped<T>(queue: &mut VecDeque<T>, item: T, cap: usize) {
    if cap == 0 {
        return;
    }
    while queue.len() >= cap {
        queue.pop_front();
    }
    queue.push_back(item);
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(z: f64, score: f64) -> Observation {
        Observation {
            z_score: z,
            score,
            ..Observation::default()
        }
    }

    /// Issue 12: "`critical` with score 0.00" and "`low` with score 0.53" came from taking the
    /// worse of a z band and a score band; the severity is now the score's band alone.
    #[test]
    fn severity_comes_from_the_score_alone() {
        let t = 0.4;
        assert_eq!(severity_of_score(0.39, t), None);
        assert_eq!(severity_of_score(0.4, t), Some(Severity::Low));
        assert_eq!(severity_of_score(0.56, t), Some(Severity::Medium));
        assert_eq!(severity_of_score(0.71, t), Some(Severity::High));
        assert_eq!(severity_of_score(0.86, t), Some(Severity::Critical));
        assert_eq!(severity_of_score(f64::NAN, t), None);
        // A huge z-score with score 0 is no anomaly, and no critical one.
        #[allow(deprecated)]
        let old = severity(&obs(60.0, 0.0), 3.0, t);
        assert_eq!(old, None);
        // Monotone: a higher score is never a lower severity.
        let mut last = None;
        for i in 0..=1000 {
            let s = severity_of_score(f64::from(i) / 1000.0, t);
            assert!(s >= last, "{i}");
            last = s;
        }
    }

    fn steady(detector: &mut AnomalyDetector, key: &str, n: usize) {
        for i in 0..n {
            let value = 50.0 + (i % 5) as f64;
            detector.observe(key, value);
        }
    }

    #[test]
    fn spikes_are_anomalies_and_repeated_ones_form_one_pattern() {
        let mut d = AnomalyDetector::new(AnomalySettings::default());
        steady(&mut d, "k", 400);
        let before = d.total();
        // Each spike beats the last (an identical spike within the history is no longer
        // novel: the detector rates values against the stream's own recent extremes).
        for spike in [5e3, 5e4, 5e5, 5e6] {
            steady(&mut d, "k", 10);
            assert!(d.observe("k", spike).is_some(), "{spike}");
        }
        assert!(d.total() >= before + 4);
        let patterns: Vec<_> = d.patterns().collect();
        assert_eq!(patterns.len(), 1, "{patterns:?}");
        assert_eq!(patterns[0].key, "k");
        assert!(patterns[0].count >= 4);
        assert!(patterns[0].first <= patterns[0].last);
        let summary = d.summary();
        assert_eq!(summary.total, d.total());
        let by = summary.by_severity;
        assert_eq!(by.low + by.medium + by.high + by.critical, d.total());
    }

    /// Issue 12: "one scheduler stall gives four anomalies at once". Runs of several
    /// phases that overlap the same stall are one finding; a later, separate spike is
    /// another.
    #[test]
    fn anomalies_at_the_same_instant_are_one_finding() {
        let mut d = AnomalyDetector::new(AnomalySettings::default());
        let phases = ["plan", "build", "test", "deploy"];
        // Phases run one after another, 10 ms each, 400 rounds.
        let mut t = 1000.0;
        for i in 0..400 {
            for p in phases {
                let ms = 10.0 + (i % 7) as f64 * 0.1;
                assert!(d.observe_span(p, ms, t, t + ms / 1e3).is_none());
                t += 0.011;
            }
        }
        // A 500 ms stall: the runs of build, test and deploy that were in flight all end
        // late, overlapping the stall; plan is unaffected.
        let stall = (t, t + 0.5);
        for p in ["build", "test", "deploy"] {
            let a = d.observe_span(p, 500.0, stall.0, stall.1);
            assert!(a.is_some(), "{p}");
        }
        t += 1.0;
        for i in 0..50 {
            for p in phases {
                let ms = 10.0 + (i % 7) as f64 * 0.1;
                d.observe_span(p, ms, t, t + ms / 1e3);
                t += 0.011;
            }
        }
        // Later, `plan` alone is slow: a separate finding.
        assert!(d.observe_span("plan", 900.0, t, t + 0.9).is_some());
        let findings = d.summary().findings;
        assert_eq!(findings.len(), 2, "{findings:?}");
        assert_eq!(findings[0].keys, ["build", "test", "deploy"]);
        assert_eq!(findings[0].count, 3);
        assert!(
            findings[0].evidence.contains("x the median"),
            "{:?}",
            findings[0]
        );
        assert_eq!(findings[1].keys, ["plan"]);
        // Every anomaly is still listed on its own.
        assert_eq!(d.summary().recent.len(), 4);
    }

    #[test]
    fn keys_stores_and_patterns_are_capped() {
        let settings = AnomalySettings {
            max_keys: 3,
            max_anomalies: 5,
            max_patterns: 2,
            ..AnomalySettings::default()
        };
        let mut d = AnomalyDetector::new(settings);
        for k in 0..10 {
            d.observe(&format!("key{k}"), 1.0);
        }
        assert_eq!(d.keys(), 4, "three keys and the overflow bucket");
        assert_eq!(d.overflowed(), 7);
        steady(&mut d, "key0", 300);
        for _ in 0..20 {
            steady(&mut d, "key0", 5);
            d.observe("key0", 1e9);
        }
        assert!(d.recent().count() <= 5);
        assert!(d.patterns().count() <= 2);
    }

    #[test]
    fn non_finite_values_are_ignored_and_counted() {
        let mut d = AnomalyDetector::new(AnomalySettings::default());
        steady(&mut d, "k", 100);
        assert!(d.observe("k", f64::NAN).is_none());
        assert!(d.observe("k", f64::INFINITY).is_none());
        assert_eq!(d.ignored(), 2);
        assert!(d.observe("k", 52.0).is_none());
    }
}
