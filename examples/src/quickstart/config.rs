//! The quickstart's configuration: all from the environment, each with a safe default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secure_api::threat::ThreatMode;
use secure_api::{
    ConfigError, client::ClientCertHeader, client::ClientIpHeader, client::ProtoHeader, client::TrustedProxies,
    ip_rules::IpRules, secret::Secret, secret::random_secret,
};
use secure_api::{serve::ConnectionLimits, serve::HttpsRedirect, serve::ServeOptions};

/// How audit lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The quickstart's settings. Build with [`Config::from_lookup`] (from the environment:
/// `Config::from_lookup(|name| std::env::var(name).ok())`), or [`Config::for_tests`].
#[derive(Clone, Debug)]
pub struct Config {
    /// `SECURE_API_ADDR`.
    pub addr: SocketAddr,
    /// `SECURE_API_JWT_SECRET`: HS256 key, at least 32 bytes.
    pub jwt_secret: Secret<String>,
    /// `SECURE_API_ISSUER`.
    pub issuer: String,
    /// `SECURE_API_AUDIENCE`.
    pub audience: String,
    /// `SECURE_API_CLIENT_ID`.
    pub client_id: String,
    /// `SECURE_API_CLIENT_SECRET`.
    pub client_secret: Secret<String>,
    /// `SECURE_API_API_KEY`.
    pub api_key: Secret<String>,
    /// `SECURE_API_TRUSTED_PROXIES`, with the headers they write: `SECURE_API_CLIENT_IP_HEADER`
    /// (`x-forwarded-for`, `forwarded` or `x-real-ip`), `SECURE_API_PROTO_HEADER`
    /// (`x-forwarded-proto`, `forwarded` or `none`) and `SECURE_API_TRUST_REQUEST_ID` (`1`: keep the
    /// proxy's `X-Request-Id`).
    pub trusted_proxies: TrustedProxies,
    /// `SECURE_API_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `SECURE_API_JWKS_URL`: an identity provider's key set; its RS256, ES256 and EdDSA tokens
    /// (with this `iss` and `aud`) are accepted alongside the quickstart's own HS256 tokens.
    pub jwks_url: Option<String>,
    /// `SECURE_API_TLS_CERT` and `SECURE_API_TLS_KEY`: serve HTTPS with these PEM files.
    pub tls: Option<TlsFiles>,
    /// `SECURE_API_TLS_CLIENT_CA`: with TLS, ask clients for a certificate signed by the CA
    /// in this PEM file (optional client authentication); the token endpoint then issues
    /// certificate-bound tokens (RFC 8705) to clients that present one.
    pub tls_client_ca: Option<PathBuf>,
    /// `SECURE_API_HTTP_REDIRECT_ADDR`: with TLS, also listen here over plain HTTP and redirect
    /// every request to HTTPS (308).
    pub http_redirect_addr: Option<SocketAddr>,
    /// `SECURE_API_ALLOW_IPS` / `SECURE_API_DENY_IPS`: app-wide CIDR lists.
    pub ip_rules: IpRules,
    /// `SECURE_API_THREAT_MODE`: `block` (default) or `log`.
    pub threat_mode: ThreatMode,
    /// `SECURE_API_REDIS_URL`: keep rate limits in this Redis server, shared by every instance
    /// (in memory per instance when unset); a comma-separated list of `redis://` nodes means a
    /// Redis Cluster, a `redis+sentinel://` URL the master Redis Sentinel names (see
    /// `RedisStore::open`). A secret: the URL may carry a password.
    pub redis_url: Option<Secret<String>>,
    /// `SECURE_API_AUDIT_FILE`: append the audit lines, as JSON, to this file (secure-api's
    /// `AuditLog`, written by a background thread) instead of logging them on standard output.
    pub audit_file: Option<PathBuf>,
    /// `SECURE_API_MAX_CONNECTIONS`, `SECURE_API_MAX_CONNECTIONS_PER_IP`,
    /// `SECURE_API_HEADER_TIMEOUT_SECS`, `SECURE_API_IDLE_TIMEOUT_SECS`,
    /// `SECURE_API_BODY_TIMEOUT_SECS`, `SECURE_API_TLS_HANDSHAKE_TIMEOUT_SECS`,
    /// `SECURE_API_WRITE_TIMEOUT_SECS`: the timeouts and
    /// connection caps of every listener (secure-api's defaults when unset).
    pub serve_options: ServeOptions,
    /// `SECURE_API_PUBLIC_HOST`: the host (and port) the plain-HTTP listener redirects to, and
    /// the only `Host` it answers; the HTTPS listener's address when unset.
    pub public_host: Option<HttpsRedirect>,
    /// `SECURE_API_PENALTY_FAILED_AUTH`, `SECURE_API_PENALTY_THREATS`, `SECURE_API_PENALTY_429S`,
    /// `SECURE_API_PENALTY_WINDOW_SECS`, `SECURE_API_PENALTY_BAN_SECS`, `SECURE_API_PENALTY_ALLOW`:
    /// the penalty box (every address banned on every route after too many offences).
    pub penalty: PenaltySettings,
    /// `SECURE_API_RESOURCE_URL`: this API's resource identifier (RFC 9728), published at
    /// `/.well-known/oauth-protected-resource` and named in 401 challenges. Default: the public
    /// host, or the listen address, with `https` when serving TLS. `None` (tests): no metadata.
    pub resource_url: Option<String>,
    /// `SECURE_API_DPOP_NONCE` (`1`: on; default off) and `SECURE_API_DPOP_NONCE_SECRET`:
    /// require server nonces in DPoP proofs (RFC 9449 §8, §9); see [`DpopNonce`].
    pub dpop_nonce: Option<DpopNonce>,
}

