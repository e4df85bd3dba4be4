use analytics_runtime::analyzed_phase;

#[analyzed_phase(crate = analytics_runtime, crate = analytics_runtime)]
fn plan() {}

fn main() {
    plan();
}
