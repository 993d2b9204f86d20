//! The self-scan: every route probed the way an attacker would, each answer checked against the
//! policy the route declared.

mod dpop;
mod mtls;
mod objects;
mod step_up;

use std::any::Any;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::Body;
use http::{Method, StatusCode};

use super::{DpopKey, Reply, TokenFactory, bearer, request, send, with_peer};
use crate::auth::AuthScheme;
use crate::rate::RateKeyKind;
use crate::threat::ThreatMode;
use crate::{SecureApp, Security, policy::RoutePolicy, policy::Validation, routing::RouteInfo};
use objects::ForeignObject;

/// What the scan may use to act as a legitimate client: the token factory the app trusts and,
/// optionally, a valid API key with its scopes.
///
/// # Examples
/// ```
/// use secure_api::testing::{ScanCredentials, TokenFactory};
///
/// let credentials = ScanCredentials::new(TokenFactory::hs256(b"secret", "https://issuer", "my-api"))
///     .api_key("test-api-key", ["reports:read"])
///     .max_burst(500);
/// # let _ = credentials;
/// ```
#[derive(Clone, Debug)]
pub struct ScanCredentials {
    tokens: TokenFactory,
    api_key: Option<(crate::secret::Secret<String>, Vec<String>)>,
    api_key_header: String,
    threat: ThreatSetting,
    max_burst: u32,
    objects: Vec<ForeignObject>,
    /// The client key of DPoP-bound tokens (RFC 9449): every request with one carries a fresh proof.
    dpop_key: DpopKey,
}

/// What the app does with an injection in a request, as far as the scan knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ThreatSetting {
    /// Not said, and the app is not a [`SecureApp`]: injections must not cause a 5xx or a leak.
    Unknown,
    /// Threat detection blocks: `403` on every route that does not say `threat = false`.
    Blocks,
    /// Threat detection only logs (`ThreatMode::LogOnly`): the request goes on, and must be
    /// handled without a 5xx.
    LogsOnly,
    /// No threat detection: the injection probes are skipped.
    Off,
}

impl ThreatSetting {
    fn of(security: &Security) -> Self {
        match security.threat_detector().map(|detector| detector.mode()) {
            None => Self::Off,
            Some(ThreatMode::Block) => Self::Blocks,
            Some(ThreatMode::LogOnly) => Self::LogsOnly,
        }
    }
}

impl ScanCredentials {
    /// Credentials with `tokens` (the app's issuer, audience and key) and no API key.
    pub fn new(tokens: TokenFactory) -> Self {
        Self {
            tokens,
            api_key: None,
            api_key_header: crate::auth::DEFAULT_API_KEY_HEADER.to_owned(),
            threat: ThreatSetting::Unknown,
            max_burst: 1000,
            objects: Vec::new(),
            dpop_key: DpopKey::test_key(),
        }
    }

    /// A valid API key and the scopes it grants (for `api_key` routes).
    pub fn api_key<I, T>(mut self, key: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.api_key = Some((crate::secret::Secret::new(key.into()), scopes.into_iter().map(Into::into).collect()));
        self
    }

    /// The API key header, when the app configured another than `x-api-key`.
    pub fn api_key_header(mut self, name: impl Into<String>) -> Self {
        self.api_key_header = name.into().to_ascii_lowercase();
        self
    }

    /// The app runs without threat detection: skip the injection probes.
    ///
    /// Not needed when the scanned app is a [`SecureApp`]: [`scan`] reads its threat setting.
    pub fn without_threat_detection(mut self) -> Self {
        self.threat = ThreatSetting::Off;
        self
    }

    /// Expect the injection probes to be answered the way `security`'s threat detection does:
    /// `403` when it blocks, handled without a 5xx when it only logs, skipped when it is off.
    /// [`scan`] does this itself for a [`SecureApp`]; use it for an app wrapped in other
    /// services.
    ///
    /// # Examples
    /// ```
    /// use secure_api::testing::{ScanCredentials, TokenFactory};
    /// use secure_api::threat::{ThreatDetector, ThreatMode};
    ///
    /// let security = secure_api::Security::builder()
    ///     .threat_detection(ThreatDetector::new(ThreatMode::LogOnly).unwrap())
    ///     .build();
    /// let tokens = TokenFactory::hs256(b"0123456789abcdef0123456789abcdef", "https://issuer", "my-api");
    /// let credentials = ScanCredentials::new(tokens).threat_detection_of(&security);
    /// # let _ = credentials;
    /// ```
    pub fn threat_detection_of(mut self, security: &Security) -> Self {
        self.threat = ThreatSetting::of(security);
        self
    }

