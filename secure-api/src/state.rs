//! The application's security configuration, shared with every guard through axum state.

use std::sync::Arc;

use http::HeaderName;

use crate::audit::AuditConfig;
#[cfg(feature = "idp")]
use crate::auth::Introspector;
use crate::auth::challenge::Realm;
use crate::auth::{ApiKeys, AuthConfig, Issuers, JwtVerifier, TokenCache};
use crate::client::TrustedProxies;
use crate::headers::{PreparedHeaders, SecurityHeaders};
use crate::ip_rules::IpRules;
use crate::oauth::TokenEndpoint;
use crate::rate::RateLimits;
use crate::threat::ThreatDetector;

/// Everything the guards need: verifiers, keys, trusted proxies, headers policy, token issuer.
///
/// Put it in your axum state (directly, or as a field with `#[derive(FromRef)]`): every
/// `#[secure]` handler requires `Security: FromRef<S>` of the router's state, so an app that
/// forgot to configure security does not compile.
///
/// # Examples
/// ```
/// use secure_api::{Security, auth::{JwtVerifier, VerificationKey}};
///
/// let security = Security::builder()
///     .realm("items-api")
///     .jwt(
///         JwtVerifier::builder()
///             .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
///             .audience("items-api")
///             .build()
///             .unwrap(),
///     )
///     .build();
/// ```
#[derive(Clone, Debug)]
pub struct Security {
    config: Arc<SecurityConfig>,
}

#[derive(Debug)]
pub(crate) struct SecurityConfig {
    /// Everything authentication and the scope check read (pipeline steps 3 and 5).
    pub(crate) auth: AuthConfig,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) headers: PreparedHeaders,
    pub(crate) token_endpoint: Option<TokenEndpoint>,
    pub(crate) ip_rules: IpRules,
    pub(crate) threat: Option<ThreatDetector>,
    pub(crate) audit: AuditConfig,
    pub(crate) cors: Option<crate::cors::CorsPolicy>,
    pub(crate) rate_limits: RateLimits,
    #[cfg(feature = "metrics")]
    pub(crate) metrics: Option<crate::metrics::Metrics>,
    pub(crate) request_limits: crate::request_limits::RequestLimits,
    pub(crate) penalty_box: Option<crate::rate::PenaltyBox>,
    pub(crate) resource_metadata: Option<crate::oauth::ResourceMetadata>,
}

impl Security {
    /// Starts a configuration. Nothing is accepted until a verifier or keys are added.
    pub fn builder() -> SecurityBuilder {
        SecurityBuilder::default()
    }

    pub(crate) fn config(&self) -> &SecurityConfig {
        &self.config
    }

    /// The trusted issuers and their JWT verifiers, when bearer JWTs are checked
    /// ([`SecurityBuilder::jwt`] or [`SecurityBuilder::issuers`]).
    ///
    /// # Examples
    /// ```
    /// use secure_api::{Security, auth::{JwtVerifier, VerificationKey}};
    ///
    /// let verifier = JwtVerifier::builder()
    ///     .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
    ///     .issuer("https://idp.example")
    ///     .build()
    ///     .unwrap();
    /// let security = Security::builder().jwt(verifier).build();
    /// assert_eq!(security.issuers().unwrap().names().collect::<Vec<_>>(), ["https://idp.example"]);
    /// assert!(Security::builder().build().issuers().is_none());
    /// ```
    pub fn issuers(&self) -> Option<&Issuers> {
        self.config.auth.jwt.as_ref()
    }

