//! How one execution of a phase ended, and how the attribute decides it from the return value.

use serde::{Deserialize, Serialize};

/// How one execution of a phase ended.
///
/// `executions == successes + failures + cancelled`; a [`Outcome::Panic`] counts as a failure
/// and is also counted in `panics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The phase returned a value that is not a `Result::Err`.
    Success,
    /// The phase returned `Err(..)` (through any alias of `Result`).
    Failure,
    /// The phase panicked; the panic kept unwinding into the caller.
    Panic,
    /// An async phase was dropped after its first poll and before it completed.
    Cancelled,
}

impl Outcome {
    /// True for [`Outcome::Failure`] and [`Outcome::Panic`].
    #[must_use]
    pub const fn is_failure(self) -> bool {
        matches!(self, Outcome::Failure | Outcome::Panic)
    }

    /// A two-bit code, packed with a duration into one `u64` in the per-phase run log.
    pub(crate) const fn code(self) -> u64 {
        match self {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Panic => 2,
            Outcome::Cancelled => 3,
        }
    }

    /// The inverse of [`Outcome::code`] (only the two low bits are read).
    pub(crate) const fn from_code(code: u64) -> Outcome {
        match code & 0b11 {
            0 => Outcome::Success,
            1 => Outcome::Failure,
            2 => Outcome::Panic,
            _ => Outcome::Cancelled,
        }
    }
}

/// Wraps a reference to a phase's return value so that method resolution picks
/// [`ClassifyResult`] for any `Result<T, E>` and [`ClassifyOther`] for everything else.
///
/// This is autoref specialisation: it classifies on the value's *type*, so `io::Result<T>`,
/// `anyhow::Result<T>` and a user's `type R<T> = Result<T, MyError>` are all recognised, which a
/// look at the spelling of the return type could not do. The generated call is
/// `(&Classify(&value)).__analytics_outcome()`: with the receiver `&Classify<Result<..>>` the
/// by-value step finds [`ClassifyResult`]; for other types only the autoref step matches, and it
/// finds [`ClassifyOther`].
#[doc(hidden)]
pub struct Classify<'a, T: ?Sized>(pub &'a T);

/// Classifies a `Result`: `Err` is a failure (see [`Classify`]).
#[doc(hidden)]
pub trait ClassifyResult {
    /// The outcome of this return value.
    fn __analytics_outcome(&self) -> Outcome;
}

impl<T, E> ClassifyResult for Classify<'_, Result<T, E>> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn __analytics_outcome(&self) -> Outcome {
        if self.0.is_err() {
            Outcome::Failure
        } else {
            Outcome::Success
        }
    }
}

/// Classifies any other value as a success (see [`Classify`]).
#[doc(hidden)]
pub trait ClassifyOther {
    /// The outcome of this return value.
    fn __analytics_outcome(&self) -> Outcome;
}

impl<T: ?Sized> ClassifyOther for &Classify<'_, T> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn __analytics_outcome(&self) -> Outcome {
        Outcome::Success
    }
}

/// A return value that says whether its run failed, for `#[analyzed_phase(result)]`.
///
/// The attribute classifies a return value by its type, which it can only do where the type
/// is known: in a trait's default method returning an associated type (`-> Self::Out`), the
/// type is only known in each impl, so an `Err` there would count as a success. Write
/// `#[analyzed_phase(result)]` and bound the type (`type Out: PhaseResult;`) to have every
/// impl's value classified through this trait. Implemented for every `Result`; implement it
/// for your own outcome types too.
///
/// ```
/// use analytics_runtime::{PhaseResult, analyzed_phase};
///
/// trait Step {
///     type Out: PhaseResult;
///     fn run(&self) -> Self::Out;
///
///     #[analyzed_phase(result)] // `Self::Out` is a `Result` in the impls
///     fn step(&self) -> Self::Out {
///         self.run()
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[analyzed_phase(result)]` needs `{Self}` to implement `PhaseResult`",
    label = "the return value is classified through `analytics_runtime::PhaseResult`",
    note = "bound the type, e.g. `type Out: analytics_runtime::PhaseResult;`, or remove `result`"
)]
pub trait PhaseResult {
    /// Whether the run that returned this value failed.
    fn is_failure(&self) -> bool;
}

impl<T, E> PhaseResult for Result<T, E> {
    #[inline]
    fn is_failure(&self) -> bool {
        self.is_err()
    }
}

/// The outcome of a value classified through [`PhaseResult`] (`#[analyzed_phase(result)]`).
#[doc(hidden)]
#[inline]
pub fn declared_outcome<T: PhaseResult + ?Sized>(value: &T) -> Outcome {
    if value.is_failure() {
        Outcome::Failure
    } else {
        Outcome::Success
    }
}

#[cfg(test)]
// The explicit borrow is the point of autoref specialisation (see `Classify`).
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;

    type UserResult<T> = Result<T, String>;

    fn classify_io(v: &std::io::Result<u8>) -> Outcome {
        (&Classify(v)).__analytics_outcome()
    }

    #[test]
    fn results_through_aliases_are_classified_by_type() {
        let err: UserResult<u8> = Err("no".into());
        let ok: UserResult<u8> = Ok(1);
        assert_eq!((&Classify(&err)).__analytics_outcome(), Outcome::Failure);
        assert_eq!((&Classify(&ok)).__analytics_outcome(), Outcome::Success);
        assert_eq!(
            classify_io(&Err(std::io::Error::other("x"))),
            Outcome::Failure
        );
        assert_eq!(classify_io(&Ok(1)), Outcome::Success);
    }

    #[test]
    fn other_values_are_successes() {
        assert_eq!((&Classify(&())).__analytics_outcome(), Outcome::Success);
        assert_eq!(
            (&Classify(&None::<u8>)).__analytics_outcome(),
            Outcome::Success
        );
        assert_eq!((&Classify("str")).__analytics_outcome(), Outcome::Success);
    }

    #[test]
    fn declared_results_are_classified_through_the_trait() {
        struct Status(bool);
        impl PhaseResult for Status {
            fn is_failure(&self) -> bool {
                !self.0
            }
        }
        assert_eq!(declared_outcome(&Status(false)), Outcome::Failure);
        assert_eq!(declared_outcome(&Status(true)), Outcome::Success);
        assert_eq!(declared_outcome(&Err::<u8, ()>(())), Outcome::Failure);
        assert_eq!(declared_outcome(&Ok::<u8, ()>(1)), Outcome::Success);
    }

    #[test]
    fn codes_round_trip() {
        for o in [
            Outcome::Success,
            Outcome::Failure,
            Outcome::Panic,
            Outcome::Cancelled,
        ] {
            assert_eq!(Outcome::from_code(o.code()), o);
        }
        assert!(Outcome::Panic.is_failure() && Outcome::Failure.is_failure());
        assert!(!Outcome::Success.is_failure() && !Outcome::Cancelled.is_failure());
    }
}
