//! What the scan sends to one route and what it expects back, decided from the route's declared
//! policy and what the scan knows ([`PlanSetting`]) alone: no I/O, no token, no clock. [`plan`]
//! returns the route's [`Case`]s in report order; the executor
//! ([`Scanner::run`](super::execute)) turns each into a request (a fresh client, tokens, DPoP
//! proofs, a client certificate), sends it and judges the answer.

use std::net::IpAddr;

use super::objects::ForeignObject;
use super::step_up::StepUpClaims;
use super::{Expected, Probe, ThreatSetting, mtls};
use crate::auth::AuthScheme;
use crate::policy::{RoutePolicy, Validation};
use crate::rate::RateKeyKind;
use crate::routing::RouteInfo;

/// What the scan knows besides the route: the other input of [`plan`].
#[derive(Clone, Copy, Debug)]
pub(super) struct PlanSetting<'a> {
    /// What the app does with an injection.
    pub(super) threat: ThreatSetting,
    /// The scopes the credentials' API key grants, when the scan has one.
    pub(super) api_key_scopes: Option<&'a [String]>,
    /// Rate-limit bursts above this many requests are skipped.
    pub(super) max_burst: u32,
    /// Every object the test named; a case names its object by index.
    pub(super) objects: &'a [ForeignObject],
    /// The issuers the app trusts besides the credentials' own, when it trusts several.
    pub(super) other_issuers: &'a [String],
}

/// One probe of one route: what to send, how, and what the route's policy demands back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Case {
    pub(super) probe: Probe,
    pub(super) expectation: Expectation,
    /// The credential the request presents.
    pub(super) credential: Credential,
    /// Appended to the path (`?q=...`), or empty.
    pub(super) query: &'static str,
    /// The body; `None` sends `{}` as JSON on a method with a body, nothing otherwise.
    pub(super) body: Option<BodyProbe>,
    pub(super) path: PathChoice,
    pub(super) peer: PeerChoice,
    pub(super) sending: Sending,
}

/// What the answer must be, or why the probe is not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Expectation {
    /// Judged against `expected` and the rules every answer follows, and `also` when given.
    Run { expected: Expected, also: Option<Rule> },
    /// Reported as skipped, with the reason.
    Skip(String),
}

/// A check some probes add to the judgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Rule {
    /// A 401 must say `error="insufficient_user_authentication"`: a 401 for another reason (a
    /// binding, a bad proof) means the step-up requirement itself was never tested.
    InsufficientUserAuthentication,
    /// A fresh client must not get a 429 before request `N + 1` of a burst (not said of a limit
    /// the scan's one API key shares across probes).
    NoEarlyRateLimit,
}

/// The credential a case presents, as data; the executor mints it for the case's subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Credential {
    /// No credential at all.
    None,
    /// What the route accepts, with its scopes: nothing on a public route, a token (bound and
    /// stepped up as the route requires) on an `oauth` route, the scan's API key otherwise.
    Valid,
    /// A token as [`Valid`](Self::Valid) would send, with these scopes instead of the route's.
    ValidWithScopes(&'static [&'static str]),
    /// A forged or broken bearer token.
    Forged(ForgedToken),
    /// A token with the route's scopes naming this other trusted issuer, signed with the
    /// credentials' key.
    OtherIssuer(String),
    /// An API key the app never issued.
    GarbageApiKey,
    /// The scan's valid API key.
    ScanApiKey,
    /// A plain (unbound) bearer token with the route's scopes.
    PlainBearer,
    /// A DPoP-bound token with the route's scopes, presented as said.
    Dpop(DpopCredential),
    /// A token bound to the scan's certificate, over a connection that presents the named
    /// certificate ([`mtls::OTHER_CERTIFICATE`], ...) or none.
    CertificateBound { presented: Option<&'static str> },
    /// A token bound as the route requires, its step-up claims as said.
    StepUp(StepUpClaims),
    /// The credentials of the other principal of [`PlanSetting::objects`]`[n]`.
    ForeignObject(usize),
}

/// The forged bearer tokens every `oauth` route must refuse with 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ForgedToken {
    /// A string that is no token.
    Garbage,
    AlgNone,
    Expired,
    WrongAudience,
    WrongIssuer,
    OtherKey,
    Tampered,
    MissingExp,
}