    /// Names an object that belongs to another principal: `id` of the route pattern `path`
    /// (`"/api/items/{id}"`), and the bearer token of a principal who does not own it (with
    /// the route's scopes). The scan requests the object with that token on every route of
    /// `path` ([`Probe::ObjectOwnedByOther`]); a `2xx` is a finding (OWASP API1, broken
    /// object-level authorization), and so is a `401` (the token proves nothing then).
    /// Call it once per object to check.
    ///
    /// # Examples
    /// ```
    /// use secure_api::testing::{ScanCredentials, TokenFactory};
    ///
    /// let tokens = TokenFactory::hs256(b"secret", "https://issuer", "my-api");
    /// let mallory = tokens.token_for("mallory", &["items:read"]);
    /// // Item 42 was created by alice in the test's setup.
    /// let credentials = ScanCredentials::new(tokens).object_owned_by_other("/api/items/{id}", "42", mallory);
    /// # let _ = credentials;
    /// ```
    pub fn object_owned_by_other(
        self,
        path: impl Into<String>,
        id: impl Into<String>,
        other_principal_token: impl Into<String>,
    ) -> Self {
        let authorization = bearer(&other_principal_token.into());
        self.object_owned_by_other_with(path, id, [("authorization", authorization)])
    }

    /// [`object_owned_by_other`](Self::object_owned_by_other) with the other principal's
    /// credentials as request headers (an API key, a session cookie, ...).
    pub fn object_owned_by_other_with<I, N, V>(
        mut self,
        path: impl Into<String>,
        id: impl Into<String>,
        headers: I,
    ) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        let headers = headers
            .into_iter()
            .map(|(name, value)| (name.into().to_ascii_lowercase(), crate::secret::Secret::new(value.into())))
            .collect();
        self.objects.push(ForeignObject { path: path.into(), id: id.into(), headers });
        self
    }

    /// Rate-limit bursts above this many requests are reported as skipped (default 1000).
    pub fn max_burst(mut self, requests: u32) -> Self {
        self.max_burst = requests;
        self
    }
}

/// One attack the scan sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Probe {
    /// No credentials at all.
    NoCredentials,
    /// `Authorization: Bearer` with a string that is no token.
    GarbageToken,
    /// An unsigned token (`alg: none`).
    AlgNone,
    /// An expired token.
    Expired,
    /// A token for another audience.
    WrongAudience,
    /// A token from another issuer.
    WrongIssuer,
    /// A token naming another issuer the app trusts (with several
    /// [`Issuers`](crate::auth::Issuers)), signed with the credentials' key: each issuer's
    /// tokens must verify with that issuer's keys alone.
    IssuerConfusion,
    /// A token signed by a key the app does not trust.
    OtherKey,
    /// A token whose payload was rewritten after signing.
    Tampered,
    /// A signed token without `exp`.
    MissingExp,
    /// An API key the app never issued.
    GarbageApiKey,
    /// A valid token without the route's scopes.
    InsufficientScope,
    /// A valid API key on a route that accepts only bearer tokens.
    ApiKeyOnBearerRoute,
    /// A valid bearer token on a route that accepts only API keys.
    BearerOnApiKeyRoute,
    /// Valid credentials with the route's scopes (must not be refused as unauthenticated).
    ValidCredentials,
    /// A body that is not JSON.
    MalformedJson,
    /// A JSON body of the wrong type (a string where an object is expected).
    WrongType,
    /// A JSON object with a field the request type does not know.
    UnknownField,
    /// A body one byte over the route's `max_body`.
    OversizedBody,
    /// A JSON body sent as `text/plain`.
    WrongContentType,
    /// A path parameter no typed parameter accepts (`/items/scan-wrong-type` for
    /// `/items/{id}`), with valid credentials: refused as a problem, never a 5xx.
    WrongTypePathParam,
    /// SQL injection in a query parameter.
    SqlInjection,
    /// Script injection in a query parameter.
    XssInjection,
    /// A request from a network in the route's `deny_ips`.
    DeniedIp,
    /// `N + 1` requests against a route limited to `N`.
    RateBurst,
    /// Another principal's object, requested with a principal who does not own it
    /// ([`ScanCredentials::object_owned_by_other`]).
    ObjectOwnedByOther,
    /// A valid plain bearer token on a route that requires DPoP-bound tokens (`bound = "dpop"`).
    BearerOnBoundRoute,
    /// A DPoP-bound token sent as `Bearer`, with a valid proof (RFC 9449 §7.2).
    BoundTokenAsBearer,
    /// A DPoP request sent twice with the same proof (the second must be refused).
    ReplayedProof,
    /// A DPoP proof made for another URL.
    ProofForOtherUrl,
    /// A certificate-bound token (RFC 8705) over a connection that presented no certificate.
    CertificateBoundWithoutCertificate,
    /// A certificate-bound token over a connection that presented another client's certificate.
    OtherClientCertificate,
    /// A token whose `acr` is not one the route accepts (`acr = [...]`, RFC 9470).
    StepUpWrongAcr,
    /// A token without `acr` on a route with `acr = [...]`.
    StepUpMissingAcr,
    /// A token whose `auth_time` is a day older than the route's `max_age` allows.
    StepUpStaleAuthTime,
    /// A token without `auth_time` on a route with `max_age`.
    StepUpMissingAuthTime,
}

