//! `#[secure_api::request]`: declares a request type.
//!
//! An attribute rather than a derive, because it must add to the item: it adds
//! `#[derive(Deserialize, Serialize, Validate)]` through `::secure_api::__private` (so
//! applications need not depend on serde or validator; `Serialize` because validator's rules
//! record the failing value) and `#[serde(deny_unknown_fields)]` (mass assignment, OWASP API3).
//! It implements `ValidateInput`: the field rules through validator, then every nested request
//! type (`Address`, `Vec<LineItem>`, `Option<...>`) through its own `ValidateInput`, always, so
//! a nested type's rules cannot be skipped by forgetting validator's `nested`. It refuses at
//! compile time any unbounded field (`String`, `Vec`, maps, sets) without
//! `#[validate(length(max = ...))]`.
//!
//! A field type that is neither a known scalar nor a known collection is taken to be a nested
//! request type; mark it `#[request(leaf)]` when it is a plain value with its own parsing (an
//! enum from another crate, a date).
//!
//! Layout: `parse.rs` reads the item and its attributes, `check.rs` applies the compile-time
//! rules, `expand.rs` writes the code, `schema.rs` the `RequestSchema`, and `case.rs` holds
//! serde's `rename_all` rules.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{Fields, Item, ItemEnum, ItemStruct};

use crate::ctxt::Ctxt;

mod case;
mod check;
mod expand;
mod parse;
mod schema;

/// Expands the attribute. On errors the item is still expanded when its shape allows, so the
/// only errors the user sees are the ones that matter.
pub(crate) fn attribute(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    if !attr.is_empty() {
        cx.error_spanned_by(&attr, "`#[secure_api::request]` takes no arguments");
    }
    let expanded = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(item)) => request_struct(item, &mut cx),
        Ok(Item::Enum(item)) => request_enum(item, &mut cx),
        _ => {
            cx.error_spanned_by(
                &item,
                "`#[secure_api::request]` applies to a struct with named fields, or an enum of unit variants",
            );
            item
        }
    };
    let errors = cx.into_compile_errors();
    quote! { #expanded #errors }
}

/// Reads and checks each field in turn (so errors come in the order of the fields), then the
/// container's derives, then expands.
fn request_struct(mut item: ItemStruct, cx: &mut Ctxt) -> TokenStream {
    if !check::struct_shape(&item, cx) {
        return item.into_token_stream();
    }
    let rename_all = parse::serde_rename_all(&item.attrs);
    let mut plans = Vec::new();
    if let Fields::Named(fields) = &mut item.fields {
        for field in fields.named.iter_mut() {
            let plan = parse::field(field, rename_all, cx);
            check::field(field, &plan, cx);
            plans.push(plan);
        }
    }
    check::derives_nothing_of_its_own(&item.attrs, cx);
    expand::request_struct(&item, &plans)
}

fn request_enum(item: ItemEnum, cx: &mut Ctxt) -> TokenStream {
    if !check::enum_shape(&item, cx) {
        return item.into_token_stream();
    }
    check::derives_nothing_of_its_own(&item.attrs, cx);
    expand::request_enum(&item)
}
