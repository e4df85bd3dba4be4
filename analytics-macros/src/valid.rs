//! Stage 2: every semantic check, each a spanned error that says how to fix the code.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Item, ItemFn};

use crate::attr::Args;

/// Checks a parsed function and its arguments; all problems are reported together.
pub(crate) fn check(args: &Args, func: &ItemFn) -> syn::Result<()> {
    let mut errors: Option<syn::Error> = None;
    let mut push = |error: syn::Error| match &mut errors {
        Some(all) => all.combine(error),
        None => errors = Some(error),
    };
    if let Some(constness) = &func.sig.constness {
        push(syn::Error::new(
            constness.span(),
            "`#[analyzed_phase]` cannot measure a `const fn`: a phase runs at run time and \
             reads the clock; remove `const`, or remove the attribute",
        ));
    }
    if let Some(name) = &args.name {
        let value = name.value();
        if value.trim().is_empty() {
            push(syn::Error::new(
                name.span(),
                "the phase name is empty or only whitespace: give it a name such as \
                 `name = \"build\"`, or remove `name` to use the function's name",
            ));
        } else if value.trim() != value {
            push(syn::Error::new(
                name.span(),
                format!(
                    "the phase name has leading or trailing whitespace, which would make \
                     `{}` and `{value}` two phases: write `name = \"{}\"`",
                    value.trim(),
                    value.trim()
                ),
            ));
        } else if value.chars().any(char::is_control) {
            push(syn::Error::new(
                name.span(),
                "the phase name contains a control character (newline, tab, ...): phase names \
                 appear in reports and metric labels; use plain text such as \"build\"",
            ));
        }
    }
    if let Some(span) = args.result {
        let returns_nothing = match &func.sig.output {
            syn::ReturnType::Default => true,
            syn::ReturnType::Type(_, ty) => {
                matches!(&**ty, syn::Type::Never(_))
                    || matches!(&**ty, syn::Type::Tuple(t) if t.elems.is_empty())
            }
        };
        if returns_nothing {
            push(syn::Error::new(
                span,
                "`result` says the return value tells success from failure, and this function \
                 returns no value: remove `result`",
            ));
        }
    }
    errors.map_or(Ok(()), Err)
}

/// The error for an item that is not a function (the attribute was put on the wrong thing),
/// spanned on the item's keyword and name.
pub(crate) fn not_a_function(item: &Item) -> Option<syn::Error> {
    let (what, tokens) = match item {
        Item::Fn(_) => return None,
        Item::Struct(i) => ("a struct", keyword_and_name(&i.struct_token, &i.ident)),
        Item::Enum(i) => ("an enum", keyword_and_name(&i.enum_token, &i.ident)),
        Item::Union(i) => ("a union", keyword_and_name(&i.union_token, &i.ident)),
        Item::Trait(i) => ("a trait", keyword_and_name(&i.trait_token, &i.ident)),
        Item::Impl(i) => {
            let (impl_token, self_ty) = (&i.impl_token, &i.self_ty);
            ("an impl block", quote::quote!(#impl_token #self_ty))
        }
        Item::Mod(i) => ("a module", keyword_and_name(&i.mod_token, &i.ident)),
        Item::Const(i) => ("a const", keyword_and_name(&i.const_token, &i.ident)),
        Item::Static(i) => ("a static", keyword_and_name(&i.static_token, &i.ident)),
        Item::Type(i) => ("a type alias", keyword_and_name(&i.type_token, &i.ident)),
        Item::Use(i) => ("a use declaration", i.use_token.to_token_stream()),
        Item::ExternCrate(i) => ("an extern crate", i.extern_token.to_token_stream()),
        Item::ForeignMod(i) => ("an extern block", i.abi.to_token_stream()),
        Item::Macro(i) => ("a macro", i.mac.path.to_token_stream()),
        _ => ("this item", item.to_token_stream()),
    };
    let hint = match item {
        Item::Impl(_) | Item::Trait(_) => {
            "put it on each method that runs a phase, inside the block"
        }
        _ => "put it on the `fn` that runs the phase",
    };
    Some(syn::Error::new_spanned(
        tokens,
        format!("`#[analyzed_phase]` goes on a function, not on {what}: {hint}"),
    ))
}

fn keyword_and_name(keyword: &impl ToTokens, name: &syn::Ident) -> TokenStream {
    quote::quote!(#keyword #name)
}

/// The error for a function of an `extern` block: its body is foreign code.
pub(crate) fn foreign_fn(signature: &syn::Signature) -> syn::Error {
    syn::Error::new_spanned(
        signature,
        "`#[analyzed_phase]` cannot measure a function of an `extern` block: its body is foreign \
         code; put the attribute on a Rust fn that calls it",
    )
}

/// The error for a declaration without a body: a trait method, or (same syntax) a function
/// of an `extern` block.
pub(crate) fn no_body(signature: &syn::Signature) -> syn::Error {
    syn::Error::new_spanned(
        signature,
        "`#[analyzed_phase]` needs a function body to measure, and this declaration has none: \
         in a trait, put the attribute on the method in each `impl` (or give the method a \
         default body); in an `extern` block, put it on a Rust fn that calls this one",
    )
}
