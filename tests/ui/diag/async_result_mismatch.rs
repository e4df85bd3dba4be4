use analytics_runtime::analyzed_phase;

#[analyzed_phase]
async fn greeting(fail: bool) -> Result<String, ()> {
    if fail {
        return Err(());
    }
    Ok(42)
}

fn main() {
    let _ = greeting(true);
}
