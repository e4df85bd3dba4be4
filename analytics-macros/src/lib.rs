//! The `#[analyzed_phase]` attribute of `analytics-runtime`. Use it through that crate
//! (`use analytics_runtime::analyzed_phase;`): the expansion calls its hidden hook API.
//!
//! The pipeline follows thiserror's: `attr` parses the arguments, `valid` checks them with
//! spanned, fix-it errors, `expand` generates code; on an error the item is emitted unchanged
//! beside the error, so one mistake does not cascade into "cannot find function" errors.

mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use syn::ItemFn;

/// Measures every run of a phase function: duration and outcome, recorded in the
/// `analytics-runtime` runtime. See `analytics_runtime::analyzed_phase` for the full docs.
#[proc_macro_attribute]
pub fn analyzed_phase(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    let args = match attr::parse(args.into()) {
        Ok(args) => args,
        Err(error) => return with_item(error, item),
    };
    match syn::parse2::<ItemFn>(item.clone()) {
        Ok(func) => match valid::check(&args, &func) {
            Ok(()) => expand::expand(args, func).into(),
            Err(error) => with_item(error, item),
        },
        // A function whose body does not parse: rustc reports the syntax error, once, on the
        // item emitted unchanged (the attribute adding its own copy of the message would say
        // it twice). Compilation fails, so nothing goes unmeasured.
        Err(_) if syn::parse2::<FnWithRawBody>(item.clone()).is_ok() => item.into(),
        Err(_) => not_a_function(item),
    }
}

/// A function whose signature parses and whose body is any braced tokens.
struct FnWithRawBody;

impl syn::parse::Parse for FnWithRawBody {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        input.call(syn::Attribute::parse_outer)?;
        input.parse::<syn::Visibility>()?;
        input.parse::<syn::Signature>()?;
        let body;
        syn::braced!(body in input);
        body.parse::<TokenStream2>()?;
        Ok(FnWithRawBody)
    }
}

/// The error, followed by the item exactly as written.
fn with_item(error: syn::Error, item: TokenStream2) -> TokenStream {
    let mut out = error.to_compile_error();
    out.extend(item);
    out.into()
}

/// The attribute is not on a function with a body: say what it is on. Tokens that do not parse
/// at all are still emitted unchanged, so rustc reports the real syntax error (and
/// rust-analyzer keeps working), beside ours: the attribute never silently does nothing.
fn not_a_function(item: TokenStream2) -> TokenStream {
    if let Ok(decl) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        if decl.default.is_none() {
            return with_item(valid::no_body(&decl.sig), item);
        }
    }
    if let Ok(decl) = syn::parse2::<syn::ForeignItemFn>(item.clone()) {
        return with_item(valid::foreign_fn(&decl.sig), item);
    }
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(parsed) => match valid::not_a_function(&parsed) {
            Some(error) => with_item(error, item),
            None => item.into(),
        },
        Err(error) => {
            let message = format!(
                "`#[analyzed_phase]` goes on a function with a body, and this item cannot be \
                 read as one ({error})"
            );
            with_item(syn::Error::new(error.span(), message), item)
        }
    }
}
