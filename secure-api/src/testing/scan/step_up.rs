//! The scan's step-up side (RFC 9470): the valid tokens of a route with `acr` / `max_age` carry
//! an accepted `acr` and a fresh `auth_time`, and the probes of the requirement itself: a token
//! with a wrong `acr`, without one, with an `auth_time` a day too old, and without one. Each
//! must be refused with 401 `insufficient_user_authentication`: a 401 for another reason (a
//! binding, a bad proof) would mean the requirement itself was never tested, so it is a finding
//! too. Routes without a step-up requirement get no rows here.

use serde_json::{Value, json};

use super::{Expected, Headers, Probe, Scanner, Verdict, mtls};
use crate::policy::{RoutePolicy, TokenBinding};
use crate::routing::RouteInfo;
use crate::testing::bearer;

/// An `acr` no route accepts.
const WRONG_ACR: &str = "scan:insufficient-acr";

/// How much older than `max_age` the stale probe's `auth_time` is: far beyond any sane
/// clock-skew leeway.
const STALE_BY_SECS: i64 = 86_400;

/// What the probe token does to the step-up claims a valid token would carry.
#[derive(Clone, Copy)]
enum StepUpClaims {
    /// An accepted `acr` and `auth_time` now: what the route asks for.
    Satisfying,
    WrongAcr,
    MissingAcr,
    StaleAuthTime,
    MissingAuthTime,
}

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
}

impl Scanner<'_> {
    /// `Authorization` (and the client certificate, on a `bound = "mtls"` route) for `subject`
    /// with `scopes`, the token bound as the route requires, its step-up claims as `claims` says:
    /// certificate-bound on a `bound = "mtls"` route, DPoP-bound on another `bound` route (the
    /// proof is added when the request is sent), a plain bearer token otherwise.
    fn step_up_headers(&self, policy: &RoutePolicy, subject: &str, scopes: &[&str], claims: StepUpClaims) -> Headers {
        let tokens = &self.credentials.tokens;
        let mut map = tokens.claims(scopes);
        map.insert("sub".to_owned(), json!(subject));
        let certificate_bound = policy.binding() == Some(TokenBinding::Mtls);
        let dpop_bound = policy.requires_binding() && !certificate_bound;
        if certificate_bound {
            let thumbprint = mtls::certificate(mtls::SCAN_CERTIFICATE);
            map.insert("cnf".to_owned(), json!({ "x5t#S256": thumbprint.thumbprint() }));
        } else if dpop_bound {
            map.insert("cnf".to_owned(), json!({ "jkt": self.credentials.dpop_key.jkt() }));
        }
        if let Some(acr) = policy.acr_values().first() {
            match claims {
                StepUpClaims::WrongAcr => map.insert("acr".to_owned(), json!(WRONG_ACR)),
                StepUpClaims::MissingAcr => None,
                _ => map.insert("acr".to_owned(), json!(acr)),
            };
        }
        if let Some(max_age) = policy.max_age() {
            let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
            let auth_time = match claims {
                StepUpClaims::StaleAuthTime => Some(now().saturating_sub(max_age).saturating_sub(STALE_BY_SECS)),
                StepUpClaims::MissingAuthTime => None,
                _ => Some(now()),
            };
            if let Some(auth_time) = auth_time {
                map.insert("auth_time".to_owned(), Value::from(auth_time));
            }
        }
        let token = tokens.sign(&map);
        let authorization = if dpop_bound { format!("DPoP {token}") } else { bearer(&token) };
        let mut headers = vec![("authorization".to_owned(), authorization)];
        if certificate_bound {
            headers.push((mtls::CLIENT_CERTIFICATE.to_owned(), mtls::SCAN_CERTIFICATE.to_owned()));
        }
        headers
    }

    /// Headers with a token that meets the route's step-up requirement: what
    /// [`bearer_headers`](Scanner::bearer_headers) sends on such a route.
    pub(super) fn satisfying_headers(&self, policy: &RoutePolicy, subject: &str, scopes: &[&str]) -> Headers {
        self.step_up_headers(policy, subject, scopes, StepUpClaims::Satisfying)
    }

    /// The step-up probes of a route with `acr` or `max_age`, each with the route's scopes and
    /// binding so that only the step-up claims are wrong; nothing for other routes.
    pub(super) async fn step_up_probes(&mut self, route: &RouteInfo) {
        let policy = route.policy;
        if !policy.requires_step_up() {
            return;
        }
        let mut probes = Vec::new();
        if !policy.acr_values().is_empty() {
            probes.push((Probe::StepUpWrongAcr, StepUpClaims::WrongAcr));
            probes.push((Probe::StepUpMissingAcr, StepUpClaims::MissingAcr));
        }
        if policy.max_age().is_some() {
            probes.push((Probe::StepUpStaleAuthTime, StepUpClaims::StaleAuthTime));
            probes.push((Probe::StepUpMissingAuthTime, StepUpClaims::MissingAuthTime));
        }
        for (probe, claims) in probes {
            let (peer, subject) = self.fresh_client(&policy);
            let headers = self.step_up_headers(&policy, &subject, policy.scopes(), claims);
            let reply = self.send(route, peer, "", &headers, None).await;
            self.record(route, probe, Expected::Status(401), Some(&reply));
            if reply.status == http::StatusCode::UNAUTHORIZED
                && !reply.header("www-authenticate").contains("error=\"insufficient_user_authentication\"")
                && let Some(row) = self.rows.last_mut()
            {
                let reason = "401 without error=\"insufficient_user_authentication\": refused for another reason, \
                              so the step-up requirement was not tested"
                    .to_owned();
                match &mut row.verdict {
                    Verdict::Finding(reasons) => reasons.push(reason),
                    verdict => *verdict = Verdict::Finding(vec![reason]),
                }
            }
        }
    }
}
