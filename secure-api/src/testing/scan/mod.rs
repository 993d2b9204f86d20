//! The self-scan: every route probed the way an attacker would, each answer checked against the
//! policy the route declared.
//!
//! Two halves, so what is probed can be read (and unit-tested) apart from how:
//!
//! - [`plan`](plan::plan) is pure: from a route's [`RoutePolicy`](crate::policy::RoutePolicy)
//!   and what the scan knows ([`PlanSetting`]: the threat setting, the API key's scopes, the
//!   largest burst, the named foreign objects, the other trusted issuers) it returns the route's
//!   cases in report order. A case names the [`Probe`], the [`Expected`] answer (or why it is
//!   skipped) and, as data, the credential to present, the query, body, path, client address
//!   and how to send it (once, replayed, a burst). Every decision lives there, each concern in
//!   one small function, and nothing in it sends, signs or reads a clock.
//! - The executor ([`Scanner::run`]) materialises a case (a fresh client address and subject,
//!   tokens from the [`TokenFactory`], DPoP proofs with the app's current nonce, the client
//!   certificate as a request extension), sends it to the app without a socket and judges the
//!   answer: the expected status, plus the rules every answer follows (no 5xx, no forged
//!   credential admitted, `nosniff`, `WWW-Authenticate` on 401, `Retry-After` on 429, errors in
//!   the format the route declared, no internal detail). The per-concern files (`dpop.rs`,
//!   `mtls.rs`, `step_up.rs`, `objects.rs`) hold only how their credentials are made.
//! - `report.rs` holds what comes out: the [`Probe`]s, [`Expected`], [`Verdict`] and the
//!   [`ScanReport`] with its rows and table.
//!
//! Nothing is judged by a handler's name: a route whose errors legitimately differ (an OAuth
//! token endpoint's RFC 6749 §5.2 bodies) says so in its policy (`errors = "oauth"`).

mod dpop;
mod execute;
mod mtls;
mod objects;
mod plan;
mod report;
mod step_up;

use std::any::Any;

use axum::body::Body;
use http::Method;

use super::{DpopKey, TokenFactory, bearer};
use crate::threat::ThreatMode;
use crate::{SecureApp, Security, routing::RouteInfo};
use execute::Scanner;
use objects::ForeignObject;
use plan::PlanSetting;
pub use report::{Expected, Probe, ScanReport, ScanRow, Verdict};

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

/// The issuers `security` trusts other than `own`, when it has one verifier per issuer (a
/// single verifier listing several issuers verifies them all with the same keys by design).
fn other_trusted_issuers(security: &Security, own: &str) -> Vec<String> {
    security
        .issuers()
        .filter(|issuers| issuers.verifiers().count() > 1)
        .map(|issuers| issuers.names().filter(|name| *name != own).map(str::to_owned).collect())
        .unwrap_or_default()
}

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
/// `X-Content-Type-Options: nosniff`, errors as `application/problem+json` (or RFC 6749 §5.2
/// JSON from a route that declared `errors = "oauth"`, a token endpoint) without internal
/// detail.
///
/// The injection probes follow the app's own threat setting: when `app` is a
/// [`SecureApp`], its threat detection decides (`403` when it blocks, handled without a 5xx
/// when it only logs, skipped when it is off; routes with `threat = false` are skipped);
/// [`ScanCredentials::threat_detection_of`] and [`ScanCredentials::without_threat_detection`]
/// say it for other services, which are otherwise only held to "no 5xx, no leak".
///
/// Each probe comes from a fresh client address and a fresh principal (fresh across every scan
/// in the process, so scanning the same app twice spends none of the first scan's budgets), so
/// no probe family spends another's rate budget (limits keyed by IP, principal or header); a
/// limit keyed by the one API key of the credentials is shared, and its burst accepts an early
/// `429`.
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
    // With DPoP server nonces on, the scan's proofs carry the app's current nonce.
    let dpop_nonces = (app as &dyn Any)
        .downcast_ref::<SecureApp>()
        .map(|app| app.security().clone())
        .filter(|security| security.dpop().requires_nonce());
    let other_issuers = (app as &dyn Any)
        .downcast_ref::<SecureApp>()
        .map(|app| other_trusted_issuers(app.security(), credentials.tokens.issuer()))
        .unwrap_or_default();
    // One boxed service, so the executor's helpers need no generic parameter.
    let app: execute::App = tower::util::BoxCloneService::new(app.clone());
    let setting = PlanSetting {
        threat,
        api_key_scopes: credentials.api_key.as_ref().map(|(_, scopes)| scopes.as_slice()),
        max_burst: credentials.max_burst,
        objects: &credentials.objects,
        other_issuers: &other_issuers,
    };
    let mut scanner = Scanner::new(&app, credentials, dpop_nonces);
    for route in routes {
        for case in plan::plan(route, &setting) {
            scanner.run(route, case).await;
        }
    }
    ScanReport { rows: scanner.into_rows() }
}

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