/// How a DPoP-bound token is presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DpopCredential {
    /// As `Authorization: Bearer`, with a valid proof (RFC 9449 §7.2).
    AsBearer,
    /// As `DPoP`, with a proof made for another URL.
    ProofForOtherUrl,
    /// As `DPoP`, with a proof made for another method.
    ProofForOtherMethod,
    /// As `DPoP`, with a proof signed by another client's key.
    ProofFromOtherKey,
    /// As `DPoP`, with a proof for this request, made once (so a replay sends it again).
    WithProof,
}

/// A body probe: its content type and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct BodyProbe {
    pub(super) content_type: &'static str,
    pub(super) bytes: Vec<u8>,
}

/// The path a case requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum PathChoice {
    /// The route's pattern with parameters a typed parameter accepts.
    Filled,
    /// The pattern with a value no integer, UUID or boolean parameter accepts.
    WrongType,
    /// This concrete path.
    Concrete(String),
}

/// The client address a case comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PeerChoice {
    /// An address no other case used (inside the route's allow list when it has one).
    Fresh,
    /// An address in a network the route denies.
    Denied(IpAddr),
}

/// How a case is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sending {
    /// Once.
    Once,
    /// Twice, the very same request; the second answer is judged.
    Replayed,
    /// `allowed + 1` requests; the last answer is judged. With `counted_by`, each carries that
    /// header with the case's subject (the route counts per header value).
    Burst { allowed: u32, counted_by: Option<&'static str> },
}

/// The scopes of the insufficient-scope probe: none a route asks for.
const UNRELATED_SCOPES: &[&str] = &["scan:unrelated"];

/// The injections in the query, each judged by the app's threat setting.
const INJECTIONS: [(Probe, &str); 2] = [
    (Probe::SqlInjection, "?q=%27%20OR%20%271%27%3D%271%27%20--"),
    (Probe::XssInjection, "?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E"),
];

impl Case {
    /// A single request from a fresh client to the filled path, expecting `expected`.
    fn send(probe: Probe, expected: Expected, credential: Credential) -> Self {
        Self {
            probe,
            expectation: Expectation::Run { expected, also: None },
            credential,
            query: "",
            body: None,
            path: PathChoice::Filled,
            peer: PeerChoice::Fresh,
            sending: Sending::Once,
        }
    }

    /// A probe that is not run, and why.
    fn skip(probe: Probe, reason: impl Into<String>) -> Self {
        Self { expectation: Expectation::Skip(reason.into()), ..Self::send(probe, Expected::NotRun, Credential::None) }
    }

    fn also(mut self, rule: Rule) -> Self {
        if let Expectation::Run { also, .. } = &mut self.expectation {
            *also = Some(rule);
        }
        self
    }
}

/// Every case of `route`, in report order: credentials, inputs, injections, objects, token
/// bindings and step-up, a denied network, and last a burst (it may exhaust a budget the other
/// probes share).
pub(super) fn plan(route: &RouteInfo, setting: &PlanSetting<'_>) -> Vec<Case> {
    let policy = &route.policy;
    let mut cases = credential_cases(policy, setting);
    if !has_valid_credentials(policy, setting) {
        for probe in [Probe::ValidCredentials, Probe::RateBurst] {
            cases.push(Case::skip(probe, "no credentials for the route's schemes and scopes"));
        }
        return cases;
    }
    cases.extend(input_cases(route));
    cases.extend(injection_cases(policy, setting.threat));
    cases.extend(object_cases(route, setting.objects));
    if policy.auth().contains(&AuthScheme::Bearer) {
        cases.extend(dpop_cases(policy));
        cases.extend(certificate_cases());
        cases.extend(step_up_cases(policy));
    }
    if let Some(denied) = policy.deny_ips().first() {
        let case = Case::send(Probe::DeniedIp, Expected::Status(403), Credential::Valid);
        cases.push(Case { peer: PeerChoice::Denied(denied.network()), ..case });
    }
    cases.extend(burst_case(policy, setting.max_burst));
    cases
}

/// Whether the scan can act as a legitimate client of the route.
fn has_valid_credentials(policy: &RoutePolicy, setting: &PlanSetting<'_>) -> bool {
    policy.is_public()
        || policy.auth().contains(&AuthScheme::Bearer)
        || (policy.auth().contains(&AuthScheme::ApiKey)
            && setting
                .api_key_scopes
                .is_some_and(|granted| policy.scopes().iter().all(|scope| granted.iter().any(|held| held == scope))))
}

