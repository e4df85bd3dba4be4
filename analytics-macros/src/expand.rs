//! Stage 3: generate the instrumented function.
//!
//! The signature, outer attributes and doc comments are re-emitted verbatim; only the body
//! changes. See the attribute's docs in `analytics-runtime` for the shape of the expansion.
//!
//! The user's body goes into one of these shapes, the cheapest that keeps its meaning:
//! * nothing to classify (`-> u64`, `()`, `-> !`, `impl Trait`): the statements run in place
//!   and a guard's drop ends the run;
//! * a value to classify and no early exit (no `return`, no `?`, no macro that could hide
//!   one): the block runs in place into a typed `let`, then the value is classified;
//! * a value to classify and an early exit: the block runs in a (non-`move`) `FnOnce`
//!   closure whose return type is the declared one;
//! * an `async fn` whose body can suspend (an `.await`, or a macro that could hide one): the
//!   block runs as an inner future polled through `Polled`, which tells a panic of the body
//!   from the cancellation of a suspended one. An `async fn` that cannot suspend runs its
//!   whole body in its first poll, so it takes one of the sync shapes above;
//! * a fn whose body ends with a future (`async {..}`, `Box::pin(async {..})`,
//!   `async {..}.boxed()`): that future is timed from its first poll.
//!
//! In every shape the parameters stay where they were (or, in an inner future, are all moved
//! in, last one first), so they drop in the same order as without the attribute.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{
    AttrStyle, Block, Expr, ExprAsync, FnArg, GenericArgument, Generics, ItemFn, LitStr, Pat,
    PathArguments, ReturnType, Stmt, Type, TypeParamBound,
};

use crate::attr::Args;

/// How the run's outcome is decided from the returned value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Classify {
    /// Always a success: the type cannot be a `Result` (a guard's drop ends the run).
    Never,
    /// By the value's type (autoref specialisation): `Err` of any `Result` alias is a failure.
    ByType,
    /// Through the runtime's `PhaseResult` trait (`#[analyzed_phase(result)]`).
    Declared,
}

/// What every generated piece needs to know.
struct Ctx {
    /// The runtime's path (`::analytics_runtime`, or the `crate = path` argument).
    krate: TokenStream,
}

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
        .clone()
        .unwrap_or_else(|| LitStr::new(&sig.ident.unraw().to_string(), sig.ident.span()));
    let ctx = Ctx {
        krate: args
            .krate
            .as_ref()
            .map_or_else(|| quote!(::analytics_runtime), ToTokens::to_token_stream),
    };
    let krate = &ctx.krate;
    // `line!()` spanned on the function's name reports the line of the `fn`, not of the
    // attribute.
    let line = quote_spanned!(sig.ident.span()=> ::core::line!());
    let callsite = quote! {
        static __ANALYTICS_CALLSITE: #krate::__private::Callsite =
            #krate::__private::Callsite::new(
                #name,
                ::core::module_path!(),
                ::core::file!(),
                #line,
            );
    };

    let declared = if args.result.is_some() {
        Classify::Declared
    } else if may_be_result(&sig.output, &sig.generics) {
        Classify::ByType
    } else {
        Classify::Never
    };
    let body = if sig.asyncness.is_some() {
        if may_suspend(&block.stmts) {
            async_fn_body(&ctx, &sig, &block, declared)
        } else {
            // Cannot suspend: the whole body runs in the first poll, so it can neither be
            // cancelled half-way nor be interrupted by someone else's panic, and the sync shapes
            // measure it exactly (and add no `.await` that would silence `unused_async`).
            sync_body(&ctx, &sig.output, &block, declared)
        }
    } else if let Some(body) = future_body(&ctx, &sig.output, &block, args.result.is_some()) {
        body
    } else if future_output(&sig.output).is_some() && args.result.is_none() {
        // A future built some other way (`let f = ..; f`, `Box::pin(fut)`): not a `Result`.
        sync_body(&ctx, &sig.output, &block, Classify::Never)
    } else {
        sync_body(&ctx, &sig.output, &block, declared)
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
fn may_be_result(output: &ReturnType, generics: &Generics) -> bool {
    match output {
        ReturnType::Default => false,
        ReturnType::Type(_, ty) => type_may_be_result(ty, generics),
    }
}

fn type_may_be_result(ty: &Type, generics: &Generics) -> bool {
    let Type::Path(path) = ungroup(ty) else {
        return false;
    };
    if path.qself.is_some() {
        return true;
    }
    if let Some(ident) = path.path.get_ident() {
        const PRIMITIVES: &[&str] = &[
            "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
            "i64", "i128", "isize", "f32", "f64",
        ];
        if generics.type_params().any(|p| p.ident == *ident)
            || PRIMITIVES.iter().any(|p| ident == p)
        {
            return false;
        }
    }
    // The standard library's common types are never a `Result`: their value needs no
    // classification, so the body keeps the cheapest shape (and its exact diagnostics).
    const STD: &[&str] = &[
        "String", "Vec", "Option", "Box", "Arc", "Rc", "HashMap", "HashSet", "BTreeMap",
        "BTreeSet", "VecDeque", "PathBuf", "Duration", "Cow",
    ];
    let last = path.path.segments.last();
    !last.is_some_and(|last| STD.iter().any(|name| last.ident == name))
}

fn ungroup(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Paren(inner) => ty = &inner.elem,
            Type::Group(inner) => ty = &inner.elem,
            _ => return ty,
        }
    }
}

