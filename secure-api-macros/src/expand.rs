//! Code generation only: every path is `::secure_api::__private::...`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{ItemFn, parse_quote};

use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, RateKeyArg};
use crate::{args, check, handler, inputs};

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
    let expandable = handler::check(kind, &function, &mut cx);
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
    let name = &function.sig.ident;
    let name_text = name.to_string();
    let policy_type = format_ident!("__SecurePolicy_{}", name);
    let visibility = function.vis.clone();
    let policy = inputs::with_request_body(policy_expr(kind, args, &name_text), args, &function);
    let authorize = authorize_hook(args);
    let threat_field_checks = crate::args::threat_field_checks(&function, args);
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

    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #visibility struct #policy_type;

        impl ::secure_api::__private::Policy for #policy_type {
            const POLICY: ::secure_api::__private::RoutePolicy = #policy;
            #authorize
        }

        #input_checks

        #threat_field_checks

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
    }
    if let Some(key) = &args.rate_key {
        let kind = match &key.value {
            RateKeyArg::Ip => quote!(Ip),
            RateKeyArg::Principal => quote!(Principal),
            RateKeyArg::ApiKey => quote!(ApiKey),
            RateKeyArg::Header(name) => quote!(Header(#name)),
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

/// `const AUTHORIZE` for a route with `authorize = path`: a hook that boxes the check's future.
/// The call is spanned on the user's path, so a check of the wrong shape is reported there.
fn authorize_hook(args: &PolicyArgs) -> TokenStream {
    let Some(authorize) = &args.authorize else {
        return TokenStream::new();
    };
    let path = &authorize.value;
    let call = quote_spanned! {syn::spanned::Spanned::span(path)=>
        ::secure_api::__private::authorize_boxed(#path, __secure_principal, __secure_parts)
    };
    quote! {
        const AUTHORIZE: ::core::option::Option<::secure_api::__private::AuthorizeHook> = {
            fn __secure_authorize<'__secure>(
                __secure_principal: &'__secure ::secure_api::__private::Principal,
                __secure_parts: &'__secure mut ::secure_api::__private::Parts,
            ) -> ::secure_api::__private::AuthorizeFuture<'__secure> {
                #call
            }
            ::core::option::Option::Some(__secure_authorize)
        };
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
