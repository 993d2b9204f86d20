//! [Pipeline](crate::pipeline) step 2, the gateway checks of one routed request: the route's IP
//! allow/deny lists, then threat detection on the path, query and headers. Both run before
//! authentication, so a blocked caller never reaches a verifier, a limiter or a body parser.

use http::request::Parts;

use crate::context::RequestContext;
use crate::ip_rules::{ip_allowed, ip_denied};
use crate::policy::RoutePolicy;
use crate::problem::Problem;
use crate::state::Security;
use crate::threat;

/// Runs step 2 for `policy` on the client `context` resolved; `Err` is the 403 to send.
pub(crate) fn check_route(
    security: &Security,
    policy: &RoutePolicy,
    parts: &Parts,
    context: &RequestContext,
) -> Result<(), Problem> {
    if !policy.allow_ips().is_empty() || !policy.deny_ips().is_empty() {
        let client = context.client().ip;
        if !ip_allowed(policy.allow_ips(), policy.deny_ips(), client) {
            tracing::info!(
                target: "secure_api::gateway",
                handler = policy.handler(),
                client_ip = %client,
                "client address refused by the route's IP rules"
            );
            return Err(ip_denied());
        }
    }
    if policy.threat_detection()
        && let Some(detector) = security.threat_detector()
    {
        threat::check_request(detector, parts, policy.threat_exemptions(), context)?;
    }
    Ok(())
}
