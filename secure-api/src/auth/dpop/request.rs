//! DPoP at the resource server: how the token was presented, the proof that must come with a
//! `DPoP` token, the binding (`cnf.jkt`) and the 401 challenges of RFC 9449 §7.1.

use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use serde_json::Value;

use super::{DpopError, DpopVerifier, ProofRequest};
use crate::audit::Outcome;
use crate::auth::challenge::Realm;
use crate::context::RequestContext;
use crate::principal::Principal;
use crate::problem::Problem;

/// The audit outcome of a refused proof.
pub(crate) const DENIED_INVALID_DPOP_PROOF: Outcome = Outcome::new("denied:invalid_dpop_proof");

/// The audit outcome of a proof without a valid server nonce (RFC 9449 §9).
pub(crate) const DENIED_USE_DPOP_NONCE: Outcome = Outcome::new("denied:use_dpop_nonce");

/// The response header carrying a server nonce (RFC 9449 §8.1).
pub(crate) const DPOP_NONCE: http::HeaderName = http::HeaderName::from_static("dpop-nonce");

/// The verifier's current nonce as a header value: `None` when nonces are off.
pub(crate) fn nonce_header(verifier: &DpopVerifier) -> Option<HeaderValue> {
    // Digits, `.` and base64url: always a valid header value.
    verifier.nonce().and_then(|nonce| HeaderValue::from_str(&nonce).ok())
}

/// The scheme an access token came with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Presented {
    Bearer,
    Dpop,
}

/// The `DPoP` header's single value.
fn proof_header(parts: &Parts) -> Result<&str, DpopError> {
    let mut values = parts.headers.get_all("dpop").iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().map_err(|_| DpopError::Malformed),
        _ => Err(DpopError::MissingProof),
    }
}

/// Whether the request reached us over HTTPS (directly, or per a trusted proxy): the scheme of
/// the URL the client signed, as step 1 of the [pipeline](crate::pipeline) resolved it. The
/// guard runs first and refuses a request without the context; should a proof be checked
/// without one anyway, it is checked against the `http` URL, which an HTTPS client did not sign
/// (refused, never accepted by mistake).
fn is_https(parts: &Parts) -> bool {
    RequestContext::of(parts).is_ok_and(|context| context.client().https)
}

/// The proof of this request, checked for `access_token` (or, at the token endpoint, for no
/// token): `Ok(None)` when the request carries no `DPoP` header.
pub(crate) async fn request_proof(
    verifier: &DpopVerifier,
    parts: &Parts,
    access_token: Option<&str>,
) -> Result<Option<super::VerifiedProof>, DpopError> {
    if parts.headers.get("dpop").is_none() {
        return Ok(None);
    }
    let proof = proof_header(parts)?;
    let htu = super::htu::request_htu(parts, is_https(parts)).ok_or(DpopError::WrongUrl)?;
    let request = ProofRequest { method: &parts.method, htu: &htu, access_token };
    verifier.verify_shared(proof, &request).await.map(Some)
}

/// The token endpoint's proof (no access token yet), checked and recorded locally: the proof
/// text with its result, `Ok(None)` without a `DPoP` header. The caller runs the shared replay
/// check ([`DpopVerifier::first_use_shared`]) before answering.
pub(crate) fn header_proof(
    verifier: &DpopVerifier,
    parts: &Parts,
) -> Result<Option<(String, super::VerifiedProof)>, DpopError> {
    if parts.headers.get("dpop").is_none() {
        return Ok(None);
    }
    let proof = proof_header(parts)?;
    let htu = super::htu::request_htu(parts, is_https(parts)).ok_or(DpopError::WrongUrl)?;
    let request = ProofRequest { method: &parts.method, htu: &htu, access_token: None };
    verifier.verify(proof, &request).map(|verified| Some((proof.to_owned(), verified)))
}

