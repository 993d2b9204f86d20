//! The benchmark servers' configuration: the quickstart's variables plus a few of their own.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Settings read from the environment.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `SECURE_API_ADDR` | listen address | `127.0.0.1:3000` |
/// | `SECURE_API_JWT_SECRET` | HS256 key (at least 32 bytes) | random per start |
/// | `SECURE_API_ISSUER` / `SECURE_API_AUDIENCE` | required `iss` / `aud` | `secure-api-quickstart` / `items-api` |
/// | `SECURE_API_ES256_PUBLIC_KEY` | PEM file of the ES256 public key for `/secured-es256` | none: ES256 tokens are refused |
/// | `BENCH_AUDIT_LOG` | file the audit lines are written to | `secure-api-bench-audit.log` in the temp dir |
/// | `BENCH_TOKEN_CACHE` | `on` or `off`: the verified-token cache of `bench_server` | `on` |
/// | `BENCH_METRICS` | `on` or `off`: `bench_server` counts every response in Prometheus metrics ([`Metrics`](secure_api::metrics::Metrics)) | `off` |
/// | `BENCH_REDIS_URL` | keep `bench_server`'s rate limits (and penalty box) in this Redis (or Redis Cluster: comma-separated nodes) | in memory |
/// | `BENCH_REDIS_LOCAL_QUOTA` | with `BENCH_REDIS_URL`: the local quota's batch (`RedisStore::local_quota(batch, 1 s)`), `0` for off | `0` |
/// | `BENCH_PENALTY` | `on` or `off`: `bench_server` runs the penalty box (every request checked for a ban) | `off` |
/// | `BENCH_THREAT` | `on` or `off`: `bench_server` runs threat detection on every route (path, query, the default headers), as the quickstart does | `off` |
/// | `BENCH_SERVE` | what `bench_server` serves: `router` (the app's `into_router_unchecked()` merged with the bare axum routes, so one server has both sides of every ratio), `app` (the `SecureApp` itself, as applications serve it; no `/axum` routes) or `quickstart` (the quickstart's own app, configured from the quickstart's `SECURE_API_*` variables, its audit lines in `BENCH_AUDIT_LOG` unless `SECURE_API_AUDIT_FILE` is set) | `router` |
/// | `BENCH_AUDIT` | `bench_server`'s audit sink: `file` (secure-api's [`AuditLog`](secure_api::audit::AuditLog) writing `BENCH_AUDIT_LOG`), `tracing` (audit events through a `fmt` subscriber and `tracing-appender` into `BENCH_AUDIT_LOG`, like the baseline) or `off` | `file` |
#[derive(Clone, Debug)]
pub struct Settings {
    /// Listen address.
    pub addr: SocketAddr,
    /// The HS256 secret.
    pub jwt_secret: String,
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
    /// PEM file of the ES256 public key.
    pub es256_public_key: Option<PathBuf>,
    /// The audit log file.
    pub audit_log: PathBuf,
    /// Whether `bench_server` caches verified tokens.
    pub token_cache: bool,
    /// Where `bench_server` writes its audit lines.
    pub audit: AuditSink,
    /// Whether `bench_server` counts responses in Prometheus metrics.
    pub metrics: bool,
    /// `BENCH_REDIS_URL`: the Redis store of `bench_server`'s limits.
    pub redis_url: Option<String>,
    /// `BENCH_REDIS_LOCAL_QUOTA`: the Redis store's local-quota batch (0: off).
    pub redis_local_quota: u32,
    /// `BENCH_PENALTY`: whether `bench_server` runs the penalty box.
    pub penalty: bool,
    /// `BENCH_THREAT`: whether `bench_server` runs threat detection.
    pub threat: bool,
    /// `BENCH_SERVE`: what `bench_server` serves.
    pub serve: ServeShape,
}

/// What `bench_server` serves (`BENCH_SERVE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServeShape {
    /// The secured routes as a plain router merged with the bare axum routes.
    Router,
    /// The `SecureApp` itself, the way applications serve it.
    App,
    /// The quickstart's app, with every default the quickstart has.
    Quickstart,
}

