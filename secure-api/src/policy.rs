//! A route's declared security policy, built at compile time by `#[secure]` / `#[public]`.

use crate::auth::AuthScheme;

/// What one handler declared: authentication schemes, scopes, and whether it is public.
///
/// The macros build it as a `const` with the `const fn` builders below, so nothing about a
/// route's policy is parsed or allocated per request. The router records it for each route
/// (see [`SecureRouter::routes`](crate::SecureRouter::routes)).
///
/// # Examples
/// ```
/// use secure_api::{RoutePolicy, auth::AuthScheme};
///
/// const POLICY: RoutePolicy = RoutePolicy::secured("my_app::create_item")
///     .with_auth(&[AuthScheme::Bearer])
///     .with_scopes(&["items:write"]);
/// assert_eq!(POLICY.scopes(), ["items:write"]);
/// assert!(!POLICY.is_public());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoutePolicy {
    handler: &'static str,
    public: bool,
    auth: &'static [AuthScheme],
    scopes: &'static [&'static str],
    validation: Validation,
    max_body: usize,
}

/// Whether a route validates its inputs (`validate` in `#[secure]` / `#[public]`), as recorded
/// in the route inventory.
///
/// # Examples
/// ```
/// use secure_api::{RoutePolicy, Validation};
///
/// const POLICY: RoutePolicy = RoutePolicy::secured("app::create").with_validation(Validation::Enforced);
/// assert_eq!(POLICY.validation(), Validation::Enforced);
/// assert_eq!(RoutePolicy::secured("app::list").validation(), Validation::Undeclared);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validation {
    /// The handler takes no input that needs validation, and declared nothing.
    Undeclared,
    /// `validate`: every `Json`, `Form`, `Query` and `Path` input is validated.
    Enforced,
    /// `validate = false`: the handler's author opted out, visibly.
    OptedOut,
}

impl RoutePolicy {
    /// A policy for an authenticated handler (`handler` is its path, e.g. `app::create_item`).
    pub const fn secured(handler: &'static str) -> Self {
        Self {
            handler,
            public: false,
            auth: &[],
            scopes: &[],
            validation: Validation::Undeclared,
            max_body: crate::validate::DEFAULT_MAX_BODY,
        }
    }

    /// A policy for a deliberately open handler.
    pub const fn public(handler: &'static str) -> Self {
        Self {
            handler,
            public: true,
            auth: &[],
            scopes: &[],
            validation: Validation::Undeclared,
            max_body: crate::validate::DEFAULT_MAX_BODY,
        }
    }

    /// The schemes that may authenticate the caller (any one of them).
    pub const fn with_auth(mut self, auth: &'static [AuthScheme]) -> Self {
        self.auth = auth;
        self
    }

    /// Scopes the caller must all hold.
    pub const fn with_scopes(mut self, scopes: &'static [&'static str]) -> Self {
        self.scopes = scopes;
        self
    }

    /// Whether inputs are validated (`validate` / `validate = false`).
    pub const fn with_validation(mut self, validation: Validation) -> Self {
        self.validation = validation;
        self
    }

    /// The largest request body a validated input reads, in bytes (`max_body = "16KiB"`).
    pub const fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The handler's path (`module::function`); also the route's id for per-route state.
    pub const fn handler(&self) -> &'static str {
        self.handler
    }

    /// Declared with `#[public]`.
    pub const fn is_public(&self) -> bool {
        self.public
    }

    /// Accepted authentication schemes.
    pub const fn auth(&self) -> &'static [AuthScheme] {
        self.auth
    }

    /// Required scopes.
    pub const fn scopes(&self) -> &'static [&'static str] {
        self.scopes
    }

    /// Whether the route validates its inputs.
    pub const fn validation(&self) -> Validation {
        self.validation
    }

    /// The body limit of validated inputs, in bytes (default 64 KiB).
    pub const fn max_body(&self) -> usize {
        self.max_body
    }
}

/// A type that carries a route's policy; the macros generate one zero-sized type per handler.
pub trait Policy: Send + Sync + 'static {
    /// The route's policy.
    const POLICY: RoutePolicy;
}
