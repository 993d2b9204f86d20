//! A route's declared security policy, built at compile time by `#[secure]` / `#[public]`.

use crate::auth::AuthScheme;
use crate::rate::{RateKeyKind, RateSpec};

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
    rate: Option<RateSpec>,
    rate_key: RateKeyKind,
}

impl RoutePolicy {
    /// A policy for an authenticated handler (`handler` is its path, e.g. `app::create_item`).
    pub const fn secured(handler: &'static str) -> Self {
        Self { handler, public: false, auth: &[], scopes: &[], rate: None, rate_key: RateKeyKind::Default }
    }

    /// A policy for a deliberately open handler.
    pub const fn public(handler: &'static str) -> Self {
        Self { handler, public: true, auth: &[], scopes: &[], rate: None, rate_key: RateKeyKind::Default }
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

    /// The route's rate limit (`rate = "100/15m"`).
    pub const fn with_rate(mut self, rate: RateSpec) -> Self {
        self.rate = Some(rate);
        self
    }

    /// What the rate limit counts against (`key = "ip"`, ...).
    pub const fn with_rate_key(mut self, key: RateKeyKind) -> Self {
        self.rate_key = key;
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

    /// The declared rate limit, if any.
    pub const fn rate(&self) -> Option<RateSpec> {
        self.rate
    }

    /// What the rate limit counts against.
    pub const fn rate_key(&self) -> RateKeyKind {
        self.rate_key
    }
}

/// A type that carries a route's policy; the macros generate one zero-sized type per handler.
pub trait Policy: Send + Sync + 'static {
    /// The route's policy.
    const POLICY: RoutePolicy;
}
