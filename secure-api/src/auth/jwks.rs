//! [`JwksKeys`]: a provider's published key set (documented on the item, where `secure_api::auth` shows it).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use jsonwebtoken::Algorithm;
use reqwest::Url;
use serde_json::Value;

use crate::auth::fetch::{self, FetchError};
use crate::auth::key::{VerificationKey, parse_key_set};
use crate::config::ConfigError;
use crate::outage::Outage;

/// Default time between background refreshes.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Default minimum time between two fetches, whatever triggers them.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// Keys an identity provider publishes as a JWKS (RFC 7517), cached and kept fresh.
///
/// What can go wrong with JWKS, and what this module does about it:
/// - **a key rotation**: the key set is refetched in the background on an interval, and at once
///   when a token names a `kid` we do not know, so the new key is accepted without a restart;
/// - **floods of foreign `kid`s**: those refetches are throttled (one per 10 s by default) and
///   single-flight, so an attacker cannot make us hammer the provider;
/// - **algorithm confusion**: each published key becomes a [`VerificationKey`] bound to exactly
///   one asymmetric algorithm from the configured allow-list; `oct` (shared-secret) keys,
///   encryption keys and keys whose `kty` does not fit their `alg` are skipped;
/// - **a provider outage**: the last good key set stays in use; failures are logged once per
///   outage, never per request;
/// - **tampering in transit**: https only (loopback excepted), no redirects, bounded responses;
/// - **an oversized key set**: keys after the first 100 of one set are ignored (a debug event says so).
///
/// Token headers never point us anywhere: `jku`, `x5u` and embedded `jwk` are not read.
///
/// A provider's signing keys, fetched from its JWKS URL, cached, and refreshed in the
/// background and on unknown key ids. Cheap to clone: clones share one cache.
///
/// Plug it into a [`JwtVerifier`](crate::auth::JwtVerifier) with
/// [`JwtVerifierBuilder::jwks`](crate::auth::JwtVerifierBuilder::jwks); use
/// [`discover`](crate::auth::discover) to find the JWKS URL from an issuer.
///
/// # Examples
/// ```no_run
/// use std::time::Duration;
/// use secure_api::auth::{Algorithm, JwksKeys, JwtVerifier};
///
/// # async fn run() -> Result<(), secure_api::ConfigError> {
/// let keys = JwksKeys::builder("https://idp.example/.well-known/jwks.json")
///     .algorithms([Algorithm::RS256, Algorithm::ES256])
///     .refresh_interval(Duration::from_secs(600))
///     .build()
///     .await?; // fails if the first fetch fails or yields no usable key
/// let verifier = JwtVerifier::builder()
///     .jwks(keys)
///     .issuer("https://idp.example/")
///     .audience("items-api")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwksKeys {
    shared: Arc<Shared>,
}

struct Shared {
    url: Url,
    client: reqwest::Client,
    algorithms: Vec<Algorithm>,
    min_refresh_interval: Duration,
    keys: ArcSwap<Vec<VerificationKey>>,
    /// Bumped after every successful fetch; lets waiters see that someone else refreshed.
    generation: AtomicU64,
    /// A fetch has succeeded at least once.
    loaded: AtomicBool,
    /// Fetches are failing: logged once per outage.
    outage: Outage,
    /// Held during a fetch (single flight); holds the time of the last attempt (throttle).
    last_attempt: tokio::sync::Mutex<Option<Instant>>,
    /// The background refresher, stopped when the last handle goes.
    refresher: OnceLock<tokio::task::AbortHandle>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(task) = self.refresher.get() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for JwksKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksKeys")
            .field("url", &self.shared.url.as_str())
            .field("algorithms", &self.shared.algorithms)
            .field("keys", &self.shared.keys.load().len())
            .finish_non_exhaustive()
    }
}

/// What a refresh request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refresh {
    /// A new key set was fetched (by this call or by one it waited for).
    Updated,
    /// The last fetch was too recent; nothing was fetched.
    Throttled,
    /// The fetch failed; the previous keys stay in use.
    Failed,
}

/// Builds [`JwksKeys`]; see [`JwksKeys::builder`].
#[derive(Debug)]
#[must_use]
pub struct JwksBuilder {
    url: String,
    algorithms: Vec<Algorithm>,
    refresh_interval: Duration,
    min_refresh_interval: Duration,
    require_initial_keys: bool,
    timeout: Duration,
    allow_http: bool,
}

