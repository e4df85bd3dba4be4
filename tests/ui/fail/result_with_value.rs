use analytics_runtime::analyzed_phase;

#[analyzed_phase(result = true)]
fn plan() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = plan();
}