    /// The trusted proxies configured for client identity.
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.config.trusted_proxies
    }

    pub(crate) fn cors_layer(&self) -> Option<tower_http::cors::CorsLayer> {
        self.config.cors.as_ref().map(crate::cors::CorsPolicy::layer)
    }

    /// The app-wide IP allow/deny lists.
    pub fn ip_rules(&self) -> &IpRules {
        &self.config.ip_rules
    }

    /// The app's threat detector, if threat detection is on; body extractors use it through
    /// [`threat::check_json`](crate::threat::check_json).
    pub fn threat_detector(&self) -> Option<&ThreatDetector> {
        self.config.threat.as_ref()
    }

    /// The DPoP proof verifier (RFC 9449); see [`crate::auth::dpop`].
    pub fn dpop(&self) -> &crate::auth::dpop::DpopVerifier {
        &self.config.auth.dpop
    }

    /// The rate-limit store and the per-route limiters.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.config.rate_limits
    }

    /// The app's penalty box, when one is configured; an operator lifts a ban with
    /// [`PenaltyBox::lift`](crate::rate::PenaltyBox::lift).
    ///
    /// # Examples
    /// ```
    /// use secure_api::{Security, rate::PenaltyBox};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let security = Security::builder().penalty_box(PenaltyBox::new()).build();
    /// let lifted = security.penalty_box().unwrap().lift("192.0.2.7".parse().unwrap()).await;
    /// assert!(!lifted); // it was not banned
    /// # });
    /// ```
    pub fn penalty_box(&self) -> Option<&crate::rate::PenaltyBox> {
        self.config.penalty_box.as_ref()
    }
}

/// Builds a [`Security`]; see [`Security::builder`].
#[derive(Debug, Default)]
#[must_use]
pub struct SecurityBuilder {
    realm: Option<String>,
    jwt: Option<Issuers>,
    #[cfg(feature = "idp")]
    introspection: Option<Introspector>,
    api_keys: Option<ApiKeys>,
    trusted_proxies: TrustedProxies,
    headers: Option<SecurityHeaders>,
    token_endpoint: Option<TokenEndpoint>,
    ip_rules: IpRules,
    threat: Option<ThreatDetector>,
    audit: AuditConfig,
    cors: Option<crate::cors::CorsPolicy>,
    rate_limits: Option<RateLimits>,
    token_cache: Option<TokenCache>,
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::Metrics>,
    request_limits: crate::request_limits::RequestLimits,
    penalty_box: Option<crate::rate::PenaltyBox>,
    dpop: Option<crate::auth::dpop::DpopVerifier>,
    resource_metadata: Option<crate::oauth::ResourceMetadata>,
}

impl SecurityBuilder {
    /// The protection space named in `WWW-Authenticate` challenges (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Verifies bearer JWTs for `auth = "oauth"` routes with `verifier`, whatever issuer they
    /// name (the verifier's own rules say which it accepts). Replaces any earlier `jwt` or
    /// [`issuers`](Self::issuers).
    pub fn jwt(mut self, verifier: JwtVerifier) -> Self {
        self.jwt = Some(Issuers::from(verifier));
        self
    }

    /// Verifies bearer JWTs for `auth = "oauth"` routes with the verifier of the issuer each
    /// token names, and with no other (see [`Issuers`]). Replaces any earlier
    /// [`jwt`](Self::jwt) or `issuers`.
    ///
    /// # Examples
    /// ```
    /// use secure_api::Security;
    /// use secure_api::auth::{Issuers, JwtVerifier, VerificationKey};
    ///
    /// let verifier = |issuer: &str, secret: &[u8]| {
    ///     JwtVerifier::builder().key(VerificationKey::hs256(secret).unwrap()).issuer(issuer).audience("items-api").build()
    /// };
    /// let issuers = Issuers::builder()
    ///     .trust(verifier("https://login.example.com", b"workforce-idp-secret-of-32-bytes").unwrap())
    ///     .trust(verifier("https://partners.example.net", b"partner-idp-secret-of-32-bytes!!").unwrap())
    ///     .build()
    ///     .unwrap();
    /// let security = Security::builder().issuers(issuers).build();
    /// assert_eq!(security.issuers().unwrap().names().count(), 2);
    /// ```
    pub fn issuers(mut self, issuers: Issuers) -> Self {
        self.jwt = Some(issuers);
        self
    }

    /// Checks opaque bearer tokens with an RFC 7662 introspection endpoint on `auth = "oauth"`
    /// routes. With a JWT verifier too, tokens shaped like a JWT are verified locally and only
    /// the others are introspected.
    #[cfg(feature = "idp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "idp")))]
    pub fn introspection(mut self, introspector: Introspector) -> Self {
        self.introspection = Some(introspector);
        self
    }

    /// The keys for `auth = "api_key"` routes.
    pub fn api_keys(mut self, keys: ApiKeys) -> Self {
        self.api_keys = Some(keys);
        self
    }

