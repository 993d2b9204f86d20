//! Where threat detection inspects the string values of a parsed body
//! ([pipeline](crate::pipeline) step 6).
//!
//! The body pipeline calls [`inspect_body_strings`] once per request, after the body parsed
//! and before it is turned into the request type: every string value and key goes through the
//! app's threat detector ([`crate::threat::check_json`]) unless the route opted out with
//! `threat = false`. Keeping the call site fixed means the order of the pipeline (parse, then
//! threat detection, then the model and its rules) cannot drift.

use std::ops::ControlFlow;

use http::request::Parts;
use serde_json::Value;

use super::error::{InputSource, LocSegment};
use crate::context::RequestContext;
use crate::policy::RoutePolicy;
use crate::problem::Problem;
use crate::state::Security;

/// Inspects every string of a parsed body or form with the app's threat detector (403 when an
/// input's anomaly score reaches the threshold in block mode), unless the route opted out;
/// the route's field exemptions (`threat(exempt(xss = ["body.description"]))`) apply, and
/// a finding that does not block (log-only mode, or below the threshold) is noted in the
/// request's audit line, through the request context (500 without one, like every reader).
pub(crate) fn inspect_body_strings(
    security: &Security,
    policy: &RoutePolicy,
    parts: &Parts,
    _source: InputSource,
    body: &Value,
) -> Result<(), Problem> {
    if !policy.threat_detection() {
        return Ok(());
    }
    let context = RequestContext::of(parts)?;
    crate::threat::check_json_in(security, body, policy.threat_exemptions(), Some(context))
}

/// Calls `visit` with the location and text of every string in `value`: object keys (with the
/// location of their object) and string values, depth first, in document order. Stops early
/// when `visit` breaks, returning its value.
// Not called yet outside tests: it is the entry point threat detection will use.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn for_each_string<B>(
    value: &Value,
    visit: &mut impl FnMut(&[LocSegment], &str) -> ControlFlow<B>,
) -> ControlFlow<B> {
    fn walk<B>(
        value: &Value,
        loc: &mut Vec<LocSegment>,
        visit: &mut impl FnMut(&[LocSegment], &str) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        match value {
            Value::String(text) => visit(loc, text),
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    loc.push(LocSegment::Index(index));
                    let flow = walk(item, loc, visit);
                    loc.pop();
                    flow?;
                }
                ControlFlow::Continue(())
            }
            Value::Object(object) => {
                for (key, item) in object {
                    visit(loc, key)?;
                    loc.push(LocSegment::from(key.clone()));
                    let flow = walk(item, loc, visit);
                    loc.pop();
                    flow?;
                }
                ControlFlow::Continue(())
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => ControlFlow::Continue(()),
        }
    }
    walk(value, &mut Vec::new(), visit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_every_key_and_string_value_with_its_loc() {
        let body = serde_json::json!({"name": "O'Brien", "tags": ["a", 1, {"k": "v"}], "n": 2});
        let mut seen = Vec::new();
        let flow: ControlFlow<()> = for_each_string(&body, &mut |loc, text| {
            let loc: Vec<String> = loc.iter().map(ToString::to_string).collect();
            seen.push(format!("{}={text}", loc.join(".")));
            ControlFlow::Continue(())
        });
        assert!(flow.is_continue());
        assert_eq!(seen, ["=n", "=name", "name=O'Brien", "=tags", "tags.0=a", "tags.2=k", "tags.2.k=v"]);
    }

    #[test]
    fn stops_at_the_first_break() {
        let body = serde_json::json!(["ok", "stop", "never"]);
        let mut visited = 0;
        let flow = for_each_string(&body, &mut |_, text| {
            visited += 1;
            if text == "stop" { ControlFlow::Break(text.to_owned()) } else { ControlFlow::Continue(()) }
        });
        assert_eq!(flow, ControlFlow::Break("stop".to_owned()));
        assert_eq!(visited, 2);
    }

    /// The parts of a request that went through the security layer (the hook reads its context).
    fn parts() -> Parts {
        let mut parts = http::Request::new(()).into_parts().0;
        let client = crate::client::ClientIdentity { ip: std::net::Ipv4Addr::LOCALHOST.into(), https: false };
        parts.extensions.insert(RequestContext::new(client, crate::request_id::RequestId::generate()));
        parts
    }

    fn security() -> Security {
        let detector = crate::threat::ThreatDetector::new(crate::threat::ThreatMode::Block).unwrap();
        Security::builder().threat_detection(detector).build()
    }

    #[test]
    fn the_hook_refuses_an_attack_unless_the_route_opted_out() {
        let body = serde_json::json!({"q": "' OR 1=1 --"});
        let policy = RoutePolicy::secured("tests::hook");
        let problem = inspect_body_strings(&security(), &policy, &parts(), InputSource::Body, &body).unwrap_err();
        assert_eq!(problem.status(), 403);
        let opted_out = policy.with_threat_detection(false);
        assert!(inspect_body_strings(&security(), &opted_out, &parts(), InputSource::Body, &body).is_ok());
        assert!(
            inspect_body_strings(&Security::builder().build(), &policy, &parts(), InputSource::Body, &body).is_ok()
        );
    }

    #[test]
    fn the_hook_applies_the_routes_field_exemptions() {
        use crate::threat::{FieldExemption, ThreatFamily};
        const EXEMPT: &[FieldExemption] = &[FieldExemption::new("body.description", &[ThreatFamily::Xss])];
        let policy = RoutePolicy::secured("tests::hook").with_threat_exemptions(EXEMPT);
        let markup = serde_json::json!({"description": "<b onmouseover=\"tip()\">Bold</b>"});
        assert!(inspect_body_strings(&security(), &policy, &parts(), InputSource::Body, &markup).is_ok());
        let elsewhere = serde_json::json!({"name": "<b onmouseover=\"tip()\">Bold</b>"});
        assert!(inspect_body_strings(&security(), &policy, &parts(), InputSource::Body, &elsewhere).is_err());
    }
}
