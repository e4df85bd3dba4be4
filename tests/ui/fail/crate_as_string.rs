use analytics_runtime::analyzed_phase;

#[analyzed_phase(crate = "analytics")]
fn plan() {}

fn main() {
    plan();
}
