use analytics_runtime::analyzed_phase;

trait Step {
    type Out;
    fn run(&self) -> Self::Out;

    // `result` needs `Self::Out: PhaseResult`, which the trait does not say.
    #[analyzed_phase(result)]
    fn step(&self) -> Self::Out {
        self.run()
    }
}

fn main() {}
