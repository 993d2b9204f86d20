//! A route's declared security policy, built at compile time by `#[secure]` / `#[public]`.

use crate::auth::AuthScheme;
use crate::auth::authorize::AuthorizeHook;

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
    auth_optional: bool,
    authorize: Option<&'static str>,
}

impl RoutePolicy {
    /// A policy for an authenticated handler (`handler` is its path, e.g. `app::create_item`).
    pub const fn secured(handler: &'static str) -> Self {
        Self { handler, public: false, auth: &[], scopes: &[], auth_optional: false, authorize: None }
    }

    /// A policy for a deliberately open handler.
    pub const fn public(handler: &'static str) -> Self {
        Self { handler, public: true, auth: &[], scopes: &[], auth_optional: false, authorize: None }
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

    /// Lets requests without credentials through with no principal (`auth_optional`);
    /// credentials that are sent must still be valid.
    pub const fn with_optional_auth(mut self) -> Self {
        self.auth_optional = true;
        self
    }

    /// Records the object-level check's path (`authorize = path::to::check`); the check itself
    /// is [`Policy::AUTHORIZE`].
    pub const fn with_authorize(mut self, check: &'static str) -> Self {
        self.authorize = Some(check);
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

    /// Whether callers without credentials are let through (the handler gets no principal).
    pub const fn is_auth_optional(&self) -> bool {
        self.auth_optional
    }

    /// The object-level check's path, when the route has one.
    pub const fn authorize(&self) -> Option<&'static str> {
        self.authorize
    }
}

/// A type that carries a route's policy; the macros generate one zero-sized type per handler.
pub trait Policy: Send + Sync + 'static {
    /// The route's policy.
    const POLICY: RoutePolicy;

    /// The route's object-level check (`authorize = ...`), run after the scope check.
    const AUTHORIZE: Option<AuthorizeHook> = None;
}