impl JwksKeys {
    /// Starts configuring the key set published at `url`.
    ///
    /// Defaults: algorithms `[RS256]`, refresh every 5 min, at most one fetch per 10 s,
    /// start-up fails if the first fetch fails, 10 s timeout, https only (loopback excepted).
    pub fn builder(url: impl Into<String>) -> JwksBuilder {
        JwksBuilder {
            url: url.into(),
            algorithms: vec![Algorithm::RS256],
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
            require_initial_keys: true,
            timeout: fetch::DEFAULT_TIMEOUT,
            allow_http: false,
        }
    }

    /// The JWKS URL.
    pub fn url(&self) -> &str {
        self.shared.url.as_str()
    }

    /// The algorithms keys from this set may use.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.shared.algorithms
    }

    /// Whether keys from this set may verify tokens signed with `algorithm`.
    pub fn allows(&self, algorithm: Algorithm) -> bool {
        self.shared.algorithms.contains(&algorithm)
    }

    /// The ids of the keys currently in use (keys without a `kid` are not listed).
    pub fn key_ids(&self) -> Vec<String> {
        self.shared.keys.load().iter().filter_map(|key| key.kid().map(str::to_owned)).collect()
    }

    /// Whether a fetch has succeeded yet (false only when built with
    /// [`JwksBuilder::require_initial_keys`]`(false)` and the provider was unreachable).
    pub fn is_loaded(&self) -> bool {
        self.shared.loaded.load(Ordering::Acquire)
    }

    /// Refetches the key set now unless a fetch happened within the minimum refresh interval
    /// (or one is running, in which case this waits for it). Unknown key ids call this.
    pub async fn refresh(&self) -> Refresh {
        self.shared.refresh_throttled().await
    }

    /// The current keys; cheap, lock-free, never waits for a refresh.
    pub(crate) fn snapshot(&self) -> arc_swap::Guard<Arc<Vec<VerificationKey>>> {
        self.shared.keys.load()
    }
}

impl JwksBuilder {
    /// The algorithms published keys may use (the allow-list). A key whose `alg` is not listed
    /// is skipped; a key without `alg` is used only when its type fits exactly one listed
    /// algorithm (an EC P-256 key with `ES256`, an Ed25519 key with `EdDSA`, an RSA key when one
    /// RSA algorithm is listed). HMAC algorithms are refused: a JWKS never holds shared secrets.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Time between background refreshes (default 5 min).
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Minimum time between two fetches, however they are triggered (default 10 s). This is
    /// what stops a flood of unknown key ids from becoming a flood of provider requests.
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// Whether start-up fails when the first fetch fails or yields no usable key (default
    /// `true`). With `false`, tokens are refused with 503 until a background or on-demand
    /// fetch succeeds.
    pub fn require_initial_keys(mut self, required: bool) -> Self {
        self.require_initial_keys = required;
        self
    }

    /// Total time allowed for one fetch (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Allows a plain-http URL to a non-loopback host (development only: whoever can rewrite
    /// the key set in transit can mint tokens).
    pub fn allow_http(mut self, allowed: bool) -> Self {
        self.allow_http = allowed;
        self
    }

    /// Checks the configuration, fetches the keys once, and starts the background refresher.
    /// Must run inside a Tokio runtime.
    pub async fn build(self) -> Result<JwksKeys, ConfigError> {
        let url = fetch::provider_url("JWKS URL", &self.url, self.allow_http)?;
        if self.algorithms.is_empty() {
            return Err(ConfigError::new("the JWKS allow-list of algorithms is empty"));
        }
        if let Some(hmac) = self.algorithms.iter().find(|alg| alg.family() == jsonwebtoken::AlgorithmFamily::Hmac) {
            return Err(ConfigError::new(format!(
                "{hmac:?} cannot be used with a JWKS: published key sets hold public keys only"
            )));
        }
        if self.min_refresh_interval.is_zero() {
            return Err(ConfigError::new("the JWKS minimum refresh interval must be greater than zero"));
        }
        if self.refresh_interval < self.min_refresh_interval {
            return Err(ConfigError::new(
                "the JWKS refresh interval must not be shorter than the minimum refresh interval",
            ));
        }
        let shared = Arc::new(Shared {
            client: fetch::client(self.timeout)?,
            url,
            algorithms: self.algorithms,
            min_refresh_interval: self.min_refresh_interval,
            keys: ArcSwap::from_pointee(Vec::new()),
            generation: AtomicU64::new(0),
            loaded: AtomicBool::new(false),
            outage: Outage::new(),
            last_attempt: tokio::sync::Mutex::new(None),
            refresher: OnceLock::new(),
        });
        {
            let mut last = shared.last_attempt.lock().await;
            *last = Some(Instant::now());
            match shared.fetch().await {
                Ok(keys) => shared.store(keys),
                Err(error) if self.require_initial_keys => {
                    return Err(ConfigError::new(format!(
                        "cannot load the JWKS from {}: {error}",
                        shared.url.as_str()
                    )));
                }
                Err(error) => {
                    shared.outage.failed();
                    tracing::error!(
                        target: "secure_api::auth",
                        url = shared.url.as_str(),
                        error = crate::audit::LogSafe::display(&error).as_str(),
                        "cannot load the JWKS at start-up; bearer tokens are refused until it loads"
                    );
                }
            }
        }
        let task = tokio::spawn(refresh_periodically(Arc::downgrade(&shared), self.refresh_interval));
        let _ = shared.refresher.set(task.abort_handle());
        Ok(JwksKeys { shared })
    }
}

