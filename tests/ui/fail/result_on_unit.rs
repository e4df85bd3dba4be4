use analytics_runtime::analyzed_phase;

#[analyzed_phase(result)]
fn plan() {}

fn main() {
    plan();
}