/// No, forged and wrong credentials, and too few scopes.
fn credential_cases(policy: &RoutePolicy, setting: &PlanSetting<'_>) -> Vec<Case> {
    if policy.is_public() {
        return vec![Case::send(Probe::NoCredentials, Expected::Public, Credential::None)];
    }
    let bearer_route = policy.auth().contains(&AuthScheme::Bearer);
    let key_route = policy.auth().contains(&AuthScheme::ApiKey);
    let refused = |probe, credential| Case::send(probe, Expected::Status(401), credential);
    let none_expected = if policy.is_auth_optional() { Expected::Admitted } else { Expected::Status(401) };
    let mut cases = vec![Case::send(Probe::NoCredentials, none_expected, Credential::None)];
    if bearer_route {
        let forged = [
            (Probe::GarbageToken, ForgedToken::Garbage),
            (Probe::AlgNone, ForgedToken::AlgNone),
            (Probe::Expired, ForgedToken::Expired),
            (Probe::WrongAudience, ForgedToken::WrongAudience),
            (Probe::WrongIssuer, ForgedToken::WrongIssuer),
            (Probe::OtherKey, ForgedToken::OtherKey),
            (Probe::Tampered, ForgedToken::Tampered),
            (Probe::MissingExp, ForgedToken::MissingExp),
        ];
        cases.extend(forged.into_iter().map(|(probe, token)| refused(probe, Credential::Forged(token))));
        cases.extend(
            setting
                .other_issuers
                .iter()
                .map(|issuer| refused(Probe::IssuerConfusion, Credential::OtherIssuer(issuer.clone()))),
        );
        cases.push(if policy.scopes().is_empty() {
            Case::skip(Probe::InsufficientScope, "route requires no scope")
        } else {
            Case::send(Probe::InsufficientScope, Expected::Status(403), Credential::ValidWithScopes(UNRELATED_SCOPES))
        });
    }
    if key_route {
        cases.push(refused(Probe::GarbageApiKey, Credential::GarbageApiKey));
    }
    if bearer_route && !key_route {
        cases.push(match setting.api_key_scopes {
            Some(_) => refused(Probe::ApiKeyOnBearerRoute, Credential::ScanApiKey),
            None => Case::skip(Probe::ApiKeyOnBearerRoute, "no API key in the scan credentials"),
        });
    }
    if key_route && !bearer_route {
        cases.push(refused(Probe::BearerOnApiKeyRoute, Credential::PlainBearer));
    }
    cases
}

