use analytics_runtime::analyzed_phase;

#[analyzed_phase]
trait Phase {
    fn run(&self) -> u32;
}

fn main() {}
