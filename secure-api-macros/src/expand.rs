//! Code generation only: every path is `::secure_api::__private::...`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{ItemFn, parse_quote};

use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, RateKeyArg};
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
    check::policy(kind, &args, &mut cx);
    inputs::check(kind, &args, &function, &mut cx);
    let errors = cx.into_compile_errors();
    if !expandable {
        return quote! { #function #errors };
    }
    let expanded = expand(kind, &args, function);
    quote! { #expanded #errors }
}

fn expand(kind: AttrKind, args: &PolicyArgs, mut function: ItemFn) -> TokenStream {
    let original = function.clone();
    let name = &function.sig.ident;
    let name_text = name.to_string();
    let policy_type = format_ident!("__SecurePolicy_{}", name);
    let visibility = function.vis.clone();
    let policy = inputs::with_request_body(policy_expr(kind, args, &name_text), args, &function);
    let threat_field_checks = crate::args::threat_field_checks(&function, args);
    let authorizer = authorizer_impl(args, &policy_type);
    // Where the object-level check goes: after the path and query inputs (so they are
    // validated first), before everything else (only the last argument can read the body).
    let authorize_at = inputs::after_path_and_query(&function);
    let input_checks = match &args.validate {
        Some(validate) if validate.value => inputs::rewrite(&mut function, &policy_type),
        _ => {
            inputs::rewrite_unchecked_paths(&mut function);
            TokenStream::new()
        }
    };

    // `_` so the guard never trips `unused_variables`; first so it runs before every other
    // extractor (no body is read for a rejected caller).
    function.sig.inputs.insert(0, parse_quote! { _: ::secure_api::__private::Guard<#policy_type> });
    if args.authorize.is_some() {
        // `+ 1`: the guard now comes first.
        function
            .sig
            .inputs
            .insert(authorize_at + 1, parse_quote! { _: ::secure_api::__private::Authorize<#policy_type> });
    }

    let state = args.state.as_ref().map(|state| &state.value);
    let diagnoses = diagnose::check_items(&original, function.sig.inputs.len(), state);

    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #visibility struct #policy_type;

        impl ::secure_api::__private::Policy for #policy_type {
            const POLICY: ::secure_api::__private::RoutePolicy = #policy;
        }

        #authorizer

        #input_checks

        #threat_field_checks
        #diagnoses

        #function
    }
}

/// `RoutePolicy::secured("path::to::handler").with_auth(&[...]).with_scopes(&[...])`.
fn policy_expr(kind: AttrKind, args: &PolicyArgs, name: &str) -> TokenStream {
    let constructor = match kind {
        AttrKind::Secure => quote!(secured),
        AttrKind::Public => quote!(public),
    };
    let mut policy = quote! {
        ::secure_api::__private::RoutePolicy::#constructor(
            ::core::concat!(::core::module_path!(), "::", #name)
        )
    };
    if let Some(auth) = &args.auth {
        let variants = auth.value.iter().map(|scheme| format_ident!("{}", scheme.variant()));
        policy = quote! { #policy.with_auth(&[#(::secure_api::__private::AuthScheme::#variants),*]) };
    }
    if let Some(scopes) = &args.scopes {
        let scopes = &scopes.value;
        policy = quote! { #policy.with_scopes(&[#(#scopes),*]) };
    }
    if args.auth_optional.is_some() {
        policy = quote! { #policy.with_optional_auth() };
    }
    if let Some(authorize) = &args.authorize {
        let name = path_text(&authorize.value);
        policy = quote! { #policy.with_authorize(#name) };
    }
    if let Some(allow) = &args.allow_ips {
        let networks = allow.value.iter().map(|entry| cidr_expr(&entry.cidr));
        policy = quote! { #policy.with_allow_ips(&[#(#networks),*]) };
    }
    if let Some(deny) = &args.deny_ips {
        let networks = deny.value.iter().map(|entry| cidr_expr(&entry.cidr));
        policy = quote! { #policy.with_deny_ips(&[#(#networks),*]) };
    }
    if let Some(threat) = &args.threat {
        let enabled = threat.value;
        policy = quote! { #policy.with_threat_detection(#enabled) };
    }
    if !args.threat_exempt.is_empty() {
        let exemptions = args.threat_exempt.iter().map(|exemption| {
            let field = exemption.field.value();
            let families = exemption.families.iter().map(|family| format_ident!("{}", family));
            quote! {
                ::secure_api::__private::FieldExemption::new(#field, &[#(::secure_api::__private::ThreatFamily::#families),*])
            }
        });
        policy = quote! { #policy.with_threat_exemptions(&[#(#exemptions),*]) };
    }
    if let Some(rate) = &args.rate {
        let (count, window_secs) = (rate.value.count, rate.value.window_secs);
        policy = quote! { #policy.with_rate(::secure_api::__private::RateSpec::new(#count, #window_secs)) };
        if !args.more_rates.is_empty() {
            let (counts, windows): (Vec<u32>, Vec<u64>) =
                args.more_rates.iter().map(|rate| (rate.count, rate.window_secs)).unzip();
            policy = quote! { #policy.with_rates(&[
                ::secure_api::__private::RateSpec::new(#count, #window_secs),
                #(::secure_api::__private::RateSpec::new(#counts, #windows)),*
            ]) };
        }
    }
    if let Some(key) = &args.rate_key {
        let kind = match &key.value {
            RateKeyArg::Ip => quote!(Ip),
            RateKeyArg::Principal => quote!(Principal),
            RateKeyArg::ApiKey => quote!(ApiKey),
            RateKeyArg::Header(name) => quote!(Header(#name)),
            RateKeyArg::Claim(name) => quote!(Claim(#name)),
        };
        policy = quote! { #policy.with_rate_key(::secure_api::__private::RateKeyKind::#kind) };
    }
    if let Some(validate) = &args.validate {
        let validation = if validate.value { quote!(Enforced) } else { quote!(OptedOut) };
        policy = quote! { #policy.with_validation(::secure_api::__private::Validation::#validation) };
    }
    if let Some(max_body) = &args.max_body {
        let bytes = max_body.value;
        policy = quote! { #policy.with_max_body(#bytes) };
    }
    crate::args::bound::extend_policy(args, policy)
}

/// `impl Authorizer<S> for P` for a route with `authorize = path`: the check, boxed, for the
/// router state `S` (any state for a two-argument check; the `state = ...` type for a check
/// that takes `State<T>`). The call is spanned on the user's path, so a check of the wrong
/// shape, or a `T` the state cannot provide, is reported there.
fn authorizer_impl(args: &PolicyArgs, policy_type: &syn::Ident) -> TokenStream {
    let Some(authorize) = &args.authorize else {
        return TokenStream::new();
    };
    let path = &authorize.value;
    let span = syn::spanned::Spanned::span(path);
    let (generics, state, call) = match &args.state {
        Some(state) => {
            // `S` named, or the compiler infers it from the check's `T` and reports a
            // mismatched reference instead of the missing `FromRef`.
            let state = &state.value;
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
