use analytics_runtime as _;

// (the same code without the attribute)
async fn greeting(fail: bool) -> Result<String, ()> {
    if fail {
        return Err(());
    }
    Ok(42)
}

fn main() {
    let _ = greeting(true);
}
