//! Parameters drop exactly as without the attribute (issue 14, point 7): a phase that uses only
//! the first of two `Drop` parameters drops its body's locals, then the second parameter, then
//! the first, in every shape the attribute expands differently. Each annotated fn has an
//! unannotated twin, and the two logs must be equal.

use std::cell::RefCell;

use analytics_runtime::analyzed_phase;
use futures::executor::block_on;

thread_local! {
    static LOG: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

/// Logs its name when dropped.
struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        LOG.with(|log| log.borrow_mut().push(self.0));
    }
}

fn take_log() -> Vec<&'static str> {
    LOG.with(|log| std::mem::take(&mut *log.borrow_mut()))
}

/// A future pending once.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

/// Defines `$name` with the attribute and `$twin` without, from one body.
macro_rules! twins {
    ($(#[$m:meta])* $name:ident, $twin:ident, ($($sig:tt)*) -> $ret:ty $body:block) => {
        #[analyzed_phase]
        $(#[$m])*
        fn $name($($sig)*) -> $ret $body
        $(#[$m])*
        fn $twin($($sig)*) -> $ret $body
    };
    (async $name:ident, $twin:ident, ($($sig:tt)*) -> $ret:ty $body:block) => {
        #[analyzed_phase]
        async fn $name($($sig)*) -> $ret $body
        async fn $twin($($sig)*) -> $ret $body
    };
}

twins!(result_fn, result_fn_plain, (a: Noisy, _b: Noisy) -> Result<(), String> {
    let _body = Noisy("body");
    let _ = &a;
    Ok(())
});

twins!(result_fn_question, result_fn_question_plain, (a: Noisy, _b: Noisy) -> Result<u8, std::num::ParseIntError> {
    let _body = Noisy("body");
    let n: u8 = a.0.len().to_string().parse()?;
    Ok(n)
});

twins!(value_fn, value_fn_plain, (a: Noisy, _b: Noisy) -> usize {
    let _body = Noisy("body");
    a.0.len()
});

twins!(async async_no_await, async_no_await_plain, (a: Noisy, _b: Noisy) -> Result<(), String> {
    let _body = Noisy("body");
    let _ = &a;
    Ok(())
});

twins!(async async_awaits, async_awaits_plain, (a: Noisy, _b: Noisy) -> Result<(), String> {
    let _body = Noisy("body");
    yield_once().await;
    let _ = &a;
    Ok(())
});

twins!(async async_value_awaits, async_value_awaits_plain, (a: Noisy, _b: Noisy) -> usize {
    yield_once().await;
    let _body = Noisy("body");
    a.0.len()
});

twins!(async async_moves_first, async_moves_first_plain, (a: Noisy, _b: Noisy) -> usize {
    yield_once().await;
    let moved = a;
    let _body = Noisy("body");
    moved.0.len()
});

twins!(async async_mut_first, async_mut_first_plain, (mut a: Noisy, _b: Noisy) -> usize {
    yield_once().await;
    a.0 = "a";
    let _body = Noisy("body");
    a.0.len()
});

twins!(async async_pattern_last, async_pattern_last_plain, (a: Noisy, (_b, _c): (Noisy, Noisy)) -> usize {
    yield_once().await;
    let _body = Noisy("body");
    a.0.len()
});

fn pair() -> (Noisy, Noisy) {
    (Noisy("a"), Noisy("b"))
}

#[test]
fn sync_fns_drop_parameters_in_their_order() {
    let (a, b) = pair();
    result_fn(a, b).unwrap();
    let with = take_log();
    let (a, b) = pair();
    result_fn_plain(a, b).unwrap();
    assert_eq!(with, take_log());
    assert_eq!(with, ["body", "b", "a"]);

    let (a, b) = pair();
    result_fn_question(a, b).unwrap();
    let with = take_log();
    let (a, b) = pair();
    result_fn_question_plain(a, b).unwrap();
    assert_eq!(with, take_log());

    let (a, b) = pair();
    value_fn(a, b);
    let with = take_log();
    let (a, b) = pair();
    value_fn_plain(a, b);
    assert_eq!(with, take_log());
}

#[test]
fn async_fns_drop_parameters_in_their_order() {
    let (a, b) = pair();
    block_on(async_no_await(a, b)).unwrap();
    let with = take_log();
    let (a, b) = pair();
    block_on(async_no_await_plain(a, b)).unwrap();
    assert_eq!(with, take_log());
    assert_eq!(with, ["body", "b", "a"]);

    let (a, b) = pair();
    block_on(async_awaits(a, b)).unwrap();
    let with = take_log();
    let (a, b) = pair();
    block_on(async_awaits_plain(a, b)).unwrap();
    assert_eq!(with, take_log());
    assert_eq!(with, ["body", "b", "a"]);

    let (a, b) = pair();
    block_on(async_value_awaits(a, b));
    let with = take_log();
    let (a, b) = pair();
    block_on(async_value_awaits_plain(a, b));
    assert_eq!(with, take_log());

    let (a, b) = pair();
    block_on(async_moves_first(a, b));
    let with = take_log();
    let (a, b) = pair();
    block_on(async_moves_first_plain(a, b));
    assert_eq!(with, take_log());

    let (a, b) = pair();
    block_on(async_mut_first(a, b));
    let with = take_log();
    let (a, b) = pair();
    block_on(async_mut_first_plain(a, b));
    assert_eq!(with, take_log());
    assert_eq!(with, ["body", "b", "a"]);

    let (a, b) = pair();
    block_on(async_pattern_last(a, (b, Noisy("c"))));
    let with = take_log();
    let (a, b) = pair();
    block_on(async_pattern_last_plain(a, (b, Noisy("c"))));
    assert_eq!(with, take_log());
}
