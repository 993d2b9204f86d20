//! Parsing `#[secure(...)]` / `#[public(...)]` arguments.
//!
//! The attribute is a comma-separated list of `name`, `name = value` or `name(...)` items
//! (`syn::Meta`). Each argument lives in its own module exposing an [`ArgSpec`]; adding an
//! argument means adding a module, one line to [`ARGS`], and a field to `PolicyArgs`. The
//! dispatcher here handles what every argument shares: unknown names, duplicates, and which
//! attribute accepts which argument.

mod auth;
mod auth_optional;
mod authorize;
pub(crate) mod bound;
pub(crate) mod cidr;
pub(crate) mod errors;
pub(crate) mod ip_lists;
mod key;
mod max_body;
mod rate;
mod scopes;
mod state;
pub(crate) mod step_up;
mod threat;
mod validate;

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Meta, Token};

use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs};

pub(crate) use threat::field_checks as threat_field_checks;

/// One attribute argument: its name, where it is allowed, the forms shown in errors, and its
/// parser.
pub(crate) struct ArgSpec {
    pub(crate) name: &'static str,
    /// The accepted forms, shown when the argument is misused (`auth = "oauth" | ...`).
    pub(crate) usage: &'static str,
    pub(crate) allowed_in: &'static [AttrKind],
    pub(crate) parse: fn(&Meta, &mut PolicyArgs, &mut Ctxt),
}

/// Every argument the attributes understand.
const ARGS: &[ArgSpec] = &[
    auth::SPEC,
    scopes::SPEC,
    auth_optional::SPEC,
    authorize::SPEC,
    ip_lists::ALLOW_SPEC,
    ip_lists::DENY_SPEC,
    threat::SPEC,
    rate::SPEC,
    key::SPEC,
    validate::SPEC,
    max_body::SPEC,
    state::SPEC,
    bound::SPEC,
    step_up::ACR_SPEC,
    step_up::MAX_AGE_SPEC,
    errors::SPEC,
];

/// Parses the attribute's arguments, recording every error in `cx`.
pub(crate) fn parse(kind: AttrKind, attr: TokenStream, cx: &mut Ctxt) -> PolicyArgs {
    let mut args = PolicyArgs::default();
    let errors_before = cx.error_count();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr) {
        Ok(metas) => metas,
        Err(error) => {
            cx.syn_error(error);
            args.malformed = true;
            return args;
        }
    };
    let mut seen: Vec<String> = Vec::new();
    for meta in &metas {
        let path = meta.path();
        let name = path.get_ident().map(ToString::to_string).unwrap_or_default();
        let Some(spec) = ARGS.iter().find(|spec| spec.name == name && spec.allowed_in.contains(&kind)) else {
            cx.error_spanned_by(path, unknown_argument_message(kind, &name));
            continue;
        };
        if seen.contains(&name) {
            cx.error_spanned_by(path, format_args!("`{name}` is specified more than once"));
            continue;
        }
        seen.push(name);
        args.written.push(spec.name);
        (spec.parse)(meta, &mut args, cx);
    }
    args.malformed = cx.error_count() > errors_before;
    args
}

fn unknown_argument_message(kind: AttrKind, name: &str) -> String {
    let accepted: Vec<&str> =
        ARGS.iter().filter(|spec| spec.allowed_in.contains(&kind)).map(|spec| spec.usage).collect();
    let attribute = kind.name();
    if accepted.is_empty() {
        format!("unknown argument `{name}`: `#[{attribute}]` takes no arguments")
    } else {
        format!("unknown argument `{name}` for `#[{attribute}]`; expected one of: {}", accepted.join(", "))
    }
}

/// The `value` of `name = value`, or an error naming the expected form.
pub(crate) fn name_value<'a>(meta: &'a Meta, spec: &ArgSpec, cx: &mut Ctxt) -> Option<&'a syn::Expr> {
    match meta {
        Meta::NameValue(name_value) => Some(&name_value.value),
        _ => {
            cx.error_spanned_by(meta, format_args!("expected `{}`", spec.usage));
            None
        }
    }
}

/// A string literal, or an error on the expression.
pub(crate) fn string_literal<'a>(expr: &'a syn::Expr, spec: &ArgSpec, cx: &mut Ctxt) -> Option<&'a syn::LitStr> {
    match expr {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. }) => Some(lit),
        _ => {
            cx.error_spanned_by(expr, format_args!("expected a string literal: `{}`", spec.usage));
            None
        }
    }
}

/// A string argument naming one of `choices` (`(as written, runtime variant)`): the variant with
/// the argument's span, or an error at the literal, `unknown(value)` saying what is accepted.
pub(crate) fn one_of(
    meta: &Meta,
    spec: &ArgSpec,
    choices: &[(&str, &'static str)],
    unknown: fn(&str) -> String,
    cx: &mut Ctxt,
) -> Option<crate::model::Spanned<&'static str>> {
    let lit = name_value(meta, spec, cx).and_then(|expr| string_literal(expr, spec, cx))?;
    let value = lit.value();
    match choices.iter().find(|(name, _)| *name == value) {
        Some((_, variant)) => {
            Some(crate::model::Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: variant })
        }
        None => {
            cx.error_spanned_by(lit, unknown(&value));
            None
        }
    }
}

/// `policy.<setter>(::secure_api::__private::<runtime_enum>::<variant>)` when the route wrote the
/// argument (`variant` is `Some`), `policy` unchanged otherwise.
pub(crate) fn with_variant(
    policy: proc_macro2::TokenStream,
    setter: &str,
    runtime_enum: &str,
    variant: Option<&str>,
) -> proc_macro2::TokenStream {
    let Some(variant) = variant else {
        return policy;
    };
    let (setter, runtime_enum, variant) = (
        quote::format_ident!("{}", setter),
        quote::format_ident!("{}", runtime_enum),
        quote::format_ident!("{}", variant),
    );
    quote::quote! { #policy.#setter(::secure_api::__private::#runtime_enum::#variant) }
}

/// Runs one argument's parser on `src` (`name = value`): the argument modules' unit tests share it.
#[cfg(test)]
pub(crate) fn parse_for_test(parse: fn(&Meta, &mut PolicyArgs, &mut Ctxt), src: &str) -> (PolicyArgs, bool) {
    let meta: Meta = syn::parse_str(src).expect("the test's argument parses as syn::Meta");
    let mut args = PolicyArgs::default();
    let mut cx = Ctxt::default();
    parse(&meta, &mut args, &mut cx);
    (args, cx.has_errors())
}
