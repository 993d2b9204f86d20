//! Code generation only: every path is `::secure_api::__private::...`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{ItemFn, parse_quote};

use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs};
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
    let policy = policy_expr(kind, args, &name_text);
    let input_checks = match &args.validate {
        Some(validate) if validate.value => inputs::rewrite(&mut function, &policy_type),
        _ => TokenStream::new(),
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
        }

        #input_checks

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
    if let Some(validate) = &args.validate {
        let validation = if validate.value { quote!(Enforced) } else { quote!(OptedOut) };
        policy = quote! { #policy.with_validation(::secure_api::__private::Validation::#validation) };
    }
    if let Some(max_body) = &args.max_body {
        let bytes = max_body.value;
        policy = quote! { #policy.with_max_body(#bytes) };
    }
    policy
}
