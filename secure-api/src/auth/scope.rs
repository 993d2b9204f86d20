//! Authorization by scope: every scope a route declares must be held.

use crate::auth::{AuthScheme, challenge};
use crate::principal::{AuthMethod, Principal};
use crate::problem::Problem;
use crate::state::SecurityConfig;

/// Passes when `principal` holds all of `required`; otherwise 403 `insufficient_scope` naming
/// every required scope (RFC 6750 §3.1).
pub(crate) fn require_scopes(config: &SecurityConfig, principal: &Principal, required: &[&str]) -> Result<(), Problem> {
    if required.iter().all(|scope| principal.has_scope(scope)) {
        return Ok(());
    }
    let scheme = match principal.method() {
        AuthMethod::ApiKey => AuthScheme::ApiKey,
        _ => AuthScheme::Bearer,
    };
    Err(challenge::insufficient_scope(scheme, &config.realm, required))
}