/// `bench_server`'s audit sink (`BENCH_AUDIT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditSink {
    /// secure-api's own JSON audit file writer.
    File,
    /// `tracing` events formatted by `tracing-subscriber` into the file.
    Tracing,
    /// No audit line (not a target configuration: shows what the line costs).
    Off,
}

impl Settings {
    /// Reads the settings through `lookup` (usually `std::env::var`).
    ///
    /// # Examples
    /// ```
    /// use secure_api_bench::settings::Settings;
    ///
    /// let settings = Settings::from_lookup(|name| match name {
    ///     "SECURE_API_ADDR" => Some("127.0.0.1:0".to_owned()),
    ///     _ => None,
    /// })
    /// .unwrap();
    /// assert_eq!(settings.audience, "items-api");
    /// assert!(settings.token_cache);
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let addr_text = get("SECURE_API_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let addr = addr_text.parse().map_err(|_| format!("SECURE_API_ADDR `{addr_text}` is not an address"))?;
        let jwt_secret = match get("SECURE_API_JWT_SECRET") {
            Some(secret) if secret.len() < 32 => {
                return Err("SECURE_API_JWT_SECRET must be at least 32 bytes".to_owned());
            }
            Some(secret) => secret,
            None => secure_api::secret::random_secret(32).expose().clone(),
        };
        // An `on`/`off` switch; unset means `default`.
        let switch = |name: &str, default: bool| match get(name).as_deref() {
            None => Ok(default),
            Some("on") => Ok(true),
            Some("off") => Ok(false),
            Some(other) => Err(format!("{name} must be `on` or `off`, not `{other}`")),
        };
        let token_cache = switch("BENCH_TOKEN_CACHE", true)?;
        let metrics = switch("BENCH_METRICS", false)?;
        let penalty = switch("BENCH_PENALTY", false)?;
        let threat = switch("BENCH_THREAT", false)?;
        let audit = match get("BENCH_AUDIT").as_deref() {
            None | Some("file") => AuditSink::File,
            Some("tracing") => AuditSink::Tracing,
            Some("off") => AuditSink::Off,
            Some(other) => return Err(format!("BENCH_AUDIT must be `file`, `tracing` or `off`, not `{other}`")),
        };
        let serve = match get("BENCH_SERVE").as_deref() {
            None | Some("router") => ServeShape::Router,
            Some("app") => ServeShape::App,
            Some("quickstart") => ServeShape::Quickstart,
            Some(other) => return Err(format!("BENCH_SERVE must be `router`, `app` or `quickstart`, not `{other}`")),
        };
        let redis_local_quota = match get("BENCH_REDIS_LOCAL_QUOTA") {
            None => 0,
            Some(text) => {
                text.parse().map_err(|_| format!("BENCH_REDIS_LOCAL_QUOTA must be a number, not `{text}`"))?
            }
        };
        Ok(Self {
            addr,
            jwt_secret,
            issuer: get("SECURE_API_ISSUER").unwrap_or_else(|| "secure-api-quickstart".to_owned()),
            audience: get("SECURE_API_AUDIENCE").unwrap_or_else(|| "items-api".to_owned()),
            es256_public_key: get("SECURE_API_ES256_PUBLIC_KEY").map(PathBuf::from),
            audit_log: get("BENCH_AUDIT_LOG")
                .map(PathBuf::from)
                .unwrap_or_else(|| std::env::temp_dir().join("secure-api-bench-audit.log")),
            token_cache,
            audit,
            metrics,
            redis_url: get("BENCH_REDIS_URL"),
            redis_local_quota,
            penalty,
            threat,
            serve,
        })
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The ES256 public key's PEM, if one is configured.
    pub fn es256_public_pem(&self) -> Result<Option<Vec<u8>>, String> {
        self.es256_public_key
            .as_ref()
            .map(|path| std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display())))
            .transpose()
    }
}
