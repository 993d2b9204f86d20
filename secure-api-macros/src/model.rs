//! The validated plan: what the attribute asked for, each piece with the tokens it came from.

use proc_macro2::Span;

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrKind {
    Secure,
    Public,
}

impl AttrKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Secure => "secure",
            Self::Public => "public",
        }
    }
}

/// A parsed value with the span of the argument name (for "needs"/"conflicts" errors).
pub(crate) struct Spanned<T> {
    pub(crate) key_span: Span,
    pub(crate) value: T,
}

/// An authentication scheme, by the runtime's `AuthScheme` variant name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum AuthScheme {
    Bearer,
    ApiKey,
}

impl AuthScheme {
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::ApiKey => "ApiKey",
        }
    }
}

/// Everything the attribute's arguments declared. Each argument module fills its own field.
#[derive(Default)]
pub(crate) struct PolicyArgs {
    pub(crate) auth: Option<Spanned<Vec<AuthScheme>>>,
    pub(crate) scopes: Option<Spanned<Vec<String>>>,
    /// `validate` (true) or `validate = false`.
    pub(crate) validate: Option<Spanned<bool>>,
    /// `max_body = "16KiB"`, in bytes.
    pub(crate) max_body: Option<Spanned<usize>>,
}
