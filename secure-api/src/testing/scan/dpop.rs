//! The scan's DPoP side (RFC 9449): bound tokens with a fresh proof per request, and the probes
//! of the binding itself: a plain bearer token on a `bound` route, a bound token sent as
//! `Bearer`, a replayed proof, a proof for another URL.

use super::{Expected, Headers, Probe, Scanner, fill_path};
use crate::policy::{RoutePolicy, TokenBinding};
use crate::routing::RouteInfo;
use crate::testing::{DpopKey, bearer};

/// The host the scan's proofs name (`htu`), sent as `Host` with them.
pub(super) const SCAN_HOST: &str = "scan.invalid";

fn url(path: &str) -> String {
    format!("http://{SCAN_HOST}{path}")
}

impl Scanner<'_> {
    /// `Authorization` for a principal with `scopes`: a certificate-bound token and the scan's
    /// certificate on a `bound = "mtls"` route, a DPoP-bound token on another `bound` route (its
    /// proof is added when the request is sent), a plain bearer token otherwise.
    pub(super) fn bearer_headers(&self, policy: &RoutePolicy, subject: &str, scopes: &[&str]) -> Headers {
        let tokens = &self.credentials.tokens;
        if policy.requires_step_up() {
            // With the `acr` and `auth_time` the route asks for (RFC 9470), bound as it requires.
            return self.satisfying_headers(policy, subject, scopes);
        }
        if policy.binding() == Some(TokenBinding::Mtls) {
            return self.certificate_bound_headers(subject, scopes);
        }
        let value = if policy.requires_binding() {
            format!("DPoP {}", tokens.bound_token_for(subject, scopes, self.credentials.dpop_key.jkt()))
        } else {
            bearer(&tokens.token_for(subject, scopes))
        };
        vec![("authorization".to_owned(), value)]
    }

    /// A proof for a request that sends a `DPoP` token without one of its own.
    pub(super) fn fresh_proof(&self, route: &RouteInfo, path: &str, headers: &[(&str, &str)]) -> Option<String> {
        if headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("dpop")) {
            return None;
        }
        let (_, value) = headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("authorization"))?;
        let token = value.strip_prefix("DPoP ")?;
        Some(self.proof(&self.credentials.dpop_key, route.method.as_str(), &url(path), Some(token)))
    }

    /// A fresh proof by `key`, with the app's current nonce when it requires one.
    fn proof(&self, key: &DpopKey, method: &str, url: &str, token: Option<&str>) -> String {
        let nonce = self.dpop_nonces.as_ref().and_then(|security| security.dpop().nonce());
        key.proof_with_nonce(method, url, token, nonce.as_deref())
    }

    /// The binding probes of an `oauth` route.
    pub(super) async fn dpop_probes(&mut self, route: &RouteInfo, key: &DpopKey) {
        let policy = route.policy;
        let scopes = policy.scopes();
        let path = fill_path(&route.path, None);
        let method = route.method.as_str();
        let tokens = self.credentials.tokens.clone();

        if policy.requires_binding() {
            let (_, subject) = self.fresh_client(&policy);
            let headers = vec![("authorization".to_owned(), bearer(&tokens.token_for(&subject, scopes)))];
            self.probe(route, Probe::BearerOnBoundRoute, Expected::Status(401), headers, "", None).await;
        } else {
            self.skip(route, Probe::BearerOnBoundRoute, "route accepts plain bearer tokens");
        }

        let (_, subject) = self.fresh_client(&policy);
        let token = tokens.bound_token_for(&subject, scopes, key.jkt());
        let headers = vec![
            ("authorization".to_owned(), bearer(&token)),
            ("host".to_owned(), SCAN_HOST.to_owned()),
            ("dpop".to_owned(), self.proof(key, method, &url(&path), Some(&token))),
        ];
        self.probe(route, Probe::BoundTokenAsBearer, Expected::Status(401), headers, "", None).await;

        let (_, subject) = self.fresh_client(&policy);
        let token = tokens.bound_token_for(&subject, scopes, key.jkt());
        let other = self.proof(key, method, &url("/scan-other-url"), Some(&token));
        let headers = vec![
            ("authorization".to_owned(), format!("DPoP {token}")),
            ("host".to_owned(), SCAN_HOST.to_owned()),
            ("dpop".to_owned(), other),
        ];
        self.probe(route, Probe::ProofForOtherUrl, Expected::Status(401), headers, "", None).await;

        // The same request twice: whatever the first gets, the second must be refused.
        let (peer, subject) = self.fresh_client(&policy);
        let token = tokens.bound_token_for(&subject, scopes, key.jkt());
        let headers = vec![
            ("authorization".to_owned(), format!("DPoP {token}")),
            ("host".to_owned(), SCAN_HOST.to_owned()),
            ("dpop".to_owned(), self.proof(key, method, &url(&path), Some(&token))),
        ];
        let _first = self.send(route, peer, "", &headers, None).await;
        let replay = self.send(route, peer, "", &headers, None).await;
        self.record(route, Probe::ReplayedProof, Expected::Status(401), Some(&replay));
    }
}
