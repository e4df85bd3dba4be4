use analytics_runtime::analyzed_phase;

struct Builder;

#[analyzed_phase]
impl Builder {
    fn build(&self) -> u32 {
        1
    }
}

fn main() {
    let _ = Builder.build();
}
