//! Code generation only: every path is `::secure_api::__private::...`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{ItemFn, parse_quote};

use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, RateKeyArg};
use crate::{args, check, handler};

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
    check::policy(kind, &args, &mut cx);
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
    let visibility = &function.vis;
    let policy = policy_expr(kind, args, &name_text);

    // `_` so the guard never trips `unused_variables`; first so it runs before every other
    // extractor (no body is read for a rejected caller).
    function.sig.inputs.insert(0, parse_quote! { _: ::secure_api::__private::Guard<#policy_type> });

    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #visibility struct #policy_type;

        impl ::secure_api::__private::Policy for #policy_type {
            const POLICY: ::secure_api::__private::RoutePolicy = #policy;
        }

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
    policy
}