/// DPoP server nonces: how long one is accepted (at least `lifetime`, at most twice) and the
/// secret they are made with, shared by every instance (`SECURE_API_DPOP_NONCE_SECRET`, at
/// least 32 bytes; random per run when unset, so each instance then has its own nonces).
#[derive(Clone, Debug)]
pub struct DpopNonce {
    /// The nonce time step (60 s from the environment).
    pub lifetime: Duration,
    /// The HMAC secret; `None`: random for this run.
    pub secret: Option<Secret<String>>,
}

impl DpopNonce {
    /// The verifier these settings describe.
    pub fn verifier(&self) -> secure_api::auth::dpop::DpopVerifier {
        let builder = secure_api::auth::dpop::DpopVerifier::builder().require_nonce(self.lifetime);
        match &self.secret {
            Some(secret) => builder.nonce_secret(secret.expose().as_bytes()),
            None => builder,
        }
        .build()
    }
}

/// The quickstart's penalty box: by default 20 failed authentications within 60 s ban an
/// address for 300 s on every route; threat hits and 429s are not counted unless set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PenaltySettings {
    /// Failed authentications that ban (0: off).
    pub failed_authentications: u32,
    /// Blocked threat hits that ban (0: off).
    pub threat_hits: u32,
    /// Rate-limit refusals that ban (0: off).
    pub rate_limited: u32,
    /// The counting window.
    pub window: Duration,
    /// How long a ban lasts.
    pub ban: Duration,
    /// Comma-separated CIDRs never banned (checked when loaded).
    pub allow: String,
}

impl Default for PenaltySettings {
    fn default() -> Self {
        Self {
            failed_authentications: 20,
            threat_hits: 0,
            rate_limited: 0,
            window: Duration::from_secs(60),
            ban: Duration::from_secs(300),
            allow: String::new(),
        }
    }
}

impl PenaltySettings {
    /// Nothing counted: no penalty box at all.
    pub fn off() -> Self {
        Self { failed_authentications: 0, threat_hits: 0, rate_limited: 0, ..Self::default() }
    }

    /// Whether any offence is counted (otherwise the app runs without a penalty box).
    pub fn is_on(&self) -> bool {
        self.failed_authentications > 0 || self.threat_hits > 0 || self.rate_limited > 0
    }

    /// A fresh penalty box with these settings (each app instance gets its own memory).
    pub fn penalty_box(&self) -> Result<secure_api::rate::PenaltyBox, ConfigError> {
        secure_api::rate::PenaltyBox::new()
            .failed_authentications(self.failed_authentications)
            .threat_hits(self.threat_hits)
            .rate_limited(self.rate_limited)
            .window(self.window)
            .ban_for(self.ban)
            .allow_list(&self.allow)
    }
}

/// The PEM files of the HTTPS certificate chain and its private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// A configuration and the lines that describe it, printed at start-up. Secrets generated
/// because none was configured are printed once so the operator can use them; configured
/// secrets never are.
pub struct Loaded {
    /// The settings.
    pub config: Config,
    /// What to print.
    pub report: Vec<String>,
}