impl Probe {
    /// The probe's name in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoCredentials => "no-credentials",
            Self::GarbageToken => "garbage-token",
            Self::AlgNone => "alg-none",
            Self::Expired => "expired-token",
            Self::WrongAudience => "wrong-audience",
            Self::WrongIssuer => "wrong-issuer",
            Self::IssuerConfusion => "issuer-confusion",
            Self::OtherKey => "other-key",
            Self::Tampered => "tampered-token",
            Self::MissingExp => "missing-exp",
            Self::GarbageApiKey => "garbage-api-key",
            Self::InsufficientScope => "insufficient-scope",
            Self::ApiKeyOnBearerRoute => "api-key-on-oauth-route",
            Self::BearerOnApiKeyRoute => "bearer-on-api-key-route",
            Self::ValidCredentials => "valid-credentials",
            Self::MalformedJson => "malformed-json",
            Self::WrongType => "wrong-type",
            Self::UnknownField => "unknown-field",
            Self::OversizedBody => "oversized-body",
            Self::WrongContentType => "wrong-content-type",
            Self::WrongTypePathParam => "wrong-type-path-param",
            Self::SqlInjection => "sql-injection",
            Self::XssInjection => "xss-injection",
            Self::DeniedIp => "denied-ip",
            Self::RateBurst => "rate-burst",
            Self::ObjectOwnedByOther => "object-owned-by-other",
            Self::BearerOnBoundRoute => "bearer-on-bound-route",
            Self::BoundTokenAsBearer => "bound-token-as-bearer",
            Self::ReplayedProof => "replayed-dpop-proof",
            Self::ProofForOtherUrl => "dpop-proof-for-other-url",
            Self::CertificateBoundWithoutCertificate => "certificate-bound-token-without-certificate",
            Self::OtherClientCertificate => "other-client-certificate",
            Self::StepUpWrongAcr => "step-up-wrong-acr",
            Self::StepUpMissingAcr => "step-up-missing-acr",
            Self::StepUpStaleAuthTime => "step-up-stale-auth-time",
            Self::StepUpMissingAuthTime => "step-up-missing-auth-time",
        }
    }

    /// Whether the probe presents a forged or wrong credential (never answered with 2xx).
    pub const fn is_forged(self) -> bool {
        matches!(
            self,
            Self::GarbageToken
                | Self::AlgNone
                | Self::Expired
                | Self::WrongAudience
                | Self::WrongIssuer
                | Self::OtherKey
                | Self::Tampered
                | Self::MissingExp
                | Self::IssuerConfusion
                | Self::GarbageApiKey
                | Self::ApiKeyOnBearerRoute
                | Self::BearerOnApiKeyRoute
                | Self::BearerOnBoundRoute
                | Self::BoundTokenAsBearer
                | Self::ReplayedProof
                | Self::ProofForOtherUrl
                | Self::CertificateBoundWithoutCertificate
                | Self::OtherClientCertificate
                | Self::StepUpWrongAcr
                | Self::StepUpMissingAcr
                | Self::StepUpStaleAuthTime
                | Self::StepUpMissingAuthTime
        )
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the route's policy says the answer must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Exactly this status.
    Status(u16),
    /// A public route: any answer but 5xx (and the generic checks).
    Public,
    /// Valid credentials: not refused as unauthenticated or forbidden.
    Admitted,
    /// `429` (with `Retry-After`) on request `N + 1`, and not before for a fresh client.
    RateLimited(u32),
    /// Any answer but 5xx (a route that opted out of validation handles bad input itself).
    Handled,
    /// Refused: any `4xx` but `401` (`403`, or `404` so the object's existence does not leak).
    Refused,
    /// The probe was not run.
    NotRun,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "{status}"),
            Self::Public => f.write_str("public"),
            Self::Admitted => f.write_str("not 401/403"),
            Self::RateLimited(count) => write!(f, "429 after {count}"),
            Self::Handled => f.write_str("not 5xx"),
            Self::Refused => f.write_str("4xx, not 401"),
            Self::NotRun => f.write_str("-"),
        }
    }
}

/// The outcome of one probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The answer matched the policy.
    Pass,
    /// The answer broke the policy; the reasons.
    Finding(Vec<String>),
    /// The probe was not run; why.
    Skipped(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pass => f.write_str("ok"),
            Self::Finding(reasons) => write!(f, "FINDING: {}", reasons.join("; ")),
            Self::Skipped(reason) => write!(f, "skipped: {reason}"),
        }
    }
}

/// One row of the report: a route, a probe, what was expected and what came back.
#[derive(Clone, Debug)]
pub struct ScanRow {
    /// The route's method.
    pub method: Method,
    /// The route's path as registered (e.g. `/api/items/{id}`).
    pub path: String,
    /// The probe.
    pub probe: Probe,
    /// What the policy demands.
    pub expected: Expected,
    /// The status received (the last one for a burst), if the probe ran.
    pub got: Option<StatusCode>,
    /// Pass, finding or skipped.
    pub verdict: Verdict,
}

impl ScanRow {
    /// Whether this row is a finding.
    pub fn is_finding(&self) -> bool {
        matches!(self.verdict, Verdict::Finding(_))
    }
}

