//! The code a request type expands to: serde and validator derives through
//! `::secure_api::__private`, `ValidateInput` (the field rules, then every nested request
//! type), and the `RequestSchema` the OpenAPI document shows. Code generation only: the rules
//! were applied in `check.rs`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Attribute, ItemEnum, ItemStruct};

use super::case::RenameRule;
use super::parse::{FieldPlan, derives, serde_container_flag, serde_field_rename, serde_rename_all};
use super::schema;

/// The attributes every request type gets.
fn serde_attributes(attrs: &[Attribute]) -> TokenStream {
    let denies_unknown = serde_container_flag(attrs, "deny_unknown_fields");
    let deny = if denies_unknown { quote!() } else { quote!(#[serde(deny_unknown_fields)]) };
    // validator's rules record the failing value as a parameter, which needs `Serialize` (a
    // length rule on `Vec<Item>` serializes the items). Added unless the user derives it.
    let serialize = if derives(attrs, "Serialize") {
        quote!()
    } else {
        quote!(#[derive(::secure_api::__private::serde::Serialize)])
    };
    // A user's own derive has been reported by `check.rs`; not adding ours keeps that the only
    // error.
    let deserialize = if derives(attrs, "Deserialize") {
        quote!()
    } else {
        quote!(#[derive(::secure_api::__private::serde::Deserialize)])
    };
    quote! {
        #deserialize
        #serialize
        #[serde(crate = "::secure_api::__private::serde")]
        #deny
    }
}

/// A request struct whose named fields were read into `plans` (in order).
pub(super) fn request_struct(item: &ItemStruct, plans: &[FieldPlan]) -> TokenStream {
    let container_default = serde_container_flag(&item.attrs, "default");
    let mut properties = TokenStream::new();
    let mut required = Vec::new();
    let mut names = Vec::new();
    let mut nested_checks = TokenStream::new();
    let mut follow_on_guard = TokenStream::new();
    for (field, plan) in item.fields.iter().zip(plans) {
        let (rust, wire) = (&plan.rust, &plan.wire);
        if plan.rules.nested.is_some() {
            // validator's `nested` calls `.validate()` by method syntax; with its trait in scope
            // the error `check.rs` reported is the only one.
            follow_on_guard = quote!(
                use ::secure_api::__private::validator::Validate as _;
            );
        }
        if plan.nested.is_some() && !plan.rules.skip {
            // Spanned on the field's type: a nested type that is not a request type is
            // reported there.
            let ident = &field.ident;
            let span = field.ty.span();
            nested_checks.extend(quote_spanned! {span=>
                ::secure_api::__private::validate_nested(&mut errors, #wire, &self.#ident);
            });
        }
        if !schema::skipped(&field.attrs) {
            let opaque = plan.nested.is_none() || plan.rules.skip;
            properties.extend(schema::property(wire, field, opaque));
            if schema::required(field, container_default) {
                required.push(wire.clone());
            }
        }
        names.push(quote! {
            ::secure_api::__private::FieldName { rust: #rust, wire: #wire }
        });
    }
    let serde = serde_attributes(&item.attrs);
    let validate = if derives(&item.attrs, "Validate") {
        quote!()
    } else {
        quote! {
            #[derive(::secure_api::__private::validator::Validate)]
            #[validate(crate = "::secure_api::__private::validator")]
        }
    };
    let ident = &item.ident;
    let request_schema = schema::struct_impl(ident, &properties, &required);
    quote! {
        #follow_on_guard
        #serde
        #validate
        #item

        impl ::secure_api::__private::ValidateInput for #ident {
            fn validate_input(&self) -> ::core::result::Result<(), ::std::vec::Vec<::secure_api::__private::FieldError>> {
                let mut errors = match ::secure_api::__private::check_rules(
                    self,
                    <Self as ::secure_api::__private::ValidateInput>::field_names(),
                ) {
                    ::core::result::Result::Ok(()) => ::std::vec::Vec::new(),
                    ::core::result::Result::Err(errors) => errors,
                };
                #nested_checks
                if errors.is_empty() { ::core::result::Result::Ok(()) } else { ::core::result::Result::Err(errors) }
            }

            fn field_names() -> &'static [::secure_api::__private::FieldName] {
                const NAMES: &[::secure_api::__private::FieldName] = &[#(#names),*];
                NAMES
            }

            fn request_schema(
                registry: &mut ::secure_api::__private::SchemaRegistry,
            ) -> ::core::option::Option<::secure_api::__private::serde_json::Value> {
                ::core::option::Option::Some(registry.reference::<Self>())
            }
        }

        #request_schema
    }
}

/// A request enum of unit variants: a string with a fixed set of values.
pub(super) fn request_enum(item: &ItemEnum) -> TokenStream {
    let serde = serde_attributes(&item.attrs);
    let ident = &item.ident;
    let rename_all: RenameRule = serde_rename_all(&item.attrs);
    let variants: Vec<String> = item
        .variants
        .iter()
        .map(|variant| {
            serde_field_rename(&variant.attrs)
                .unwrap_or_else(|| rename_all.apply_to_variant(&variant.ident.to_string()))
        })
        .collect();
    let name = ident.to_string();
    quote! {
        #serde
        #item

        impl ::secure_api::__private::RequestSchema for #ident {
            const NAME: &'static str = #name;

            fn schema(
                _: &mut ::secure_api::__private::SchemaRegistry,
            ) -> ::secure_api::__private::serde_json::Value {
                ::secure_api::__private::serde_json::json!({"type": "string", "enum": [#(#variants),*]})
            }
        }

        // A unit variant is valid once it parsed; these let it be a nested field of a request.
        impl ::secure_api::__private::validator::Validate for #ident {
            fn validate(&self) -> ::core::result::Result<(), ::secure_api::__private::validator::ValidationErrors> {
                ::core::result::Result::Ok(())
            }
        }

        impl ::secure_api::__private::ValidateInput for #ident {
            fn validate_input(&self) -> ::core::result::Result<(), ::std::vec::Vec<::secure_api::__private::FieldError>> {
                ::core::result::Result::Ok(())
            }

            fn request_schema(
                registry: &mut ::secure_api::__private::SchemaRegistry,
            ) -> ::core::option::Option<::secure_api::__private::serde_json::Value> {
                ::core::option::Option::Some(registry.reference::<Self>())
            }
        }
    }
}
