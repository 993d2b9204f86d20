//! Configuration that names a disabled Cargo feature does not compile.
//!
//! The doctests below exist only in a build without the feature they name (CI:
//! `cargo test -p secure-api --no-default-features --features testing --doc`), and each must
//! fail to compile. Each has a twin on an item every build has, which must compile, so a typo
//! cannot make a `compile_fail` test pass.
//!
//! ```
//! let _ = secure_api::rate::RateLimits::in_memory;
//! let _ = secure_api::auth::JwtVerifier::builder().key(secure_api::auth::VerificationKey::hs256(&[7; 32]).unwrap());
//! let _ = secure_api::SecurityBuilder::api_keys;
//! let _ = secure_api::auth::JwtVerifierBuilder::key;
//! let _ = secure_api::serve::ServeOptions::default().header_read_timeout(std::time::Duration::from_secs(1));
//! let _ = secure_api::serve::<secure_api::SecureApp>;
//! ```
// Without `redis`: no Redis store to configure.
#![cfg_attr(not(feature = "redis"), doc = "```compile_fail\nlet _ = secure_api::rate::RateLimits::redis;\n```")]
#![cfg_attr(not(feature = "redis"), doc = "```compile_fail\nlet _: Option<secure_api::rate::RedisStore> = None;\n```")]
// Without `idp`: no key sets, discovery or introspection.
#![cfg_attr(not(feature = "idp"), doc = "```compile_fail\nlet _: Option<secure_api::auth::JwksKeys> = None;\n```")]
#![cfg_attr(not(feature = "idp"), doc = "```compile_fail\nlet _: Option<secure_api::auth::Introspector> = None;\n```")]
#![cfg_attr(not(feature = "idp"), doc = "```compile_fail\nuse secure_api::auth::discover;\n```")]
#![cfg_attr(not(feature = "idp"), doc = "```compile_fail\nlet _ = secure_api::SecurityBuilder::introspection;\n```")]
#![cfg_attr(not(feature = "idp"), doc = "```compile_fail\nlet _ = secure_api::auth::JwtVerifierBuilder::jwks;\n```")]
// Without `tls`: no in-process HTTPS.
#![cfg_attr(not(feature = "tls"), doc = "```compile_fail\nlet _: Option<secure_api::tls::TlsConfig> = None;\n```")]
#![cfg_attr(
    not(feature = "tls"),
    doc = "```compile_fail\nlet _ = secure_api::tls::serve_tls::<secure_api::SecureApp>;\n```"
)]
#![cfg_attr(
    not(feature = "tls"),
    doc = "```compile_fail\nlet _ = secure_api::serve::ServeOptions::default().tls_handshake_timeout(std::time::Duration::from_secs(1));\n```"
)]
