//! Errors of the runtime's public API.

use crate::config::ConfigError;

/// Why [`init`](crate::init) refused to install the global runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// `init` was already called in this process; the first runtime stays installed.
    #[error(
        "the analytics runtime is already initialised: call analytics_runtime::init once, at startup"
    )]
    AlreadyInitialized,
    /// The configuration is invalid; nothing was installed.
    #[error("invalid analytics configuration: {0}")]
    Config(#[from] ConfigError),
}
