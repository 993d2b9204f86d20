//! The handler's validatable inputs (`Json<T>`, `Form<T>`, `Query<T>`, `Path<T>`): the rules
//! about them, and their rewrite into `::secure_api::__private::Validated<...>`.
//!
//! Inputs are recognised by the last segment of their type's path (`Json`, `axum::Json`), like
//! axum-macros does; the runtime's trait bounds then make sure it really is axum's type.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{FnArg, GenericArgument, Ident, ItemFn, PathArguments, Type, parse_quote};

use crate::ctxt::Ctxt;
use crate::model::{AttrKind, CheckedPolicy, PolicyArgs, Validation};

/// An input extractor `validate` knows how to check.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InputKind {
    Json,
    Form,
    Query,
    Path,
}

impl InputKind {
    fn from_ident(ident: &Ident) -> Option<Self> {
        Some(match ident.to_string().as_str() {
            "Json" => Self::Json,
            "Form" => Self::Form,
            "Query" => Self::Query,
            "Path" => Self::Path,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Json => "Json",
            Self::Form => "Form",
            Self::Query => "Query",
            Self::Path => "Path",
        }
    }

    /// Inputs the client controls freely and that carry a model: these need a decision.
    fn needs_decision(self) -> bool {
        self != Self::Path
    }

    fn reads_body(self) -> bool {
        matches!(self, Self::Json | Self::Form)
    }
}

/// `Json<T>` → `(Json, T)`.
fn classify(ty: &Type) -> Option<(InputKind, &Type)> {
    let Type::Path(path) = ty else {
        return match ty {
            Type::Paren(inner) => classify(&inner.elem),
            Type::Group(inner) => classify(&inner.elem),
            _ => None,
        };
    };
    let segment = path.path.segments.last()?;
    let kind = InputKind::from_ident(&segment.ident)?;
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    match arguments.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(inner)] => Some((kind, inner)),
        _ => None,
    }
}

/// An input hidden inside `Option<...>` or `Result<..., _>`, where `validate` cannot reach it.
fn wrapped(ty: &Type) -> Option<(InputKind, &Type)> {
    let Type::Path(path) = ty else {
        return None;
    };
    let segment = path.path.segments.last()?;
    if segment.ident != "Option" && segment.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    match arguments.args.first()? {
        GenericArgument::Type(inner) => classify(inner).or_else(|| wrapped(inner)),
        _ => None,
    }
}

fn typed_inputs(function: &ItemFn) -> impl Iterator<Item = &syn::PatType> {
    function.sig.inputs.iter().filter_map(|input| match input {
        FnArg::Typed(typed) => Some(typed),
        FnArg::Receiver(_) => None,
    })
}

/// The index just after the handler's last `Path` or `Query` input (plain or inside `Option` /
/// `Result`), 0 when it has none: where the object-level check is inserted.
pub(crate) fn after_path_and_query(function: &ItemFn) -> usize {
    let is_parts_input = |ty: &Type| {
        classify(ty).or_else(|| wrapped(ty)).is_some_and(|(kind, _)| matches!(kind, InputKind::Path | InputKind::Query))
    };
    function
        .sig
        .inputs
        .iter()
        .enumerate()
        .filter_map(|(index, input)| match input {
            FnArg::Typed(typed) if is_parts_input(&typed.ty) => Some(index + 1),
            _ => None,
        })
        .last()
        .unwrap_or(0)
}

/// The rules about inputs; one function per rule below.
pub(crate) fn check(kind: AttrKind, args: &PolicyArgs, function: &ItemFn, cx: &mut Ctxt) {
    let validate = args.validate.as_ref().map(|validate| validate.value);
    if kind == AttrKind::Secure && validate.is_none() {
        unvalidated_inputs_need_a_decision(function, cx);
    }
    if validate == Some(true) {
        wrapped_inputs_cannot_be_validated(function, cx);
        validate_needs_an_input(args, function, cx);
        max_body_needs_a_body(args, function, cx);
    }
}

/// Secure by default: a `#[secure]` handler taking client data must say whether it is checked.
fn unvalidated_inputs_need_a_decision(function: &ItemFn, cx: &mut Ctxt) {
    for typed in typed_inputs(function) {
        let Some((input, _)) = classify(&typed.ty).or_else(|| wrapped(&typed.ty)) else {
            continue;
        };
        if input.needs_decision() {
            cx.error_spanned_by(
                &typed.ty,
                format_args!(
                    "this `{}` input is not validated: add `validate` to `#[secure(...)]` to check it against its request type, or `validate = false` to accept it unchecked",
                    input.name()
                ),
            );
        }
    }
}

