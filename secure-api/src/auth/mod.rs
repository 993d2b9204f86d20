//! Authentication (who is calling) and authorization (may they do this).
//!
//! - [`jwt`]: OAuth 2.0 bearer access tokens that are JWTs, verified against configured keys.
//! - [`claims`]: the one set of claim rules (`exp`, `nbf`, `iss`, `aud`, leeway) every token
//!   meets, whether it is a JWT, an introspection answer or a cached token.
//! - [`key`]: verification keys, each bound to one algorithm, configured or published as JWKs.
//! - [`dpop`]: DPoP proofs and tokens bound to the client's key (RFC 9449).
//! - [`api_key`]: API keys held as SHA-256 digests and compared in constant time.
//! - `scheme` (internal): reading credentials from the request and choosing among a route's schemes.
//! - `scope` (internal): the scope check that follows authentication.
//! - [`jwks`] and [`oidc`]: an identity provider's published keys, found by OIDC discovery,
//!   cached and refreshed through key rotations.
//! - [`introspection`]: opaque tokens checked with the provider (RFC 7662).
//! - [`authorize`]: object-level checks (`#[secure(authorize = ...)]`).
//! - [`token_cache`]: verified tokens remembered so a reused token skips signature verification.
//!
//! Every failure becomes a [`Problem`](crate::Problem) with the RFC 6750 challenge clients expect.

pub mod api_key;
pub mod authorize;
pub(crate) mod bearer;
pub(crate) mod challenge;
pub mod claims;
mod config;
pub mod dpop;
mod error;
#[cfg(feature = "idp")]
pub(crate) mod fetch;
#[cfg(feature = "idp")]
#[cfg_attr(docsrs, doc(cfg(feature = "idp")))]
pub mod introspection;
#[cfg(feature = "idp")]
#[cfg_attr(docsrs, doc(cfg(feature = "idp")))]
pub mod jwks;
pub mod jwt;
pub mod key;
#[cfg(feature = "idp")]
#[cfg_attr(docsrs, doc(cfg(feature = "idp")))]
pub mod oidc;
pub(crate) mod scheme;
pub(crate) mod scope;
pub mod token_cache;

pub use api_key::ApiKeys;
pub use authorize::Authorization;
pub use claims::ClaimRules;
pub(crate) use config::AuthConfig;
pub use error::TokenError;
#[cfg(feature = "idp")]
#[cfg_attr(docsrs, doc(cfg(feature = "idp")))]
pub use introspection::Introspector;
/// JWT signing algorithms, as named in key configuration (`Algorithm::RS256`, ...).
pub use jsonwebtoken::Algorithm;
#[cfg(feature = "idp")]
#[cfg_attr(docsrs, doc(cfg(feature = "idp")))]
pub use jwks::JwksKeys;
pub use jwt::{JwtVerifier, TokenProfile};
pub use key::VerificationKey;
pub use scheme::AuthScheme;
pub use token_cache::{TokenCache, TokenCacheBuilder};