    /// The proxies whose forwarding headers are believed, and which one header each for the
    /// client address and the scheme they write (default `X-Forwarded-For` and
    /// `X-Forwarded-Proto`); no other forwarding header is ever read. See [`TrustedProxies`].
    ///
    /// # Examples
    /// ```
    /// use secure_api::{client::ClientIpHeader, Security, client::TrustedProxies};
    ///
    /// let security = Security::builder()
    ///     .trusted_proxies(TrustedProxies::parse("10.0.0.0/8").unwrap().with_client_ip_header(ClientIpHeader::XRealIp))
    ///     .build();
    /// assert_eq!(security.trusted_proxies().client_ip_header(), ClientIpHeader::XRealIp);
    /// ```
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Replaces the default security response headers.
    pub fn headers(mut self, headers: SecurityHeaders) -> Self {
        self.headers = Some(headers);
        self
    }

    /// The OAuth 2.0 token endpoint's clients and signing key; see [`crate::oauth`].
    pub fn token_endpoint(mut self, endpoint: TokenEndpoint) -> Self {
        self.token_endpoint = Some(endpoint);
        self
    }

    /// App-wide IP allow/deny lists, checked for every request (403 `denied:ip_rule`).
    pub fn ip_rules(mut self, rules: IpRules) -> Self {
        self.ip_rules = rules;
        self
    }

    /// Turns threat detection on for every `#[secure]` / `#[public]` route that does not say
    /// `threat = false`; see [`crate::threat`].
    pub fn threat_detection(mut self, detector: ThreatDetector) -> Self {
        self.threat = Some(detector);
        self
    }

    /// What the audit line shows besides the fixed fields (headers, query), and which extra
    /// fields it redacts; see [`AuditConfig`].
    pub fn audit(mut self, audit: AuditConfig) -> Self {
        self.audit = audit;
        self
    }

    /// Allows cross-origin requests as `cors` says. Without it no CORS header is sent and
    /// browsers keep other origins out (the secure default).
    pub fn cors(mut self, cors: crate::cors::CorsPolicy) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Where `rate = "..."` limits are kept: [`RateLimits::in_memory`] (the default) or
    /// `RateLimits::redis` (feature `redis`) to share them between instances.
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// Remembers verified bearer tokens so a reused token skips signature verification; a hit
    /// decides exactly as a fresh verification would. See [`TokenCache`] (off unless set).
    pub fn token_cache(mut self, cache: TokenCache) -> Self {
        self.token_cache = Some(cache);
        self
    }

    /// Counts every response in `metrics` (requests, rejections by reason, latency per route);
    /// serve them on a route of your own. See [`crate::metrics`] (feature `metrics`).
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// How long a request target and how many and how large header fields may be before the
    /// request is refused with 414 / 431 problem+json (defaults: 16 KiB, 100, 32 KiB); see
    /// [`RequestLimits`](crate::request_limits::RequestLimits).
    ///
    /// # Examples
    /// ```
    /// use secure_api::{request_limits::RequestLimits, Security};
    ///
    /// let security = Security::builder().request_limits(RequestLimits::default().max_uri_bytes(8 * 1024)).build();
    /// ```
    pub fn request_limits(mut self, limits: crate::request_limits::RequestLimits) -> Self {
        self.request_limits = limits;
        self
    }

    /// Refuses, on every route and before routing, a client address with too many failed
    /// authentications, threat hits or 429s within a window (off unless set); see
    /// [`PenaltyBox`](crate::rate::PenaltyBox).
    pub fn penalty_box(mut self, penalty_box: crate::rate::PenaltyBox) -> Self {
        self.penalty_box = Some(penalty_box);
        self
    }

    /// How DPoP proofs (RFC 9449) are checked: accepted algorithms, the `iat` window, the size
    /// of the replay cache. DPoP is always on (a DPoP-bound token is useless without it); this
    /// replaces the defaults of [`DpopVerifier::default`](crate::auth::dpop::DpopVerifier).
    ///
    /// # Examples
    /// ```
    /// use secure_api::Security;
    /// use secure_api::auth::{Algorithm, dpop::DpopVerifier};
    ///
    /// let security = Security::builder().dpop(DpopVerifier::builder().algorithms([Algorithm::ES256]).build()).build();
    /// assert_eq!(security.dpop().algorithms_parameter(), "ES256");
    /// ```
    pub fn dpop(mut self, verifier: crate::auth::dpop::DpopVerifier) -> Self {
        self.dpop = Some(verifier);
        self
    }

