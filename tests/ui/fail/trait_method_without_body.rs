use analytics_runtime::analyzed_phase;

trait Phase {
    #[analyzed_phase]
    fn run(&self) -> Result<u32, String>;
}

fn main() {}
