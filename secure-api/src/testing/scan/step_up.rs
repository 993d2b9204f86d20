//! The scan's step-up side (RFC 9470): the valid tokens of a route with `acr` / `max_age` carry
//! an accepted `acr` and a fresh `auth_time`, and the tokens of the requirement's probes
//! ([`StepUpClaims`]): a wrong `acr`, none, an `auth_time` a day too old, none. The
//! [plan](super::plan) expects each to be refused with 401 `insufficient_user_authentication`
//! (a 401 for another reason, a binding or a bad proof, means the requirement itself was never
//! tested, so it is a finding too).

use serde_json::{Value, json};

use super::execute::{Headers, Scanner};
use super::mtls;
use crate::policy::{RoutePolicy, TokenBinding};
use crate::testing::bearer;

/// An `acr` no route accepts.
const WRONG_ACR: &str = "scan:insufficient-acr";

/// How much older than `max_age` the stale probe's `auth_time` is: far beyond any sane
/// clock-skew leeway.
const STALE_BY_SECS: i64 = 86_400;

/// What the probe token does to the step-up claims a valid token would carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StepUpClaims {
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
    pub(super) fn step_up_headers(
        &self,
        policy: &RoutePolicy,
        subject: &str,
        scopes: &[&str],
        claims: StepUpClaims,
    ) -> Headers {
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
}