    /// Publishes RFC 9728 protected-resource metadata (serve it with
    /// [`oauth::metadata_handler`](crate::oauth::metadata_handler)); every 401 challenge then
    /// names it (`resource_metadata="..."`).
    pub fn resource_metadata(mut self, metadata: crate::oauth::ResourceMetadata) -> Self {
        self.resource_metadata = Some(metadata);
        self
    }

    /// Finishes the configuration.
    pub fn build(self) -> Security {
        let api_key_header = self
            .api_keys
            .as_ref()
            .map(|keys| keys.header_name().clone())
            .unwrap_or_else(|| HeaderName::from_static(crate::auth::DEFAULT_API_KEY_HEADER));
        // The app's own API-key header is a credential wherever it is named, and so are its keys.
        let mut audit = self.audit.redact_header(api_key_header.clone());
        if let Some(keys) = &self.api_keys {
            let (description, keys) = (format!("{keys:?}"), keys.clone());
            // Only a value of a key's length is hashed: most logged values are no key.
            audit = audit
                .redact_api_keys(description, move |value| keys.could_be_key(value) && keys.verify(value).is_some());
        }
        let rate_limits = self.rate_limits.unwrap_or_default();
        #[cfg_attr(not(feature = "redis"), allow(unused_mut))]
        let mut dpop = self.dpop.unwrap_or_default();
        // Proofs seen by one instance are refused by all of them when they share a Redis store.
        #[cfg(feature = "redis")]
        if let Some(store) = rate_limits.redis_store() {
            dpop.share_replays(store.clone());
        }
        Security {
            config: Arc::new(SecurityConfig {
                auth: AuthConfig {
                    realm: Realm {
                        name: self.realm.unwrap_or_else(|| "api".to_owned()),
                        api_key_header,
                        resource_metadata: self.resource_metadata.as_ref().map(crate::oauth::ResourceMetadata::url),
                    },
                    jwt: self.jwt,
                    #[cfg(feature = "idp")]
                    introspection: self.introspection,
                    api_keys: self.api_keys,
                    token_cache: self.token_cache,
                    dpop,
                },
                trusted_proxies: self.trusted_proxies,
                headers: PreparedHeaders::new(self.headers.unwrap_or_default()),
                token_endpoint: self.token_endpoint,
                ip_rules: self.ip_rules,
                threat: self.threat,
                audit,
                cors: self.cors,
                rate_limits,
                #[cfg(feature = "metrics")]
                metrics: self.metrics,
                request_limits: self.request_limits,
                penalty_box: self.penalty_box,
                resource_metadata: self.resource_metadata,
            }),
        }
    }
}

/// Threat detection reads the app's detector through this, so `threat` need not know the state.
impl crate::threat::DetectorSource for Security {
    fn threat_detector(&self) -> Option<&ThreatDetector> {
        self.config.threat.as_ref()
    }
}

/// The app's [`Metrics`](crate::metrics::Metrics), for the handler that serves them. Here, with
/// the `Security` that holds them, so the metrics module need not know the state. Without
/// metrics configured it answers 500 and logs why.
#[cfg(feature = "metrics")]
impl<S> axum::extract::FromRequestParts<S> for crate::metrics::Metrics
where
    Security: axum::extract::FromRef<S>,
    S: Send + Sync,
{
    type Rejection = crate::problem::Problem;

    async fn from_request_parts(_parts: &mut http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        <Security as axum::extract::FromRef<S>>::from_ref(state).config().metrics.clone().ok_or_else(|| {
            tracing::error!(
                target: "secure_api::metrics",
                "a handler takes `Metrics`, but the app's `Security` has none; add them with `SecurityBuilder::metrics`"
            );
            crate::problem::Problem::new(http::StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal Server Error")
        })
    }
}