/// The scan's result: one row per route and probe. Prints as a text table.
///
/// # Examples
/// ```
/// use secure_api::testing::ScanReport;
///
/// let report = ScanReport::default();
/// assert!(report.is_clean());
/// report.assert_clean();
/// ```
#[derive(Clone, Debug, Default)]
pub struct ScanReport {
    rows: Vec<ScanRow>,
}

impl ScanReport {
    /// Every row.
    pub fn rows(&self) -> &[ScanRow] {
        &self.rows
    }

    /// The rows that broke their route's policy.
    pub fn findings(&self) -> impl Iterator<Item = &ScanRow> {
        self.rows.iter().filter(|row| row.is_finding())
    }

    /// The finding for `method path` and `probe`, if any.
    pub fn finding(&self, method: &Method, path: &str, probe: Probe) -> Option<&ScanRow> {
        self.findings().find(|row| row.method == *method && row.path == path && row.probe == probe)
    }

    /// Whether no probe found anything.
    pub fn is_clean(&self) -> bool {
        self.findings().next().is_none()
    }

    /// Panics (failing the calling test) listing every finding, followed by the whole table.
    pub fn assert_clean(&self) {
        let findings: Vec<String> = self
            .findings()
            .map(|row| {
                let got = row.got.map_or_else(|| "-".to_owned(), |status| status.as_u16().to_string());
                format!(
                    "  {} {} [{}]: expected {}, got {}: {}",
                    row.method, row.path, row.probe, row.expected, got, row.verdict
                )
            })
            .collect();
        if !findings.is_empty() {
            panic!("security scan: {} finding(s)\n{}\n\n{self}", findings.len(), findings.join("\n"));
        }
    }
}

impl fmt::Display for ScanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = ["METHOD", "PATH", "PROBE", "EXPECTED", "GOT", "VERDICT"];
        let cells: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|row| {
                [
                    row.method.to_string(),
                    row.path.clone(),
                    row.probe.to_string(),
                    row.expected.to_string(),
                    row.got.map_or_else(|| "-".to_owned(), |status| status.as_u16().to_string()),
                    row.verdict.to_string(),
                ]
            })
            .collect();
        crate::report::table(f, &header, &cells)
    }
}