/// `ty` with every `impl Trait` replaced by `_` and `!` by the runtime's name for it, usable
/// in a `let` and a closure signature.
fn inferable(ctx: &Ctx, ty: &Type) -> Type {
    let mut ty = ty.clone();
    Inferable { ctx }.visit_type_mut(&mut ty);
    ty
}

/// The declared return type made inferable; `None` for the default `()`.
fn inferable_return_type(ctx: &Ctx, output: &ReturnType) -> Option<Type> {
    match output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(inferable(ctx, ty)),
    }
}

struct Inferable<'a> {
    ctx: &'a Ctx,
}

impl VisitMut for Inferable<'_> {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        match ty {
            Type::ImplTrait(impl_trait) => {
                *ty = Type::Infer(syn::TypeInfer {
                    underscore_token: syn::Token![_](impl_trait.impl_token.span),
                });
            }
            // `!` is unstable in a `let` (E0658); the runtime names it through a stable alias.
            Type::Never(never) => {
                let krate = &self.ctx.krate;
                *ty = syn::parse_quote_spanned!(never.span()=> #krate::__private::Never);
            }
            _ => syn::visit_mut::visit_type_mut(self, ty),
        }
    }
}

/// Records the outcome of `__analytics_result` on `__analytics_guard`.
fn classify(ctx: &Ctx, how: Classify) -> TokenStream {
    let krate = &ctx.krate;
    match how {
        Classify::Never => quote! {
            __analytics_guard.finish(#krate::__private::Outcome::Success);
        },
        Classify::Declared => quote! {
            __analytics_guard.finish(#krate::__private::declared_outcome(&__analytics_result));
        },
        Classify::ByType => quote! {
            {
                #[allow(unused_imports)]
                use #krate::__private::{ClassifyOther as _, ClassifyResult as _};
                // The borrow selects the impl (autoref specialisation); it is not needless.
                #[allow(clippy::needless_borrow)]
                __analytics_guard.finish(
                    (&#krate::__private::Classify(&__analytics_result)).__analytics_outcome(),
                );
            }
        },
    }
}

/// Whether the tokens may leave the function early: a `return`, a `?`, or a macro that is
/// not known to expand to neither. Conservative: a `return` inside a nested closure counts.
fn may_exit_early(tokens: TokenStream) -> bool {
    scan(tokens, &|tt, next| match tt {
        TokenTree::Ident(ident) => ident == "return" || is_unknown_macro(ident, next, false),
        TokenTree::Punct(punct) => punct.as_char() == '?',
        _ => false,
    })
}

/// Whether an `async fn` body may suspend: an `.await`, or a macro that is not known to
/// expand to none (`join!`, `select!` hide theirs).
fn may_suspend(stmts: &[Stmt]) -> bool {
    let tokens = quote!(#(#stmts)*);
    scan(tokens, &|tt, next| match tt {
        TokenTree::Ident(ident) => ident == "await" || is_unknown_macro(ident, next, true),
        _ => false,
    })
}

/// Walks every token (into groups); `found(token, following tokens)` stops the walk.
fn scan(tokens: TokenStream, found: &dyn Fn(&TokenTree, &[TokenTree]) -> bool) -> bool {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    tokens.iter().enumerate().any(|(i, tt)| {
        found(tt, &tokens[i + 1..])
            || matches!(tt, TokenTree::Group(group) if scan(group.stream(), found))
    })
}

/// `ident ! (..)` where `ident` is not a macro known to expand without an early exit (and,
/// when `suspend`, without an `.await`).
fn is_unknown_macro(ident: &proc_macro2::Ident, next: &[TokenTree], suspend: bool) -> bool {
    let [TokenTree::Punct(bang), TokenTree::Group(_), ..] = next else {
        return false;
    };
    if bang.as_char() != '!' {
        return false;
    }
    // The standard library's and the logging crates' macros: they format, assert or panic.
    const PLAIN: &[&str] = &[
        "assert",
        "assert_eq",
        "assert_ne",
        "cfg",
        "column",
        "compile_error",
        "concat",
        "dbg",
        "debug",
        "debug_assert",
        "debug_assert_eq",
        "debug_assert_ne",
        "debug_span",
        "env",
        "eprint",
        "eprintln",
        "error",
        "error_span",
        "event",
        "file",
        "format",
        "format_args",
        "include_bytes",
        "include_str",
        "info",
        "info_span",
        "line",
        "matches",
        "module_path",
        "option_env",
        "panic",
        "print",
        "println",
        "span",
        "stringify",
        "thread_local",
        "todo",
        "trace",
        "trace_span",
        "unimplemented",
        "unreachable",
        "vec",
        "warn",
        "warn_span",
        "write",
        "writeln",
    ];
    // These return early (`bail!`, `ensure!`, `try!`) but never suspend.
    const EXITS: &[&str] = &["bail", "ensure", "try"];
    let name = ident.unraw().to_string();
    !(PLAIN.contains(&name.as_str()) || (suspend && EXITS.contains(&name.as_str())))
}

/// A body that does not suspend (a sync fn, or an `async fn` without `.await`).
fn sync_body(ctx: &Ctx, output: &ReturnType, block: &Block, how: Classify) -> TokenStream {
    let krate = &ctx.krate;
    if how == Classify::Never {
        // Nothing to classify: the body runs in place (no closure, no `let`), and the guard's
        // drop ends the run, a success on any return, a panic while unwinding. This also keeps
        // the expected type of an `-> impl Fn(&str) -> usize` body, which a `_` would lose.
        // The statements go in flat, not as a nested block: a single-expression body would
        // otherwise trip `unused_braces` on the user's braces. Items the body starts with go
        // before the guard, so they are not "items after statements" (clippy). Nothing here
        // names a path a `use` in the body could shadow (only absolute paths and our static).
        let split = block
            .stmts
            .iter()
            .take_while(|stmt| matches!(stmt, Stmt::Item(_)))
            .count();
        let (items, rest) = block.stmts.split_at(split);
        return quote! {
            #(#items)*
            let __analytics_guard =
                #krate::__private::Callsite::enter(&__ANALYTICS_CALLSITE).on_return();
            #(#rest)*
        };
    }
    let ret = inferable_return_type(ctx, output);
    let let_type = ret.as_ref().map(|ty| quote!(: #ty));
    let finish = classify(ctx, how);
    let block_tokens = block.to_token_stream();
    let value = if may_exit_early(block_tokens) {
        // `return` and `?` must leave something that is not the function: an `FnOnce`
        // closure, whose return type is the declared one (inference of `?`, `.collect()` and
        // `.into()` and the "because of return type" diagnostics are unchanged). It is not
        // `move`: parameters it only borrows stay in the function and drop in their order.
        let closure_ret = ret.as_ref().map(|ty| quote!(-> #ty));
        quote!(#krate::__private::call_once(|| #closure_ret #block))
    } else {
        // No early exit: the block runs in place, so borrow errors read as without the
        // attribute. Braces of our own (spanned at the call site) so that a single-expression
        // body does not trip `unused_braces`.
        let stmts = &block.stmts;
        let mut group = Group::new(Delimiter::Brace, quote!(#(#stmts)*));
        group.set_span(Span::call_site());
        group.into_token_stream()
    };
    quote! {
        let __analytics_guard = #krate::__private::Callsite::enter(&__ANALYTICS_CALLSITE);
        #[allow(clippy::let_unit_value)]
        let __analytics_result #let_type = #value;
        #finish
        __analytics_result
    }
}

fn pat_bindings(pat: &Pat, out: &mut Vec<TokenStream>) {
    match pat {
        Pat::Ident(ident) => {
            out.push(ident.ident.to_token_stream());
            if let Some((_, sub)) = &ident.subpat {
                pat_bindings(sub, out);
            }
        }
        Pat::Tuple(tuple) => tuple.elems.iter().for_each(|p| pat_bindings(p, out)),
        Pat::TupleStruct(tuple) => tuple.elems.iter().for_each(|p| pat_bindings(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| pat_bindings(&f.pat, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| pat_bindings(p, out)),
        Pat::Reference(r) => pat_bindings(&r.pat, out),
        Pat::Paren(p) => pat_bindings(&p.pat, out),
        Pat::Type(t) => pat_bindings(&t.pat, out),
        _ => {}
    }
}

/// An `async fn` body that can suspend: the guard is created when the function's future is
/// first polled (an `async fn` body does not run before), and the user's block runs as an
/// inner future polled through `Polled` whose output is classified. A never-taken `return`
/// typed with the declared return type pins the inner block's output type, so `?` and
/// `.collect()` infer as they would without the attribute.
fn async_fn_body(ctx: &Ctx, sig: &syn::Signature, block: &Block, how: Classify) -> TokenStream {
    let krate = &ctx.krate;
    let ret = inferable_return_type(ctx, &sig.output).unwrap_or_else(|| syn::parse_quote!(()));
    // Every parameter is moved into the inner future, as the `async fn` itself holds them, so
    // they drop in the same order as without the attribute (the inner future would otherwise
    // take only the ones it uses, and drop those first). The trailing plain `name: Type`
    // parameters are rebound by name, in order (`let v = v;`, spanned on the parameter): the
    // body then sees locals, so a borrow error names the variable and suggests `.clone()`,
    // and an unused one still warns. The others (`self`, `mut x`, patterns) are captured by a
    // mention, last one first: captured values drop after the locals, in capture order.
    let inputs: Vec<&FnArg> = sig.inputs.iter().collect();
    let plain = |arg: &&&FnArg| match arg {
        FnArg::Typed(typed) => matches!(&*typed.pat, Pat::Ident(ident)
            if ident.mutability.is_none() && ident.by_ref.is_none() && ident.subpat.is_none()),
        FnArg::Receiver(_) => false,
    };
    let suffix = inputs.iter().rev().take_while(plain).count();
    let (captured, rebound) = inputs.split_at(inputs.len() - suffix);
    let mut mentions = Vec::new();
    for arg in captured {
        match arg {
            FnArg::Receiver(receiver) => mentions.push(receiver.self_token.to_token_stream()),
            FnArg::Typed(typed) => pat_bindings(&typed.pat, &mut mentions),
        }
    }
    mentions.reverse();
    let mention = (!mentions.is_empty()).then(|| {
        quote! {
            #[allow(clippy::no_effect_underscore_binding)]
            let _ = (#(&#mentions,)*);
        }
    });
    let rebind = rebound.iter().filter_map(|arg| match arg {
        FnArg::Typed(typed) => match &*typed.pat {
            Pat::Ident(ident) => {
                let ident = &ident.ident;
                Some(quote_spanned!(ident.span()=> let #ident = #ident;))
            }
            _ => None,
        },
        FnArg::Receiver(_) => None,
    });
    let take_params = quote! {
        #mention
        #(#rebind)*
    };
    // The return edge's `return` points at the declared type, where the value's type comes
    // from, in a mismatch's note.
    let edge_span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => Span::call_site(),
    };
    let return_edge = quote_spanned! {edge_span=>
        #[allow(
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::needless_return
        )]
        if false {
            let __analytics_return_edge: #ret = loop {};
            return __analytics_return_edge;
        }
    };
    let polled = quote! {
        #krate::__private::Polled::new(&__analytics_guard, async move {
            #take_params
            #return_edge
            #block
        })
        .await
    };
    if matches!(&sig.output, ReturnType::Type(_, ty) if matches!(ungroup(ty), Type::Never(_))) {
        // `-> !`: the body never completes; a statement of type `!` ends the fn body.
        return quote! {
            let __analytics_guard = #krate::__private::Callsite::enter(&__ANALYTICS_CALLSITE);
            #[allow(clippy::async_yields_async, unused_braces)]
            let _: #ret = #polled;
        };
    }
    let finish = classify(ctx, how);
    quote! {
        let __analytics_guard = #krate::__private::Callsite::enter(&__ANALYTICS_CALLSITE);
        // The user's block stays nested (the return edge names their types, which a `use` in
        // the body must not shadow), so a single-expression body must not warn.
        // The inner future yields what the fn returns, a future itself for a fn returning one:
        // that is not the `async_yields_async` mistake (the lint does not apply to an `async fn`).
        #[allow(clippy::let_unit_value, clippy::async_yields_async, unused_braces)]
        let __analytics_result: #ret = #polled;
        #finish
        __analytics_result
    }
}

/// The `Output` of a declared future type: `impl Future<Output = T>`,
/// `Pin<Box<dyn Future<Output = T> + ..>>`, `BoxFuture<'a, T>`, `LocalBoxFuture<'a, T>`.
fn future_output(output: &ReturnType) -> Option<&Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    output_of(ty)
}

fn output_of(ty: &Type) -> Option<&Type> {
    match ungroup(ty) {
        Type::ImplTrait(t) => output_of_bounds(t.bounds.iter()),
        Type::TraitObject(t) => output_of_bounds(t.bounds.iter()),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            let PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            let types = args.args.iter().filter_map(|arg| match arg {
                GenericArgument::Type(ty) => Some(ty),
                _ => None,
            });
            if last.ident == "Pin" || last.ident == "Box" {
                types.into_iter().next().and_then(output_of)
            } else if last.ident == "BoxFuture" || last.ident == "LocalBoxFuture" {
                types.last()
            } else {
                None
            }
        }
        _ => None,
    }
}

fn output_of_bounds<'a>(bounds: impl Iterator<Item = &'a TypeParamBound>) -> Option<&'a Type> {
    bounds.into_iter().find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let last = bound.path.segments.last()?;
        if last.ident != "Future" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// A sync fn whose body ends with a future: an `async` block, `Box::pin(async ..)` (what
/// async-trait generates), or `async { .. }.boxed()` / `.boxed_local()`, after any statements
/// (tracing's issue 1296 shape: `let m = ..; Box::pin(async move { .. })`). The future is what
/// runs the phase, so its block is timed from its first poll, not the construction of the
/// future; the statements before it run unmeasured when the future is built.
fn future_body(ctx: &Ctx, output: &ReturnType, block: &Block, result: bool) -> Option<TokenStream> {
    let (Stmt::Expr(expr, None), before) = block.stmts.split_last()? else {
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
        Expr::MethodCall(call)
            if call.args.is_empty() && (call.method == "boxed" || call.method == "boxed_local") =>
        {
            match &mut *call.receiver {
                Expr::Async(async_block) => async_block,
                _ => return None,
            }
        }
        _ => return None,
    };
    // The declared `Output` pins the block's value (a diverging body, `.collect()`, `.into()`
    // take their type from it); without one, the value's own type decides.
    let out = future_output(output);
    let how = if result {
        Classify::Declared
    } else {
        match out {
            Some(ty) if !type_may_be_result(ty, &Generics::default()) => Classify::Never,
            _ => Classify::ByType,
        }
    };
    instrument_async_block(ctx, async_block, out.map(|ty| inferable(ctx, ty)), how);
    Some(quote!(#(#before)* #expr))
}

fn is_pin_call(func: &Expr) -> bool {
    matches!(func, Expr::Path(path)
        if path.path.segments.last().is_some_and(|s| s.ident == "pin"))
}

/// Rewrites `async [move] { body }` so that it times `body` from its first poll.
fn instrument_async_block(
    ctx: &Ctx,
    async_block: &mut ExprAsync,
    out: Option<Type>,
    how: Classify,
) {
    let krate = &ctx.krate;
    let capture = async_block.capture;
    let inner = &async_block.block;
    let finish = classify(ctx, how);
    let let_type = out.as_ref().map(|ty| quote!(: #ty));
    let return_edge = out.as_ref().map(|ty| {
        quote! {
            #[allow(
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::needless_return
            )]
            if false {
                let __analytics_return_edge: #ty = loop {};
                return __analytics_return_edge;
            }
        }
    });
    let span = Span::call_site();
    let new_block: Block = syn::parse_quote_spanned! {span=> {
        let __analytics_guard = #krate::__private::Callsite::enter(&__ANALYTICS_CALLSITE);
        // Same capture mode as the user's block, so borrows keep their meaning.
        #[allow(clippy::let_unit_value, clippy::async_yields_async, unused_braces)]
        let __analytics_result #let_type =
            #krate::__private::Polled::new(&__analytics_guard, async #capture {
                #return_edge
                #inner
            }).await;
        #finish
        __analytics_result
    }};
    async_block.block = new_block;
}