impl Config {
    /// A configuration with fixed values, for tests and examples.
    pub fn for_tests() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            jwt_secret: Secret::new("test-secret-test-secret-test-secret!".to_owned()),
            issuer: "secure-api-quickstart".to_owned(),
            audience: "items-api".to_owned(),
            client_id: "demo-client".to_owned(),
            client_secret: Secret::new("demo-secret-demo-secret-demo-secret".to_owned()),
            api_key: Secret::new("demo-api-key-demo-api-key-demo-api-key".to_owned()),
            trusted_proxies: TrustedProxies::none(),
            log_format: LogFormat::Text,
            jwks_url: None,
            tls: None,
            tls_client_ca: None,
            http_redirect_addr: None,
            ip_rules: IpRules::new(),
            threat_mode: ThreatMode::Block,
            redis_url: None,
            audit_file: None,
            serve_options: ServeOptions::default(),
            public_host: None,
            // Off: tests of other features fail many authentications from one address; the
            // penalty box's own tests turn it on with `PenaltySettings::default()`.
            penalty: PenaltySettings::off(),
            resource_url: None,
            dpop_nonce: None,
        }
    }

    /// Reads `SECURE_API_*` variables through `lookup` (usually `std::env::var`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Loaded, ConfigError> {
        let mut report = Vec::new();
        let mut setting = |name: &str, default: &str| -> String {
            match lookup(name).filter(|value| !value.is_empty()) {
                Some(value) => {
                    report.push(format!("{name}={value}"));
                    value
                }
                None => {
                    report.push(format!("{name}={default} (default)"));
                    default.to_owned()
                }
            }
        };
        let addr_text = setting("SECURE_API_ADDR", "127.0.0.1:3000");
        let addr: SocketAddr = addr_text.parse().map_err(|_| {
            ConfigError::new(format!("SECURE_API_ADDR `{addr_text}` is not an address like 127.0.0.1:3000"))
        })?;
        let issuer = setting("SECURE_API_ISSUER", "secure-api-quickstart");
        let audience = setting("SECURE_API_AUDIENCE", "items-api");
        let client_id = setting("SECURE_API_CLIENT_ID", "demo-client");
        let proxies_text = setting("SECURE_API_TRUSTED_PROXIES", "");
        let trusted_proxies = TrustedProxies::parse(&proxies_text)
            .map_err(|error| ConfigError::new(format!("SECURE_API_TRUSTED_PROXIES: {error}")))?;
        let log_format = match setting("SECURE_API_LOG_FORMAT", "text").as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::new(format!("SECURE_API_LOG_FORMAT must be `text` or `json`, not `{other}`")));
            }
        };

        let allow_text = setting("SECURE_API_ALLOW_IPS", "");
        let deny_text = setting("SECURE_API_DENY_IPS", "");
        let ip_rules = IpRules::new()
            .allow(&allow_text)
            .map_err(|error| ConfigError::new(format!("SECURE_API_ALLOW_IPS: {error}")))?
            .deny(&deny_text)
            .map_err(|error| ConfigError::new(format!("SECURE_API_DENY_IPS: {error}")))?;
        let threat_mode = match setting("SECURE_API_THREAT_MODE", "block").as_str() {
            "block" => ThreatMode::Block,
            "log" => ThreatMode::LogOnly,
            other => {
                return Err(ConfigError::new(format!(
                    "SECURE_API_THREAT_MODE must be `block` or `log`, not `{other}`"
                )));
            }
        };
        let trusted_proxies = proxy_headers(&lookup, &mut report, trusted_proxies)?;

        let jwks_url = lookup("SECURE_API_JWKS_URL").filter(|value| !value.is_empty());
        match &jwks_url {
            Some(url) => report.push(format!("SECURE_API_JWKS_URL={url}")),
            None => report.push("SECURE_API_JWKS_URL=(none: only the quickstart's own tokens) (default)".to_owned()),
        }
        let jwt_secret = match lookup("SECURE_API_JWT_SECRET").filter(|value| !value.is_empty()) {
            Some(secret) if secret.len() < 32 => {
                return Err(ConfigError::new(format!(
                    "SECURE_API_JWT_SECRET is {} bytes; refusing to start with an HS256 key shorter than 32 bytes",
                    secret.len()
                )));
            }
            Some(secret) => {
                report.push("SECURE_API_JWT_SECRET=[set, not shown]".to_owned());
                Secret::new(secret)
            }
            None => {
                report.push("SECURE_API_JWT_SECRET=[random for this run] (default)".to_owned());
                random_secret(32)
            }
        };
        let mut secret = |name: &str| -> Secret<String> {
            match lookup(name).filter(|value| !value.is_empty()) {
                Some(value) => {
                    report.push(format!("{name}=[set, not shown]"));
                    Secret::new(value)
                }
                None => {
                    let generated = random_secret(32);
                    report.push(format!("{name}={} (random, shown once)", generated.expose()));
                    generated
                }
            }
        };
        let client_secret = secret("SECURE_API_CLIENT_SECRET");
        let api_key = secret("SECURE_API_API_KEY");

        let tls = tls_files(&lookup, &mut report)?;
        let tls_client_ca = match lookup("SECURE_API_TLS_CLIENT_CA").filter(|value| !value.is_empty()) {
            None => None,
            Some(_) if tls.is_none() => {
                return Err(ConfigError::new(
                    "SECURE_API_TLS_CLIENT_CA verifies client certificates over TLS and needs SECURE_API_TLS_CERT and \
                     SECURE_API_TLS_KEY",
                ));
            }
            Some(path) => {
                report.push(format!("SECURE_API_TLS_CLIENT_CA={path} (optional client certificates)"));
                Some(PathBuf::from(path))
            }
        };
        let http_redirect_addr = match lookup("SECURE_API_HTTP_REDIRECT_ADDR").filter(|value| !value.is_empty()) {
            None => None,
            Some(_) if tls.is_none() => {
                return Err(ConfigError::new(
                    "SECURE_API_HTTP_REDIRECT_ADDR redirects to HTTPS and needs SECURE_API_TLS_CERT and SECURE_API_TLS_KEY",
                ));
            }
            Some(text) => {
                let addr: SocketAddr = text.parse().map_err(|_| {
                    ConfigError::new(format!(
                        "SECURE_API_HTTP_REDIRECT_ADDR `{text}` is not an address like 0.0.0.0:80"
                    ))
                })?;
                report.push(format!("SECURE_API_HTTP_REDIRECT_ADDR={addr} (plain HTTP, redirects to HTTPS)"));
                Some(addr)
            }
        };

        let redis_url = match lookup("SECURE_API_REDIS_URL").filter(|value| !value.is_empty()) {
            Some(url) => {
                // Checked now so a typo refuses to start instead of limiting per instance.
                let store = secure_api::rate::RedisStore::open(&url)
                    .map_err(|error| ConfigError::new(format!("SECURE_API_REDIS_URL: {error}")))?;
                let shared = if store.is_cluster() {
                    "Redis Cluster"
                } else if store.is_sentinel() {
                    "the master Redis Sentinel names (found again after a failover)"
                } else {
                    "Redis"
                };
                report.push(format!(
                    "SECURE_API_REDIS_URL={} (rate limits and bans shared through {shared})",
                    redact_url(&url)
                ));
                Some(Secret::new(url))
            }
            None => {
                report.push("SECURE_API_REDIS_URL= (default: rate limits in memory, per instance)".to_owned());
                None
            }
        };

        let audit_file = match lookup("SECURE_API_AUDIT_FILE").filter(|value| !value.is_empty()) {
            Some(path) => {
                report.push(format!("SECURE_API_AUDIT_FILE={path} (audit lines appended as JSON)"));
                Some(PathBuf::from(path))
            }
            None => {
                report.push("SECURE_API_AUDIT_FILE= (default: audit lines on standard output)".to_owned());
                None
            }
        };

        let serve_options = serve_options(&lookup, &mut report)?;
        let public_host = public_host(&lookup, &mut report, tls.is_some())?;
        let penalty = penalty_settings(&lookup, &mut report)?;
        let resource_url = resource_url(&lookup, &mut report, addr, tls.is_some(), public_host.as_ref())?;
        let dpop_nonce = dpop_nonce(&lookup, &mut report)?;

        Ok(Loaded {
            config: Config {
                addr,
                jwt_secret,
                issuer,
                audience,
                client_id,
                client_secret,
                api_key,
                trusted_proxies,
                log_format,
                jwks_url,
                tls,
                tls_client_ca,
                http_redirect_addr,
                ip_rules,
                threat_mode,
                redis_url,
                audit_file,
                serve_options,
                public_host,
                penalty,
                resource_url: Some(resource_url),
                dpop_nonce,
            },
            report,
        })
    }
}

