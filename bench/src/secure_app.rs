//! `bench_server`'s routes, written with secure-api.
//!
//! | route | policy |
//! |---|---|
//! | `GET /bare` | `#[public]` |
//! | `GET /secured` | `auth = "oauth"`, scope `items:read` |
//! | `POST /secured` | the same, body `{"name","price"}` |
//! | `GET /secured-es256` | the same; the load script sends ES256 tokens here |
//! | `GET`/`POST /axum` | plain axum ([`crate::bare`]), outside the security layer |
//!
//! With `BENCH_REDIS_URL` the limits live in Redis (one round trip per limited request), and
//! with `BENCH_PENALTY=on` the penalty box checks every request's address.
//!
//! The full stack: every route has `rate = "1000000/1s"` (a limiter that is checked
//! but never refuses; the issue's `1000000000/1s` is finer than the limiter's one-per-microsecond
//! resolution and is refused at compile time) and `POST /secured` has `validate`.

use axum::Json;
use axum::Router;
use http::StatusCode;
use jsonwebtoken::Algorithm;
use secure_api::audit::AuditLog;
use secure_api::auth::{JwtVerifier, TokenCache, VerificationKey};
use secure_api::metrics::Metrics;
use secure_api::rate::{PenaltyBox, RateLimits, RedisStore};
use secure_api::routing::get;
use secure_api::threat::{ThreatDetector, ThreatMode};
use secure_api::{ConfigError, SecureApp, SecureRouter, Security, audit::AuditConfig, public, secure};

use crate::settings::{AuditSink, Settings};
use crate::{Item, NewItem};

/// `GET /bare`: public, small JSON.
#[public]
pub async fn bare() -> Json<Item> {
    Json(Item::sample())
}

/// `GET /secured`.
#[secure(auth = "oauth", scopes = ["items:read"], rate = "1000000/1s")]
pub async fn secured() -> Json<Item> {
    Json(Item::sample())
}

/// `POST /secured`: parses the item and echoes it as created.
#[secure(auth = "oauth", scopes = ["items:read"], rate = "1000000/1s", validate)]
pub async fn create(Json(item): Json<NewItem>) -> (StatusCode, Json<Item>) {
    (StatusCode::CREATED, Json(Item { id: 2, name: item.name, price: item.price }))
}

/// `GET /secured-es256`: the same policy; the verifier holds the ES256 public key too, and
/// the algorithm is chosen by the key a token's `alg` names, never by the token alone.
#[secure(auth = "oauth", scopes = ["items:read"], rate = "1000000/1s")]
pub async fn secured_es256() -> Json<Item> {
    Json(Item::sample())
}

/// The security state: HS256 (and ES256 when a public key is configured), issuer and
/// audience as configured, the verified-token cache when enabled, and the audit lines in
/// `settings.audit_log` through secure-api's [`AuditLog`] when the sink is `file`, and
/// Prometheus [`Metrics`] when `BENCH_METRICS=on`, threat detection (as the quickstart
/// configures it) when `BENCH_THREAT=on`.
pub fn security(settings: &Settings) -> Result<Security, ConfigError> {
    let mut verifier = JwtVerifier::builder()
        .key(VerificationKey::hs256(settings.jwt_secret.as_bytes())?)
        .issuer(settings.issuer.clone())
        .audience(settings.audience.clone());
    if let Some(pem) = settings.es256_public_pem().map_err(ConfigError::new)? {
        verifier = verifier.key(VerificationKey::ec_pem(Algorithm::ES256, &pem)?);
    }
    let mut security = Security::builder().realm(settings.audience.clone()).jwt(verifier.build()?);
    if settings.token_cache {
        security = security.token_cache(TokenCache::default());
    }
    if settings.audit == AuditSink::File {
        let log = AuditLog::to_file(&settings.audit_log).map_err(|error| {
            ConfigError::new(format!("cannot open the audit log {}: {error}", settings.audit_log.display()))
        })?;
        security = security.audit(AuditConfig::new().log_to(log));
    }
    if settings.metrics {
        security = security.metrics(Metrics::new());
    }
    if settings.threat {
        // As the quickstart: path, query and the default headers (User-Agent, Referer, ...).
        security = security.threat_detection(ThreatDetector::new(ThreatMode::Block)?);
    }
    let store = match &settings.redis_url {
        Some(url) => Some(
            RedisStore::open(url)?
                .namespace("secure-api-bench")
                .local_quota(settings.redis_local_quota, std::time::Duration::from_secs(1)),
        ),
        None => None,
    };
    if let Some(store) = &store {
        security = security.rate_limits(RateLimits::redis(store.clone()));
    }
    if settings.penalty {
        let penalty = PenaltyBox::new();
        security = security.penalty_box(match store {
            Some(store) => penalty.redis(store),
            None => penalty,
        });
    }
    Ok(security.build())
}

/// The whole `bench_server` app: the secured routes behind secure-api's layer, and the bare
/// axum routes merged beside them, outside it.
pub fn app(settings: &Settings) -> Result<Router, ConfigError> {
    // The bare axum routes are deliberately outside the security layer (the baseline of the
    // comparison): the explicit opt-out says so.
    let floor_log = settings.audit_log.with_extension("floor.log");
    let floor = crate::floor::router(&floor_log)
        .map_err(|error| ConfigError::new(format!("cannot open {}: {error}", floor_log.display())))?;
    Ok(secure_app(settings)?.into_router_unchecked().merge(crate::bare::router()).merge(floor))
}

/// The secured routes as the `SecureApp` applications serve (`BENCH_SERVE=app`).
///
/// # Errors
/// As [`app`].
pub fn secure_app(settings: &Settings) -> Result<SecureApp, ConfigError> {
    Ok(SecureRouter::new()
        .route("/bare", get(bare))
        .route("/secured", get(secured).post(create))
        .route("/secured-es256", get(secured_es256))
        .with_state(security(settings)?))
}
