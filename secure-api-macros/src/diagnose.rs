//! axum's own diagnoses for an annotated handler, in the manner of axum-macros'
//! `debug_handler`: separate check items, each spanned on the user's tokens, so a handler
//! mistake is reported on the handler, in axum's words, instead of as a failed `Handler` bound
//! at the route.
//!
//! What is checked, and why only that (the macro cannot see the router's state type `S`):
//! - the future is `Send` and the output implements `IntoResponse`: independent of `S`;
//! - a body extractor (`Json`, `Form`, `String`, `Bytes`, `Request`, ...) is the last argument,
//!   and there is only one: by type name, as axum-macros does;
//! - every argument is an extractor: against `state = AppState` when the attribute names it,
//!   exactly like `debug_handler(state = ...)`; without it, only arguments whose type cannot
//!   involve any state (primitives such as `u64`, references), checked for every `S`. A user
//!   type may be an extractor for one state only, so checking it against a guessed state would
//!   report errors on correct code; those are left to the route's `Handler` bound.
//!
//! Generic handlers get none of the trait checks (an item outside the function cannot name its
//! generic parameters), like in axum-macros.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{FnArg, ItemFn, ReturnType, Type};

use crate::ctxt::Ctxt;

/// Errors found from the signature alone (body extractor position).
pub(crate) fn check_signature(function: &ItemFn, cx: &mut Ctxt) {
    let inputs: Vec<&Type> = user_types(function).collect();
    let consuming: Vec<(usize, &'static str, &Type)> = inputs
        .iter()
        .enumerate()
        .filter_map(|(index, ty)| body_extractor_name(ty).map(|name| (index, name, *ty)))
        .collect();
    match consuming.as_slice() {
        [] => {}
        [(index, name, ty)] => {
            if *index + 1 != inputs.len() {
                cx.error_spanned_by(
                    ty,
                    format_args!(
                        "`{name}` consumes the request body and thus must be the last argument to the handler function"
                    ),
                );
            }
        }
        [(_, first, _), .., (_, last, _)] => cx.error_spanned_by(
            &function.sig.inputs,
            format_args!(
                "Can't have more than one extractor that consumes the request body: `{first}` and `{last}` both do that"
            ),
        ),
    }
}

/// The check items for an expanded handler: `original` is the function as the user wrote it,
/// `arity` the expanded function's argument count (with the hidden ones).
pub(crate) fn check_items(original: &ItemFn, arity: usize, state: Option<&Type>) -> TokenStream {
    // `impl Trait` arguments are generic parameters too.
    let generic =
        !original.sig.generics.params.is_empty() || user_types(original).any(|ty| matches!(ty, Type::ImplTrait(_)));
    if generic {
        return TokenStream::new();
    }
    let name = &original.sig.ident;
    let mut items = future_is_send(name, arity);
    items.extend(output_is_a_response(original, name, arity));
    items.extend(inputs_are_extractors(original, state));
    quote! {
        #[doc(hidden)]
        #[allow(warnings, clippy::all)]
        const _: () = {
            #items
        };
    }
}

/// `fn() { assert_send_future(handler(never_called(), ...)) }`, spanned on the handler's name.
fn future_is_send(name: &Ident, arity: usize) -> TokenStream {
    let span = name.span();
    let args = (0..arity).map(|_| quote_spanned! {span=> ::secure_api::__private::never_called() });
    quote_spanned! {span=>
        fn __secure_check_future_is_send() {
            ::secure_api::__private::assert_send_future(#name(#(#args),*));
        }
    }
}

/// The awaited output must be a response, spanned on the written return type.
fn output_is_a_response(original: &ItemFn, name: &Ident, arity: usize) -> TokenStream {
    let ReturnType::Type(_, ty) = &original.sig.output else {
        return TokenStream::new();
    };
    let span = ty.span();
    // The handler's name re-spanned too, so the whole call (the error's span) is the type.
    let name = Ident::new(&name.to_string(), span);
    let args = (0..arity).map(|_| quote_spanned! {span=> ::secure_api::__private::never_called() });
    quote_spanned! {span=>
        async fn __secure_check_output_is_a_response() {
            ::secure_api::__private::assert_into_response(#name(#(#args),*).await);
        }
    }
}

/// `T: FromRequestParts<S>` for every argument but the last, `T: FromRequest<S, M>` for the
/// last one, each spanned on its type.
fn inputs_are_extractors(original: &ItemFn, state: Option<&Type>) -> TokenStream {
    let inputs: Vec<&Type> = user_types(original).collect();
    let mut items = match state {
        Some(state) => quote! { type __SecureRouterState = #state; },
        None => TokenStream::new(),
    };
    for (index, ty) in inputs.iter().enumerate() {
        if state.is_none() && !cannot_involve_state(ty) {
            continue;
        }
        let last = index + 1 == inputs.len();
        let span = ty.span();
        let check = format_ident!("__secure_check_input_{}", index, span = span);
        items.extend(extractor_check(&check, ty, span, last, state));
    }
    items
}

/// One argument's check: a generic function whose where-clause is the bound, and a caller
/// that makes the compiler prove it. Every token carries the argument's span, so the error is
/// reported on the argument (the state is named through an alias for the same reason).
fn extractor_check(check: &Ident, ty: &Type, span: Span, last: bool, state: Option<&Type>) -> TokenStream {
    let caller = format_ident!("{}_call", check);
    let bound = if last {
        quote_spanned! {span=> #ty: ::secure_api::__private::FromRequest<__SecureState, __SecureVia> }
    } else {
        quote_spanned! {span=> #ty: ::secure_api::__private::FromRequestParts<__SecureState> }
    };
    let via = if last { quote_spanned!(span=> __SecureVia,) } else { quote!() };
    let via_arg = if last { quote_spanned!(span=> _,) } else { quote!() };
    let caller_generics = match state {
        Some(_) => quote!(),
        None => quote_spanned! {span=> <__SecureState: ::core::marker::Send + ::core::marker::Sync> },
    };
    let state_arg = match state {
        Some(_) => quote_spanned!(span=> __SecureRouterState),
        None => quote_spanned!(span=> __SecureState),
    };
    quote_spanned! {span=>
        fn #check<#via __SecureState>() where #bound {}
        fn #caller #caller_generics() {
            #check::<#via_arg #state_arg>();
        }
    }
}

/// The argument types as written (the macro rejects `self` receivers earlier).
fn user_types(function: &ItemFn) -> impl Iterator<Item = &Type> {
    function.sig.inputs.iter().filter_map(|input| match input {
        FnArg::Typed(typed) => Some(&*typed.ty),
        FnArg::Receiver(_) => None,
    })
}

/// A type whose extractor implementation (if any) cannot depend on the router's state: a
/// primitive (no crate but std can implement traits for it, and axum implements none of its
/// extractors for one) or a reference (extractors are owned values).
fn cannot_involve_state(ty: &Type) -> bool {
    const PRIMITIVES: &[&str] = &[
        "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64",
    ];
    match ty {
        Type::Reference(_) => true,
        Type::Paren(inner) => cannot_involve_state(&inner.elem),
        Type::Group(inner) => cannot_involve_state(&inner.elem),
        Type::Path(path) => {
            path.qself.is_none() && path.path.get_ident().is_some_and(|ident| PRIMITIVES.iter().any(|p| ident == p))
        }
        _ => false,
    }
}

/// axum's extractors that read the request body, by the last segment of their path.
fn body_extractor_name(ty: &Type) -> Option<&'static str> {
    let Type::Path(path) = ty else {
        return None;
    };
    let ident = &path.path.segments.last()?.ident;
    Some(match ident.to_string().as_str() {
        "Json" => "Json<_>",
        "Form" => "Form<_>",
        "RawForm" => "RawForm",
        "Multipart" => "Multipart",
        "JsonLines" => "JsonLines<_>",
        "Request" => "Request<_>",
        "Bytes" => "Bytes",
        "String" => "String",
        "Body" => "Body",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(function: ItemFn) -> bool {
        let mut cx = Ctxt::default();
        check_signature(&function, &mut cx);
        cx.has_errors()
    }

    #[test]
    fn a_body_extractor_must_come_last_and_alone() {
        assert!(errors_of(syn::parse_quote! { async fn h(Json(x): Json<T>, Path(id): Path<u64>) {} }));
        assert!(errors_of(syn::parse_quote! { async fn h(a: String, b: Bytes) {} }));
        assert!(!errors_of(syn::parse_quote! { async fn h(Path(id): Path<u64>, Json(x): Json<T>) {} }));
        assert!(!errors_of(syn::parse_quote! { async fn h(headers: HeaderMap) {} }));
    }

    #[test]
    fn only_state_free_types_are_checked_without_a_state() {
        assert!(cannot_involve_state(&syn::parse_quote!(u64)));
        assert!(cannot_involve_state(&syn::parse_quote!(&str)));
        assert!(!cannot_involve_state(&syn::parse_quote!(CurrentUser)));
        assert!(!cannot_involve_state(&syn::parse_quote!(State<AppState>)));
        assert!(!cannot_involve_state(&syn::parse_quote!(Json<u64>)));
    }
}
