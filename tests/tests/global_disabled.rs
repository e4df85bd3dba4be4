//! The global runtime initialised with `"enabled": false`: `init` succeeds (once), phases run
//! unmeasured and the global report stays empty with `enabled: false`.

mod common;

use analytics_runtime::{AnalyticsConfig, InitError, analyzed_phase};
use common::{counts, runtime};

#[analyzed_phase]
fn quiet(x: u32) -> Result<u32, String> {
    if x == 0 { Err("zero".into()) } else { Ok(x) }
}

#[test]
fn a_disabled_global_runtime_records_nothing() {
    let config = AnalyticsConfig {
        enabled: false,
        ..AnalyticsConfig::default()
    };
    analytics_runtime::init(config).expect("a disabled config is valid");
    assert!(matches!(
        analytics_runtime::init(AnalyticsConfig::default()),
        Err(InitError::AlreadyInitialized)
    ));
    let global = analytics_runtime::global().expect("installed");
    assert!(!global.is_enabled());

    assert_eq!(quiet(1), Ok(1));
    assert_eq!(quiet(0), Err("zero".to_string()));
    let report = analytics_runtime::report();
    assert!(!report.enabled);
    assert!(report.phases.is_empty(), "{:?}", report.phases);

    // A scoped runtime still measures.
    let rt = runtime();
    rt.in_scope(|| quiet(2)).unwrap();
    assert_eq!(counts(&rt.report(), "quiet"), (1, 1, 0, 0, 0));
    assert!(analytics_runtime::report().phases.is_empty());
}