/// `Option<Json<T>>` would swallow the validation errors; take the input directly.
fn wrapped_inputs_cannot_be_validated(function: &ItemFn, cx: &mut Ctxt) {
    for typed in typed_inputs(function) {
        if classify(&typed.ty).is_none()
            && let Some((input, _)) = wrapped(&typed.ty)
        {
            cx.error_spanned_by(
                &typed.ty,
                format_args!(
                    "`validate` cannot check a `{0}` inside `Option` or `Result`: take `{0}<T>` directly (use `Option` fields in the request type for optional data)",
                    input.name()
                ),
            );
        }
    }
}

/// `validate` on a handler without inputs checks nothing; saying so catches a misplaced argument.
fn validate_needs_an_input(args: &PolicyArgs, function: &ItemFn, cx: &mut Ctxt) {
    // Wrapped inputs have their own error; they still count as something to check.
    let has_input = typed_inputs(function).any(|typed| classify(&typed.ty).or_else(|| wrapped(&typed.ty)).is_some());
    if let Some(validate) = &args.validate
        && !has_input
    {
        cx.syn_error(syn::Error::new(
            validate.key_span,
            "`validate` has nothing to check: the handler takes no `Json`, `Form`, `Query` or `Path` input",
        ));
    }
}

/// `max_body` limits a body; a handler that reads none has nothing to limit.
fn max_body_needs_a_body(args: &PolicyArgs, function: &ItemFn, cx: &mut Ctxt) {
    let reads_body = typed_inputs(function).any(|typed| classify(&typed.ty).is_some_and(|(kind, _)| kind.reads_body()));
    if let Some(max_body) = &args.max_body
        && !reads_body
    {
        cx.syn_error(syn::Error::new(
            max_body.key_span,
            "`max_body` has no body to limit: the handler takes no `Json` or `Form` input",
        ));
    }
}

