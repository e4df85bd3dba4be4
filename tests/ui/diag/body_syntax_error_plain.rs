use analytics_runtime as _;

// (the same code without the attribute)
fn broken(x: u32) -> u32 {
    let y = ;
    x + y
}

fn main() {
    let _ = broken(1);
}