/// Bad bodies on a route that declared what it does with input (or valid credentials on any
/// other), and a path parameter of the wrong type.
fn input_cases(route: &RouteInfo) -> Vec<Case> {
    let policy = &route.policy;
    let validation = policy.validation();
    let mut cases = Vec::new();
    if super::has_body(&route.method) && validation != Validation::Undeclared {
        // `validate = false`: the handler answers bad input itself, never with a 5xx; the
        // recorded body limit still holds.
        let status = |status: u16| {
            if validation == Validation::Enforced { Expected::Status(status) } else { Expected::Handled }
        };
        let json = "application/json";
        let bodies: [(Probe, Expected, &str, Vec<u8>); 5] = [
            (Probe::MalformedJson, status(400), json, br#"{"unterminated"#.to_vec()),
            (Probe::WrongType, status(422), json, br#""scan""#.to_vec()),
            (Probe::UnknownField, status(422), json, br#"{"__scan_unknown_field__":true}"#.to_vec()),
            (Probe::OversizedBody, Expected::Status(413), json, oversized_body(policy.max_body())),
            (Probe::WrongContentType, status(415), "text/plain", b"{}".to_vec()),
        ];
        for (probe, expected, content_type, bytes) in bodies {
            let case = Case::send(probe, expected, Credential::Valid);
            cases.push(Case { body: Some(BodyProbe { content_type, bytes }), ..case });
        }
    } else {
        let expected = if policy.is_public() { Expected::Public } else { Expected::Admitted };
        cases.push(Case::send(Probe::ValidCredentials, expected, Credential::Valid));
    }
    if route.path.split('/').any(super::is_parameter) {
        let case = Case::send(Probe::WrongTypePathParam, Expected::Handled, Credential::Valid);
        cases.push(Case { path: PathChoice::WrongType, ..case });
    }
    cases
}

/// A JSON object one byte over `limit`.
fn oversized_body(limit: usize) -> Vec<u8> {
    let mut body = br#"{"pad":""#.to_vec();
    body.resize(limit.saturating_sub(1), b'a');
    body.extend_from_slice(br#""}"#);
    body
}

/// SQL and script injection in the query, judged by the app's own threat setting.
fn injection_cases(policy: &RoutePolicy, threat: ThreatSetting) -> Vec<Case> {
    let expected = match (policy.threat_detection(), threat) {
        (false, _) => return vec![Case::skip(Probe::SqlInjection, "threat = false")],
        (true, ThreatSetting::Off) => {
            return vec![Case::skip(Probe::SqlInjection, "the app runs without threat detection")];
        }
        (true, ThreatSetting::Blocks) => Expected::Status(403),
        (true, ThreatSetting::LogsOnly | ThreatSetting::Unknown) => Expected::Handled,
    };
    INJECTIONS.iter().map(|&(probe, query)| Case { query, ..Case::send(probe, expected, Credential::Valid) }).collect()
}

/// Each object the test named for this route's path, asked for by the other principal.
fn object_cases(route: &RouteInfo, objects: &[ForeignObject]) -> Vec<Case> {
    objects
        .iter()
        .enumerate()
        .filter(|(_, object)| object.path == route.path)
        .map(|(index, object)| {
            let case = Case::send(Probe::ObjectOwnedByOther, Expected::Refused, Credential::ForeignObject(index));
            Case { path: PathChoice::Concrete(object.concrete_path()), ..case }
        })
        .collect()
}

/// The DPoP binding of an `oauth` route (RFC 9449): a plain token where a bound one is
/// required, a bound token sent as `Bearer`, a proof for another URL or method or from another
/// key than the token's, a replayed proof.
fn dpop_cases(policy: &RoutePolicy) -> Vec<Case> {
    let refused = |probe, credential| Case::send(probe, Expected::Status(401), credential);
    let bearer_on_bound = if policy.requires_binding() {
        refused(Probe::BearerOnBoundRoute, Credential::PlainBearer)
    } else {
        Case::skip(Probe::BearerOnBoundRoute, "route accepts plain bearer tokens")
    };
    vec![
        bearer_on_bound,
        refused(Probe::BoundTokenAsBearer, Credential::Dpop(DpopCredential::AsBearer)),
        refused(Probe::ProofForOtherUrl, Credential::Dpop(DpopCredential::ProofForOtherUrl)),
        refused(Probe::ProofForOtherMethod, Credential::Dpop(DpopCredential::ProofForOtherMethod)),
        refused(Probe::ProofFromOtherKey, Credential::Dpop(DpopCredential::ProofFromOtherKey)),
        // The same request twice: whatever the first gets, the second must be refused.
        Case {
            sending: Sending::Replayed,
            ..refused(Probe::ReplayedProof, Credential::Dpop(DpopCredential::WithProof))
        },
    ]
}

/// The certificate binding (RFC 8705): every `oauth` route checks a token's `cnf["x5t#S256"]`,
/// whatever its `bound` says, so a bound token is refused without its certificate and with
/// another client's.
fn certificate_cases() -> Vec<Case> {
    [(Probe::CertificateBoundWithoutCertificate, None), (Probe::OtherClientCertificate, Some(mtls::OTHER_CERTIFICATE))]
        .into_iter()
        .map(|(probe, presented)| Case::send(probe, Expected::Status(401), Credential::CertificateBound { presented }))
        .collect()
}

/// The step-up requirement of a route with `acr` or `max_age` (RFC 9470), each token with the
/// route's scopes and binding so that only the step-up claims are wrong; nothing for other
/// routes.
fn step_up_cases(policy: &RoutePolicy) -> Vec<Case> {
    let mut probes = Vec::new();
    if !policy.acr_values().is_empty() {
        probes.push((Probe::StepUpWrongAcr, StepUpClaims::WrongAcr));
        probes.push((Probe::StepUpMissingAcr, StepUpClaims::MissingAcr));
    }
    if policy.max_age().is_some() {
        probes.push((Probe::StepUpStaleAuthTime, StepUpClaims::StaleAuthTime));
        probes.push((Probe::StepUpMissingAuthTime, StepUpClaims::MissingAuthTime));
    }
    probes
        .into_iter()
        .map(|(probe, claims)| {
            Case::send(probe, Expected::Status(401), Credential::StepUp(claims))
                .also(Rule::InsufficientUserAuthentication)
        })
        .collect()
}

/// One request over the route's smallest rate (the one a fresh client meets first).
fn burst_case(policy: &RoutePolicy, max_burst: u32) -> Option<Case> {
    let allowed = policy.rates().iter().map(|rate| rate.count()).min()?;
    if allowed >= max_burst {
        let reason = format!("burst of {} over the scan's maximum", allowed.saturating_add(1));
        return Some(Case::skip(Probe::RateBurst, reason));
    }
    // A limit counted per API key is shared by every probe with the scan's one key (and an
    // API-key route counts per key by default): an early 429 is expected there.
    let shared = matches!(policy.rate_key(), RateKeyKind::ApiKey)
        || (!policy.auth().contains(&AuthScheme::Bearer) && !policy.is_public());
    let counted_by = match policy.rate_key() {
        RateKeyKind::Header(name) => Some(name),
        _ => None,
    };
    let case = Case::send(Probe::RateBurst, Expected::RateLimited(allowed), Credential::Valid);
    let case = Case { sending: Sending::Burst { allowed, counted_by }, ..case };
    Some(if shared { case } else { case.also(Rule::NoEarlyRateLimit) })
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;
    use crate::ip_rules::Cidr;
    use crate::policy::TokenBinding;
    use crate::rate::RateSpec;

    fn route(method: Method, path: &str, policy: RoutePolicy) -> RouteInfo {
        RouteInfo { method, path: path.to_owned(), policy }
    }

    fn setting() -> PlanSetting<'static> {
        PlanSetting {
            threat: ThreatSetting::Blocks,
            api_key_scopes: None,
            max_burst: 1000,
            objects: &[],
            other_issuers: &[],
        }
    }

    fn probes(cases: &[Case]) -> Vec<Probe> {
        cases.iter().map(|case| case.probe).collect()
    }

    fn case(cases: &[Case], probe: Probe) -> &Case {
        cases.iter().find(|case| case.probe == probe).unwrap_or_else(|| panic!("no {probe} case"))
    }

    fn expected(case: &Case) -> Expected {
        match &case.expectation {
            Expectation::Run { expected, .. } => *expected,
            Expectation::Skip(reason) => panic!("{} skipped: {reason}", case.probe),
        }
    }

    #[test]
    fn a_public_route_is_asked_without_credentials_and_with_injections_then_burst() {
        const POLICY: RoutePolicy = RoutePolicy::public("app::health").with_rate(RateSpec::new(10, 60));
        let cases = plan(&route(Method::GET, "/health", POLICY), &setting());
        assert_eq!(
            probes(&cases),
            [Probe::NoCredentials, Probe::ValidCredentials, Probe::SqlInjection, Probe::XssInjection, Probe::RateBurst]
        );
        assert!(cases.iter().all(|case| matches!(case.credential, Credential::None | Credential::Valid)));
        assert_eq!(expected(&cases[0]), Expected::Public);
        assert_eq!(expected(case(&cases, Probe::SqlInjection)), Expected::Status(403));
        let burst = case(&cases, Probe::RateBurst);
        assert_eq!(burst.sending, Sending::Burst { allowed: 10, counted_by: None });
        assert_eq!(
            burst.expectation,
            Expectation::Run { expected: Expected::RateLimited(10), also: Some(Rule::NoEarlyRateLimit) }
        );
    }

    #[test]
    fn an_mtls_route_gets_the_certificate_probes_expecting_401() {
        const POLICY: RoutePolicy = RoutePolicy::secured("app::account")
            .with_auth(&[AuthScheme::Bearer])
            .with_scopes(&["account:read"])
            .with_binding(TokenBinding::Mtls);
        let cases = plan(&route(Method::GET, "/account", POLICY), &setting());
        let without = case(&cases, Probe::CertificateBoundWithoutCertificate);
        assert_eq!(without.credential, Credential::CertificateBound { presented: None });
        assert_eq!(expected(without), Expected::Status(401));
        let other = case(&cases, Probe::OtherClientCertificate);
        assert_eq!(other.credential, Credential::CertificateBound { presented: Some(mtls::OTHER_CERTIFICATE) });
        assert_eq!(expected(other), Expected::Status(401));
        // Mismatched proofs on every OAuth route.
        for probe in [Probe::ProofForOtherUrl, Probe::ProofForOtherMethod, Probe::ProofFromOtherKey] {
            assert_eq!(expected(case(&cases, probe)), Expected::Status(401), "{probe}");
        }
        // A bound route refuses a plain token, and a replayed proof is judged on its second send.
        assert_eq!(case(&cases, Probe::BearerOnBoundRoute).credential, Credential::PlainBearer);
        assert_eq!(case(&cases, Probe::ReplayedProof).sending, Sending::Replayed);
        assert_eq!(case(&cases, Probe::InsufficientScope).credential, Credential::ValidWithScopes(UNRELATED_SCOPES));
    }

    #[test]
    fn a_validated_post_gets_the_body_cases_instead_of_a_plain_valid_request() {
        const POLICY: RoutePolicy = RoutePolicy::secured("app::create")
            .with_auth(&[AuthScheme::Bearer])
            .with_validation(Validation::Enforced)
            .with_max_body(64);
        let cases = plan(&route(Method::POST, "/items/{id}", POLICY), &setting());
        let bodies: Vec<(Probe, Expected, &str)> = cases
            .iter()
            .filter_map(|case| case.body.as_ref().map(|body| (case.probe, expected(case), body.content_type)))
            .collect();
        assert_eq!(
            bodies,
            [
                (Probe::MalformedJson, Expected::Status(400), "application/json"),
                (Probe::WrongType, Expected::Status(422), "application/json"),
                (Probe::UnknownField, Expected::Status(422), "application/json"),
                (Probe::OversizedBody, Expected::Status(413), "application/json"),
                (Probe::WrongContentType, Expected::Status(415), "text/plain"),
            ]
        );
        let oversized = case(&cases, Probe::OversizedBody).body.as_ref().map(|body| body.bytes.len());
        assert_eq!(oversized, Some(65));
        assert!(!probes(&cases).contains(&Probe::ValidCredentials));
        assert_eq!(case(&cases, Probe::WrongTypePathParam).path, PathChoice::WrongType);
    }

    #[test]
    fn a_probe_that_cannot_run_is_skipped_with_its_reason() {
        const POLICY: RoutePolicy = RoutePolicy::secured("app::reports")
            .with_auth(&[AuthScheme::ApiKey])
            .with_scopes(&["reports:read"])
            .with_deny_ips(&[Cidr::v4(192, 0, 2, 0, 24)]);
        // No API key in the scan's credentials: nothing past the credential probes can run.
        let cases = plan(&route(Method::GET, "/reports", POLICY), &setting());
        assert_eq!(
            probes(&cases),
            [
                Probe::NoCredentials,
                Probe::GarbageApiKey,
                Probe::BearerOnApiKeyRoute,
                Probe::ValidCredentials,
                Probe::RateBurst
            ]
        );
        let reason = Expectation::Skip("no credentials for the route's schemes and scopes".to_owned());
        assert_eq!(case(&cases, Probe::ValidCredentials).expectation, reason);

        let scopes = ["reports:read".to_owned()];
        let with_key = PlanSetting { api_key_scopes: Some(&scopes), threat: ThreatSetting::Off, ..setting() };
        let cases = plan(&route(Method::GET, "/reports", POLICY), &with_key);
        let injection = case(&cases, Probe::SqlInjection);
        assert_eq!(injection.expectation, Expectation::Skip("the app runs without threat detection".to_owned()));
        assert_eq!(case(&cases, Probe::DeniedIp).peer, PeerChoice::Denied(Cidr::v4(192, 0, 2, 0, 24).network()));
    }

    #[test]
    fn a_burst_over_the_maximum_is_skipped() {
        const POLICY: RoutePolicy = RoutePolicy::public("app::search").with_rate(RateSpec::new(5000, 60));
        let cases = plan(&route(Method::GET, "/search", POLICY), &setting());
        let reason = Expectation::Skip("burst of 5001 over the scan's maximum".to_owned());
        assert_eq!(case(&cases, Probe::RateBurst).expectation, reason);
    }
}
