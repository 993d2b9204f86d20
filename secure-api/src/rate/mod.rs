//! Rate limiting: `#[secure(rate = "100/15m")]` or several limits
//! (`rate = ["10/1s", "1000/1h"]`), one limiter per route.
//!
//! - [`RateSpec`] (`spec.rs`): `N/WINDOW` and its GCRA semantics: a fresh caller may send all
//!   `N` at once, then one request per `WINDOW / N`. The same in every store.
//! - [`RateKeyKind`] / [`RateKey`] (`key.rs`): who a request is counted against: the
//!   principal on `auth` routes, the client IP before or without authentication (IPv6 by its
//!   /64), or what `key = "ip" | "principal" | "api_key" | "header:NAME" | "claim:NAME"` says.
//! - [`MemoryLimiter`] (`memory.rs`): `governor`'s GCRA over a bounded map that cleans
//!   itself.
//! - `RedisStore` (`redis.rs`, feature `redis`): the same GCRA in an atomic Lua script, shared by every
//!   instance, with the in-memory limiter as the fallback during outages; `redis/quota.rs`, its
//!   opt-in local quota (batches of a caller's quota spent on one instance).
//! - `headers.rs`: `RateLimit-Policy`, `RateLimit`, `Retry-After` and the 429 problem.
//! - [`RateLimits`] / [`RouteLimiter`] (`limiter.rs`): the per-route limiters in
//!   [`Security`](crate::Security), and `limit`, the one entry point of the guard's step.
//! - [`PenaltyBox`] (`penalty.rs`): an address with too many failed authentications, threat
//!   hits or 429s across the app is refused on every route for a cool-down.
//!
//! # In the pipeline
//! [Pipeline](crate::pipeline) step 4, after authentication and before authorization. On an
//! `auth` route a request that fails authentication is counted against its client IP, and a
//! client IP that used up the route's quota that way is refused (429) before its next
//! credentials count, so guessing tokens or keys goes no faster than the route's rate.
//! Requests answered 404 or 405 by the router never reach a limiter.
//!
//! # Examples
//! ```
//! use secure_api::{secure, public, Principal};
//!
//! #[secure(auth = "oauth", scopes = ["items:read"], rate = "100/15m")]
//! async fn list_items(principal: Principal) -> String { principal.id().to_owned() }
//!
//! #[public(rate = "10/1m")]
//! async fn sign_up() -> &'static str { "ok" }
//!
//! #[secure(auth = "api_key", rate = "10/1m", key = "api_key")]
//! async fn reports() -> &'static str { "report" }
//! ```
//!
//! # Several limits per route, quotas per tenant
//! `rate = [...]` lists several limits; a request passes only when every one has room, and
//! only then is it counted, against all of them (a request refused by one limit consumes none
//! of the others), in memory and in Redis alike (one script, one round trip, for all of them).
//! `RateLimit-Policy` lists every policy (`"10/1s";q=10;w=1, "1000/1h";q=1000;w=3600`) and
//! `RateLimit` reports the one closest to exhaustion (on a 429: the one refusing longest,
//! whose wait `Retry-After` gives). `key = "claim:NAME"` counts per top-level string claim of
//! the verified token, e.g. one quota per tenant; a token without the claim is counted by its
//! principal.
//! ```
//! use secure_api::secure;
//!
//! #[secure(auth = "oauth", rate = ["10/1s", "1000/1h"], key = "claim:tenant_id")]
//! async fn search() -> &'static str { "found" }
//! ```
//! Each rate of the list is checked at compile time like a single one:
//! ```compile_fail
//! # use secure_api::secure;
//! #[secure(auth = "oauth", rate = ["10/1s", "0/1h"])] // zero requests per hour
//! async fn search() -> &'static str { "found" }
//! ```
//! ```compile_fail
//! # use secure_api::secure;
//! #[secure(auth = "oauth", rate = ["10/1s", "1000/1x"])] // unknown unit
//! async fn search() -> &'static str { "found" }
//! ```
//! ```compile_fail
//! # use secure_api::secure;
//! #[secure(auth = "oauth", rate = ["60/m", "60/1m"])] // the same rate twice
//! async fn search() -> &'static str { "found" }
//! ```
//! ```compile_fail
//! # use secure_api::secure;
//! #[secure(auth = "oauth", rate = [])] // no rate at all
//! async fn search() -> &'static str { "found" }
//! ```
//! A claim needs a verified token:
//! ```compile_fail
//! # use secure_api::public;
//! #[public(rate = "10/1m", key = "claim:tenant_id")]
//! async fn search() -> &'static str { "found" }
//! ```

mod headers;
mod key;
mod limiter;
mod memory;
mod penalty;
#[cfg(feature = "redis")]
mod redis;
mod spec;

pub(crate) use headers::RateSlot;
pub use headers::{RATELIMIT, RATELIMIT_POLICY};
pub use key::{RateKey, RateKeyKind};
pub(crate) use limiter::{Caller, limit};
pub use limiter::{RateDecision, RateLimits, RouteLimiter};
pub use memory::{DEFAULT_MAX_KEYS, MemoryLimiter};
pub(crate) use penalty::guard as penalty_guard;
pub use penalty::{Offence, PenaltyBox};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisStore;
pub use spec::RateSpec;
