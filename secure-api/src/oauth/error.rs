//! RFC 6749 §5.2 error responses of the token endpoint.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::audit::Outcome;

/// A token endpoint error: `{"error": ..., "error_description": ...}` as `application/json`,
/// the one place where the framework does not answer with problem+json (RFC 6749 §5.2 fixes
/// this format for OAuth clients).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenEndpointError {
    /// 400: a parameter is missing, repeated, or malformed, or two client authentication
    /// methods were used.
    InvalidRequest(&'static str),
    /// 401 with `WWW-Authenticate: Basic`: client authentication failed.
    InvalidClient,
    /// 400: the grant type is not `client_credentials`.
    UnsupportedGrantType,
    /// 400: a requested scope is unknown or not allowed for this client.
    InvalidScope,
    /// 503: the endpoint is not configured (fail closed).
    Unavailable,
    /// 400 `invalid_dpop_proof` (RFC 9449 §5): the request's `DPoP` proof is not valid.
    InvalidDpopProof(&'static str),
    /// 400 `use_dpop_nonce` (RFC 9449 §8): the proof lacks the server's nonce, or has an expired
    /// one; the fresh nonce goes in the `DPoP-Nonce` header.
    UseDpopNonce(String),
}

impl TokenEndpointError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::InvalidRequest(description) => (StatusCode::BAD_REQUEST, "invalid_request", description),
            Self::InvalidClient => (StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed."),
            Self::UnsupportedGrantType => {
                (StatusCode::BAD_REQUEST, "unsupported_grant_type", "Only the client_credentials grant is supported.")
            }
            Self::InvalidScope => (
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "The requested scope is invalid or not allowed for this client.",
            ),
            Self::Unavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "The token endpoint is not available.")
            }
            Self::InvalidDpopProof(description) => (StatusCode::BAD_REQUEST, "invalid_dpop_proof", description),
            Self::UseDpopNonce(_) => {
                (StatusCode::BAD_REQUEST, "use_dpop_nonce", crate::auth::dpop::DpopError::UseNonce.description())
            }
        }
    }
}

impl IntoResponse for TokenEndpointError {
    fn into_response(self) -> Response {
        let (status, error, description) = self.parts();
        let body = json!({ "error": error, "error_description": description }).to_string();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self == Self::InvalidClient {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"oauth\""));
        }
        if let Self::UseDpopNonce(nonce) = &self
            && let Ok(value) = HeaderValue::from_str(nonce)
        {
            headers.insert(crate::auth::dpop::request::DPOP_NONCE, value);
        }
        let outcome = match self {
            Self::InvalidClient => Outcome::DENIED_INVALID_CLIENT,
            Self::Unavailable => Outcome::DENIED_UNCONFIGURED,
            _ => Outcome::INVALID_REQUEST,
        };
        response.extensions_mut().insert(outcome);
        response
    }
}
