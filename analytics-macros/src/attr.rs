//! Stage 1: parse the attribute's arguments, `#[analyzed_phase(name = "build")]`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{Expr, ExprLit, Lit, LitStr, Path};

/// The attribute's arguments, with their spans kept for the checks in `valid`.
#[derive(Default)]
pub(crate) struct Args {
    /// `name = "..."`: the phase name (default: the function's name).
    pub(crate) name: Option<LitStr>,
    /// `crate = path`: where the runtime is when the dependency is renamed in Cargo.toml
    /// (default: `::analytics_runtime`).
    pub(crate) krate: Option<Path>,
    /// `result`: the return value is classified through `analytics_runtime::PhaseResult`,
    /// for types the expansion cannot see (`-> Self::Out` in a trait's default method).
    pub(crate) result: Option<proc_macro2::Span>,
}

/// How to write the arguments; every argument error ends with it.
const USAGE: &str = "write `#[analyzed_phase]` or `#[analyzed_phase(name = \"build\")]`";

/// Parses the tokens between the attribute's parentheses.
pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
    // A bare string, `#[analyzed_phase("build")]`, is the most likely slip: say how to fix it
    // instead of syn's "expected identifier".
    if let Ok(lit) = syn::parse2::<LitStr>(tokens.clone()) {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "the phase name needs the `name = ` key: write `#[analyzed_phase(name = {})]`",
                quote::quote!(#lit)
            ),
        ));
    }
    let mut args = Args::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            if args.name.is_some() {
                return Err(meta
                    .error("duplicate `name` argument: a phase has one name; remove one of them"));
            }
            if meta.input.is_empty() || meta.input.peek(syn::Token![,]) {
                return Err(meta.error(format!("`name` needs a value: {USAGE}")));
            }
            let value: Expr = meta.value()?.parse()?;
            match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(lit), ..
                }) => {
                    args.name = Some(lit);
                    Ok(())
                }
                Expr::Path(path) if path.path.get_ident().is_some() => {
                    let ident = path.path.get_ident().map(ToString::to_string);
                    let ident = ident.unwrap_or_default();
                    Err(syn::Error::new_spanned(
                        path,
                        format!(
                            "the phase name must be a string literal: write `name = \"{ident}\"`"
                        ),
                    ))
                }
                other => Err(syn::Error::new_spanned(
                    other,
                    "the phase name must be a string literal, e.g. `name = \"build\"`",
                )),
            }
        } else if meta.path.is_ident("crate") {
            if args.krate.is_some() {
                return Err(meta.error(
                    "duplicate `crate` argument: the runtime has one path; remove one of them",
                ));
            }
            if meta.input.is_empty() || meta.input.peek(syn::Token![,]) {
                return Err(meta.error(
                    "`crate` needs the path of the runtime as your Cargo.toml names it, e.g. \
                     `crate = analytics` for `analytics = { package = \"analytics-runtime\" }`",
                ));
            }
            let value = meta.value()?;
            if let Ok(lit) = value.fork().parse::<LitStr>() {
                return Err(syn::Error::new(
                    lit.span(),
                    format!(
                        "`crate` takes a path, not a string: write `crate = {}`",
                        lit.value()
                    ),
                ));
            }
            args.krate = Some(value.call(Path::parse_mod_style)?);
            Ok(())
        } else if meta.path.is_ident("result") {
            if args.result.is_some() {
                return Err(meta.error("duplicate `result` argument: remove one of them"));
            }
            if !(meta.input.is_empty() || meta.input.peek(syn::Token![,])) {
                return Err(meta.error(
                    "`result` takes no value: write `#[analyzed_phase(result)]` to classify \
                     the return value through `analytics_runtime::PhaseResult`",
                ));
            }
            args.result = Some(syn::spanned::Spanned::span(&meta.path));
            Ok(())
        } else {
            let path = &meta.path;
            let shown = quote::quote!(#path).to_string().replace(' ', "");
            Err(meta.error(format!(
                "unknown argument `{shown}`: the arguments are `name = \"..\"`, `crate = path` \
                 and `result`; {USAGE}"
            )))
        }
    });
    parser.parse2(tokens)?;
    Ok(args)
}
