//! Quick smoke test.
use analytics_runtime::{AnalyticsConfig, Runtime, analyzed_phase};

#[analyzed_phase]
fn plain(x: u32) -> u32 {
    x + 1
}

#[analyzed_phase(name = "res")]
fn res(x: u32) -> std::io::Result<u32> {
    if x == 0 {
        return Err(std::io::Error::other("zero"));
    }
    let v: u32 = "5".parse().map_err(std::io::Error::other)?;
    Ok(v + x)
}

struct S {
    v: Vec<u32>,
}
impl S {
    #[analyzed_phase]
    fn get(&mut self) -> &mut Vec<u32> {
        &mut self.v
    }
    #[analyzed_phase]
    async fn a(&self, fail: bool) -> Result<usize, String> {
        if fail {
            Err("x".to_string())?
        }
        Ok(self.v.len())
    }
}

#[test]
fn smoke() {
    let rt = Runtime::new(AnalyticsConfig::default());
    rt.in_scope(|| {
        plain(1);
        res(0).unwrap_err();
        res(1).unwrap();
        let mut s = S { v: vec![] };
        s.get().push(1);
        futures::executor::block_on(s.a(true)).unwrap_err();
        futures::executor::block_on(s.a(false)).unwrap();
    });
    let r = rt.report();
    println!("{r}");
    assert_eq!(r.phase("res").unwrap().failures, 1);
    assert_eq!(r.phase("a").unwrap().failures, 1);
    assert_eq!(r.phase("a").unwrap().executions, 2);
}
