//! An OAuth 2.0 token endpoint for the client credentials grant (RFC 6749 §4.4).
//!
//! Register clients ([`OAuthClient`]) with hashed secrets and allowed scopes, give the
//! [`TokenEndpoint`] a signing key, put it in [`Security`](crate::Security), and mount
//! [`token_handler`] (a `#[public]` handler) at `POST /oauth/token`:
//!
//! ```
//! use secure_api::{oauth::{self, OAuthClient, TokenEndpoint}, routing::post, Security, SecureRouter};
//!
//! let endpoint = TokenEndpoint::hs256(b"0123456789abcdef0123456789abcdef", "https://issuer.example", "items-api")
//!     .unwrap()
//!     .client(OAuthClient::new("demo-client", "s3cret-s3cret-s3cret-s3cret-s3cret", ["items:read"]).unwrap());
//! let app = SecureRouter::new()
//!     .route("/oauth/token", post(oauth::token_handler))
//!     .with_state(Security::builder().token_endpoint(endpoint).build());
//! ```
//!
//! Clients authenticate with HTTP Basic or `client_id`/`client_secret` form fields (one method
//! per request, in one `Authorization` header at most). As RFC 6749 §2.3.1 says, the Basic user
//! and password are each form-urlencoded before being joined with `:`, and each is decoded as a
//! whole (`+` a space, `%XX` a byte): a `&` in them is part of the value. A requested `scope`
//! is split on spaces only, and each scope must be an RFC 6749 §3.3 scope token. Successful responses follow §5.1, errors §5.2, both with
//! `Cache-Control: no-store` and `Pragma: no-cache`. Tokens are HS256 JWTs with `typ: at+jwt`
//! and the RFC 9068 claims `iss`, `aud`, `sub`, `client_id`, `scope`, `iat`, `exp`, `jti`.

mod client;
mod endpoint;
mod error;
pub mod resource_metadata;

pub use client::OAuthClient;
pub use endpoint::{IssuedToken, TokenEndpoint, token_handler};
pub use error::TokenEndpointError;
pub use resource_metadata::{ResourceMetadata, metadata_handler};
