//! `#[analyzed_phase]` on methods: every receiver form (`&self`, `&mut self` returning a
//! reference into `self`, `self`, `mut self`, `Box<Self>`, `Pin<&mut Self>`, `Rc<Self>`,
//! `Arc<Self>`), associated fns returning `Self`, generic impl blocks and generic types with
//! where clauses, trait impl methods, trait default methods, and `async fn` in traits.

mod common;

use std::fmt::Debug;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use analytics_runtime::analyzed_phase;
use common::{counts, runtime};
use futures::executor::block_on;
use std::future::Future;

#[derive(Debug, Clone, PartialEq)]
struct Plan {
    steps: Vec<u32>,
    name: String,
}

impl Plan {
    #[analyzed_phase]
    fn new(name: &str) -> Self {
        Plan {
            steps: Vec::new(),
            name: name.to_string(),
        }
    }

    #[analyzed_phase]
    fn with_steps(steps: Vec<u32>) -> Result<Self, String> {
        if steps.is_empty() {
            return Err("a plan needs steps".into());
        }
        Ok(Plan {
            steps,
            name: "stepped".into(),
        })
    }

    #[analyzed_phase]
    fn total(&self) -> u32 {
        self.steps.iter().sum()
    }

    #[analyzed_phase]
    fn name(&self) -> &str {
        &self.name
    }

    #[analyzed_phase]
    fn steps_mut(&mut self) -> &mut Vec<u32> {
        &mut self.steps
    }

    #[analyzed_phase]
    fn last_mut(&mut self) -> Option<&mut u32> {
        self.steps.last_mut()
    }

    #[analyzed_phase]
    fn into_steps(self) -> Vec<u32> {
        self.steps
    }

    #[analyzed_phase]
    fn with_step(mut self, step: u32) -> Self {
        self.steps.push(step);
        self
    }

    #[analyzed_phase]
    #[allow(clippy::boxed_local, reason = "the receiver form under test")]
    fn boxed_len(self: Box<Self>) -> usize {
        self.steps.len()
    }

    #[analyzed_phase]
    fn pinned_first(self: Pin<&mut Self>) -> Option<&mut u32> {
        self.get_mut().steps.first_mut()
    }

    #[analyzed_phase]
    fn rc_name(self: Rc<Self>) -> String {
        format!("rc:{}", self.name)
    }

    #[analyzed_phase]
    fn arc_total(self: Arc<Self>) -> Result<u32, String> {
        if self.steps.is_empty() {
            Err(format!("{} has no steps", self.name))
        } else {
            Ok(self.steps.iter().sum())
        }
    }
}

#[test]
fn associated_fns_returning_self() {
    let rt = runtime();
    let (plan, stepped, empty) = rt.in_scope(|| {
        (
            Plan::new("p"),
            Plan::with_steps(vec![1]),
            Plan::with_steps(vec![]),
        )
    });
    assert_eq!(plan.name, "p");
    assert_eq!(stepped.unwrap().steps, [1]);
    assert_eq!(empty.unwrap_err(), "a plan needs steps");
    let report = rt.report();
    assert_eq!(counts(&report, "new"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "with_steps"), (2, 1, 1, 0, 0));
}

#[test]
fn ref_self_and_a_reference_into_self() {
    let rt = runtime();
    let plan = Plan {
        steps: vec![1, 2, 3],
        name: "shared".into(),
    };
    rt.in_scope(|| {
        assert_eq!(plan.total(), 6);
        assert_eq!(plan.name(), "shared");
        assert!(std::ptr::eq(plan.name(), plan.name.as_str()));
    });
    let report = rt.report();
    assert_eq!(counts(&report, "total"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "name"), (2, 2, 0, 0, 0));
}

#[test]
fn mut_self_returning_mut_references_into_self() {
    let rt = runtime();
    let mut plan = Plan::with_steps(vec![5]).unwrap();
    rt.in_scope(|| {
        plan.steps_mut().push(6);
        *plan.last_mut().unwrap() += 10;
        plan.steps_mut().clear();
        assert_eq!(plan.last_mut(), None);
    });
    assert!(plan.steps.is_empty());
    let report = rt.report();
    assert_eq!(counts(&report, "steps_mut"), (2, 2, 0, 0, 0));
    // `None` is a success: only `Result::Err` fails.
    assert_eq!(counts(&report, "last_mut"), (2, 2, 0, 0, 0));
}

#[test]
fn self_by_value_and_mut_self() {
    let rt = runtime();
    let steps = rt.in_scope(|| {
        Plan::with_steps(vec![1])
            .unwrap()
            .with_step(2)
            .with_step(3)
            .into_steps()
    });
    assert_eq!(steps, [1, 2, 3]);
    let report = rt.report();
    assert_eq!(counts(&report, "with_step"), (2, 2, 0, 0, 0));
    assert_eq!(counts(&report, "into_steps"), (1, 1, 0, 0, 0));
}

#[test]
fn box_pin_rc_and_arc_receivers() {
    let rt = runtime();
    let plan = Plan::with_steps(vec![4, 5]).unwrap();
    rt.in_scope(|| {
        assert_eq!(Box::new(plan.clone()).boxed_len(), 2);

        let mut pinned = plan.clone();
        *Pin::new(&mut pinned).pinned_first().unwrap() = 40;
        assert_eq!(pinned.steps, [40, 5]);

        let rc = Rc::new(plan.clone());
        assert_eq!(Rc::clone(&rc).rc_name(), "rc:stepped");
        assert_eq!(Rc::strong_count(&rc), 1, "the receiver was consumed");

        assert_eq!(Arc::new(plan.clone()).arc_total(), Ok(9));
        assert_eq!(
            Arc::new(Plan::new("empty")).arc_total(),
            Err("empty has no steps".to_string())
        );
    });
    let report = rt.report();
    assert_eq!(counts(&report, "boxed_len"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "pinned_first"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "rc_name"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "arc_total"), (2, 1, 1, 0, 0));
}

