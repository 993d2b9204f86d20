//! Why a bearer token was refused: one error for every way a token is checked (JWT,
//! introspection, the token cache), each with a description safe to send to the client.

use std::fmt;

use jsonwebtoken::errors::ErrorKind;

/// Why a token was refused. [`TokenError::description`] is safe to send to the client;
/// `Display` is for the operator's log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Not three base64url parts, bad JSON, or a header we cannot read.
    Malformed,
    /// The header's `alg` is not one any configured key uses (including `none`).
    AlgorithmNotAllowed,
    /// No configured key has the token's `kid`.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` does not name this API.
    WrongAudience,
    /// A required claim is missing or has the wrong type.
    MissingClaim(String),
    /// The `typ` header is not `JWT` or `at+jwt`.
    WrongType,
    /// The token names no subject (`sub` or `client_id`).
    NoSubject,
    /// The header lists critical extensions we do not understand.
    CriticalHeader,
    /// The authorization server says the token is not active (RFC 7662 introspection).
    Inactive,
    /// The token cannot be checked now: the provider's keys or its introspection endpoint are
    /// unreachable. Answered with 503, not 401: the token may well be good.
    Unavailable,
    /// The application's revocation check refused the token (see
    /// [`TokenCacheBuilder::revocation_check`](crate::auth::TokenCacheBuilder::revocation_check)).
    Revoked,
}

impl TokenError {
    /// A short sentence for the `error_description` of the challenge: says what is wrong
    /// without echoing the token or internal error text.
    pub fn description(&self) -> &'static str {
        match self {
            Self::Malformed => "The access token is malformed.",
            Self::AlgorithmNotAllowed => "The access token's signing algorithm is not accepted.",
            Self::UnknownKey => "The access token was signed by an unknown key.",
            Self::BadSignature => "The access token's signature is invalid.",
            Self::Expired => "The access token expired.",
            Self::NotYetValid => "The access token is not valid yet.",
            Self::WrongIssuer => "The access token was issued by an untrusted issuer.",
            Self::WrongAudience => "The access token is not meant for this API.",
            Self::MissingClaim(_) => "The access token lacks a required claim.",
            Self::WrongType => "The token is not an access token.",
            Self::NoSubject => "The access token names no subject.",
            Self::CriticalHeader => "The access token uses unsupported critical header parameters.",
            Self::Inactive => "The access token is not active.",
            Self::Unavailable => "The access token cannot be checked right now; try again later.",
            Self::Revoked => "The access token has been revoked.",
        }
    }

    /// A `jsonwebtoken` decoding error. Only the signature and the header are `jsonwebtoken`'s
    /// to judge (its claim checks are switched off): the claims are checked by
    /// [`validate`](crate::auth::validate_claims), the same as every other token.
    pub(crate) fn from_jsonwebtoken(kind: &ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
                Self::AlgorithmNotAllowed
            }
            _ => Self::Malformed,
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingClaim(claim) => write!(f, "missing or invalid claim `{claim}`"),
            other => f.write_str(other.description()),
        }
    }
}

impl std::error::Error for TokenError {}
