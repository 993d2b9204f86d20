//! `acr` and `max_age` compile alone, together and beside the other arguments, and end up in
//! the policy.

use secure_api::routing::get;
use secure_api::{Principal, SecureRouter, Security, secure};

#[secure(auth = "oauth", acr = ["urn:example:mfa", "phr"])]
async fn strong(_principal: Principal) {}

#[secure(auth = "jwt", max_age = 300)]
async fn recent() {}

#[secure(auth = "oauth", scopes = ["payments:write"], bound = "dpop", acr = ["phr"], max_age = 60, rate = "10/1m")]
async fn transfer(_principal: Principal) {}

fn main() {
    let router: SecureRouter<Security> =
        SecureRouter::new().route("/a", get(strong)).route("/b", get(recent)).route("/c", get(transfer));
    let policies: Vec<_> = router.routes().iter().map(|route| route.policy).collect();
    assert_eq!(policies[0].acr_values(), ["urn:example:mfa", "phr"]);
    assert_eq!(policies[0].max_age(), None);
    assert_eq!(policies[1].max_age(), Some(300));
    assert!(policies[1].acr_values().is_empty());
    assert_eq!((policies[2].acr_values(), policies[2].max_age()), (&["phr"][..], Some(60)));
}
