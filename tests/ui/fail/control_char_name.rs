use analytics_runtime::analyzed_phase;

#[analyzed_phase(name = "build\nstep")]
fn build() -> u32 {
    1
}

#[analyzed_phase(name = "compile\ttab")]
fn compile() -> u32 {
    2
}

fn main() {
    let _ = build() + compile();
}
