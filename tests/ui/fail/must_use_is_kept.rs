//! Not a macro error: shows that `#[must_use]` survives the expansion (and where the warning
//! points), by denying the lint it raises.
#![deny(unused_must_use)]

use analytics_runtime::analyzed_phase;

#[analyzed_phase]
#[must_use = "the plan is the phase's output"]
fn plan() -> u32 {
    1
}

fn main() {
    plan();
}
