//! Stage 3: generate the instrumented function.
//!
//! The signature, outer attributes and doc comments are re-emitted verbatim; only the body
//! changes. See the attribute's docs in `lib.rs` for the shape of the expansion.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::visit_mut::VisitMut;
use syn::{AttrStyle, Block, Expr, ExprAsync, ItemFn, LitStr, ReturnType, Stmt, Type};

use crate::attr::Args;

/// Expands a checked function.
pub(crate) fn expand(args: Args, func: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    // Inner attributes (`#![allow(..)]`) must stay first inside the body; the others stay on
    // the function.
    let (inner, outer): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
    let name = args
        .name
        .unwrap_or_else(|| LitStr::new(&sig.ident.unraw().to_string(), sig.ident.span()));
    // `line!()` spanned on the function's name reports the line of the `fn`, not of the
    // attribute.
    let line = quote_spanned!(sig.ident.span()=> ::core::line!());
    let callsite = quote! {
        static __ANALYTICS_CALLSITE: ::analytics_runtime::__private::Callsite =
            ::analytics_runtime::__private::Callsite::new(
                #name,
                ::core::module_path!(),
                ::core::file!(),
                #line,
            );
    };

    let body = if sig.asyncness.is_some() {
        async_fn_body(&sig.output, &block, may_be_result(&sig))
    } else if let Some(body) = future_body(&block) {
        body
    } else if !may_be_result(&sig) {
        // Nothing to classify: the body runs in place (no closure), and the guard's drop ends
        // the run, a success on any return, a panic while unwinding. This also keeps the
        // expected type of an `-> impl Fn(&str) -> usize` body, which a `_` would lose.
        // The statements go in flat, not as a nested block: a single-expression body would
        // otherwise trip `unused_braces` on the user's braces. Nothing here names a path a
        // `use` in the body could shadow (only absolute paths and our own static).
        let stmts = &block.stmts;
        quote! {
            let __analytics_guard =
                ::analytics_runtime::__private::Callsite::enter(&__ANALYTICS_CALLSITE).on_return();
            #(#stmts)*
        }
    } else {
        sync_fn_body(&sig.output, &block)
    };

    let mut out = TokenStream::new();
    for attr in &outer {
        attr.to_tokens(&mut out);
    }
    vis.to_tokens(&mut out);
    sig.to_tokens(&mut out);
    // Keep the original brace span so errors about the body still point at the user's code.
    block.brace_token.surround(&mut out, |out| {
        for attr in &inner {
            attr.to_tokens(out);
        }
        callsite.to_tokens(out);
        body.to_tokens(out);
    });
    out
}

/// Whether the declared return type may be a `Result` (through an alias), so the value must
/// be classified. Only a path can name a `Result`; a generic parameter or a primitive cannot.
fn may_be_result(sig: &syn::Signature) -> bool {
    let ReturnType::Type(_, ty) = &sig.output else {
        return false;
    };
    let mut ty = &**ty;
    loop {
        match ty {
            Type::Paren(inner) => ty = &inner.elem,
            Type::Group(inner) => ty = &inner.elem,
            _ => break,
        }
    }
    let Type::Path(path) = ty else {
        return false;
    };
    if path.qself.is_some() {
        return true;
    }
    let Some(ident) = path.path.get_ident() else {
        return true;
    };
    const PRIMITIVES: &[&str] = &[
        "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
        "i64", "i128", "isize", "f32", "f64",
    ];
    let is_type_param = sig.generics.type_params().any(|p| p.ident == *ident);
    !(is_type_param || PRIMITIVES.iter().any(|p| ident == p))
}

/// The declared return type with every `impl Trait` replaced by `_`, usable in a `let` and a
/// closure signature; `None` for the default `()`.
fn inferable_return_type(output: &ReturnType) -> Option<Type> {
    match output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => {
            let mut ty = (**ty).clone();
            ImplTraitToInfer.visit_type_mut(&mut ty);
            Some(ty)
        }
    }
}

struct ImplTraitToInfer;

impl VisitMut for ImplTraitToInfer {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](impl_trait.impl_token.span),
            });
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}

/// Records the outcome of `__analytics_result` on `__analytics_guard`, classified by type.
fn finish() -> TokenStream {
    classify(true)
}

