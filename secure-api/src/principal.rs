//! The authenticated caller, as handed to handlers.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::auth::AuthScheme;

/// The authenticated caller of a `#[secure]` route: who it is, what it may do, how it proved it.
///
/// Take it as a handler argument (or `Option<Principal>` on an `auth_optional` route); the
/// `#[secure]` guard has already authenticated and authorized the caller when the handler runs.
/// The extractor reads the request context (see the [pipeline](crate::pipeline)).
///
/// # Examples
/// ```
/// use secure_api::{secure, Principal};
///
/// #[secure(auth = "oauth", scopes = ["items:read"])]
/// async fn whoami(principal: Principal) -> String {
///     format!("{} may {:?}", principal.id(), principal.scopes())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Principal {
    // Shared, not owned: the verified-token cache hands out a clone of the same principal on
    // every request, and cloning these is a reference count, not three allocations.
    id: Arc<str>,
    scopes: Arc<[String]>,
    method: AuthScheme,
    claims: Arc<Map<String, Value>>,
}

impl Principal {
    /// A principal with no token claims (API keys, tests).
    pub fn new(id: impl Into<String>, scopes: impl IntoIterator<Item = impl Into<String>>, method: AuthScheme) -> Self {
        let id: String = id.into();
        Self { id: id.into(), scopes: scopes.into_iter().map(Into::into).collect(), method, claims: Arc::default() }
    }

    /// A principal carrying the verified claims of its access token.
    pub fn with_claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims = Arc::new(claims);
        self
    }

    /// The stable identifier: the token's `sub` (or `client_id`), or the API key's owner.
    ///
    /// A `sub` is unique only within its issuer (OpenID Connect Core §2). With several trusted
    /// issuers ([`Issuers`](crate::auth::Issuers)), two of them may name different people
    /// `alice`: an ownership check must compare the [`issuer`](Self::issuer) too, and the
    /// `principal` rate key, which is this id alone, gives both one bucket.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The issuer (`iss`) of the verified token; `None` for API keys and tokens without one.
    ///
    /// # Examples
    /// ```
    /// use secure_api::{auth::AuthScheme, Principal};
    ///
    /// let claims = serde_json::json!({"iss": "https://login.example.com", "sub": "alice"});
    /// let alice = Principal::new("alice", ["items:read"], AuthScheme::Bearer)
    ///     .with_claims(claims.as_object().unwrap().clone());
    /// assert_eq!(alice.issuer(), Some("https://login.example.com"));
    /// // An ownership check across trusted issuers compares both.
    /// let owner = ("https://login.example.com", "alice");
    /// assert!(alice.issuer() == Some(owner.0) && alice.id() == owner.1);
    /// ```
    pub fn issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }

    /// The id, shared (for the audit line).
    pub(crate) fn shared_id(&self) -> &Arc<str> {
        &self.id
    }

    /// The scopes granted to this caller.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether the caller holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|held| held == scope)
    }

    /// How the caller authenticated.
    pub fn method(&self) -> AuthScheme {
        self.method
    }

    /// The verified token's claims (empty for API keys).
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
}
