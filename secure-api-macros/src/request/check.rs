//! The compile-time rules of a request type, one small function each; every error is recorded
//! in the `Ctxt`, so one compile reports them all.

use quote::quote;
use syn::{Attribute, Field, Fields, ItemEnum, ItemStruct};

use super::parse::FieldPlan;
use crate::ctxt::Ctxt;

/// A request struct is concrete and has named fields; returns `false` when it cannot be
/// expanded at all (the item is then emitted unchanged beside the error).
pub(super) fn struct_shape(item: &ItemStruct, cx: &mut Ctxt) -> bool {
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(&item.generics, "request types cannot have generic parameters: declare a concrete struct");
        return false;
    }
    if !matches!(item.fields, Fields::Named(_)) {
        cx.error_spanned_by(&item.fields, "request types need named fields: `struct NewItem { name: String }`");
        return false;
    }
    true
}

/// A request enum is concrete (or it cannot be expanded) and has unit variants only (a
/// variant with data is reported, and the enum still expanded).
pub(super) fn enum_shape(item: &ItemEnum, cx: &mut Ctxt) -> bool {
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(&item.generics, "request types cannot have generic parameters: declare a concrete enum");
        return false;
    }
    for variant in &item.variants {
        if !matches!(variant.fields, Fields::Unit) {
            cx.error_spanned_by(
                variant,
                "request enums take unit variants only (`Retail`, `Wholesale`); carry data in a request struct",
            );
        }
    }
    true
}

/// The rules on one field, in the order they are reported.
pub(super) fn field(field: &Field, plan: &FieldPlan, cx: &mut Ctxt) {
    every_unbounded_field_is_bounded(field, plan, cx);
    if let Some(message) = plan.unboundable {
        cx.error_spanned_by(&field.ty, message);
    }
    nested_is_automatic(plan, cx);
}

/// A `String`, a `Vec` or a map without `#[validate(length(max = ...))]` lets a client send a
/// value as large as the body limit allows, and hold it in every later step.
fn every_unbounded_field_is_bounded(field: &Field, plan: &FieldPlan, cx: &mut Ctxt) {
    if let Some(what) = plan.unbounded
        && !plan.rules.has_upper_bound
    {
        let name = field.ident.as_ref().map(ToString::to_string).unwrap_or_default();
        let ident = &field.ident;
        let ty = &field.ty;
        cx.error_spanned_by(
            quote!(#ident #ty),
            format_args!(
                "`{name}` is {what} without an upper bound: add `#[validate(length(max = ...))]` so a client cannot send an unbounded value"
            ),
        );
    }
}

/// Nested request types are always validated (`ValidateInput`); validator's `nested` would
/// run their rules a second time, through another path.
fn nested_is_automatic(plan: &FieldPlan, cx: &mut Ctxt) {
    if let Some(span) = plan.rules.nested {
        cx.syn_error(syn::Error::new(
            span,
            "nested request types are validated automatically in `#[secure_api::request]` types: remove `nested`",
        ));
    }
}

/// The attribute derives `Deserialize` (to add `deny_unknown_fields`) and `Validate` itself.
pub(super) fn derives_nothing_of_its_own(attrs: &[Attribute], cx: &mut Ctxt) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("derive")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta
                .path
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "Deserialize" || segment.ident == "Validate")
            {
                cx.error_spanned_by(
                    &meta.path,
                    "`#[secure_api::request]` derives this itself: remove it from `#[derive(...)]`",
                );
            }
            Ok(())
        });
    }
}
