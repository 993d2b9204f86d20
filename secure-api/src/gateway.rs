//! Pipeline step 2, the gateway checks of one routed request: the route's IP allow/deny lists,
//! then threat detection on the path, query and headers. Both run before authentication, so a
//! blocked caller never reaches a verifier, a limiter or a body parser.

use http::request::Parts;

use crate::context::RequestContext;
use crate::ip_rules::{ip_allowed, ip_denied};
use crate::policy::RoutePolicy;
use crate::problem::Problem;
use crate::state::Security;
use crate::threat;

/// Runs step 2 for `policy`; `Err` is the 403 to send.
pub(crate) fn check_route(security: &Security, policy: &RoutePolicy, parts: &Parts) -> Result<(), Problem> {
    if !policy.allow_ips().is_empty() || !policy.deny_ips().is_empty() {
        // The layer inserts the identity; without it (a router built without the layer) the
        // peer is unknown and an allow list cannot be satisfied: fail closed.
        let client = RequestContext::of(parts).map(|context| context.client().ip);
        let allowed = client.is_some_and(|ip| ip_allowed(policy.allow_ips(), policy.deny_ips(), ip));
        if !allowed {
            tracing::info!(
                target: "secure_api::gateway",
                handler = policy.handler(),
                client_ip = ?client,
                "client address refused by the route's IP rules"
            );
            return Err(ip_denied());
        }
    }
    if policy.threat_detection()
        && let Some(detector) = security.threat_detector()
    {
        threat::check_request(detector, parts, policy.threat_exemptions())?;
    }
    Ok(())
}