/// A generic type whose impl block has its own generics and where clause.
struct Stack<T> {
    items: Vec<T>,
}

impl<T> Stack<T>
where
    T: Clone + Debug,
{
    #[analyzed_phase]
    fn push_all<I>(&mut self, items: I) -> usize
    where
        I: IntoIterator<Item = T>,
    {
        self.items.extend(items);
        self.items.len()
    }

    #[analyzed_phase]
    fn peek(&self) -> Result<&T, String> {
        self.items.last().ok_or_else(|| "empty stack".to_string())
    }

    #[analyzed_phase]
    fn describe_top(&self) -> String
    where
        T: PartialEq<T>,
    {
        format!("{:?}", self.items.last())
    }
}

#[test]
fn generic_impl_blocks_and_where_clauses() {
    let rt = runtime();
    let mut numbers = Stack { items: Vec::new() };
    let mut words = Stack { items: vec!["a"] };
    rt.in_scope(|| {
        assert_eq!(numbers.peek(), Err("empty stack".to_string()));
        assert_eq!(numbers.push_all([1, 2]), 2);
        assert_eq!(numbers.peek(), Ok(&2));
        assert_eq!(words.push_all(vec!["b"]), 2);
        assert_eq!(words.describe_top(), "Some(\"b\")");
    });
    let report = rt.report();
    assert_eq!(counts(&report, "push_all"), (2, 2, 0, 0, 0));
    assert_eq!(counts(&report, "peek"), (2, 1, 1, 0, 0));
    assert_eq!(counts(&report, "describe_top"), (1, 1, 0, 0, 0));
}

trait Shape {
    fn area(&self) -> f64;

    /// A default method with a body, annotated in the trait.
    #[analyzed_phase]
    fn checked_area(&self) -> Result<f64, String> {
        let area = self.area();
        if area > 0.0 {
            Ok(area)
        } else {
            Err(format!("degenerate shape, area {area}"))
        }
    }
}

struct Square(f64);

impl Shape for Square {
    #[analyzed_phase]
    fn area(&self) -> f64 {
        self.0 * self.0
    }
}

struct Circle(f64);

impl Shape for Circle {
    #[analyzed_phase(name = "area")]
    fn area(&self) -> f64 {
        3.0 * self.0 * self.0
    }

    #[analyzed_phase]
    fn checked_area(&self) -> Result<f64, String> {
        Ok(self.area())
    }
}

#[test]
fn trait_impl_methods_and_default_methods() {
    let rt = runtime();
    rt.in_scope(|| {
        assert_eq!(Square(2.0).checked_area(), Ok(4.0));
        assert_eq!(
            Square(0.0).checked_area(),
            Err("degenerate shape, area 0".to_string())
        );
        let dynamic: &dyn Shape = &Circle(1.0);
        assert_eq!(dynamic.checked_area(), Ok(3.0));
    });
    let report = rt.report();
    // Square twice through the default method, the Circle once through its override.
    assert_eq!(counts(&report, "area"), (3, 3, 0, 0, 0));
    assert_eq!(counts(&report, "checked_area"), (3, 2, 1, 0, 0));
}

trait Loader {
    async fn load(&self, key: u32) -> Result<u32, String>;

    /// An `async fn` default method, annotated in the trait.
    #[analyzed_phase]
    async fn load_sum(&self, keys: &[u32]) -> Result<u32, String> {
        let mut sum = 0;
        for &key in keys {
            sum += self.load(key).await?;
        }
        Ok(sum)
    }
}

struct MapLoader {
    values: Vec<u32>,
}

impl Loader for MapLoader {
    #[analyzed_phase]
    async fn load(&self, key: u32) -> Result<u32, String> {
        self.values
            .get(key as usize)
            .copied()
            .ok_or_else(|| format!("no key {key}"))
    }
}

#[test]
fn async_fn_in_traits() {
    let rt = runtime();
    let loader = MapLoader {
        values: vec![10, 20, 30],
    };
    let (sum, missing) = rt.in_scope(|| {
        block_on(async {
            (
                loader.load_sum(&[0, 2]).await,
                loader.load_sum(&[1, 7, 0]).await,
            )
        })
    });
    assert_eq!(sum, Ok(40));
    assert_eq!(missing, Err("no key 7".to_string()));
    let report = rt.report();
    // load(0), load(2), load(1) succeed; load(7) fails and `?` stops load_sum.
    assert_eq!(counts(&report, "load"), (4, 3, 1, 0, 0));
    assert_eq!(counts(&report, "load_sum"), (2, 1, 1, 0, 0));
}

/// A trait that requires a `Send` future, implemented with an annotated `async fn`: compiles only
/// if the instrumented future is still `Send`.
trait SendJob {
    fn run(&self, input: u32) -> impl Future<Output = Result<u32, String>> + Send;
}

struct Doubler;

impl SendJob for Doubler {
    #[analyzed_phase]
    async fn run(&self, input: u32) -> Result<u32, String> {
        input.checked_mul(2).ok_or_else(|| "overflow".into())
    }
}

#[test]
fn async_fn_implementing_a_send_future_in_a_trait() {
    let rt = runtime();
    rt.in_scope(|| {
        assert_eq!(block_on(Doubler.run(21)), Ok(42));
        assert_eq!(block_on(Doubler.run(u32::MAX)), Err("overflow".into()));
    });
    assert_eq!(counts(&rt.report(), "run"), (2, 1, 1, 0, 0));
}
