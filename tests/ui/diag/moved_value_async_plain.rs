use analytics_runtime as _;

// (the same code without the attribute)
async fn lengths(v: Vec<u8>) -> Result<usize, String> {
    let w = v;
    Ok(v.len() + w.len())
}

fn main() {
    let _ = lengths(vec![1]);
}
