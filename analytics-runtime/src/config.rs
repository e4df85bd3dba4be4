//! Placeholder replaced by the full config module.
#![allow(missing_docs)]
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsConfig {
    pub enabled: bool,
    pub predictive: PredictiveConfig,
    pub anomaly: AnomalyConfig,
    pub optimizer: OptimizerConfig,
    pub memory: MemoryConfig,
    pub thresholds: Thresholds,
}
impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            predictive: Default::default(),
            anomaly: Default::default(),
            optimizer: Default::default(),
            memory: Default::default(),
            thresholds: Default::default(),
        }
    }
}
impl AnalyticsConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
    pub fn load_or_default(path: impl AsRef<std::path::Path>) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(s) => serde_json::from_str(&s).map_err(|e| ConfigError(e.to_string())),
            Err(_) => Ok(Self::default()),
        }
    }
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self, ConfigError> {
        let s = std::fs::read_to_string(path).map_err(|e| ConfigError(e.to_string()))?;
        serde_json::from_str(&s).map_err(|e| ConfigError(e.to_string()))
    }
}
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PredictiveConfig {
    pub enabled: bool,
    pub min_history: usize,
    pub confidence_threshold: f64,
}
impl Default for PredictiveConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_history: 10,
            confidence_threshold: 0.5,
        }
    }
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnomalyConfig {
    pub enabled: bool,
    pub window_size: usize,
    pub z_score_threshold: f64,
}
impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_size: 100,
            z_score_threshold: 3.0,
        }
    }
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    pub enabled: bool,
    pub interval: u64,
}
impl Default for OptimizerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: 100,
        }
    }
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryConfig {
    pub max_history_size: usize,
    pub cleanup_interval: u64,
}
impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            max_history_size: 1000,
            cleanup_interval: 500,
        }
    }
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub phase_slow: f64,
    pub memory_high: f64,
    pub cpu_high: f64,
}
impl Default for Thresholds {
    fn default() -> Self {
        Self {
            phase_slow: 600.0,
            memory_high: 2048.0,
            cpu_high: 80.0,
        }
    }
}