/// Which headers the trusted proxies write (`SECURE_API_CLIENT_IP_HEADER`,
/// `SECURE_API_PROTO_HEADER`) and whether their `X-Request-Id` is kept
/// (`SECURE_API_TRUST_REQUEST_ID`). Setting one without `SECURE_API_TRUSTED_PROXIES` refuses to
/// start: no forwarding header is read from an untrusted peer, so the operator's intent would be
/// silently ignored.
fn proxy_headers(
    lookup: &impl Fn(&str) -> Option<String>,
    report: &mut Vec<String>,
    proxies: TrustedProxies,
) -> Result<TrustedProxies, ConfigError> {
    let ip_header = lookup("SECURE_API_CLIENT_IP_HEADER").filter(|value| !value.is_empty());
    let proto_header = lookup("SECURE_API_PROTO_HEADER").filter(|value| !value.is_empty());
    let request_id = lookup("SECURE_API_TRUST_REQUEST_ID").filter(|value| !value.is_empty());
    let cert_header = lookup("SECURE_API_CLIENT_CERT_HEADER").filter(|value| !value.is_empty());
    if proxies.is_empty() {
        if let Some(name) = [
            ip_header.as_ref().map(|_| "SECURE_API_CLIENT_IP_HEADER"),
            proto_header.as_ref().map(|_| "SECURE_API_PROTO_HEADER"),
            request_id.as_ref().map(|_| "SECURE_API_TRUST_REQUEST_ID"),
            cert_header.as_ref().map(|_| "SECURE_API_CLIENT_CERT_HEADER"),
        ]
        .into_iter()
        .flatten()
        .next()
        {
            return Err(ConfigError::new(format!(
                "{name} is set but SECURE_API_TRUSTED_PROXIES is empty: no forwarding header is read without a trusted proxy"
            )));
        }
        report.push(
            "SECURE_API_CLIENT_IP_HEADER / SECURE_API_PROTO_HEADER: not read (no trusted proxy) (default)".to_owned(),
        );
        return Ok(proxies);
    }
    let ip_header = match ip_header {
        Some(text) => {
            let header: ClientIpHeader =
                text.parse().map_err(|error| ConfigError::new(format!("SECURE_API_CLIENT_IP_HEADER: {error}")))?;
            report.push(format!("SECURE_API_CLIENT_IP_HEADER={header} (the only client address header read)"));
            header
        }
        None => {
            report.push(format!("SECURE_API_CLIENT_IP_HEADER={} (default)", ClientIpHeader::default()));
            ClientIpHeader::default()
        }
    };
    let proto_header = match proto_header {
        Some(text) => {
            let header: ProtoHeader =
                text.parse().map_err(|error| ConfigError::new(format!("SECURE_API_PROTO_HEADER: {error}")))?;
            report.push(match header {
                ProtoHeader::None => {
                    "SECURE_API_PROTO_HEADER=none (no scheme header read: HTTPS only over direct TLS)".to_owned()
                }
                _ => format!("SECURE_API_PROTO_HEADER={header} (the only scheme header read)"),
            });
            header
        }
        None => {
            report.push(format!("SECURE_API_PROTO_HEADER={} (default)", ProtoHeader::default()));
            ProtoHeader::default()
        }
    };
    let request_id = match request_id.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => {
            report.push("SECURE_API_TRUST_REQUEST_ID=0 (default: request ids are always generated)".to_owned());
            false
        }
        Some("1" | "true" | "on" | "yes") => {
            report.push("SECURE_API_TRUST_REQUEST_ID=1 (a trusted proxy's X-Request-Id is kept)".to_owned());
            true
        }
        Some("0" | "false" | "off" | "no") => {
            report.push("SECURE_API_TRUST_REQUEST_ID=0 (request ids are always generated)".to_owned());
            false
        }
        Some(other) => {
            return Err(ConfigError::new(format!("SECURE_API_TRUST_REQUEST_ID must be `1` or `0`, not `{other}`")));
        }
    };
    let proxies =
        proxies.with_client_ip_header(ip_header).with_proto_header(proto_header).with_trusted_request_id(request_id);
    Ok(match cert_header {
        None => proxies,
        Some(text) => {
            let header = client_cert_header(&text)?;
            report.push(format!(
                "SECURE_API_CLIENT_CERT_HEADER={text} (a trusted proxy's client certificate, for certificate-bound tokens)"
            ));
            proxies.with_client_cert_header(header)
        }
    })
}

