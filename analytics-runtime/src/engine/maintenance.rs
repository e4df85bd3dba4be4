//! The engine's timed work, done by the background worker besides catching up: a resource
//! sample every `resources.interval_ms`, message rates every second, and the memory manager's
//! cleanup every `memory.cleanup_interval` runs.

use std::time::{Duration, Instant};

use super::{Engine, EngineState, Outbox};
use crate::config::AnalyticsConfig;
use crate::faults::Component;
use crate::monitors::Monitors;
use crate::monitors::resources::ProcessSampler;

/// How often message rates are computed (and fed to the anomaly detector).
const RATE_INTERVAL: Duration = Duration::from_secs(1);
/// Anomaly-detector key of the process's resident memory, in MB.
const RSS_KEY: &str = "process.rss_mb";
/// Anomaly-detector key of the process's CPU use, in percent.
const CPU_KEY: &str = "process.cpu_percent";

impl Engine {
    /// The timed work of the background worker: a resource sample every
    /// `resources.interval_ms`, message rates every second, and the memory manager's cleanup
    /// every `memory.cleanup_interval` runs. Each piece runs as its own component: a panic is
    /// caught and counted, and the other pieces go on.
    pub(crate) fn maintain(&self, now: Instant, config: &AnalyticsConfig, monitors: &Monitors) {
        let components = self.components();
        let mut outbox = Outbox::default();
        if config.resources.enabled {
            components.run(Component::Resources, || {
                self.sample_resources(now, config, &mut outbox);
            });
        }
        let mut guard = self.lock();
        let state = &mut *guard;
        if now.saturating_duration_since(state.last_rates) >= RATE_INTERVAL {
            state.last_rates = now;
            let metrics = &mut state.metrics;
            if components
                .run(Component::Monitors, || {
                    monitors.messages.close_interval(now, metrics)
                })
                .is_none()
            {
                metrics.clear();
            }
            if config.anomaly.enabled {
                let anomalies = &mut state.anomalies;
                let found = components.run(Component::Anomaly, || {
                    metrics
                        .iter()
                        .filter_map(|(key, rate)| anomalies.observe(key, *rate))
                        .collect::<Vec<_>>()
                });
                outbox.anomalies.extend(found.into_iter().flatten());
            }
        }
        if state.analysed >= state.next_cleanup_at {
            let every = config.memory.cleanup_interval.max(1);
            state.next_cleanup_at = (state.analysed / every + 1) * every;
            components.run(Component::Cleanup, || cleanup(state, now, config, monitors));
        }
        drop(guard);
        self.deliver(outbox, config);
    }
}

impl Engine {
    /// Takes a resource sample if one is due, attributes it to the phases that ran since the
    /// last one, and feeds it to the anomaly detector.
    ///
    /// The sample itself (reads of `/proc`) is taken with the engine lock released: the
    /// sampler is taken out of the state, used, and put back (issue 13: no file I/O under a
    /// runtime lock). A concurrent caller finds no sampler and skips this round.
    fn sample_resources(&self, now: Instant, config: &AnalyticsConfig, outbox: &mut Outbox) {
        let interval = Duration::from_millis(config.resources.interval_ms);
        let (first, sampler) = {
            let mut state = self.lock();
            if state
                .last_sample
                .is_some_and(|last| now.saturating_duration_since(last) < interval)
            {
                return;
            }
            let first = !std::mem::replace(&mut state.sampler_tried, true);
            (first, state.sampler.take())
        };
        let mut sampler = if first {
            ProcessSampler::new()
        } else {
            sampler
        };
        let sample = sampler.as_mut().and_then(ProcessSampler::sample);
        let mut state = self.lock();
        if sampler.is_some() {
            state.sampler = sampler;
        }
        if let Some(sample) = sample {
            record_sample(&mut state, sample, now, interval, config, outbox);
        }
    }
}

