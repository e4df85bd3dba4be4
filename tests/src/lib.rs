//! Integration tests of `analytics-runtime` live in `tests/`; this crate has no code.