/// `client-cert` (RFC 9440) or `nginx:<header>` (nginx's `$ssl_client_escaped_cert` in that header).
fn client_cert_header(text: &str) -> Result<ClientCertHeader, ConfigError> {
    if text.eq_ignore_ascii_case("client-cert") {
        return Ok(ClientCertHeader::ClientCert);
    }
    text.strip_prefix("nginx:")
        .and_then(|name| http::HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .map(ClientCertHeader::NginxEscapedPem)
        .ok_or_else(|| {
            ConfigError::new(format!(
                "SECURE_API_CLIENT_CERT_HEADER must be `client-cert` (RFC 9440) or `nginx:<header name>`, not `{text}`"
            ))
        })
}

/// Both TLS variables, or neither: one alone is a mistake, and serving plain HTTP when the
/// operator asked for HTTPS would be failing open.
fn tls_files(
    lookup: &impl Fn(&str) -> Option<String>,
    report: &mut Vec<String>,
) -> Result<Option<TlsFiles>, ConfigError> {
    let cert = lookup("SECURE_API_TLS_CERT").filter(|value| !value.is_empty());
    let key = lookup("SECURE_API_TLS_KEY").filter(|value| !value.is_empty());
    match (cert, key) {
        (Some(cert), Some(key)) => {
            report.push(format!("SECURE_API_TLS_CERT={cert}"));
            report.push(format!("SECURE_API_TLS_KEY={key}"));
            Ok(Some(TlsFiles { cert: cert.into(), key: key.into() }))
        }
        (None, None) => {
            report.push("SECURE_API_TLS_CERT / SECURE_API_TLS_KEY not set: plain HTTP (default)".to_owned());
            Ok(None)
        }
        (Some(_), None) | (None, Some(_)) => {
            Err(ConfigError::new("set both SECURE_API_TLS_CERT and SECURE_API_TLS_KEY to serve HTTPS, or neither"))
        }
    }
}

/// The listeners' timeouts and connection caps: each variable, or secure-api's default.
fn serve_options(
    lookup: &impl Fn(&str) -> Option<String>,
    report: &mut Vec<String>,
) -> Result<ServeOptions, ConfigError> {
    let defaults = ServeOptions::default();
    let mut count = |name: &str, default: usize| -> Result<usize, ConfigError> {
        match lookup(name).filter(|value| !value.is_empty()) {
            None => {
                report.push(format!("{name}={default} (default)"));
                Ok(default)
            }
            Some(text) => match text.trim().parse::<usize>() {
                Ok(value) if value > 0 => {
                    report.push(format!("{name}={value}"));
                    Ok(value)
                }
                _ => Err(ConfigError::new(format!("{name} `{text}` is not a whole number above 0"))),
            },
        }
    };
    let limits = ConnectionLimits::default()
        .max_connections(count("SECURE_API_MAX_CONNECTIONS", defaults.limits().total())?)
        .max_per_client(count("SECURE_API_MAX_CONNECTIONS_PER_IP", defaults.limits().per_client())?);
    let mut seconds = |name: &str, default: Duration| seconds_setting(lookup, report, name, default);
    Ok(defaults
        .clone()
        .connection_limits(limits)
        .header_read_timeout(seconds("SECURE_API_HEADER_TIMEOUT_SECS", defaults.header_read_timeout_value())?)
        .idle_timeout(seconds("SECURE_API_IDLE_TIMEOUT_SECS", defaults.idle_timeout_value())?)
        .body_read_timeout(seconds("SECURE_API_BODY_TIMEOUT_SECS", defaults.body_read_timeout_value())?)
        .response_write_timeout(seconds("SECURE_API_WRITE_TIMEOUT_SECS", defaults.response_write_timeout_value())?)
        .tls_handshake_timeout(seconds(
            "SECURE_API_TLS_HANDSHAKE_TIMEOUT_SECS",
            defaults.tls_handshake_timeout_value(),
        )?))
}

/// A duration setting in seconds: above 0, at most a day; fractions allowed (`0.5`), since tests
/// and benchmarks use short timeouts and bans.
fn seconds_setting(
    lookup: &impl Fn(&str) -> Option<String>,
    report: &mut Vec<String>,
    name: &str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match lookup(name).filter(|value| !value.is_empty()) {
        None => {
            report.push(format!("{name}={} (default)", default.as_secs_f64()));
            Ok(default)
        }
        Some(text) => match text.trim().parse::<f64>().ok().and_then(|secs| Duration::try_from_secs_f64(secs).ok()) {
            Some(value) if value > Duration::ZERO && value <= Duration::from_secs(86_400) => {
                report.push(format!("{name}={}", value.as_secs_f64()));
                Ok(value)
            }
            _ => Err(ConfigError::new(format!("{name} `{text}` is not a number of seconds above 0 (at most 86400)"))),
        },
    }
}

/// `SECURE_API_PENALTY_*`: the penalty box's thresholds (0 turns one off), window, ban and
/// allow-list, checked now so a typo refuses to start.
fn penalty_settings(
    lookup: &impl Fn(&str) -> Option<String>,
    report: &mut Vec<String>,
) -> Result<PenaltySettings, ConfigError> {
    let defaults = PenaltySettings::default();
    let mut count = |name: &str, default: u32| -> Result<u32, ConfigError> {
        match lookup(name).filter(|value| !value.is_empty()) {
            None => {
                report.push(format!("{name}={default} (default{})", if default == 0 { ": not counted" } else { "" }));
                Ok(default)
            }
            Some(text) => {
                let value = text
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| ConfigError::new(format!("{name} `{text}` is not a whole number (0: off)")))?;
                report.push(format!("{name}={value}"));
                Ok(value)
            }
        }
    };
    let failed_authentications = count("SECURE_API_PENALTY_FAILED_AUTH", defaults.failed_authentications)?;
    let threat_hits = count("SECURE_API_PENALTY_THREATS", defaults.threat_hits)?;
    let rate_limited = count("SECURE_API_PENALTY_429S", defaults.rate_limited)?;
    let mut seconds = |name: &str, default: Duration| seconds_setting(lookup, report, name, default);
    let window = seconds("SECURE_API_PENALTY_WINDOW_SECS", defaults.window)?;
    let ban = seconds("SECURE_API_PENALTY_BAN_SECS", defaults.ban)?;
    let allow = lookup("SECURE_API_PENALTY_ALLOW").unwrap_or_default();
    secure_api::rate::PenaltyBox::new()
        .allow_list(&allow)
        .map_err(|error| ConfigError::new(format!("SECURE_API_PENALTY_ALLOW: {error}")))?;
    report.push(if allow.trim().is_empty() {
        "SECURE_API_PENALTY_ALLOW= (default: only trusted proxies are never banned)".to_owned()
    } else {
        format!("SECURE_API_PENALTY_ALLOW={allow}")
    });
    Ok(PenaltySettings { failed_authentications, threat_hits, rate_limited, window, ban, allow })
}

