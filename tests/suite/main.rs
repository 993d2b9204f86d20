//! The workspace-level test suite, one binary (link time matters on small CI machines).
//!
//! - `ui`: trybuild cases proving the compile-time rules (`tests/ui/{fail,pass}`).
//! - the rest: behaviour over real requests, through `tower::ServiceExt::oneshot` on the
//!   quickstart's router or over a real loopback socket.

mod common;
mod support;

mod api_keys;
mod asymmetric;
mod audit_log;
mod bearer;
mod body_encoding;
mod composition;
mod connections;
mod dpop;
mod gateway_audit;
mod gateway_headers;
mod gateway_ip;
mod gateway_threat;
mod http2_frames;
mod idp_authorize;
mod idp_introspection;
mod idp_jwks;
mod idp_oidc;
mod idp_schemes;
mod idp_support;
mod issuers;
mod log_injection;
mod metrics;
mod mtls;
mod openapi;
mod penalty_box;
mod proxy_nginx;
mod quickstart_socket;
mod rate_concurrency;
mod rate_identity;
mod rate_multi;
mod rate_quickstart;
mod rate_redis;
mod rate_redis_cluster;
mod rate_redis_sentinel;
mod rate_valkey;
mod report;
mod request_head;
mod router;
mod scan;
mod scan_finds;
mod smuggling;
mod step_up;
mod threat_corpora;
mod threat_exempt;
mod tls;
mod token_cache;
mod token_endpoint;
mod ui;
mod validation;
mod validation_limits;
mod validation_models;
mod validation_parser;