/// The binding rules for a token sent as `Bearer`: a bound token is refused (RFC 9449 §7.2),
/// and so is any plain token on a route that requires a binding. No I/O.
pub(crate) fn check_bearer(principal: &Principal, binding_required: bool) -> Result<(), DpopError> {
    match bound_jkt(principal) {
        Some(_) => Err(DpopError::BearerUseOfBoundToken),
        None if binding_required => Err(DpopError::BindingRequired),
        None => Ok(()),
    }
}

/// The binding of a token sent with the `DPoP` scheme: it must be bound (`cnf.jkt`), and the
/// request must carry a valid proof by that key.
pub(crate) async fn check_dpop(
    verifier: &DpopVerifier,
    parts: &Parts,
    token: &str,
    principal: &Principal,
) -> Result<(), DpopError> {
    let Some(jkt) = bound_jkt(principal) else {
        return Err(DpopError::UnboundToken);
    };
    // The proof first: a missing or bad proof is the client's first thing to fix.
    let proof = request_proof(verifier, parts, Some(token)).await?.ok_or(DpopError::MissingProof)?;
    match jkt {
        Value::String(jkt) if bool::from(subtle::ConstantTimeEq::ct_eq(jkt.as_bytes(), proof.jkt.as_bytes())) => {}
        _ => return Err(DpopError::KeyMismatch),
    }
    // A nonce about to expire: the response carries the current one, so a client that keeps
    // calling never meets a `use_dpop_nonce` refusal (RFC 9449 §9).
    if proof.nonce_expiring
        && let (Ok(context), Some(nonce)) = (crate::context::RequestContext::of(parts), nonce_header(verifier))
    {
        context.set_dpop_nonce(nonce);
    }
    Ok(())
}

/// `cnf.jkt` of the token, whatever its type (a non-string binds to no key we could match).
fn bound_jkt(principal: &Principal) -> Option<&Value> {
    principal.claims().get("cnf").and_then(|cnf| cnf.get("jkt"))
}

/// The `DPoP` challenge: the accepted algorithms and, for a refusal, the error (RFC 9449 §7.1).
pub(crate) fn challenge(verifier: &DpopVerifier, realm: &Realm, error: Option<DpopError>) -> HeaderValue {
    let mut value = format!("DPoP algs=\"{}\"", verifier.algorithms_parameter());
    if let Some(error) = error {
        // Both are fixed ASCII sentences without quotes or backslashes.
        value.push_str(&format!(", error=\"{}\", error_description=\"{}\"", error.code(), error.description()));
    }
    if let Some(url) = &realm.resource_metadata {
        // Checked at configuration: an absolute URL, so no quote or control character.
        value.push_str(&format!(", resource_metadata=\"{url}\""));
    }
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("DPoP"))
}

/// 401 for a refused proof or binding, challenging with `DPoP` (and `Bearer` too when a plain
/// bearer token would do). A missing or stale nonce also gets a fresh one in `DPoP-Nonce`.
pub(crate) fn rejection(verifier: &DpopVerifier, realm: &Realm, error: DpopError) -> Problem {
    tracing::debug!(target: "secure_api::auth", reason = %error, "DPoP request rejected");
    let outcome = match error.code() {
        "invalid_dpop_proof" => DENIED_INVALID_DPOP_PROOF,
        "use_dpop_nonce" => DENIED_USE_DPOP_NONCE,
        _ => Outcome::DENIED_INVALID_TOKEN,
    };
    let mut problem = Problem::new(StatusCode::UNAUTHORIZED, "invalid-credentials", "Unauthorized")
        .with_detail(error.description())
        .with_extension("error", error.code())
        .with_header(header::WWW_AUTHENTICATE, challenge(verifier, realm, Some(error)))
        .with_outcome(outcome);
    if let (DpopError::UseNonce, Some(nonce)) = (error, nonce_header(verifier)) {
        problem = problem.with_header(DPOP_NONCE, nonce);
    }
    if matches!(error, DpopError::UnboundToken) {
        problem = problem.with_header(
            header::WWW_AUTHENTICATE,
            crate::auth::challenge::challenge(crate::auth::AuthScheme::Bearer, realm, None, None),
        );
    }
    problem
}
