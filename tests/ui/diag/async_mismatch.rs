use analytics_runtime::analyzed_phase;

#[analyzed_phase]
async fn greeting() -> String {
    42
}

fn main() {
    let _ = greeting();
}
