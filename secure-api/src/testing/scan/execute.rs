//! The executor: turns each planned [`Case`] into a request (a fresh client address and subject,
//! the credential minted for them, a DPoP proof with the app's nonce, the client certificate
//! extension), sends it to the app without a socket, and judges the answer against the case's
//! expectation and the rules every answer follows. It decides nothing about *what* to probe:
//! that is [`plan`](super::plan).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use http::StatusCode;

use super::plan::{BodyProbe, Case, Credential, Expectation, ForgedToken, PathChoice, PeerChoice, Rule, Sending};
use super::{
    Expected, Probe, ScanCredentials, ScanRow, Verdict, WRONG_TYPE_PARAMETER, dpop, fill_path, has_body, mtls,
};
use crate::Security;
use crate::auth::AuthScheme;
use crate::policy::{ErrorFormat, RoutePolicy};
use crate::routing::RouteInfo;
use crate::testing::{Reply, TokenFactory, bearer, request, send, with_peer};

/// The scanned app, boxed once so the executor needs no generic parameter.
pub(super) type App =
    tower::util::BoxCloneService<http::Request<Body>, axum::response::Response, std::convert::Infallible>;

/// Headers of one probe request, owned.
pub(super) type Headers = Vec<(String, String)>;

/// Text fragments that must never reach a client in an error body.
const INTERNALS: [&str; 9] =
    ["secure_api", "jsonwebtoken", "axum::", "serde", ".rs:", "panicked", "src/", "::", "RUST_BACKTRACE"];

/// The last client number handed out in this process. Process-wide, so a client is fresh even
/// when two scans probe the same app, and so the same rate-limit budgets, one after the other.
static LAST_CLIENT: AtomicU32 = AtomicU32::new(0);

