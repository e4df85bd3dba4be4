use analytics_runtime::analyzed_phase;

#[analyzed_phase]
const fn build() -> u32 {
    1
}

fn main() {
    let _ = build();
}
