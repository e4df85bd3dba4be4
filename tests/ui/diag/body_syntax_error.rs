use analytics_runtime::analyzed_phase;

#[analyzed_phase]
fn broken(x: u32) -> u32 {
    let y = ;
    x + y
}

fn main() {
    let _ = broken(1);
}
