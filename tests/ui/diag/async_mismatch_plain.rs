use analytics_runtime as _;

// (the same code without the attribute)
async fn greeting() -> String {
    42
}

fn main() {
    let _ = greeting();
}
