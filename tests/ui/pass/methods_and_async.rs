//! Methods, trait methods and async forms compile without a single warning.
#![deny(warnings, missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use analytics_runtime::analyzed_phase;

/// A type with phases.
pub struct Coordinator {
    steps: Vec<u32>,
}

impl Coordinator {
    /// An associated fn returning `Self`.
    #[analyzed_phase]
    pub fn new() -> Self {
        Coordinator { steps: Vec::new() }
    }

    /// `&mut self` returning a reference into `self`.
    #[analyzed_phase]
    pub fn steps(&mut self) -> &mut Vec<u32> {
        &mut self.steps
    }

    /// `self` by value.
    #[analyzed_phase]
    pub fn finish(self) -> usize {
        self.steps.len()
    }

    /// `self: Arc<Self>`.
    #[analyzed_phase]
    pub fn shared(self: Arc<Self>) -> usize {
        self.steps.len()
    }

    /// `self: Pin<&mut Self>`.
    #[analyzed_phase]
    pub fn pinned(self: Pin<&mut Self>) -> usize {
        self.steps.len()
    }

    /// An async method with `?`.
    #[analyzed_phase]
    pub async fn run(&self, input: &str) -> Result<u32, std::num::ParseIntError> {
        let n: u32 = input.parse()?;
        Ok(n + self.steps.len() as u32)
    }

    /// An async-trait style boxed future.
    #[analyzed_phase]
    pub fn boxed(&self) -> Pin<Box<dyn Future<Output = Result<usize, String>> + Send + '_>> {
        Box::pin(async move { Ok(self.steps.len()) })
    }

    /// An `impl Future` whose body is an async block.
    #[analyzed_phase]
    pub fn later(&self) -> impl Future<Output = usize> + '_ {
        async move { self.steps.len() }
    }
}

impl Default for Coordinator {
    fn default() -> Self {
        Self::new()
    }
}

/// A trait with a default phase and an async phase.
pub trait Phase {
    /// Required.
    fn size(&self) -> usize;

    /// A default method with a body.
    #[analyzed_phase]
    fn checked(&self) -> Result<usize, String> {
        Ok(self.size())
    }
}

impl Phase for Coordinator {
    #[analyzed_phase]
    fn size(&self) -> usize {
        self.steps.len()
    }
}

fn main() {
    let mut c = Coordinator::new();
    c.steps().push(1);
    let _ = c.checked();
    let _ = c.run("1");
    let _ = c.boxed();
    let _ = c.later();
    let _ = Pin::new(&mut c).pinned();
    let _ = Arc::new(Coordinator::default()).shared();
    let _ = c.finish();
}
