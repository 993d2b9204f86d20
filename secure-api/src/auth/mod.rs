//! Authentication (who is calling) and authorization (may they do this).
//!
//! Every item lives here, at `secure_api::auth::...`, whatever file defines it; the files are
//! the concerns:
//!
//! - `jwt`: OAuth 2.0 bearer access tokens that are JWTs, verified against configured keys
//!   ([`JwtVerifier`]).
//! - `issuers`: several trusted issuers, each with its own verifier; a token's `iss` picks
//!   the one that judges it ([`Issuers`]).
//! - `claims`: the one set of claim rules (`exp`, `nbf`, `iss`, `aud`, leeway) every token
//!   meets, whether it is a JWT, an introspection answer or a cached token ([`ClaimRules`],
//!   [`validate_claims`]).
//! - `key`: verification keys, each bound to one algorithm, configured or published as JWKs
//!   ([`VerificationKey`]).
//! - [`dpop`]: DPoP proofs and tokens bound to the client's key (RFC 9449); its own module, as
//!   it has its own verifier, errors and replay cache.
//! - `mtls`: access tokens bound to the client's TLS certificate (RFC 8705,
//!   [`ClientCertificate`]).
//! - `api_key`: API keys held as SHA-256 digests and compared in constant time ([`ApiKeys`]).
//! - `scheme`: reading credentials from the request and choosing among a route's schemes
//!   ([`AuthScheme`]).
//! - `scope`: the scope check that follows authentication.
//! - `step_up`: step-up authentication (RFC 9470): a route's `acr` values and `max_age`,
//!   checked on the token's claims before the scopes.
//! - `jwks` and `oidc`: an identity provider's published keys, found by OIDC discovery,
//!   cached and refreshed through key rotations ([`JwksKeys`], [`discover`]).
//! - `introspection`: opaque tokens checked with the provider (RFC 7662, [`Introspector`]).
//! - `authorize`: object-level checks (`#[secure(authorize = ...)]`, [`Authorization`]).
//! - `token_cache`: verified tokens remembered so a reused token skips signature verification
//!   ([`TokenCache`]).
//!
//! Every failure becomes a [`Problem`](crate::Problem) with the RFC 6750 challenge clients expect.

mod api_key;
pub(crate) mod authorize;
pub(crate) mod bearer;
pub(crate) mod challenge;
pub(crate) mod claims;
mod config;
pub mod dpop;
mod error;
#[cfg(feature = "idp")]
pub(crate) mod fetch;
#[cfg(feature = "idp")]
mod introspection;
mod issuers;
#[cfg(feature = "idp")]
mod jwks;
pub(crate) mod jwt;
pub(crate) mod key;
pub(crate) mod mtls;
#[cfg(feature = "idp")]
mod oidc;
pub(crate) mod scheme;
pub(crate) mod scope;
pub(crate) mod step_up;
mod token_cache;

pub use api_key::{ApiKeys, DEFAULT_API_KEY_HEADER};
pub use authorize::Authorization;
pub use claims::{ClaimRules, DEFAULT_LEEWAY_SECS, validate_claims};
pub(crate) use config::AuthConfig;
pub use error::TokenError;
#[cfg(feature = "idp")]
#[cfg_attr(docsrs, doc(cfg(feature = "idp")))]
pub use introspection::{ClientAuth, Introspector, IntrospectorBuilder};
pub use issuers::{Issuers, IssuersBuilder};
/// JWT signing algorithms, as named in key configuration (`Algorithm::RS256`, ...).
pub use jsonwebtoken::Algorithm;
#[cfg(feature = "idp")]
#[cfg_attr(docsrs, doc(cfg(feature = "idp")))]
pub use jwks::{JwksBuilder, JwksKeys, Refresh};
pub use jwt::{JwtVerifier, JwtVerifierBuilder, TokenProfile};
pub use key::VerificationKey;
pub use mtls::ClientCertificate;
#[cfg(feature = "idp")]
#[cfg_attr(docsrs, doc(cfg(feature = "idp")))]
pub use oidc::{Discovery, ProviderMetadata, discover};
pub use scheme::AuthScheme;
pub use token_cache::{TokenCache, TokenCacheBuilder};
