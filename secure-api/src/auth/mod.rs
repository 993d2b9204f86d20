//! Authentication (who is calling) and authorization (may they do this).
//!
//! - [`jwt`]: OAuth 2.0 bearer access tokens that are JWTs, verified against configured keys.
//! - [`api_key`]: API keys held as SHA-256 digests and compared in constant time.
//! - [`scheme`]: reading credentials from the request and choosing among a route's schemes.
//! - [`scope`]: the scope check that follows authentication.
//! - [`token_cache`]: verified tokens remembered so a reused token skips signature verification.
//!
//! Every failure becomes a [`Problem`](crate::Problem) with the RFC 6750 challenge clients expect.

pub mod api_key;
pub(crate) mod challenge;
pub mod jwt;
pub(crate) mod scheme;
pub(crate) mod scope;
pub mod token_cache;

pub use api_key::ApiKeys;
pub use jwt::{JwtVerifier, TokenError, VerificationKey};
pub use scheme::AuthScheme;
pub use token_cache::{TokenCache, TokenCacheBuilder};