/// Without `validate`, rewrites `Path(id): Path<T>` into
/// `::secure_api::__private::UncheckedPath(Path(id)): ::secure_api::__private::UncheckedPath<Path<T>>`,
/// so a parameter that does not fit its type is answered with a problem like every other
/// rejection (axum's own rejection is plain text). Other inputs are left as written.
pub(crate) fn rewrite_unchecked_paths(function: &mut ItemFn) {
    for input in function.sig.inputs.iter_mut() {
        let FnArg::Typed(typed) = input else {
            continue;
        };
        if !matches!(classify(&typed.ty), Some((InputKind::Path, _))) {
            continue;
        }
        let pattern = &typed.pat;
        let ty = &typed.ty;
        *typed.pat = parse_quote! { ::secure_api::__private::UncheckedPath(#pattern) };
        *typed.ty = parse_quote! { ::secure_api::__private::UncheckedPath<#ty> };
    }
}

/// Rewrites `Json(item): Json<T>` into
/// `::secure_api::__private::Validated(Json(item), _): ::secure_api::__private::Validated<Json<T>, P>`
/// for every input, and returns the compile-time checks that `T: ValidateInput`, each spanned
/// on its `T` so a missing implementation is reported on the user's type.
pub(crate) fn rewrite(function: &mut ItemFn, policy_type: &Ident) -> TokenStream {
    // A check item outside the function cannot name the function's own generic parameters;
    // for generic handlers the extractor's bounds report the same error at the route instead.
    let emit_checks = function.sig.generics.params.is_empty();
    let mut checks = TokenStream::new();
    for input in function.sig.inputs.iter_mut() {
        let FnArg::Typed(typed) = input else {
            continue;
        };
        let Some((_, inner)) = classify(&typed.ty) else {
            continue;
        };
        if emit_checks {
            let span = inner.span();
            checks.extend(check_item(inner, span));
        }
        let pattern = &typed.pat;
        let ty = &typed.ty;
        *typed.pat = parse_quote! { ::secure_api::__private::Validated(#pattern, _) };
        *typed.ty = parse_quote! { ::secure_api::__private::Validated<#ty, #policy_type> };
    }
    checks
}

fn check_item(inner: &Type, span: Span) -> TokenStream {
    let assert = quote_spanned! {span=> ::secure_api::__private::assert_validate_input::<#inner> };
    quote! {
        const _: () = #assert();
    }
}

/// Adds `.with_request_body(RequestBody::json::<T>("T"))` for the validated `Json<T>` /
/// `Form<T>` input, so the OpenAPI document shows the body's schema. Generic handlers are left
/// out: the policy item cannot name their parameters.
pub(crate) fn with_request_body(policy: TokenStream, checked: &CheckedPolicy, function: &ItemFn) -> TokenStream {
    if checked.validation != Validation::Enforced || !function.sig.generics.params.is_empty() {
        return policy;
    }
    let body = typed_inputs(function).find_map(|typed| match classify(&typed.ty) {
        Some((InputKind::Json, inner)) => Some(("application/json", inner)),
        Some((InputKind::Form, inner)) => Some(("application/x-www-form-urlencoded", inner)),
        _ => None,
    });
    let Some((media_type, inner)) = body else {
        return policy;
    };
    let name = quote!(#inner).to_string().replace(' ', "");
    // The schema is looked up by autoref, so a type that is not a request type is reported
    // once, by the input's own check, not again here.
    quote! {{
        fn __secure_request_schema(
            __registry: &mut ::secure_api::__private::SchemaRegistry,
        ) -> ::core::option::Option<::secure_api::__private::serde_json::Value> {
            #[allow(unused_imports)]
            use ::secure_api::__private::{NestedSchema as _, NoSchema as _};
            #[allow(clippy::needless_borrow)]
            let __schema = (&::secure_api::__private::SchemaOf::<#inner>::new()).body_schema(__registry);
            __schema
        }
        #policy.with_request_body(::secure_api::__private::RequestBody::from_parts(
            #media_type,
            #name,
            __secure_request_schema,
        ))
    }}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(src: &str) -> Type {
        syn::parse_str(src).unwrap()
    }

    #[test]
    fn recognises_inputs_and_wrapped_ones() {
        assert!(classify(&ty("Json<NewItem>")).is_some_and(|(kind, _)| kind == InputKind::Json));
        assert!(classify(&ty("axum::extract::Query<Search>")).is_some_and(|(kind, _)| kind == InputKind::Query));
        assert!(classify(&ty("State<AppState>")).is_none());
        assert!(classify(&ty("Json")).is_none());
        assert!(classify(&ty("Option<Json<NewItem>>")).is_none());
        assert!(wrapped(&ty("Option<Json<NewItem>>")).is_some());
        assert!(wrapped(&ty("Result<Form<Login>, FormRejection>")).is_some());
        assert!(wrapped(&ty("Option<Principal>")).is_none());
    }

    #[test]
    fn without_validate_only_paths_are_wrapped() {
        let mut function: ItemFn = syn::parse_quote! {
            async fn show(Path(id): Path<u64>, Query(q): Query<Search>, other: Option<Path<u64>>) -> u64 { id }
        };
        rewrite_unchecked_paths(&mut function);
        let rewritten = quote!(#function).to_string();
        assert!(
            rewritten.contains(
                ":: secure_api :: __private :: UncheckedPath (Path (id)) : :: secure_api :: __private :: UncheckedPath < Path < u64 > >"
            ),
            "{rewritten}"
        );
        assert!(rewritten.contains("Query (q) : Query < Search >"), "{rewritten}");
        assert!(
            rewritten.contains("other : Option < Path < u64 > >"),
            "an optional path stays the handler's: {rewritten}"
        );
    }

    #[test]
    fn rewrites_pattern_and_type_keeping_the_body() {
        let mut function: ItemFn = syn::parse_quote! {
            async fn create(State(s): State<AppState>, Json(item): Json<NewItem>) -> u16 { item.len() }
        };
        let body_before = quote!(#function).to_string();
        assert!(body_before.contains("item . len ()"));
        let checks = rewrite(&mut function, &syn::parse_quote!(__SecurePolicy_create));
        let rewritten = quote!(#function).to_string();
        assert!(rewritten.contains(
            ":: secure_api :: __private :: Validated (Json (item) , _) : :: secure_api :: __private :: Validated < Json < NewItem > , __SecurePolicy_create >"
        ), "{rewritten}");
        assert!(rewritten.contains("State (s) : State < AppState >"));
        assert!(checks.to_string().contains("assert_validate_input :: < NewItem >"));
    }
}
