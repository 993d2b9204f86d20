//! Real components the behaviour tests start for themselves.

pub mod redis;

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::Request;

/// `request` as if it arrived over a TCP connection from `ip` (what `secure_api::serve`
/// records for every connection).
pub fn from_peer(mut request: Request<Body>, ip: &str) -> Request<Body> {
    let ip: IpAddr = ip.parse().expect("a test IP");
    request.extensions_mut().insert(ConnectInfo(SocketAddr::new(ip, 40_000)));
    request
}