/// Runs cases against one app and collects the report's rows.
pub(super) struct Scanner<'a> {
    app: &'a App,
    pub(super) credentials: &'a ScanCredentials,
    /// The scanned app's security, when its DPoP verifier requires server nonces.
    pub(super) dpop_nonces: Option<Security>,
    rows: Vec<ScanRow>,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(app: &'a App, credentials: &'a ScanCredentials, dpop_nonces: Option<Security>) -> Self {
        Self { app, credentials, dpop_nonces, rows: Vec::new() }
    }

    /// The report's rows, one per case run or skipped.
    pub(super) fn into_rows(self) -> Vec<ScanRow> {
        self.rows
    }

    /// Materialises `case` for `route`, sends it as it says, and records the judged answer (or
    /// the skip).
    pub(super) async fn run(&mut self, route: &RouteInfo, case: Case) {
        let (expected, also) = match case.expectation {
            Expectation::Skip(reason) => return self.skip(route, case.probe, reason),
            Expectation::Run { expected, also } => (expected, also),
        };
        let (fresh_peer, subject) = self.fresh_client(&route.policy);
        let peer = match case.peer {
            PeerChoice::Fresh => fresh_peer,
            PeerChoice::Denied(network) => SocketAddr::new(network, 40000),
        };
        let path = match case.path {
            PathChoice::Filled => fill_path(&route.path, None),
            PathChoice::WrongType => fill_path(&route.path, Some(WRONG_TYPE_PARAMETER)),
            PathChoice::Concrete(path) => path,
        };
        let mut headers = self.headers(route, &case.credential, &subject, &path);
        let body = case.body.as_ref();
        let (reply, early) = match case.sending {
            Sending::Once => (self.send_to(route, &path, peer, case.query, &headers, body).await, None),
            Sending::Replayed => {
                // Whatever the first answer is, the second is judged.
                let _first = self.send_to(route, &path, peer, case.query, &headers, body).await;
                (self.send_to(route, &path, peer, case.query, &headers, body).await, None)
            }
            Sending::Burst { allowed, counted_by } => {
                if let Some(name) = counted_by {
                    headers.push((name.to_owned(), subject.clone()));
                }
                let mut early = None;
                let mut index = 0;
                loop {
                    let reply = self.send_to(route, &path, peer, case.query, &headers, body).await;
                    if reply.status.is_server_error() || index == allowed {
                        break (reply, early);
                    }
                    if reply.status == StatusCode::TOO_MANY_REQUESTS && early.is_none() {
                        early = Some(index.saturating_add(1));
                    }
                    index = index.saturating_add(1);
                }
            }
        };
        let mut verdict = judge(&route.policy, case.probe, expected, &reply);
        if let Some(reason) = also.and_then(|rule| broken(rule, &reply, early)) {
            match &mut verdict {
                Verdict::Finding(reasons) => reasons.push(reason),
                verdict => *verdict = Verdict::Finding(vec![reason]),
            }
        }
        self.rows.push(ScanRow {
            method: route.method.clone(),
            path: route.path.clone(),
            probe: case.probe,
            expected,
            got: Some(reply.status),
            verdict,
        });
    }

    fn skip(&mut self, route: &RouteInfo, probe: Probe, reason: String) {
        self.rows.push(ScanRow {
            method: route.method.clone(),
            path: route.path.clone(),
            probe,
            expected: Expected::NotRun,
            got: None,
            verdict: Verdict::Skipped(reason),
        });
    }

    /// A fresh client: an IP no other case used (inside the route's allow list when it has
    /// one) and a fresh subject, so no case spends another's rate budget.
    fn fresh_client(&self, policy: &RoutePolicy) -> (SocketAddr, String) {
        let n = LAST_CLIENT.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let ip = match policy.allow_ips().first() {
            Some(cidr) => cidr.network(),
            None => {
                let [_, a, b, c] = n.to_be_bytes();
                IpAddr::V4(Ipv4Addr::new(10, a, b, c))
            }
        };
        (SocketAddr::new(ip, 40000), format!("scan-client-{n}"))
    }

    /// The headers that present `credential` for `subject` on `path`.
    fn headers(&self, route: &RouteInfo, credential: &Credential, subject: &str, path: &str) -> Headers {
        let policy = &route.policy;
        let scopes = policy.scopes();
        let tokens = &self.credentials.tokens;
        let authorization = |token: String| vec![("authorization".to_owned(), bearer(&token))];
        let api_key = |key: String| vec![(self.credentials.api_key_header.clone(), key)];
        match credential {
            Credential::None => Vec::new(),
            Credential::Valid => self.valid_headers(policy, subject).unwrap_or_default(),
            Credential::ValidWithScopes(scopes) => self.bearer_headers(policy, subject, scopes),
            Credential::Forged(token) => authorization(forged_token(tokens, *token, scopes)),
            Credential::OtherIssuer(issuer) => {
                let mut claims = tokens.claims(scopes);
                claims.insert("iss".into(), issuer.clone().into());
                authorization(tokens.sign(&claims))
            }
            Credential::GarbageApiKey => api_key("scan-garbage-api-key".to_owned()),
            Credential::ScanApiKey => {
                self.credentials.api_key.as_ref().map(|(key, _)| api_key(key.expose().clone())).unwrap_or_default()
            }
            Credential::PlainBearer => authorization(tokens.token_for(subject, scopes)),
            Credential::Dpop(presented) => self.dpop_headers(route, *presented, subject, path),
            Credential::CertificateBound { presented } => {
                self.certificate_bound_headers_presenting(subject, scopes, *presented)
            }
            Credential::StepUp(claims) => self.step_up_headers(policy, subject, scopes, *claims),
            Credential::ForeignObject(index) => self
                .credentials
                .objects
                .get(*index)
                .map(|object| {
                    object.headers.iter().map(|(name, value)| (name.clone(), value.expose().clone())).collect()
                })
                .unwrap_or_default(),
        }
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

    async fn send_to(
        &self,
        route: &RouteInfo,
        path: &str,
        peer: SocketAddr,
        query: &str,
        headers: &Headers,
        body: Option<&BodyProbe>,
    ) -> Reply {
        let mut all: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        let certificate = mtls::take_certificate(&mut all);
        let body = match body {
            Some(body) => {
                all.push(("content-type", body.content_type));
                Body::from(body.bytes.clone())
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
}

/// The forged token `token`, with `scopes` where it carries any.
fn forged_token(tokens: &TokenFactory, token: ForgedToken, scopes: &[&str]) -> String {
    match token {
        ForgedToken::Garbage => "not-a-token".to_owned(),
        ForgedToken::AlgNone => tokens.alg_none(scopes),
        ForgedToken::Expired => tokens.expired(scopes),
        ForgedToken::WrongAudience => tokens.wrong_audience(scopes),
        ForgedToken::WrongIssuer => tokens.wrong_issuer(scopes),
        ForgedToken::OtherKey => tokens.signed_with_other_key(scopes),
        ForgedToken::Tampered => tokens.tampered(scopes),
        ForgedToken::MissingExp => tokens.missing_exp(scopes),
    }
}

/// Why `reply` breaks `rule`, if it does; `early` is the first request of a burst that got 429
/// before its last.
fn broken(rule: Rule, reply: &Reply, early: Option<u32>) -> Option<String> {
    match rule {
        Rule::InsufficientUserAuthentication => (reply.status == StatusCode::UNAUTHORIZED
            && !reply.header("www-authenticate").contains("error=\"insufficient_user_authentication\""))
        .then(|| {
            "401 without error=\"insufficient_user_authentication\": refused for another reason, \
             so the step-up requirement was not tested"
                .to_owned()
        }),
        Rule::NoEarlyRateLimit => early.map(|index| format!("429 already on request {index} of a fresh client")),
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
        let oauth_error = policy.error_format() == ErrorFormat::OAuth
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
