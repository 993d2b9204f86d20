//! The scan's DPoP side (RFC 9449): bound tokens with a fresh proof per request, and the
//! credentials of the binding's probes ([`DpopCredential`]): a bound token sent as `Bearer`, a
//! proof for another URL, a proof made once for a replay. Which probes a route gets is the
//! [plan](super::plan)'s decision.

use super::execute::{Headers, Scanner};
use super::plan::DpopCredential;
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

    /// `Authorization` with a DPoP-bound token for `subject` with the route's scopes, presented
    /// as `presented` says, with the `Host` and `DPoP` proof it names: for `path`, or for another
    /// URL. The proof is made once, so a replayed case sends the very same one again.
    pub(super) fn dpop_headers(
        &self,
        route: &RouteInfo,
        presented: DpopCredential,
        subject: &str,
        path: &str,
    ) -> Headers {
        let key = &self.credentials.dpop_key;
        let token = self.credentials.tokens.bound_token_for(subject, route.policy.scopes(), key.jkt());
        let method = route.method.as_str();
        let other_method = if route.method == http::Method::GET { "POST" } else { "GET" };
        let other_key = DpopKey::other_test_key();
        let (authorization, proof_key, proof_method, proof_url) = match presented {
            DpopCredential::AsBearer => (bearer(&token), key, method, url(path)),
            DpopCredential::ProofForOtherUrl => (format!("DPoP {token}"), key, method, url("/scan-other-url")),
            DpopCredential::ProofForOtherMethod => (format!("DPoP {token}"), key, other_method, url(path)),
            DpopCredential::ProofFromOtherKey => (format!("DPoP {token}"), &other_key, method, url(path)),
            DpopCredential::WithProof => (format!("DPoP {token}"), key, method, url(path)),
        };
        let proof = self.proof(proof_key, proof_method, &proof_url, Some(&token));
        vec![
            ("authorization".to_owned(), authorization),
            ("host".to_owned(), SCAN_HOST.to_owned()),
            ("dpop".to_owned(), proof),
        ]
    }
}
