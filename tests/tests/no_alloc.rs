//! The hot path allocates nothing: after a phase's first call (which registers it), calls of
//! annotated sync and async phases, successes and failures, on the global runtime with every
//! engine on, allocate zero bytes on the calling thread. (A panic allocates in std itself, for
//! its payload and unwinding, so panicking runs are only part of the warm-up.) The engines work on
//! their own thread and are not counted here.
//!
//! A counting global allocator counts allocations per thread (this file is its own process).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use analytics_runtime::{AnalyticsConfig, analyzed_phase};

struct CountingAllocator;

thread_local! {
    /// Allocations made by this thread. `const` and without a destructor, so reading it
    /// inside the allocator never allocates.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[analyzed_phase]
fn step(i: u64) -> Result<u64, &'static str> {
    if i % 7 == 0 {
        Err("seventh")
    } else {
        Ok(i * 2)
    }
}

#[analyzed_phase]
fn maybe_panic(i: u64) -> u64 {
    assert!(i % 101 != 0, "hundred-and-first");
    i
}

#[analyzed_phase]
async fn async_step(i: u64) -> u64 {
    i + 1
}

#[test]
fn calls_allocate_nothing_after_warm_up() {
    analytics_runtime::init(AnalyticsConfig::default()).unwrap();
    // A panic hook that prints would allocate (formatting): keep panics silent here.
    std::panic::set_hook(Box::new(|_| {}));
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut run = |i: u64| {
        // The per-run prediction a coordinator reads before a phase: no allocation either.
        let _ = std::hint::black_box(analytics_runtime::predict("step"));
        let _ = step(i);
        let _ = std::panic::catch_unwind(|| maybe_panic(i));
        let mut future = std::pin::pin!(async_step(i));
        assert!(future.as_mut().poll(&mut cx).is_ready());
    };
    // Warm up: registration, the engine thread's start, the panic machinery's first use.
    for i in 0..1_000 {
        run(i);
    }
    let before = allocations();
    for i in 1_000..101_000 {
        // Never a multiple of 101: no panic in the measured calls.
        run(i * 101 + 1);
    }
    let allocated = allocations() - before;
    let _ = std::panic::take_hook();

    let report = analytics_runtime::report();
    assert_eq!(report.phase("step").unwrap().executions, 101_000);
    assert_eq!(report.phase("maybe_panic").unwrap().panics, 10);
    assert_eq!(report.phase("async_step").unwrap().executions, 101_000);
    assert_eq!(
        allocated, 0,
        "allocations on the hot path over 300 000 calls"
    );
}
