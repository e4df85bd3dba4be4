//! `#[phase]` that returns its item unchanged, whatever its arguments: the control build of
//! the corpus in `tests/corpus/`, which is compiled once with `#[analyzed_phase]` and once
//! with this attribute, so every case is known to compile without the real one.

use proc_macro::TokenStream;

/// Returns the item exactly as written.
#[proc_macro_attribute]
pub fn phase(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
