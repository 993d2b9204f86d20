//! The quickstart's configuration: all from the environment, each with a safe default.

use std::net::SocketAddr;

use secure_api::{ConfigError, client::TrustedProxies, secret::Secret, secret::random_secret};

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
    /// `SECURE_API_TRUSTED_PROXIES`.
    pub trusted_proxies: TrustedProxies,
    /// `SECURE_API_LOG_FORMAT`.
    pub log_format: LogFormat,
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

        for unsupported in ["SECURE_API_TLS_CERT", "SECURE_API_TLS_KEY", "SECURE_API_REDIS_URL"] {
            if lookup(unsupported).is_some_and(|value| !value.is_empty()) {
                // Serving plain HTTP or limiting per instance when the operator asked for more
                // would be failing open; refuse until this build supports it.
                return Err(ConfigError::new(format!("{unsupported} is not supported by this build yet")));
            }
        }

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
            },
            report,
        })
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
    fn short_jwt_secret_refuses_to_start() {
        let error = Config::from_lookup(lookup(&[("SECURE_API_JWT_SECRET", "short")])).err().unwrap();
        assert!(error.to_string().contains("32 bytes"));
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
}
