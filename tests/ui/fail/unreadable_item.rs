use analytics_runtime::analyzed_phase;

unsafe extern "C" {
    #[analyzed_phase]
    pub safe fn abs(x: i32) -> i32;
}

fn main() {
    let _ = abs(-1);
}
