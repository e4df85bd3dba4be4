//! The global runtime: `init` installs it once (a second call is
//! `Err(InitError::AlreadyInitialized)`, an invalid config is `Err(InitError::Config)` and
//! installs nothing), phases before `init` are not measured, phases after it are, from any
//! thread, and a scoped runtime takes precedence over it on its own thread.
//!
//! `init` can succeed once per process: one test does the whole sequence, in order.

mod common;

use std::thread;

use analytics_runtime::{AnalyticsConfig, InitError, analyzed_phase};
use common::{counts, runtime};
use futures::executor::block_on;

#[analyzed_phase]
fn global_phase(x: u32) -> Result<u32, String> {
    if x == 0 { Err("zero".into()) } else { Ok(x) }
}

#[analyzed_phase]
async fn global_async(x: u32) -> u32 {
    x * 2
}

#[analyzed_phase]
fn only_before_init() {}

#[test]
fn an_invalid_config_is_refused_and_names_the_field() {
    let mut config = AnalyticsConfig::default();
    config.anomaly.window_size = 0;
    let Err(InitError::Config(err)) = analytics_runtime::init(config) else {
        panic!("an invalid config must give InitError::Config");
    };
    assert!(err.to_string().contains("anomaly.window_size"), "{err}");
    // Nothing invalid was installed (the other test may have installed a valid runtime).
    if let Some(global) = analytics_runtime::global() {
        assert_eq!(global.config().anomaly.window_size, 100);
    }
}

#[test]
fn init_once_then_phases_are_measured() {
    // Before init: unmeasured.
    only_before_init();
    assert_eq!(global_phase(1), Ok(1));
    let before = analytics_runtime::report();
    assert!(!before.enabled);
    assert!(before.phases.is_empty());

    analytics_runtime::init(AnalyticsConfig::default()).expect("first init");
    assert!(matches!(
        analytics_runtime::init(AnalyticsConfig::default()),
        Err(InitError::AlreadyInitialized)
    ));
    assert!(analytics_runtime::global().unwrap().is_enabled());

    for x in 0..3 {
        let _ = global_phase(x);
    }
    assert_eq!(block_on(global_async(4)), 8);
    thread::spawn(|| global_phase(7).unwrap()).join().unwrap();
    let report = analytics_runtime::report();
    assert!(report.enabled);
    // The call before init is not counted.
    assert_eq!(counts(&report, "global_phase"), (4, 3, 1, 0, 0));
    assert_eq!(counts(&report, "global_async"), (1, 1, 0, 0, 0));
    assert!(report.phase("only_before_init").is_none());

    // A scope takes precedence on its thread, and `report()` reads it.
    let rt = runtime();
    rt.in_scope(|| {
        global_phase(0).unwrap_err();
        assert_eq!(
            counts(&analytics_runtime::report(), "global_phase"),
            (1, 0, 1, 0, 0)
        );
    });
    assert_eq!(counts(&rt.report(), "global_phase"), (1, 0, 1, 0, 0));

    // After the scope, the global runtime again (its cached call site included).
    global_phase(9).unwrap();
    only_before_init();
    let report = analytics_runtime::report();
    assert_eq!(counts(&report, "global_phase"), (5, 4, 1, 0, 0));
    assert_eq!(counts(&report, "only_before_init"), (1, 1, 0, 0, 0));
    assert_eq!(
        report.phases,
        analytics_runtime::global().unwrap().report().phases
    );
}
