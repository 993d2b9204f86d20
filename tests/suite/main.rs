//! The workspace-level test suite, one binary (link time matters on small CI machines).
//!
//! - `ui`: trybuild cases proving the compile-time rules (`tests/ui/{fail,pass}`).
//! - the rest: behaviour over real requests, through `tower::ServiceExt::oneshot` on the
//!   quickstart's router or over a real loopback socket.

mod common;

mod api_keys;
mod bearer;
mod quickstart_socket;
mod router;
mod token_cache;
mod token_endpoint;
mod ui;