/// The issuers `security` trusts other than `own`, when it has one verifier per issuer (a
/// single verifier listing several issuers verifies them all with the same keys by design).
fn other_trusted_issuers(security: &Security, own: &str) -> Vec<String> {
    security
        .issuers()
        .filter(|issuers| issuers.verifiers().count() > 1)
        .map(|issuers| issuers.names().filter(|name| *name != own).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Text fragments that must never reach a client in an error body.
const INTERNALS: [&str; 9] =
    ["secure_api", "jsonwebtoken", "axum::", "serde", ".rs:", "panicked", "src/", "::", "RUST_BACKTRACE"];

/// Scans every route in `routes` (from [`SecureApp::routes`](crate::SecureApp::routes))
/// by sending attacker requests to `app` without a socket, and checks each answer against the
/// route's declared policy. See the [module docs](super) for the one-line use.
///
/// Per route: missing, garbage and forged credentials (`401` with `WWW-Authenticate`), a token
/// without the route's scopes (`403`), the wrong scheme, valid credentials (admitted), for
/// validated body routes malformed JSON (`400`), a wrong type and an unknown field (`422`), an
/// oversized body (`413`) and a wrong content type (`415`), a path parameter of the wrong type
/// (refused as a problem, not a 5xx), for a [`SecureApp`] trusting several
/// [`Issuers`](crate::auth::Issuers) a token naming each other trusted issuer signed with the
/// credentials' key (`401`: `issuer-confusion`), SQL and script injection in the
/// query, a denied IP (`403`), sender-constrained tokens on `oauth` routes (a plain token on a
/// `bound` route, a DPoP-bound token sent as `Bearer`, a replayed proof, a proof for another URL,
/// a certificate-bound token without its certificate or with another client's: `401`), each
/// object named with
/// [`ScanCredentials::object_owned_by_other`] asked for by a principal who does not own it
/// (refused, never `2xx`), and last a burst one over the route's rate (`429` with
/// `Retry-After`). Every answer: never 5xx, never 2xx for a forged credential,
/// `X-Content-Type-Options: nosniff`, errors as `application/problem+json` without internal
/// detail.
///
/// The injection probes follow the app's own threat setting: when `app` is a
/// [`SecureApp`], its threat detection decides (`403` when it blocks, handled without a 5xx
/// when it only logs, skipped when it is off; routes with `threat = false` are skipped);
/// [`ScanCredentials::threat_detection_of`] and [`ScanCredentials::without_threat_detection`]
/// say it for other services, which are otherwise only held to "no 5xx, no leak".
///
/// Each probe comes from a fresh client address and a fresh principal, so no probe family
/// spends another's rate budget (limits keyed by IP, principal or header); a limit keyed by
/// the one API key of the credentials is shared, and its burst accepts an early `429`.
pub async fn scan<A>(routes: &[RouteInfo], app: &A, credentials: &ScanCredentials) -> ScanReport
where
    A: tower::Service<http::Request<Body>, Response = axum::response::Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + 'static,
    A::Future: Send + 'static,
{
    // The app's own threat setting, unless the credentials say otherwise.
    let threat = match (credentials.threat, (app as &dyn Any).downcast_ref::<SecureApp>()) {
        (ThreatSetting::Unknown, Some(app)) => ThreatSetting::of(app.security()),
        (threat, _) => threat,
    };
    // One boxed service, so the scanner's many helpers need no generic parameter.
    // With DPoP server nonces on, the scan's proofs carry the app's current nonce.
    let dpop_nonces = (app as &dyn Any)
        .downcast_ref::<SecureApp>()
        .map(|app| app.security().clone())
        .filter(|security| security.dpop().requires_nonce());
    let other_issuers = (app as &dyn Any)
        .downcast_ref::<SecureApp>()
        .map(|app| other_trusted_issuers(app.security(), credentials.tokens.issuer()))
        .unwrap_or_default();
    let app = tower::util::BoxCloneService::new(app.clone());
    let mut scanner =
        Scanner { app: &app, credentials, threat, dpop_nonces, other_issuers, next_client: 0, rows: Vec::new() };
    for route in routes {
        scanner.route(route).await;
    }
    ScanReport { rows: scanner.rows }
}

struct Scanner<'a> {
    app: &'a tower::util::BoxCloneService<http::Request<Body>, axum::response::Response, std::convert::Infallible>,
    credentials: &'a ScanCredentials,
    threat: ThreatSetting,
    /// The scanned app's security, when its DPoP verifier requires server nonces.
    dpop_nonces: Option<Security>,
    /// The issuers the scanned app trusts besides the credentials' own, when it trusts several
    /// (each gets an `issuer-confusion` probe).
    other_issuers: Vec<String>,
    next_client: u32,
    rows: Vec<ScanRow>,
}

/// Headers of one probe request, owned.
type Headers = Vec<(String, String)>;

/// A value for every `{parameter}` that no integer, UUID or boolean parameter accepts.
const WRONG_TYPE_PARAMETER: &str = "scan-wrong-type";

/// `path` with its parameters filled in: `1` (what most typed parameters accept), or
/// `parameter` when given; a catch-all `{*rest}` gets `scan`.
fn fill_path(path: &str, parameter: Option<&str>) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with("{*") {
                "scan".to_owned()
            } else if is_parameter(segment) {
                parameter.unwrap_or("1").to_owned()
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_parameter(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}') && !segment.starts_with("{*")
}

fn has_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

impl Scanner<'_> {
    /// A fresh client: an IP nobody else used in this scan (inside the route's allow list when
    /// it has one) and a fresh subject.
    fn fresh_client(&mut self, policy: &RoutePolicy) -> (SocketAddr, String) {
        self.next_client = self.next_client.wrapping_add(1);
        let n = self.next_client;
        let ip = match policy.allow_ips().first() {
            Some(cidr) => cidr.network(),
            None => {
                let [_, a, b, c] = n.to_be_bytes();
                IpAddr::V4(Ipv4Addr::new(10, a, b, c))
            }
        };
        (SocketAddr::new(ip, 40000), format!("scan-client-{n}"))
    }

    /// Valid credentials for `policy` for `subject`, if the scan has any.
    fn valid_headers(&self, policy: &RoutePolicy, subject: &str) -> Option<Headers> {
        if policy.is_public() {
            return Some(Vec::new());
        }
        if policy.auth().contains(&AuthScheme::Bearer) {
            return Some(self.bearer_headers(policy, subject, policy.scopes()));
        }
        if policy.auth().contains(&AuthScheme::ApiKey)
            && let Some((key, scopes)) = &self.credentials.api_key
            && policy.scopes().iter().all(|scope| scopes.iter().any(|granted| granted == scope))
        {
            return Some(vec![(self.credentials.api_key_header.clone(), key.expose().clone())]);
        }
        None
    }

    async fn send(
        &self,
        route: &RouteInfo,
        peer: SocketAddr,
        query: &str,
        headers: &Headers,
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        self.send_to(route, &fill_path(&route.path, None), peer, query, headers, body).await
    }

    async fn send_to(
        &self,
        route: &RouteInfo,
        path: &str,
        peer: SocketAddr,
        query: &str,
        headers: &Headers,
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let mut all: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        let certificate = mtls::take_certificate(&mut all);
        let body = match body {
            Some((content_type, bytes)) => {
                all.push(("content-type", content_type));
                Body::from(bytes)
            }
            None if has_body(&route.method) => {
                all.push(("content-type", "application/json"));
                Body::from("{}")
            }
            None => Body::empty(),
        };
        // A DPoP token gets a fresh proof for exactly this request (and the Host it names).
        let proof = self.fresh_proof(route, path, &all);
        if let Some(proof) = &proof {
            all.push(("host", dpop::SCAN_HOST));
            all.push(("dpop", proof));
        }
        let uri = format!("{path}{query}");
        let mut request = with_peer(request(route.method.clone(), &uri, &all, body), peer);
        if let Some(certificate) = certificate {
            request.extensions_mut().insert(certificate);
        }
        send(self.app, request).await
    }

    fn record(&mut self, route: &RouteInfo, probe: Probe, expected: Expected, reply: Option<&Reply>) {
        let verdict = match reply {
            None => Verdict::Skipped("not applicable".into()),
            Some(reply) => judge(&route.policy, probe, expected, reply),
        };
        self.rows.push(ScanRow {
            method: route.method.clone(),
            path: route.path.clone(),
            probe,
            expected,
            got: reply.map(|reply| reply.status),
            verdict,
        });
    }

    fn skip(&mut self, route: &RouteInfo, probe: Probe, reason: &str) {
        self.rows.push(ScanRow {
            method: route.method.clone(),
            path: route.path.clone(),
            probe,
            expected: Expected::NotRun,
            got: None,
            verdict: Verdict::Skipped(reason.to_owned()),
        });
    }

    async fn probe(
        &mut self,
        route: &RouteInfo,
        probe: Probe,
        expected: Expected,
        headers: Headers,
        query: &str,
        body: Option<(&str, Vec<u8>)>,
    ) {
        let (peer, _) = self.fresh_client(&route.policy);
        let reply = self.send(route, peer, query, &headers, body).await;
        self.record(route, probe, expected, Some(&reply));
    }

    async fn route(&mut self, route: &RouteInfo) {
        let policy = route.policy;
        let scopes = policy.scopes();
        let tokens = self.credentials.tokens.clone();
        let auth_header = |token: String| vec![("authorization".to_owned(), bearer(&token))];
        let scan_dpop = self.credentials.dpop_key.clone();

        if policy.is_public() {
            self.probe(route, Probe::NoCredentials, Expected::Public, Vec::new(), "", None).await;
        } else {
            let bearer_route = policy.auth().contains(&AuthScheme::Bearer);
            let key_route = policy.auth().contains(&AuthScheme::ApiKey);
            let none_expected = if policy.is_auth_optional() { Expected::Admitted } else { Expected::Status(401) };
            self.probe(route, Probe::NoCredentials, none_expected, Vec::new(), "", None).await;
            if bearer_route {
                let forged: [(Probe, String); 8] = [
                    (Probe::GarbageToken, "not-a-token".to_owned()),
                    (Probe::AlgNone, tokens.alg_none(scopes)),
                    (Probe::Expired, tokens.expired(scopes)),
                    (Probe::WrongAudience, tokens.wrong_audience(scopes)),
                    (Probe::WrongIssuer, tokens.wrong_issuer(scopes)),
                    (Probe::OtherKey, tokens.signed_with_other_key(scopes)),
                    (Probe::Tampered, tokens.tampered(scopes)),
                    (Probe::MissingExp, tokens.missing_exp(scopes)),
                ];
                for (probe, token) in forged {
                    self.probe(route, probe, Expected::Status(401), auth_header(token), "", None).await;
                }
                for issuer in self.other_issuers.clone() {
                    let mut claims = tokens.claims(scopes);
                    claims.insert("iss".into(), issuer.into());
                    let headers = auth_header(tokens.sign(&claims));
                    self.probe(route, Probe::IssuerConfusion, Expected::Status(401), headers, "", None).await;
                }
                if scopes.is_empty() {
                    self.skip(route, Probe::InsufficientScope, "route requires no scope");
                } else {
                    let (_, subject) = self.fresh_client(&policy);
                    let headers = self.bearer_headers(&policy, &subject, &["scan:unrelated"]);
                    self.probe(route, Probe::InsufficientScope, Expected::Status(403), headers, "", None).await;
                }
            }
            if key_route {
                let header = vec![(self.credentials.api_key_header.clone(), "scan-garbage-api-key".to_owned())];
                self.probe(route, Probe::GarbageApiKey, Expected::Status(401), header, "", None).await;
            }
            if bearer_route && !key_route {
                match &self.credentials.api_key {
                    Some((key, _)) => {
                        let header = vec![(self.credentials.api_key_header.clone(), key.expose().clone())];
                        self.probe(route, Probe::ApiKeyOnBearerRoute, Expected::Status(401), header, "", None).await;
                    }
                    None => self.skip(route, Probe::ApiKeyOnBearerRoute, "no API key in the scan credentials"),
                }
            }
            if key_route && !bearer_route {
                let (_, subject) = self.fresh_client(&policy);
                let token = tokens.token_for(&subject, scopes);
                self.probe(route, Probe::BearerOnApiKeyRoute, Expected::Status(401), auth_header(token), "", None)
                    .await;
            }
        }

        let (_, subject) = self.fresh_client(&policy);
        let Some(valid) = self.valid_headers(&policy, &subject) else {
            for probe in [Probe::ValidCredentials, Probe::RateBurst] {
                self.skip(route, probe, "no credentials for the route's schemes and scopes");
            }
            return;
        };
        let validation = policy.validation();
        let body_route = has_body(&route.method) && validation != Validation::Undeclared;
        if body_route {
            // `validate = false`: the handler answers bad input itself, never with a 5xx; the
            // recorded body limit still holds.
            let status = |status: u16| {
                if validation == Validation::Enforced { Expected::Status(status) } else { Expected::Handled }
            };
            let json = "application/json";
            let oversized = {
                let limit = policy.max_body();
                let mut body = br#"{"pad":""#.to_vec();
                body.resize(limit.saturating_sub(1), b'a');
                body.extend_from_slice(br#""}"#);
                body
            };
            let cases: [(Probe, Expected, &str, Vec<u8>); 5] = [
                (Probe::MalformedJson, status(400), json, br#"{"unterminated"#.to_vec()),
                (Probe::WrongType, status(422), json, br#""scan""#.to_vec()),
                (Probe::UnknownField, status(422), json, br#"{"__scan_unknown_field__":true}"#.to_vec()),
                (Probe::OversizedBody, Expected::Status(413), json, oversized),
                (Probe::WrongContentType, status(415), "text/plain", b"{}".to_vec()),
            ];
            for (probe, expected, content_type, body) in cases {
                let (_, subject) = self.fresh_client(&policy);
                let headers = self.valid_headers(&policy, &subject).unwrap_or_default();
                self.probe(route, probe, expected, headers, "", Some((content_type, body))).await;
            }
        } else {
            let expected = if policy.is_public() { Expected::Public } else { Expected::Admitted };
            self.probe(route, Probe::ValidCredentials, expected, valid.clone(), "", None).await;
        }

        if route.path.split('/').any(is_parameter) {
            let (peer, subject) = self.fresh_client(&policy);
            let headers = self.valid_headers(&policy, &subject).unwrap_or_default();
            let path = fill_path(&route.path, Some(WRONG_TYPE_PARAMETER));
            let reply = self.send_to(route, &path, peer, "", &headers, None).await;
            self.record(route, Probe::WrongTypePathParam, Expected::Handled, Some(&reply));
        }

        self.injections(route).await;
        self.foreign_objects(route).await;
        if policy.auth().contains(&AuthScheme::Bearer) {
            self.dpop_probes(route, &scan_dpop).await;
            self.certificate_probes(route).await;
            self.step_up_probes(route).await;
        }

        if let Some(denied) = policy.deny_ips().first() {
            let peer = SocketAddr::new(denied.network(), 40000);
            let (_, subject) = self.fresh_client(&policy);
            let headers = self.valid_headers(&policy, &subject).unwrap_or_default();
            let reply = self.send(route, peer, "", &headers, None).await;
            self.record(route, Probe::DeniedIp, Expected::Status(403), Some(&reply));
        }

        // Last: a burst may exhaust a budget other probes of this route would share.
        self.burst(route).await;
    }

    /// SQL and script injection in the query, judged by the app's own threat setting.
    async fn injections(&mut self, route: &RouteInfo) {
        let policy = route.policy;
        let expected = match (policy.threat_detection(), self.threat) {
            (false, _) => return self.skip(route, Probe::SqlInjection, "threat = false"),
            (true, ThreatSetting::Off) => {
                return self.skip(route, Probe::SqlInjection, "the app runs without threat detection");
            }
            (true, ThreatSetting::Blocks) => Expected::Status(403),
            (true, ThreatSetting::LogsOnly | ThreatSetting::Unknown) => Expected::Handled,
        };
        let injections = [
            (Probe::SqlInjection, "?q=%27%20OR%20%271%27%3D%271%27%20--"),
            (Probe::XssInjection, "?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E"),
        ];
        for (probe, query) in injections {
            let (_, subject) = self.fresh_client(&policy);
            let headers = self.valid_headers(&policy, &subject).unwrap_or_default();
            self.probe(route, probe, expected, headers, query, None).await;
        }
    }

    /// Each object the test named for this route's path, asked for by the other principal.
    async fn foreign_objects(&mut self, route: &RouteInfo) {
        let objects: Vec<ForeignObject> =
            self.credentials.objects.iter().filter(|object| object.path == route.path).cloned().collect();
        for object in objects {
            let (peer, _) = self.fresh_client(&route.policy);
            let headers: Headers =
                object.headers.iter().map(|(name, value)| (name.clone(), value.expose().clone())).collect();
            let reply = self.send_to(route, &object.concrete_path(), peer, "", &headers, None).await;
            self.record(route, Probe::ObjectOwnedByOther, Expected::Refused, Some(&reply));
        }
    }

    async fn burst(&mut self, route: &RouteInfo) {
        let policy = route.policy;
        // With several limits, the smallest burst is the one a fresh client meets first.
        let Some(rate) = policy.rates().iter().min_by_key(|rate| rate.count()).copied() else {
            return;
        };
        let count = rate.count();
        if count >= self.credentials.max_burst {
            self.skip(
                route,
                Probe::RateBurst,
                &format!("burst of {} over the scan's maximum", count.saturating_add(1)),
            );
            return;
        }
        let (peer, subject) = self.fresh_client(&policy);
        let Some(mut headers) = self.valid_headers(&policy, &subject) else {
            self.skip(route, Probe::RateBurst, "no credentials for the route's schemes and scopes");
            return;
        };
        let shared = matches!(policy.rate_key(), RateKeyKind::ApiKey)
            || (!policy.auth().contains(&AuthScheme::Bearer) && !policy.is_public());
        if let RateKeyKind::Header(name) = policy.rate_key() {
            headers.push((name.to_owned(), subject.clone()));
        }
        let mut early = None;
        let mut last = None;
        for index in 0..=count {
            let reply = self.send(route, peer, "", &headers, None).await;
            if reply.status.is_server_error() {
                last = Some(reply);
                break;
            }
            if index < count && reply.status == StatusCode::TOO_MANY_REQUESTS && early.is_none() {
                early = Some(index.saturating_add(1));
            }
            last = Some(reply);
        }
        let Some(last) = last else {
            return;
        };
        let expected = Expected::RateLimited(count);
        let mut verdict = judge(&policy, Probe::RateBurst, expected, &last);
        if let (Some(index), false) = (early, shared) {
            let reason = format!("429 already on request {index} of a fresh client");
            verdict = match verdict {
                Verdict::Finding(mut reasons) => {
                    reasons.push(reason);
                    Verdict::Finding(reasons)
                }
                _ => Verdict::Finding(vec![reason]),
            };
        }
        self.rows.push(ScanRow {
            method: route.method.clone(),
            path: route.path.clone(),
            probe: Probe::RateBurst,
            expected,
            got: Some(last.status),
            verdict,
        });
    }
}

/// Checks one answer: the expected status, and the rules every answer follows.
fn judge(policy: &RoutePolicy, probe: Probe, expected: Expected, reply: &Reply) -> Verdict {
    let status = reply.status;
    let mut reasons = Vec::new();
    if status.is_server_error() {
        reasons.push(format!("server error {}", status.as_u16()));
    }
    if probe.is_forged() && status.is_success() {
        reasons.push("forged or wrong credential accepted".to_owned());
    }
    match expected {
        Expected::Status(want) if status.as_u16() != want => reasons.push(format!("expected {want}")),
        // An `authorize` hook may still refuse a valid principal for this resource.
        Expected::Admitted
            if status == StatusCode::UNAUTHORIZED
                || (status == StatusCode::FORBIDDEN && policy.authorize().is_none()) =>
        {
            reasons.push("valid credentials refused".to_owned());
        }
        Expected::Refused if status.is_success() => {
            reasons.push(
                "another principal's object was granted (OWASP API1: broken object-level authorization)".to_owned(),
            );
        }
        Expected::Refused if status == StatusCode::UNAUTHORIZED => {
            reasons.push("the other principal's credentials were refused, so object access was not tested".to_owned());
        }
        Expected::Refused if !status.is_client_error() => reasons.push("expected a refusal (4xx)".to_owned()),
        Expected::RateLimited(count) if status != StatusCode::TOO_MANY_REQUESTS => {
            reasons.push(format!("no 429 on request {}", count.saturating_add(1)));
        }
        _ => {}
    }
    if reply.header("x-content-type-options") != "nosniff" {
        reasons.push("missing X-Content-Type-Options: nosniff".to_owned());
    }
    if status == StatusCode::UNAUTHORIZED && reply.header("www-authenticate").is_empty() {
        reasons.push("401 without WWW-Authenticate".to_owned());
    }
    if status == StatusCode::TOO_MANY_REQUESTS && reply.header("retry-after").is_empty() {
        reasons.push("429 without Retry-After".to_owned());
    }
    if status.is_client_error() || status.is_server_error() {
        // A route that declared `errors = "oauth"` (a token endpoint) may answer in RFC 6749
        // §5.2's own format; every other error is problem+json.
        let oauth_error = policy.error_format() == crate::policy::ErrorFormat::OAuth
            && reply.header("content-type") == "application/json"
            && reply.body["error"].is_string();
        if reply.header("content-type") != crate::PROBLEM_JSON && !oauth_error {
            reasons.push(format!("error body is `{}`, not application/problem+json", reply.header("content-type")));
        }
        if let Some(leak) = INTERNALS.iter().find(|needle| reply.text.contains(**needle)) {
            reasons.push(format!("body leaks internal detail `{leak}`"));
        }
    }
    if reasons.is_empty() { Verdict::Pass } else { Verdict::Finding(reasons) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_path_parameters() {
        assert_eq!(fill_path("/api/items/{id}", None), "/api/items/1");
        assert_eq!(fill_path("/files/{*rest}", None), "/files/scan");
        assert_eq!(fill_path("/health", None), "/health");
        assert_eq!(fill_path("/a/{x}/b/{y}", Some("z")), "/a/z/b/z");
        assert_eq!(fill_path("/files/{*rest}", Some("z")), "/files/scan");
    }
}
