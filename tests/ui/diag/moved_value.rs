use analytics_runtime::analyzed_phase;

#[analyzed_phase]
fn lengths(v: Vec<u8>) -> Result<usize, String> {
    let w = v;
    Ok(v.len() + w.len())
}

fn main() {
    let _ = lengths(vec![1]);
}