/// Records the outcome of `__analytics_result`: classified by type when the declared return
/// type may be a `Result`, a success otherwise (an `-> impl Debug` is not a `Result` to the
/// caller, whatever its hidden type; sync and async fns agree on that).
fn classify(may_be_result: bool) -> TokenStream {
    if !may_be_result {
        return quote! {
            __analytics_guard.finish(::analytics_runtime::__private::Outcome::Success);
        };
    }
    quote! {
        {
            #[allow(unused_imports)]
            use ::analytics_runtime::__private::{ClassifyOther as _, ClassifyResult as _};
            // The borrow selects the impl (autoref specialisation); it is not needless.
            #[allow(clippy::needless_borrow)]
            __analytics_guard.finish(
                (&::analytics_runtime::__private::Classify(&__analytics_result))
                    .__analytics_outcome(),
            );
        }
    }
}

/// A sync body runs inside an `FnOnce` closure, so `return` and `?` leave the closure (not the
/// function) and the result can be classified before it is returned. The closure's return type
/// is the declared one, which keeps inference of `?`, `.collect()` and `.into()` unchanged.
fn sync_fn_body(output: &ReturnType, block: &Block) -> TokenStream {
    let ret = inferable_return_type(output);
    let let_type = ret.as_ref().map(|ty| quote!(: #ty));
    let closure_ret = ret.as_ref().map(|ty| quote!(-> #ty));
    let finish = finish();
    quote! {
        let __analytics_guard = ::analytics_runtime::__private::Callsite::enter(&__ANALYTICS_CALLSITE);
        #[allow(clippy::let_unit_value)]
        let __analytics_result #let_type =
            ::analytics_runtime::__private::call_once(move || #closure_ret #block);
        #finish
        __analytics_result
    }
}

/// An `async fn` body: the guard is created when the function's future is first polled (an
/// `async fn` body does not run before), and the user's block runs as an inner future whose
/// output is classified. A never-taken `return` typed with the declared return type pins the
/// inner block's output type, so `?` infers its error type as it would without the attribute.
fn async_fn_body(output: &ReturnType, block: &Block, may_be_result: bool) -> TokenStream {
    let ret = inferable_return_type(output).map_or_else(|| quote!(()), |ty| quote!(#ty));
    let finish = classify(may_be_result);
    quote! {
        let __analytics_guard = ::analytics_runtime::__private::Callsite::enter(&__ANALYTICS_CALLSITE);
        // The user's block stays nested (the return edge names their types, which a `use` in
        // the body must not shadow), so a single-expression body must not warn.
        #[allow(clippy::let_unit_value, unused_braces)]
        let __analytics_result: #ret = ::analytics_runtime::__private::Polled::new(&__analytics_guard, async move {
            #[allow(
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::let_unit_value,
                clippy::needless_return
            )]
            if false {
                let __analytics_return_edge: #ret = loop {};
                return __analytics_return_edge;
            }
            #block
        })
        .await;
        #finish
        __analytics_result
    }
}

/// A sync fn whose whole body is an `async` block, or `Box::pin(async ..)` (what async-trait
/// generates): the future is what runs the phase, so the block is instrumented from its first
/// poll, not the construction of the future.
fn future_body(block: &Block) -> Option<TokenStream> {
    let [Stmt::Expr(expr, None)] = block.stmts.as_slice() else {
        return None;
    };
    let mut expr = expr.clone();
    let async_block = match &mut expr {
        Expr::Async(async_block) => async_block,
        Expr::Call(call) if call.args.len() == 1 && is_pin_call(&call.func) => {
            match call.args.first_mut() {
                Some(Expr::Async(async_block)) => async_block,
                _ => return None,
            }
        }
        _ => return None,
    };
    instrument_async_block(async_block);
    Some(expr.into_token_stream())
}

fn is_pin_call(func: &Expr) -> bool {
    matches!(func, Expr::Path(path)
        if path.path.segments.last().is_some_and(|s| s.ident == "pin"))
}

/// Rewrites `async [move] { body }` so that it times `body` from its first poll.
fn instrument_async_block(async_block: &mut ExprAsync) {
    let capture = async_block.capture;
    let inner = &async_block.block;
    let finish = finish();
    let span = Span::call_site();
    let new_block: Block = syn::parse_quote_spanned! {span=> {
        let __analytics_guard = ::analytics_runtime::__private::Callsite::enter(&__ANALYTICS_CALLSITE);
        // Same capture mode as the user's block, so borrows keep their meaning.
        #[allow(clippy::let_unit_value)]
        let __analytics_result =
            ::analytics_runtime::__private::Polled::new(&__analytics_guard, async #capture #inner).await;
        #finish
        __analytics_result
    }};
    async_block.block = new_block;
}
