use analytics_runtime::analyzed_phase;

unsafe extern "C" {
    #[analyzed_phase]
    pub fn abs(x: i32) -> i32;
}

fn main() {
    let _ = unsafe { abs(-1) };
}
