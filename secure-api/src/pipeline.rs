//! The request pipeline of a `#[secure]` or `#[public]` route, in order: the one definition
//! of the step numbers the rest of the documentation cites ("step 4" is the rate limit,
//! everywhere).
//!
//! Order matters: each step runs only for a request every earlier step let through, so a
//! caller refused by steps 1–5 never gets a request body read, a blocked address never reaches
//! a token verifier, and a guessing client is counted before it learns anything.
//!
//! | step | what | run by | refused with |
//! |---|---|---|---|
//! | 1 | **client identity**: the peer address (required), `X-Forwarded-For` / `Forwarded` / the configured client-IP and proto headers only from a [trusted proxy](crate::client::TrustedProxies), the request id; the [audit log](crate::audit::AuditLog)'s sink keeping up; the request head's size limits ([`RequestLimits`](crate::request_limits::RequestLimits)); the app-wide [`IpRules`](crate::ip_rules::IpRules); the [penalty box](crate::rate::PenaltyBox) | [`SecurityLayer`](crate::layer::SecurityLayer), before routing | `500` (no peer address), `503` `audit-unavailable`, `414` / `431`, `403` `ip-denied`, `429` `banned` |
//! | — | routing: no route, wrong method | axum's router | `404` / `405` (no limiter is ever charged) |
//! | 2 | **gateway**: the route's IP allow/deny lists, then [threat detection](crate::threat) on the path, query and headers | [`Guard`](crate::routing::Guard) | `403` |
//! | 3 | **authentication** (`auth = "oauth" \| "jwt" \| "api_key" \| ...`, DPoP-bound tokens) | [`Guard`](crate::routing::Guard) | `401` with a challenge (`400` for a bad DPoP proof) |
//! | 4 | **rate limit** of the route ([`rate`](crate::rate)): keyed by the principal, or by client IP before/without authentication; a failed authentication counts against the client IP | [`Guard`](crate::routing::Guard) | `429` with `Retry-After` and the RateLimit fields |
//! | 5 | **authorization**: the route's step-up requirement (`acr`, `max_age`, RFC 9470), the route's `scopes`, then its object-level check (`authorize = ...`, once the path and query inputs are validated) | [`Guard`](crate::routing::Guard); the `Authorize` extractor | `401` `insufficient_user_authentication`; `403` `insufficient_scope`; `403` |
//! | 6 | **inputs** ([`validate`](crate::validate)): body size, content type, strict parse, threat detection on the body's strings, the model and its `validate` rules | [`Validated`](crate::validate::Validated) | `413` / `415` / `400` / `403` / `422` |
//! | 7 | the **handler** runs; then security headers, a problem+json body for a bare error, the request id, the RateLimit fields and one audit line on every response, refusals included | the handler; [`SecurityLayer`](crate::layer::SecurityLayer) | — |
//!
//! Every step after the first reads what step 1 resolved from the one request context the
//! layer inserts. A guarded handler reached without the layer (routed on a hand-built
//! `axum::Router`) would have no resolved client, no headers and no audit line, and every
//! caller would share one rate-limit bucket: every reader of the context (the guard, the
//! [`Principal`](crate::Principal), [`ClientIdentity`](crate::client::ClientIdentity) and
//! [`RequestId`](crate::request_id::RequestId) extractors, the body extractors) then fails closed with
//! `500` problem+json, and the operator is told why in the log (at most once a minute).
