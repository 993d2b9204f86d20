//! Code generation only: every path is `::secure_api::__private::...`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{ItemFn, parse_quote};

use crate::ctxt::Ctxt;
use crate::model::{AttrKind, CheckedPolicy, RateKeyArg, Validation};
use crate::{args, check, diagnose, handler, inputs};

/// Expands `#[secure]` / `#[public]`. On errors the function is still emitted (expanded when
/// its shape allows, so no "not annotated" error follows), beside every `compile_error!`.
pub(crate) fn attribute(kind: AttrKind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    let args = args::parse(kind, attr, &mut cx);
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let message = format!("`#[{}]` applies to an `async fn` handler", kind.name());
            let error = syn::Error::new_spanned(&item, message).to_compile_error();
            return quote! { #item #error };
        }
    };
    let expandable = handler::check(kind, &args, &function, &mut cx);
    diagnose::check_signature(&function, &mut cx);
    handler::check_principal_fits(&args, &function, &mut cx);
    let policy = check::build(kind, &args, &mut cx);
    inputs::check(kind, &args, &function, &mut cx);
    let errors = cx.into_compile_errors();
    if !expandable {
        return quote! { #function #errors };
    }
    let policy = policy.unwrap_or_else(|| check::fallback(kind));
    let expanded = expand(&policy, function);
    quote! { #expanded #errors }
}

fn expand(policy: &CheckedPolicy, mut function: ItemFn) -> TokenStream {
    let original = function.clone();
    let name = &function.sig.ident;
    let name_text = name.to_string();
    let policy_type = format_ident!("__SecurePolicy_{}", name);
    let visibility = function.vis.clone();
    let policy_value = inputs::with_request_body(policy_expr(policy, &name_text), policy, &function);
    let threat_field_checks = crate::args::threat_field_checks(&function, policy);
    let authorizer = authorizer_impl(policy, &policy_type);
    // Where the object-level check goes: after the path and query inputs (so they are
    // validated first), before everything else (only the last argument can read the body).
    let authorize_at = inputs::after_path_and_query(&function);
    let input_checks = match policy.validation {
        Validation::Enforced => inputs::rewrite(&mut function, &policy_type),
        Validation::Unstated | Validation::OptedOut => {
            inputs::rewrite_unchecked_paths(&mut function);
            TokenStream::new()
        }
    };

    // `_` so the guard never trips `unused_variables`; first so it runs before every other
    // extractor (no body is read for a rejected caller).
    function.sig.inputs.insert(0, parse_quote! { _: ::secure_api::__private::Guard<#policy_type> });
    if policy.authorize.is_some() {
        // `+ 1`: the guard now comes first.
        function
            .sig
            .inputs
            .insert(authorize_at + 1, parse_quote! { _: ::secure_api::__private::Authorize<#policy_type> });
    }

    let state = policy.state.as_ref();
    let diagnoses = diagnose::check_items(&original, function.sig.inputs.len(), state);

    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #visibility struct #policy_type;

        impl ::secure_api::__private::Policy for #policy_type {
            const POLICY: ::secure_api::__private::RoutePolicy = #policy_value;
        }

        #authorizer

        #input_checks

        #threat_field_checks
        #diagnoses

        #function
    }
}

/// `RoutePolicy::secured("path::to::handler").with_auth(&[...]).with_scopes(&[...])`.
fn policy_expr(checked: &CheckedPolicy, name: &str) -> TokenStream {
    let constructor = match checked.kind {
        AttrKind::Secure => quote!(secured),
        AttrKind::Public => quote!(public),
    };
    let mut policy = quote! {
        ::secure_api::__private::RoutePolicy::#constructor(
            ::core::concat!(::core::module_path!(), "::", #name)
        )
    };
    if let Some(auth) = &checked.auth {
        let variants = auth.iter().map(|scheme| format_ident!("{}", scheme.variant()));
        policy = quote! { #policy.with_auth(&[#(::secure_api::__private::AuthScheme::#variants),*]) };
    }
    if let Some(scopes) = &checked.scopes {
        policy = quote! { #policy.with_scopes(&[#(#scopes),*]) };
    }
    if checked.optional_auth {
        policy = quote! { #policy.with_optional_auth() };
    }
    if let Some(authorize) = &checked.authorize {
        let name = path_text(authorize);
        policy = quote! { #policy.with_authorize(#name) };
    }
    if let Some(allow) = &checked.allow_ips {
        let networks = allow.iter().map(cidr_expr);
        policy = quote! { #policy.with_allow_ips(&[#(#networks),*]) };
    }
    if let Some(deny) = &checked.deny_ips {
        let networks = deny.iter().map(cidr_expr);
        policy = quote! { #policy.with_deny_ips(&[#(#networks),*]) };
    }
    if let Some(enabled) = checked.threat {
        policy = quote! { #policy.with_threat_detection(#enabled) };
    }
    if !checked.threat_exempt.is_empty() {
        let exemptions = checked.threat_exempt.iter().map(|exemption| {
            let field = exemption.field.value();
            let families = exemption.families.iter().map(|family| format_ident!("{}", family));
            quote! {
                ::secure_api::__private::FieldExemption::new(#field, &[#(::secure_api::__private::ThreatFamily::#families),*])
            }
        });
        policy = quote! { #policy.with_threat_exemptions(&[#(#exemptions),*]) };
    }
    if let [first, more @ ..] = checked.rates.as_slice() {
        let (count, window_secs) = (first.count, first.window_secs);
        policy = quote! { #policy.with_rate(::secure_api::__private::RateSpec::new(#count, #window_secs)) };
        if !more.is_empty() {
            let (counts, windows): (Vec<u32>, Vec<u64>) =
                more.iter().map(|rate| (rate.count, rate.window_secs)).unzip();
            policy = quote! { #policy.with_rates(&[
                ::secure_api::__private::RateSpec::new(#count, #window_secs),
                #(::secure_api::__private::RateSpec::new(#counts, #windows)),*
            ]) };
        }
    }
    if let Some(key) = &checked.rate_key {
        let kind = match key {
            RateKeyArg::Ip => quote!(Ip),
            RateKeyArg::Principal => quote!(Principal),
            RateKeyArg::ApiKey => quote!(ApiKey),
            RateKeyArg::Header(name) => quote!(Header(#name)),
            RateKeyArg::Claim(name) => quote!(Claim(#name)),
        };
        policy = quote! { #policy.with_rate_key(::secure_api::__private::RateKeyKind::#kind) };
    }
    let validation = match checked.validation {
        Validation::Unstated => None,
        Validation::Enforced => Some(quote!(Enforced)),
        Validation::OptedOut => Some(quote!(OptedOut)),
    };
    if let Some(validation) = validation {
        policy = quote! { #policy.with_validation(::secure_api::__private::Validation::#validation) };
    }
    if let Some(bytes) = checked.max_body {
        policy = quote! { #policy.with_max_body(#bytes) };
    }
    let policy = crate::args::bound::extend_policy(checked, policy);
    let policy = crate::args::errors::extend_policy(checked, policy);
    crate::args::step_up::extend_policy(checked, policy)
}

/// `impl Authorizer<S> for P` for a route with `authorize = path`: the check, boxed, for the
/// router state `S` (any state for a two-argument check; the `state = ...` type for a check
/// that takes `State<T>`). The call is spanned on the user's path, so a check of the wrong
/// shape, or a `T` the state cannot provide, is reported there.
fn authorizer_impl(checked: &CheckedPolicy, policy_type: &syn::Ident) -> TokenStream {
    let Some(path) = &checked.authorize else {
        return TokenStream::new();
    };
    let span = syn::spanned::Spanned::span(path);
    let (generics, state, call) = match &checked.state {
        Some(state) => {
            // `S` named, or the compiler infers it from the check's `T` and reports a
            // mismatched reference instead of the missing `FromRef`.
            let call = quote_spanned! {span=>
                ::secure_api::__private::authorize_boxed_with_state::<_, #state, _>(#path, __secure_principal, __secure_parts, __secure_state)
            };
            (TokenStream::new(), quote!(#state), call)
        }
        None => {
            let call = quote_spanned! {span=>
                ::secure_api::__private::authorize_boxed(#path, __secure_principal, __secure_parts)
            };
            (quote!(<__SecureState: ::core::marker::Send + ::core::marker::Sync>), quote!(__SecureState), call)
        }
    };
    quote! {
        impl #generics ::secure_api::__private::Authorizer<#state> for #policy_type {
            #[allow(unused_variables)]
            fn authorize<'__secure>(
                __secure_principal: &'__secure ::secure_api::__private::Principal,
                __secure_parts: &'__secure mut ::secure_api::__private::Parts,
                __secure_state: &'__secure #state,
            ) -> ::secure_api::__private::AuthorizeFuture<'__secure> {
                #call
            }
        }
    }
}

/// `a::b::c` as written, for the route inventory.
fn path_text(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|segment| segment.ident.to_string()).collect();
    let joined = segments.join("::");
    if path.leading_colon.is_some() { format!("::{joined}") } else { joined }
}

/// `Cidr::v4(10, 0, 0, 0, 8)` / `Cidr::v6([0x2001, 0xdb8, ...], 32)`: a `const` the runtime
/// matches without parsing anything per request.
fn cidr_expr(cidr: &crate::args::cidr::Cidr) -> TokenStream {
    let prefix = cidr.prefix;
    match cidr.network {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            quote! { ::secure_api::__private::Cidr::v4(#a, #b, #c, #d, #prefix) }
        }
        std::net::IpAddr::V6(v6) => {
            let segments = v6.segments();
            quote! { ::secure_api::__private::Cidr::v6([#(#segments),*], #prefix) }
        }
    }
}