/// `SECURE_API_PUBLIC_HOST`, checked now: the redirect listener's only target.
fn public_host(
    lookup: &impl Fn(&str) -> Option<String>,
    report: &mut Vec<String>,
    tls: bool,
) -> Result<Option<HttpsRedirect>, ConfigError> {
    match lookup("SECURE_API_PUBLIC_HOST").filter(|value| !value.is_empty()) {
        Some(host) => {
            let redirect = HttpsRedirect::to(&host)
                .map_err(|error| ConfigError::new(format!("SECURE_API_PUBLIC_HOST: {error}")))?;
            report.push(format!("SECURE_API_PUBLIC_HOST={host} (the redirect listener's target)"));
            Ok(Some(redirect))
        }
        None if tls => {
            report.push("SECURE_API_PUBLIC_HOST= (default: the HTTPS listener's address)".to_owned());
            Ok(None)
        }
        None => Ok(None),
    }
}

/// `SECURE_API_DPOP_NONCE` (`1` or `0`) and `SECURE_API_DPOP_NONCE_SECRET` (32 bytes or more;
/// refused without nonces on, where it would be silently ignored).
fn dpop_nonce(
    lookup: &impl Fn(&str) -> Option<String>,
    report: &mut Vec<String>,
) -> Result<Option<DpopNonce>, ConfigError> {
    let on = match lookup("SECURE_API_DPOP_NONCE").filter(|value| !value.is_empty()).as_deref() {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => {
            return Err(ConfigError::new(format!("SECURE_API_DPOP_NONCE={other}: expected 1 (on) or 0 (off)")));
        }
    };
    let secret = lookup("SECURE_API_DPOP_NONCE_SECRET").filter(|value| !value.is_empty());
    match (on, secret) {
        (false, Some(_)) => Err(ConfigError::new(
            "SECURE_API_DPOP_NONCE_SECRET is set but SECURE_API_DPOP_NONCE is not 1: the secret would be unused",
        )),
        (false, None) => {
            report.push("SECURE_API_DPOP_NONCE=0 (default: DPoP proofs need no server nonce)".to_owned());
            Ok(None)
        }
        (true, Some(secret)) if secret.len() < 32 => Err(ConfigError::new(format!(
            "SECURE_API_DPOP_NONCE_SECRET is {} bytes; refusing to start with a nonce key shorter than 32 bytes",
            secret.len()
        ))),
        (true, secret) => {
            report.push(format!(
                "SECURE_API_DPOP_NONCE=1 (DPoP proofs carry a server nonce, 60 s step; secret {})",
                if secret.is_some() { "from SECURE_API_DPOP_NONCE_SECRET, not shown" } else { "random for this run" }
            ));
            Ok(Some(DpopNonce { lifetime: Duration::from_secs(60), secret: secret.map(Secret::new) }))
        }
    }
}

/// `SECURE_API_RESOURCE_URL`, checked now (an absolute URL without query or fragment), or the
/// URL clients reach this server at.
fn resource_url(
    lookup: &impl Fn(&str) -> Option<String>,
    report: &mut Vec<String>,
    addr: SocketAddr,
    tls: bool,
    public_host: Option<&HttpsRedirect>,
) -> Result<String, ConfigError> {
    let url = match lookup("SECURE_API_RESOURCE_URL").filter(|value| !value.is_empty()) {
        Some(url) => {
            report.push(format!("SECURE_API_RESOURCE_URL={url} (RFC 9728 resource identifier)"));
            url
        }
        None => {
            let url = match public_host {
                Some(host) => host.location(""),
                None => format!("{}://{addr}", if tls { "https" } else { "http" }),
            };
            report.push(format!("SECURE_API_RESOURCE_URL= (default: {url})"));
            url
        }
    };
    let metadata = secure_api::oauth::ResourceMetadata::new(url.clone())
        .map_err(|error| ConfigError::new(format!("SECURE_API_RESOURCE_URL: {error}")))?;
    // The quickstart serves its API, and so its metadata, at the root of the host.
    if metadata.well_known_path() != secure_api::oauth::resource_metadata::WELL_KNOWN_PATH {
        return Err(ConfigError::new("SECURE_API_RESOURCE_URL: the quickstart's resource is the root URL (no path)"));
    }
    Ok(url)
}

