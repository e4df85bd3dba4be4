use analytics_runtime::analyzed_phase;

#[analyzed_phase(name = 42)]
fn build() -> u32 {
    1
}

#[analyzed_phase(name = compile)]
fn compile() -> u32 {
    2
}

fn main() {
    let _ = build() + compile();
}
