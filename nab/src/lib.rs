//! The Numenta Anomaly Benchmark (NAB) harness of `analytics-runtime`'s anomaly detector:
//! reading a NAB corpus, running fresh detectors over it with no look-ahead, writing NAB-style
//! results and scoring them with NAB's method (probationary period, scaled-sigmoid window
//! weights, one corpus-wide threshold per profile).
//!
//! `cargo run --release --bin nab -- --data DIR --out DIR [--labels FILE]`
//!
//! `cargo run --release --bin nab -- --data DIR --labels FILE --cross-validate`: the honest
//! figure, settings and threshold chosen without the group scored (see [`cv`]).

pub mod corpus;
pub mod cv;
pub mod error;
pub mod harness;
pub mod predeval;
pub mod profile;
pub mod results;
pub mod scorer;
pub mod sweep;
pub mod timestamp;

pub use error::NabError;
pub use profile::{PROFILES, Profile};
pub use scorer::{FileOutcome, ProfileScore, ScoredFile, score_at_threshold, score_corpus};
