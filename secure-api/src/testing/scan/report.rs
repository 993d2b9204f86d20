//! What the scan reports: the probes, what each route's policy expects of them, the verdicts,
//! and the report's rows and table.

use std::fmt;

use http::{Method, StatusCode};

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
    /// ([`ScanCredentials::object_owned_by_other`](super::ScanCredentials::object_owned_by_other)).
    ObjectOwnedByOther,
    /// A valid plain bearer token on a route that requires DPoP-bound tokens (`bound = "dpop"`).
    BearerOnBoundRoute,
    /// A DPoP-bound token sent as `Bearer`, with a valid proof (RFC 9449 §7.2).
    BoundTokenAsBearer,
    /// A DPoP request sent twice with the same proof (the second must be refused).
    ReplayedProof,
    /// A DPoP proof made for another URL.
    ProofForOtherUrl,
    /// A DPoP proof made for another HTTP method.
    ProofForOtherMethod,
    /// A DPoP proof signed by another key than the one the token is bound to (`cnf.jkt`).
    ProofFromOtherKey,
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
            Self::ProofForOtherMethod => "dpop-proof-for-other-method",
            Self::ProofFromOtherKey => "dpop-proof-from-other-key",
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
                | Self::ProofForOtherMethod
                | Self::ProofFromOtherKey
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
    pub(super) rows: Vec<ScanRow>,
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
