//! The audit log: one line per request with who asked, what was decided and why.
//!
//! The [`SecurityLayer`](crate::SecurityLayer) writes the line after the response is known; the
//! guard and the rejections fill in the principal and the [`Outcome`]. Tokens, keys and secrets
//! are never part of a line: only the principal's id is.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::{Method, StatusCode};

/// The decision recorded for a request, e.g. `allowed`, `denied:invalid_token`, `limited`.
///
/// Rejections carry their outcome in the response extensions; responses without one are
/// classified by status code.
///
/// # Examples
/// ```
/// use secure_api::Outcome;
/// use http::StatusCode;
///
/// assert_eq!(Outcome::DENIED_INVALID_TOKEN.as_str(), "denied:invalid_token");
/// assert_eq!(Outcome::from_status(StatusCode::OK), Outcome::ALLOWED);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Outcome(&'static str);

impl Outcome {
    /// The request passed every check and the handler answered with a success or redirect.
    pub const ALLOWED: Self = Self("allowed");
    /// No credentials were sent to a route that needs them.
    pub const DENIED_MISSING_CREDENTIALS: Self = Self("denied:missing_credentials");
    /// A bearer token was sent but is not valid (signature, algorithm, claims, expiry).
    pub const DENIED_INVALID_TOKEN: Self = Self("denied:invalid_token");
    /// The `Authorization` header was malformed (RFC 6750 `invalid_request`).
    pub const DENIED_INVALID_REQUEST: Self = Self("denied:invalid_request");
    /// An API key was sent but is not registered.
    pub const DENIED_INVALID_API_KEY: Self = Self("denied:invalid_api_key");
    /// The caller is authenticated but lacks a required scope.
    pub const DENIED_INSUFFICIENT_SCOPE: Self = Self("denied:insufficient_scope");
    /// The object-level check (`authorize = ...`) refused the authenticated caller.
    pub const DENIED_FORBIDDEN: Self = Self("denied:forbidden");
    /// The identity provider (JWKS or introspection endpoint) could not be reached, so the
    /// token could not be checked (503, fail closed).
    pub const DENIED_IDP_UNAVAILABLE: Self = Self("denied:idp_unavailable");
    /// The route needs an authentication scheme the application did not configure (fail closed).
    pub const DENIED_UNCONFIGURED: Self = Self("denied:unconfigured");
    /// OAuth client authentication at the token endpoint failed.
    pub const DENIED_INVALID_CLIENT: Self = Self("denied:invalid_client");
    /// The request was rejected by a rate limiter.
    pub const LIMITED: Self = Self("limited");
    /// The request body or parameters were rejected.
    pub const INVALID_BODY: Self = Self("invalid:body");
    /// The request was malformed in another way (4xx chosen by the handler or an extractor).
    pub const INVALID_REQUEST: Self = Self("invalid:request");
    /// No route matched.
    pub const NOT_FOUND: Self = Self("not_found");
    /// The route exists but not for this method.
    pub const METHOD_NOT_ALLOWED: Self = Self("method_not_allowed");
    /// The server failed (5xx).
    pub const ERROR: Self = Self("error");

    /// An outcome with a custom code; use `family:reason` like the built-in ones.
    pub const fn new(code: &'static str) -> Self {
        Self(code)
    }

    /// The code as written to the log.
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// Classifies a response that carries no explicit outcome.
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            100..=399 => Self::ALLOWED,
            401 => Self::DENIED_MISSING_CREDENTIALS,
            404 => Self::NOT_FOUND,
            405 => Self::METHOD_NOT_ALLOWED,
            413 | 415 | 422 => Self::INVALID_BODY,
            429 => Self::LIMITED,
            400..=499 => Self::INVALID_REQUEST,
            _ => Self::ERROR,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Where the guard leaves the authenticated principal's id for the audit line.
///
/// One per request, created by the security layer and shared through the request extensions.
#[derive(Clone, Default, Debug)]
pub(crate) struct AuditSlot(Arc<OnceLock<String>>);

impl AuditSlot {
    pub(crate) fn set_principal(&self, id: &str) {
        let _ = self.0.set(id.to_owned());
    }

    pub(crate) fn principal(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// One audit line's fields.
pub(crate) struct AuditRecord<'a> {
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    pub(crate) status: StatusCode,
    pub(crate) latency: Duration,
    pub(crate) client_ip: IpAddr,
    pub(crate) principal: Option<&'a str>,
    pub(crate) outcome: Outcome,
}

impl AuditRecord<'_> {
    /// Writes the line as one `tracing` event with target `secure_api::audit`, so subscribers
    /// can route audit lines apart from diagnostics.
    pub(crate) fn emit(&self) {
        tracing::info!(
            target: "secure_api::audit",
            method = %self.method,
            path = self.path,
            status = self.status.as_u16(),
            latency_us = self.latency.as_micros() as u64,
            client_ip = %self.client_ip,
            principal = self.principal.unwrap_or("-"),
            outcome = self.outcome.as_str(),
            "request"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statuses() {
        assert_eq!(Outcome::from_status(StatusCode::CREATED), Outcome::ALLOWED);
        assert_eq!(Outcome::from_status(StatusCode::NOT_FOUND), Outcome::NOT_FOUND);
        assert_eq!(Outcome::from_status(StatusCode::TOO_MANY_REQUESTS), Outcome::LIMITED);
        assert_eq!(Outcome::from_status(StatusCode::UNPROCESSABLE_ENTITY), Outcome::INVALID_BODY);
        assert_eq!(Outcome::from_status(StatusCode::INTERNAL_SERVER_ERROR), Outcome::ERROR);
    }

    #[test]
    fn slot_keeps_the_first_principal() {
        let slot = AuditSlot::default();
        assert_eq!(slot.principal(), None);
        slot.set_principal("alice");
        slot.set_principal("mallory");
        assert_eq!(slot.principal(), Some("alice"));
    }
}