async fn refresh_periodically(shared: Weak<Shared>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.refresh_throttled().await;
    }
}

/// Why a fetched JWKS could not be used.
#[derive(Debug)]
enum LoadError {
    Fetch(FetchError),
    NotAKeySet,
    NoUsableKey { skipped: Vec<String> },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fetch(error) => error.fmt(f),
            Self::NotAKeySet => f.write_str("the response is not a JWK set (no `keys` array)"),
            Self::NoUsableKey { skipped } if skipped.is_empty() => f.write_str("the JWK set is empty"),
            Self::NoUsableKey { skipped } => {
                write!(f, "the JWK set has no usable key ({})", skipped.join("; "))
            }
        }
    }
}

impl Shared {
    async fn fetch(&self) -> Result<Vec<VerificationKey>, LoadError> {
        let document: Value = fetch::get_json(&self.client, &self.url).await.map_err(LoadError::Fetch)?;
        let (keys, skipped) = parse_key_set(&document, &self.algorithms).ok_or(LoadError::NotAKeySet)?;
        for reason in &skipped {
            tracing::debug!(
                target: "secure_api::auth",
                url = self.url.as_str(),
                reason = crate::audit::LogSafe::display(&reason).as_str(),
                "JWK skipped"
            );
        }
        if keys.is_empty() {
            return Err(LoadError::NoUsableKey { skipped });
        }
        Ok(keys)
    }

    fn store(&self, keys: Vec<VerificationKey>) {
        tracing::debug!(target: "secure_api::auth", url = self.url.as_str(), keys = keys.len(), "JWKS loaded");
        self.keys.store(Arc::new(keys));
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.loaded.store(true, Ordering::Release);
        if self.outage.recovered() {
            tracing::info!(target: "secure_api::auth", url = self.url.as_str(), "JWKS fetches work again");
        }
    }

    async fn refresh_throttled(&self) -> Refresh {
        let seen = self.generation.load(Ordering::Acquire);
        let mut last = self.last_attempt.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            // Someone refreshed while we waited for the lock: use their result.
            return Refresh::Updated;
        }
        if last.is_some_and(|at| at.elapsed() < self.min_refresh_interval) {
            return Refresh::Throttled;
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                self.store(keys);
                Refresh::Updated
            }
            Err(error) => {
                // One line per outage, not per request; the old keys stay in use.
                if self.outage.failed() {
                    tracing::error!(
                        target: "secure_api::auth",
                        url = self.url.as_str(),
                        error = crate::audit::LogSafe::display(&error).as_str(),
                        "JWKS refresh failed; keeping the previous keys"
                    );
                } else {
                    tracing::debug!(
                        target: "secure_api::auth",
                        error = crate::audit::LogSafe::display(&error).as_str(),
                        "JWKS refresh failed again"
                    );
                }
                Refresh::Failed
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn configuration_mistakes_are_refused_before_fetching() {
        let hmac = JwksKeys::builder("https://idp.example/jwks").algorithms([Algorithm::HS256]).build().await;
        assert!(hmac.unwrap_err().to_string().contains("public keys only"));
        let http = JwksKeys::builder("http://idp.example/jwks").build().await;
        assert!(http.unwrap_err().to_string().contains("https"));
        let intervals = JwksKeys::builder("https://idp.example/jwks")
            .refresh_interval(Duration::from_secs(1))
            .min_refresh_interval(Duration::from_secs(10))
            .build()
            .await;
        assert!(intervals.is_err());
    }
}
