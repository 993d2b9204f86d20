//! Why a DPoP proof, or the binding of a token to it, was refused.

use std::fmt;

/// Why a DPoP request was refused. [`DpopError::description`] is safe to send to the client
/// (it never echoes the proof); [`DpopError::code`] is the RFC 9449 §7.1 error code.
///
/// # Examples
/// ```
/// use secure_api::auth::dpop::DpopError;
///
/// assert_eq!(DpopError::Replayed.code(), "invalid_dpop_proof");
/// assert_eq!(DpopError::BearerUseOfBoundToken.code(), "invalid_token");
/// assert_eq!(DpopError::UseNonce.code(), "use_dpop_nonce");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopError {
    /// No `DPoP` header, or more than one.
    MissingProof,
    /// Not a compact JWS, or its header or claims are not JSON objects.
    Malformed,
    /// `typ` is not `dpop+jwt`.
    WrongType,
    /// `alg` is not one of the accepted asymmetric algorithms (`none` and HMAC never are).
    AlgorithmNotAllowed,
    /// `jwk` is missing, not a public key of the `alg`'s type, or carries private key members.
    BadKey,
    /// The signature does not verify with the embedded key.
    BadSignature,
    /// A required claim (`jti`, `htm`, `htu`, `iat`, `ath`) is missing or of the wrong type.
    MissingClaim(&'static str),
    /// `htm` is not the request's method.
    WrongMethod,
    /// `htu` is not the request's URL (scheme, host, port and path; query and fragment ignored).
    WrongUrl,
    /// `iat` is too old or in the future.
    Stale,
    /// `ath` is not the hash of the access token presented with it.
    WrongTokenHash,
    /// This proof (`jti`) was already used.
    Replayed,
    /// The proof's key is not the key the access token is bound to (`cnf.jkt`).
    KeyMismatch,
    /// A token bound to a key (`cnf.jkt`) was sent as `Bearer` (RFC 9449 §7.2).
    BearerUseOfBoundToken,
    /// A token without `cnf.jkt` was sent with the `DPoP` scheme.
    UnboundToken,
    /// The route accepts sender-constrained tokens only, and a plain bearer token was sent.
    BindingRequired,
    /// Nonces are required ([`DpopVerifierBuilder::require_nonce`](super::DpopVerifierBuilder::require_nonce))
    /// and the proof has no `nonce`, or one the server did not issue or that has expired
    /// (RFC 9449 §8 and §9): the client retries with the nonce of the `DPoP-Nonce` header.
    UseNonce,
}

impl DpopError {
    /// The RFC 9449 §7.1 error code: `invalid_dpop_proof` for a bad proof, `invalid_token`
    /// when the token itself is the problem (its binding, or its scheme).
    pub const fn code(self) -> &'static str {
        match self {
            Self::KeyMismatch | Self::BearerUseOfBoundToken | Self::UnboundToken | Self::BindingRequired => {
                "invalid_token"
            }
            Self::UseNonce => "use_dpop_nonce",
            _ => "invalid_dpop_proof",
        }
    }

    /// A short sentence for the challenge's `error_description`.
    pub const fn description(self) -> &'static str {
        match self {
            Self::MissingProof => "Send exactly one DPoP proof in the DPoP header.",
            Self::Malformed => "The DPoP proof is malformed.",
            Self::WrongType => "The DPoP proof's typ must be dpop+jwt.",
            Self::AlgorithmNotAllowed => "The DPoP proof's signing algorithm is not accepted.",
            Self::BadKey => "The DPoP proof's jwk must be a public key matching its alg.",
            Self::BadSignature => "The DPoP proof's signature is invalid.",
            Self::MissingClaim(_) => "The DPoP proof lacks a required claim.",
            Self::WrongMethod => "The DPoP proof was made for another HTTP method.",
            Self::WrongUrl => "The DPoP proof was made for another URL.",
            Self::Stale => "The DPoP proof's iat is outside the accepted window.",
            Self::WrongTokenHash => "The DPoP proof's ath does not match the access token.",
            Self::Replayed => "The DPoP proof was already used.",
            Self::KeyMismatch => "The access token is bound to another key.",
            Self::BearerUseOfBoundToken => "The access token is DPoP-bound: send it with the DPoP scheme and a proof.",
            Self::UnboundToken => "The access token is not DPoP-bound: send it with the Bearer scheme.",
            Self::BindingRequired => "This route requires a sender-constrained (DPoP-bound) access token.",
            Self::UseNonce => "The DPoP proof must carry the nonce sent in the DPoP-Nonce header.",
        }
    }
}

impl fmt::Display for DpopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingClaim(claim) => write!(f, "DPoP proof: missing or invalid claim `{claim}`"),
            other => f.write_str(other.description()),
        }
    }
}

impl std::error::Error for DpopError {}
