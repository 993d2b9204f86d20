//! Real components the behaviour tests start for themselves.

pub mod nginx;
pub mod redis;
pub mod sentinel;

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use http::Request;

/// `request` as if it arrived over a TCP connection from `ip` (what `secure_api::serve`
/// records for every connection).
pub fn from_peer(request: Request<Body>, ip: &str) -> Request<Body> {
    let ip: IpAddr = ip.parse().expect("a test IP");
    secure_api::testing::with_peer(request, SocketAddr::new(ip, 40_000))
}
