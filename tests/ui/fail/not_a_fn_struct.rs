use analytics_runtime::analyzed_phase;

#[analyzed_phase]
struct Build {
    steps: u32,
}

fn main() {
    let _ = Build { steps: 1 }.steps;
}
