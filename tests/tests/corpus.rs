//! The corpus: functions with the signatures of the peers' test suites (tracing-attributes,
//! fastrace, autometrics, async-trait) and probe shapes, in `tests/corpus/*.rs`. Each file is
//! compiled twice, once under `#[analyzed_phase]` and once under a no-op attribute (the
//! control build: every case compiles without the attribute), so this test does not build if
//! any case stops compiling with the attribute. Each file's `exercise` calls its functions and
//! says which calls returned an `Err`; the counts of the annotated build must say the same,
//! and both builds must return the same values.

mod common;

use std::collections::BTreeMap;

use common::{counts, runtime};

/// What the corpus files share.
mod support {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub(crate) use futures::executor::block_on;
    pub(crate) use futures::future::{BoxFuture, FutureExt};

    /// The calls one `exercise` made: the phase's name, and whether the call returned `Err`.
    #[derive(Debug, Default, PartialEq, Eq)]
    pub(crate) struct Calls(pub(crate) Vec<(&'static str, bool)>);

    impl Calls {
        pub(crate) fn new() -> Calls {
            Calls::default()
        }

        /// A call whose value is not a `Result` (a success).
        pub(crate) fn ok(&mut self, name: &'static str) {
            self.0.push((name, false));
        }

        /// A call that returned `result`.
        pub(crate) fn result<T, E>(&mut self, name: &'static str, result: &Result<T, E>) {
            self.0.push((name, result.is_err()));
        }
    }

    /// A future that is pending on its first poll (waking itself) and ready on the second.
    #[derive(Default)]
    pub(crate) struct YieldOnce {
        yielded: bool,
    }

    impl Future for YieldOnce {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.yielded {
                Poll::Ready(())
            } else {
                self.yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

/// Every corpus file, each in its own module, under the attribute `$attr` named `phase`.
/// The peers' shapes are kept as they are even where clippy would write them otherwise (a fn
/// returning `async move {}`, `&mut Vec`): those lints fire alike in both builds.
macro_rules! corpus {
    ($($attr:tt)*) => {
        pub(crate) mod probes {
            #[allow(unused_imports)]
            use $($attr)* as phase;
            include!("../corpus/probes.rs");
        }
        pub(crate) mod tracing_suite {
            #[allow(unused_imports)]
            use $($attr)* as phase;
            include!("../corpus/tracing.rs");
        }
        pub(crate) mod fastrace_suite {
            #[allow(unused_imports)]
            use $($attr)* as phase;
            include!("../corpus/fastrace.rs");
        }
        pub(crate) mod autometrics_suite {
            #[allow(unused_imports)]
            use $($attr)* as phase;
            include!("../corpus/autometrics.rs");
        }
        pub(crate) mod async_trait_suite {
            #[allow(unused_imports)]
            use $($attr)* as phase;
            include!("../corpus/async_trait.rs");
        }
    };
}

/// The corpus under `#[analyzed_phase]`.
#[allow(
    clippy::manual_async_fn,
    clippy::ptr_arg,
    clippy::redundant_locals,
    clippy::useless_format,
    clippy::wrong_self_convention
)]
mod with {
    corpus!(analytics_runtime::analyzed_phase);
}

/// The control build: the same code under an attribute that changes nothing.
#[allow(
    clippy::manual_async_fn,
    clippy::ptr_arg,
    clippy::redundant_locals,
    clippy::useless_format,
    clippy::wrong_self_convention
)]
mod without {
    corpus!(analytics_noop_attr::phase);
}

/// Runs one file's `exercise` in both builds, and checks the annotated one's counts.
fn check(name: &str, with: fn() -> support::Calls, without: fn() -> support::Calls) {
    let rt = runtime();
    let calls = rt.in_scope(with);
    assert_eq!(
        calls,
        without(),
        "{name}: the annotated build returned other values than the control build"
    );
    let mut expected: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (phase, failed) in &calls.0 {
        let entry = expected.entry(phase).or_default();
        entry.0 += 1;
        entry.1 += u64::from(*failed);
    }
    let report = rt.report();
    for (phase, (runs, failures)) in expected {
        assert_eq!(
            counts(&report, phase),
            (runs, runs - failures, failures, 0, 0),
            "{name}: phase {phase:?} counted differently from its results"
        );
    }
    // No phase ran that the file did not call (a future counted when built, not polled).
    let called: Vec<&str> = calls.0.iter().map(|(phase, _)| *phase).collect();
    for phase in &report.phases {
        assert!(
            called.contains(&phase.name.as_str()),
            "{name}: phase {:?} ran {} times but was never called to completion",
            phase.name,
            phase.executions
        );
    }
}

#[test]
fn probes_count_as_their_results_say() {
    check("probes", with::probes::exercise, without::probes::exercise);
}

#[test]
fn tracing_attributes_suite() {
    check(
        "tracing",
        with::tracing_suite::exercise,
        without::tracing_suite::exercise,
    );
}

#[test]
fn fastrace_suite() {
    check(
        "fastrace",
        with::fastrace_suite::exercise,
        without::fastrace_suite::exercise,
    );
}

#[test]
fn autometrics_suite() {
    check(
        "autometrics",
        with::autometrics_suite::exercise,
        without::autometrics_suite::exercise,
    );
}

#[test]
fn async_trait_suite() {
    check(
        "async-trait",
        with::async_trait_suite::exercise,
        without::async_trait_suite::exercise,
    );
}
