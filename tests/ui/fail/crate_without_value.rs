use analytics_runtime::analyzed_phase;

#[analyzed_phase(crate)]
fn plan() {}

fn main() {
    plan();
}
