//! The engine's failure probability, read through `Runtime::predict` before every run, against
//! the baselines a user could compute by hand, on fixed held-out seeds of each workload class.

use analytics_nab::predeval::{Class, evaluate_class};

/// Every class, on the held-out seeds of the `predeval` table (measured held-out
/// margins, seeds 101..=110: regime change +0.003, bursts +0.001, fails after slow +0.03,
/// periodic +0.09, slowdown +0.003).
#[test]
fn the_engine_is_at_least_as_good_as_every_baseline() {
    let seeds: Vec<u64> = (101..=110).collect();
    for class in Class::ALL {
        let (scores, _) = evaluate_class(class, &seeds, 1000);
        let best = scores
            .baseline_briers()
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        let engine = scores.brier();
        // Stationary: the running mean is optimal there; the engine is allowed 0.1 % of it
        // (measured: 0.0001 above it, the cost of weighing the other experts).
        let slack = if class == Class::Stationary {
            best * 0.001
        } else {
            0.0
        };
        assert!(
            engine <= best + slack,
            "{}: engine {engine:.4} vs best baseline {best:.4}",
            class.name()
        );
    }
}

/// `predict` agrees with the report's prediction and is `None` for unknown phases.
#[test]
fn predict_matches_the_report() {
    use std::time::Duration;
    let rt = analytics_nab::predeval::runtime();
    for i in 0..50u32 {
        let outcome = if i % 5 == 0 {
            analytics_runtime::Outcome::Failure
        } else {
            analytics_runtime::Outcome::Success
        };
        rt.record_run("p", Duration::from_millis(2), outcome);
    }
    let report = rt.report();
    assert_eq!(rt.predict("p"), report.phase("p").unwrap().prediction);
    assert!(rt.predict("q").is_none());
}