/// Records `sample`, attributed to the phases that ran since the previous one, and feeds it to
/// the anomaly detector.
fn record_sample(
    state: &mut EngineState,
    sample: crate::monitors::resources::ResourceSample,
    now: Instant,
    interval: Duration,
    config: &AnalyticsConfig,
    outbox: &mut Outbox,
) {
    let elapsed = state
        .last_sample
        .map_or(interval, |last| now.saturating_duration_since(last));
    state.last_sample = Some(now);
    state.busy_list.clear();
    for (id, busy) in state.busy.iter_mut().enumerate() {
        if *busy > 0 {
            state.busy_list.push((id, *busy));
            *busy = 0;
        }
    }
    state.resources.record(sample, elapsed, &state.busy_list);
    let rss_mb = sample.rss_bytes as f64 / (1024.0 * 1024.0);
    if config.anomaly.enabled {
        for (key, value) in [(RSS_KEY, rss_mb), (CPU_KEY, sample.cpu_percent)] {
            if let Some(found) = state.anomalies.observe(key, value) {
                outbox.anomalies.push(found);
            }
        }
    }
    let memory_high = rss_mb > config.thresholds.memory_high;
    if memory_high && !state.memory_high {
        outbox
            .crossed
            .push(("memory (MB)", rss_mb, config.thresholds.memory_high));
    }
    state.memory_high = memory_high;
    let cpu_high = sample.cpu_percent > config.thresholds.cpu_high;
    if cpu_high && !state.cpu_high {
        outbox
            .crossed
            .push(("CPU (%)", sample.cpu_percent, config.thresholds.cpu_high));
    }
    state.cpu_high = cpu_high;
}

/// One pass of the memory manager: drops the names that stayed idle past
/// `memory.idle_timeout_secs` (topics, objectives, tasks, quality metrics, anomaly keys of
/// anything but a live phase), gives back spare capacity, and records what it freed.
fn cleanup(state: &mut EngineState, now: Instant, config: &AnalyticsConfig, monitors: &Monitors) {
    let started = Instant::now();
    let before = state.anomalies.heap_bytes()
        + state.resources.heap_bytes()
        + monitors.messages.heap_bytes()
        + monitors.objectives.heap_bytes()
        + monitors.tasks.heap_bytes();
    let mut removed = Vec::with_capacity(5);
    if config.memory.idle_timeout_secs > 0 {
        let idle = Duration::from_secs(config.memory.idle_timeout_secs);
        let live: std::collections::HashSet<&str> = state.phases.iter().map(|e| &*e.key).collect();
        let keys = state
            .anomalies
            .evict_idle(now, idle, |key| live.contains(key));
        removed.push(("anomaly_keys", keys));
        removed.push(("topics", monitors.messages.evict_idle(now, idle)));
        removed.push(("objectives", monitors.objectives.evict_idle(now, idle)));
        removed.push(("tasks", monitors.tasks.evict_idle(now, idle)));
    }
    let resource_phases = state
        .resources
        .forget_phases_above(config.memory.max_phases.saturating_add(1));
    removed.push(("resource_phases", resource_phases));
    // Anomalies and patterns are capped as they arrive; give back what a config change or a
    // burst left spare.
    state.anomalies.shrink();
    state.metrics.shrink_to_fit();
    monitors.messages.shrink();
    monitors.objectives.shrink();
    monitors.tasks.shrink();
    let after = state.anomalies.heap_bytes()
        + state.resources.heap_bytes()
        + monitors.messages.heap_bytes()
        + monitors.objectives.heap_bytes()
        + monitors.tasks.heap_bytes();
    state
        .cleanup
        .record_pass(&removed, before.saturating_sub(after), started.elapsed());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Message rates are computed once a second from the monitors' table; a topic that goes
    /// silent, or bursts, is an anomaly. Driven with synthetic instants, one per second.
    #[test]
    fn a_silent_topic_and_a_bursting_topic_are_anomalies() {
        let mut config = AnalyticsConfig::default();
        config.resources.enabled = false;
        let engine = Engine::new(&config);
        let monitors = Monitors::new(&config);
        let start = Instant::now();
        let mut second = 0u64;
        let mut tick = |messages: &[(&str, u32)]| {
            for (topic, n) in messages {
                for _ in 0..*n {
                    monitors.messages.record(topic, None);
                }
            }
            second += 1;
            engine.maintain(start + Duration::from_secs(second), &config, &monitors);
        };
        for i in 0..300 {
            tick(&[("heartbeats", 20 + i % 3), ("orders", 50 + i % 5)]);
        }
        let before = engine.lock().anomalies.total();
        tick(&[("heartbeats", 0), ("orders", 52)]);
        tick(&[("heartbeats", 0), ("orders", 2_000)]);
        let state = engine.lock();
        let found: Vec<_> = state
            .anomalies
            .recent()
            .skip(before as usize)
            .map(|a| (a.key.as_str(), a.value))
            .collect();
        assert!(
            found.contains(&("heartbeats.messages_per_s", 0.0)),
            "silence: {found:?}"
        );
        assert!(
            found
                .iter()
                .any(|(k, v)| *k == "orders.messages_per_s" && *v > 1_000.0),
            "burst: {found:?}"
        );
    }
}