/// `redis://user:password@host:6379/0` -> `redis://[credentials hidden]@host:6379/0`.
/// A cluster's list of node URLs is redacted node by node; a `redis+sentinel://` URL lists
/// its sentinels in one authority, after the one set of credentials.
fn redact_url(url: &str) -> String {
    if url.contains(',') && !url.starts_with("redis+sentinel://") {
        return url.split(',').map(|node| redact_url(node.trim())).collect::<Vec<_>>().join(",");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[set, not shown]".to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest.get(..authority_end).and_then(|authority| authority.rfind('@')) {
        Some(at) => format!("{scheme}://[credentials hidden]{}", rest.get(at..).unwrap_or_default()),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
    }

    #[test]
    fn defaults_are_safe_and_reported() {
        let loaded = Config::from_lookup(lookup(&[])).unwrap();
        assert_eq!(loaded.config.addr.to_string(), "127.0.0.1:3000");
        assert!(loaded.config.jwt_secret.expose().len() >= 32);
        assert!(
            loaded
                .report
                .iter()
                .any(|line| line.starts_with("SECURE_API_CLIENT_SECRET=") && line.contains("shown once"))
        );
    }

    #[test]
    fn jwks_url_is_optional_and_reported() {
        let loaded = Config::from_lookup(lookup(&[])).unwrap();
        assert_eq!(loaded.config.jwks_url, None);
        let loaded = Config::from_lookup(lookup(&[("SECURE_API_JWKS_URL", "https://idp.example/jwks.json")])).unwrap();
        assert_eq!(loaded.config.jwks_url.as_deref(), Some("https://idp.example/jwks.json"));
        assert!(loaded.report.iter().any(|line| line == "SECURE_API_JWKS_URL=https://idp.example/jwks.json"));
    }

    #[test]
    fn short_jwt_secret_refuses_to_start() {
        let error = Config::from_lookup(lookup(&[("SECURE_API_JWT_SECRET", "short")])).err().unwrap();
        assert!(error.to_string().contains("32 bytes"));
    }

    #[test]
    fn ip_lists_and_threat_mode() {
        let loaded = Config::from_lookup(lookup(&[
            ("SECURE_API_ALLOW_IPS", "10.0.0.0/8, ::1"),
            ("SECURE_API_DENY_IPS", "10.6.0.0/16"),
            ("SECURE_API_THREAT_MODE", "log"),
        ]))
        .unwrap();
        assert!(loaded.config.ip_rules.allows("10.1.1.1".parse().unwrap()));
        assert!(!loaded.config.ip_rules.allows("10.6.1.1".parse().unwrap()));
        assert_eq!(loaded.config.threat_mode, ThreatMode::LogOnly);
        assert!(Config::from_lookup(lookup(&[("SECURE_API_ALLOW_IPS", "10.0.0.1/8")])).is_err());
        assert!(Config::from_lookup(lookup(&[("SECURE_API_THREAT_MODE", "off")])).is_err());
        assert_eq!(Config::from_lookup(lookup(&[])).unwrap().config.threat_mode, ThreatMode::Block);
    }

    #[test]
    fn tls_needs_both_files() {
        let loaded =
            Config::from_lookup(lookup(&[("SECURE_API_TLS_CERT", "c.pem"), ("SECURE_API_TLS_KEY", "k.pem")])).unwrap();
        assert_eq!(loaded.config.tls, Some(TlsFiles { cert: "c.pem".into(), key: "k.pem".into() }));
        assert!(Config::from_lookup(lookup(&[("SECURE_API_TLS_CERT", "c.pem")])).is_err());
        assert!(Config::from_lookup(lookup(&[("SECURE_API_TLS_KEY", "k.pem")])).is_err());
        assert_eq!(Config::from_lookup(lookup(&[])).unwrap().config.tls, None);
    }

    #[test]
    fn client_cert_header_needs_trusted_proxies() {
        assert!(Config::from_lookup(lookup(&[("SECURE_API_CLIENT_CERT_HEADER", "client-cert")])).is_err());
        let with = |value: &'static str| {
            let pairs: &'static [(&str, &str)] = Box::leak(Box::new([
                ("SECURE_API_TRUSTED_PROXIES", "10.0.0.0/8"),
                ("SECURE_API_CLIENT_CERT_HEADER", value),
            ]));
            Config::from_lookup(lookup(pairs))
        };
        let loaded = with("client-cert").unwrap();
        assert_eq!(loaded.config.trusted_proxies.client_cert_header(), Some(&ClientCertHeader::ClientCert));
        let loaded = with("nginx:X-SSL-Client-Cert").unwrap();
        assert_eq!(
            loaded.config.trusted_proxies.client_cert_header(),
            Some(&ClientCertHeader::NginxEscapedPem(http::HeaderName::from_static("x-ssl-client-cert")))
        );
        assert!(with("x-client-cert").is_err());
        assert!(with("nginx:bad header").is_err());
    }

    #[test]
    fn client_ca_needs_tls() {
        assert!(Config::from_lookup(lookup(&[("SECURE_API_TLS_CLIENT_CA", "ca.pem")])).is_err());
        let loaded = Config::from_lookup(lookup(&[
            ("SECURE_API_TLS_CERT", "c.pem"),
            ("SECURE_API_TLS_KEY", "k.pem"),
            ("SECURE_API_TLS_CLIENT_CA", "ca.pem"),
        ]))
        .unwrap();
        assert_eq!(loaded.config.tls_client_ca, Some(PathBuf::from("ca.pem")));
    }

    #[test]
    fn redirect_listener_needs_tls() {
        assert!(Config::from_lookup(lookup(&[("SECURE_API_HTTP_REDIRECT_ADDR", "127.0.0.1:8080")])).is_err());
        let loaded = Config::from_lookup(lookup(&[
            ("SECURE_API_TLS_CERT", "c.pem"),
            ("SECURE_API_TLS_KEY", "k.pem"),
            ("SECURE_API_HTTP_REDIRECT_ADDR", "127.0.0.1:8080"),
        ]))
        .unwrap();
        assert_eq!(loaded.config.http_redirect_addr, Some("127.0.0.1:8080".parse().unwrap()));
    }

    #[test]
    fn redis_url_selects_the_shared_store_without_printing_its_password() {
        let loaded =
            Config::from_lookup(lookup(&[("SECURE_API_REDIS_URL", "redis://:hunter2@127.0.0.1:6379/0")])).unwrap();
        assert!(loaded.config.redis_url.is_some());
        let printed = loaded.report.join("\n");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("redis://[credentials hidden]@127.0.0.1:6379/0"), "{printed}");
        assert!(Config::from_lookup(lookup(&[("SECURE_API_REDIS_URL", "mysql://x")])).is_err());
        assert!(Config::from_lookup(lookup(&[])).unwrap().config.redis_url.is_none());
    }

    #[test]
    fn proxy_headers_are_validated_reported_and_need_trusted_proxies() {
        let loaded = Config::from_lookup(lookup(&[("SECURE_API_TRUSTED_PROXIES", "10.0.0.0/8")])).unwrap();
        let proxies = &loaded.config.trusted_proxies;
        assert_eq!(proxies.client_ip_header(), ClientIpHeader::XForwardedFor);
        assert_eq!(proxies.proto_header(), ProtoHeader::XForwardedProto);
        assert!(!proxies.trusts_request_id());
        assert!(loaded.report.iter().any(|line| line == "SECURE_API_CLIENT_IP_HEADER=x-forwarded-for (default)"));

        let loaded = Config::from_lookup(lookup(&[
            ("SECURE_API_TRUSTED_PROXIES", "10.0.0.0/8"),
            ("SECURE_API_CLIENT_IP_HEADER", "Forwarded"),
            ("SECURE_API_PROTO_HEADER", "forwarded"),
            ("SECURE_API_TRUST_REQUEST_ID", "1"),
        ]))
        .unwrap();
        let proxies = &loaded.config.trusted_proxies;
        assert_eq!(proxies.client_ip_header(), ClientIpHeader::Forwarded);
        assert_eq!(proxies.proto_header(), ProtoHeader::Forwarded);
        assert!(proxies.trusts_request_id());
        let printed = loaded.report.join("\n");
        assert!(printed.contains("SECURE_API_CLIENT_IP_HEADER=forwarded"), "{printed}");
        assert!(printed.contains("SECURE_API_TRUST_REQUEST_ID=1"), "{printed}");

        for bad in [
            &[("SECURE_API_TRUSTED_PROXIES", "10.0.0.0/8"), ("SECURE_API_CLIENT_IP_HEADER", "true-client-ip")],
            &[("SECURE_API_TRUSTED_PROXIES", "10.0.0.0/8"), ("SECURE_API_PROTO_HEADER", "x-forwarded-for")],
            &[("SECURE_API_TRUSTED_PROXIES", "10.0.0.0/8"), ("SECURE_API_TRUST_REQUEST_ID", "maybe")],
        ] {
            assert!(Config::from_lookup(lookup(bad)).is_err(), "{bad:?}");
        }
        let error = Config::from_lookup(lookup(&[("SECURE_API_CLIENT_IP_HEADER", "x-real-ip")])).err().unwrap();
        assert!(error.to_string().contains("SECURE_API_TRUSTED_PROXIES is empty"), "{error}");
        assert!(Config::from_lookup(lookup(&[("SECURE_API_TRUST_REQUEST_ID", "1")])).is_err());
        let none = Config::from_lookup(lookup(&[
            ("SECURE_API_TRUSTED_PROXIES", "10.0.0.0/8"),
            ("SECURE_API_PROTO_HEADER", "none"),
        ]))
        .unwrap();
        assert_eq!(none.config.trusted_proxies.proto_header(), ProtoHeader::None);
    }

    #[test]
    fn configured_secrets_are_never_printed() {
        let loaded = Config::from_lookup(lookup(&[
            ("SECURE_API_JWT_SECRET", "0123456789abcdef0123456789abcdef-jwt"),
            ("SECURE_API_CLIENT_SECRET", "0123456789abcdef0123456789abcdef-client"),
            ("SECURE_API_API_KEY", "0123456789abcdef0123456789abcdef-key"),
        ]))
        .unwrap();
        let printed = loaded.report.join("\n");
        assert!(!printed.contains("0123456789abcdef"), "{printed}");
    }

    #[test]
    fn connection_limits_and_timeouts_from_the_environment() {
        let loaded = Config::from_lookup(lookup(&[
            ("SECURE_API_MAX_CONNECTIONS", "500"),
            ("SECURE_API_MAX_CONNECTIONS_PER_IP", "8"),
            ("SECURE_API_HEADER_TIMEOUT_SECS", "0.5"),
            ("SECURE_API_IDLE_TIMEOUT_SECS", "20"),
            ("SECURE_API_BODY_TIMEOUT_SECS", "7"),
            ("SECURE_API_TLS_HANDSHAKE_TIMEOUT_SECS", "3"),
            ("SECURE_API_WRITE_TIMEOUT_SECS", "45"),
        ]))
        .unwrap();
        let options = &loaded.config.serve_options;
        assert_eq!((options.limits().total(), options.limits().per_client()), (500, 8));
        assert_eq!(options.header_read_timeout_value(), Duration::from_millis(500));
        assert_eq!(options.idle_timeout_value(), Duration::from_secs(20));
        assert_eq!(options.body_read_timeout_value(), Duration::from_secs(7));
        assert_eq!(options.tls_handshake_timeout_value(), Duration::from_secs(3));
        assert_eq!(options.response_write_timeout_value(), Duration::from_secs(45));
        assert!(loaded.report.iter().any(|line| line == "SECURE_API_HEADER_TIMEOUT_SECS=0.5"), "{:?}", loaded.report);

        let defaults = Config::from_lookup(lookup(&[])).unwrap();
        assert!(defaults.report.iter().any(|line| line == "SECURE_API_MAX_CONNECTIONS=10000 (default)"));
        assert!(defaults.report.iter().any(|line| line == "SECURE_API_HEADER_TIMEOUT_SECS=10 (default)"));
        for (name, bad) in [
            ("SECURE_API_MAX_CONNECTIONS", "0"),
            ("SECURE_API_MAX_CONNECTIONS_PER_IP", "many"),
            ("SECURE_API_HEADER_TIMEOUT_SECS", "0"),
            ("SECURE_API_IDLE_TIMEOUT_SECS", "-1"),
            ("SECURE_API_BODY_TIMEOUT_SECS", "NaN"),
            ("SECURE_API_WRITE_TIMEOUT_SECS", "0"),
        ] {
            let error = Config::from_lookup(|key: &str| (key == name).then(|| bad.to_owned())).err();
            assert!(error.is_some_and(|error| error.to_string().contains(name)), "{name}={bad}");
        }
    }

    #[test]
    fn public_host_is_checked_at_start_up() {
        let loaded = Config::from_lookup(lookup(&[("SECURE_API_PUBLIC_HOST", "api.example.com:8443")])).unwrap();
        assert_eq!(loaded.config.public_host.unwrap().location("/x"), "https://api.example.com:8443/x");
        assert!(Config::from_lookup(lookup(&[("SECURE_API_PUBLIC_HOST", "user@evil.example")])).is_err());
        assert!(Config::from_lookup(lookup(&[])).unwrap().config.public_host.is_none());
    }
}
