//! The penalty box: a client address that keeps failing is refused on every route for a while.
//!
//! Per-route limits slow a guesser down on one route; an attacker who spreads failed logins,
//! injection probes or limit-busting bursts over many routes is never stopped by them. The
//! penalty box counts, per client address and across the whole app, three kinds of
//! [`Offence`]: failed authentications (`denied:invalid_token`, `denied:invalid_api_key`,
//! `denied:invalid_request`, `denied:invalid_client`), threat hits (`denied:threat:*`) and rate
//! limit refusals (`limited`). When one kind reaches its threshold within the window, the
//! address is banned for the cool-down: every request from it, on any route (including routes
//! it never touched and `404`s), is answered `429` with `Retry-After` and the audit outcome
//! `denied:banned`, before routing, so no handler, extractor or limiter runs.
//!
//! - Counted by the [`SecurityLayer`](crate::layer::SecurityLayer) from each response's audit
//!   outcome, the one place every rejection ends up, so no check has to remember to report.
//! - Not counted: requests without credentials (a client that has not tried to authenticate
//!   is not guessing), the ban's own refusals (a banned client cannot extend its ban), clients
//!   at a [trusted proxy](crate::client::TrustedProxies) address (one proxy is many clients) and the
//!   [allow-listed](PenaltyBox::allow) networks. IPv6 clients are counted by their /64.
//! - In memory (the default) per instance, bounded by [`max_clients`](PenaltyBox::max_clients).
//!   With [`redis`](PenaltyBox::redis) (feature `redis`) the counts and bans live in Redis, so
//!   a ban made on one instance refuses the client on all of them; when Redis cannot answer,
//!   each instance falls back to its own memory (still counting, never open).
//! - An operator lifts a ban with [`PenaltyBox::lift`].
//!
//! # Examples
//! ```
//! use secure_api::Security;
//! use secure_api::rate::PenaltyBox;
//! use std::time::Duration;
//!
//! let penalty = PenaltyBox::new()
//!     .failed_authentications(20)
//!     .window(Duration::from_secs(60))
//!     .ban_for(Duration::from_secs(300))
//!     .allow("10.1.0.0/16".parse().unwrap());
//! let security = Security::builder().penalty_box(penalty).build();
//! assert!(security.penalty_box().is_some());
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use ipnet::IpNet;
use tower_service::Service;

use crate::audit::Outcome;
use crate::client::TrustedProxies;
use crate::config::ConfigError;
use crate::problem::Problem;
#[cfg(feature = "redis")]
use crate::rate::redis::RedisStore;

/// What the penalty box counts against a client address.
///
/// # Examples
/// ```
/// use secure_api::audit::Outcome;
/// use secure_api::rate::Offence;
///
/// assert_eq!(Offence::of(Outcome::DENIED_INVALID_TOKEN), Some(Offence::FailedAuthentication));
/// assert_eq!(Offence::of(Outcome::new("denied:threat:sqli")), Some(Offence::Threat));
/// assert_eq!(Offence::of(Outcome::LIMITED), Some(Offence::RateLimited));
/// assert_eq!(Offence::of(Outcome::DENIED_MISSING_CREDENTIALS), None);
/// assert_eq!(Offence::of(Outcome::DENIED_BANNED), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Offence {
    /// Credentials were sent and refused (token, API key, malformed `Authorization`, OAuth client).
    FailedAuthentication,
    /// Threat detection blocked the request.
    Threat,
    /// A rate limiter refused the request (`429`).
    RateLimited,
}

impl Offence {
    #[cfg(feature = "redis")]
    const ALL: [Self; 3] = [Self::FailedAuthentication, Self::Threat, Self::RateLimited];

    /// The offence a response's audit outcome stands for, if any.
    pub fn of(outcome: Outcome) -> Option<Self> {
        match outcome {
            Outcome::DENIED_INVALID_TOKEN
            | Outcome::DENIED_INVALID_API_KEY
            | Outcome::DENIED_INVALID_REQUEST
            | Outcome::DENIED_INVALID_CLIENT => Some(Self::FailedAuthentication),
            Outcome::LIMITED => Some(Self::RateLimited),
            outcome if outcome.as_str().starts_with("denied:threat") => Some(Self::Threat),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::FailedAuthentication => 0,
            Self::Threat => 1,
            Self::RateLimited => 2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::FailedAuthentication => "auth",
            Self::Threat => "threat",
            Self::RateLimited => "limited",
        }
    }
}

/// Bans a client address on every route after too many offences within a window (failed
/// authentications, threat hits, rate-limit refusals). Cheap to clone (one shared state); give it to
/// [`SecurityBuilder::penalty_box`](crate::SecurityBuilder::penalty_box).
///
/// Defaults: 20 failed authentications, 10 threat hits or 100 rate-limit refusals within 60 s
/// ban the address for 300 s; at most 100 000 addresses tracked in memory; IPv6 by the /64.
///
/// # Examples
/// ```
/// use secure_api::rate::{Offence, PenaltyBox};
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let penalty = PenaltyBox::new().failed_authentications(2).ban_for(Duration::from_secs(60));
/// let ip = "192.0.2.7".parse().unwrap();
/// assert!(!penalty.record(ip, Offence::FailedAuthentication).await);
/// assert!(penalty.record(ip, Offence::FailedAuthentication).await); // banned now
/// assert!(penalty.banned(ip).await.is_some());
/// assert!(penalty.lift(ip).await);
/// assert!(penalty.banned(ip).await.is_none());
/// # });
/// ```
#[derive(Clone)]
pub struct PenaltyBox {
    inner: Arc<Inner>,
}

struct Inner {
    /// 0: that offence is not counted.
    thresholds: Thresholds,
    window: Duration,
    ban: Duration,
    allow: Vec<IpNet>,
    max_clients: usize,
    ipv6_prefix: u8,
    /// Read on every request (a read lock: checks do not queue behind each other), written on
    /// offences only.
    memory: RwLock<HashMap<IpAddr, Record, foldhash::fast::RandomState>>,
    /// Whether "memory full" was logged (once per process, not once per request).
    full_reported: AtomicBool,
    #[cfg(feature = "redis")]
    redis: Option<RedisStore>,
}

/// How many of each offence within the window ban an address.
#[derive(Clone, Copy, Debug)]
struct Thresholds {
    failed_authentications: u32,
    threat_hits: u32,
    rate_limited: u32,
}

impl Thresholds {
    fn of(&self, offence: Offence) -> u32 {
        match offence {
            Offence::FailedAuthentication => self.failed_authentications,
            Offence::Threat => self.threat_hits,
            Offence::RateLimited => self.rate_limited,
        }
    }
}

/// One address's counts in its current window (by [`Offence::index`]), and its ban.
#[derive(Clone, Copy, Debug)]
struct Record {
    window_start: Instant,
    counts: [u32; 3],
    banned_until: Option<Instant>,
    /// The ban was made here while the shared store could not record it: Redis, once it
    /// answers again, knows nothing of it, so this instance keeps enforcing it.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    outage_ban: bool,
}

impl std::fmt::Debug for PenaltyBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &self.inner;
        let mut out = f.debug_struct("PenaltyBox");
        out.field("thresholds", &inner.thresholds)
            .field("window", &inner.window)
            .field("ban", &inner.ban)
            .field("allow", &inner.allow)
            .field("max_clients", &inner.max_clients);
        #[cfg(feature = "redis")]
        out.field("redis", &inner.redis);
        out.finish_non_exhaustive()
    }
}

impl Default for PenaltyBox {
    fn default() -> Self {
        Self::new()
    }
}

impl PenaltyBox {
    /// A penalty box with the defaults (see the type's docs), kept in memory.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                thresholds: Thresholds { failed_authentications: 20, threat_hits: 10, rate_limited: 100 },
                window: Duration::from_secs(60),
                ban: Duration::from_secs(300),
                allow: Vec::new(),
                max_clients: 100_000,
                ipv6_prefix: 64,
                memory: RwLock::default(),
                full_reported: AtomicBool::new(false),
                #[cfg(feature = "redis")]
                redis: None,
            }),
        }
    }

    /// Configuration happens before the box is shared; a clone made earlier keeps its own.
    fn configure(mut self, change: impl FnOnce(&mut Inner)) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            change(inner);
            return self;
        }
        let old = &self.inner;
        let mut inner = Inner {
            thresholds: old.thresholds,
            window: old.window,
            ban: old.ban,
            allow: old.allow.clone(),
            max_clients: old.max_clients,
            ipv6_prefix: old.ipv6_prefix,
            memory: RwLock::default(),
            full_reported: AtomicBool::new(false),
            #[cfg(feature = "redis")]
            redis: old.redis.clone(),
        };
        change(&mut inner);
        Self { inner: Arc::new(inner) }
    }

    /// Failed authentications within the window that ban an address (default 20; 0: not counted).
    pub fn failed_authentications(self, count: u32) -> Self {
        self.configure(|inner| inner.thresholds.failed_authentications = count)
    }

    /// Blocked threat hits within the window that ban an address (default 10; 0: not counted).
    pub fn threat_hits(self, count: u32) -> Self {
        self.configure(|inner| inner.thresholds.threat_hits = count)
    }

    /// Rate-limit refusals (`429`) within the window that ban an address (default 100; 0: not
    /// counted).
    pub fn rate_limited(self, count: u32) -> Self {
        self.configure(|inner| inner.thresholds.rate_limited = count)
    }

    /// The window the offences are counted in (default 60 s; at least 1 ms). It starts at an
    /// address's first offence: a fixed window, so a client may commit up to twice the
    /// threshold minus two offences across two windows without a ban, never more.
    pub fn window(self, window: Duration) -> Self {
        self.configure(|inner| inner.window = window.clamp(Duration::from_millis(1), LONGEST_DURATION))
    }

    /// How long a ban lasts (default 300 s; at least 1 ms, at most 100 years: `Duration::MAX`
    /// for "for good" is read as that).
    pub fn ban_for(self, ban: Duration) -> Self {
        self.configure(|inner| inner.ban = ban.clamp(Duration::from_millis(1), LONGEST_DURATION))
    }

    /// Never bans addresses in `network` (monitoring, partners, the office); may be repeated.
    /// Trusted proxies are never banned without being listed.
    pub fn allow(self, network: IpNet) -> Self {
        self.configure(|inner| inner.allow.push(network.trunc()))
    }

    /// [`allow`](Self::allow) for each item of a comma-separated list of CIDRs or single
    /// addresses (`10.1.0.0/16, 192.0.2.7`), as an operator writes it in a setting.
    ///
    /// # Examples
    /// ```
    /// use secure_api::rate::PenaltyBox;
    ///
    /// assert!(PenaltyBox::new().allow_list("10.1.0.0/16, 192.0.2.7").is_ok());
    /// assert!(PenaltyBox::new().allow_list("10.1.0.0/99").is_err());
    /// ```
    pub fn allow_list(self, list: &str) -> Result<Self, ConfigError> {
        let mut networks = Vec::new();
        for item in list.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let network = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| ConfigError::new(format!("`{item}` is not a CIDR block or an IP address")))?;
            networks.push(network);
        }
        Ok(networks.into_iter().fold(self, Self::allow))
    }

    /// The most addresses tracked in memory (default 100 000; at least 1). At the cap, expired
    /// records are dropped first, then records without a ban; if every tracked address is
    /// banned, new addresses are not counted until bans expire (logged once): memory stays
    /// bounded and no ban is ever forgotten early.
    pub fn max_clients(self, max: usize) -> Self {
        self.configure(|inner| inner.max_clients = max.max(1))
    }

    /// How many leading bits of an IPv6 address identify one client (default 64, like the
    /// rate limiter's key): rotating addresses inside one allocation does not escape a ban.
    pub fn ipv6_prefix(self, bits: u8) -> Self {
        self.configure(|inner| inner.ipv6_prefix = bits.min(128))
    }

    /// Keeps the counts and bans in `store`'s Redis (under `<namespace>:pb:`), so every
    /// instance sharing it sees a ban; each instance's memory is the fallback during an outage.
    /// Each request then costs one Redis read (`PTTL`), and each offence one script.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(self, store: RedisStore) -> Self {
        self.configure(|inner| inner.redis = Some(store))
    }

    /// The configured ban duration.
    pub fn ban_duration(&self) -> Duration {
        self.inner.ban
    }

    /// Whether `ip` can never be banned: an allow-listed network, or one of `proxies`.
    pub fn exempt(&self, ip: IpAddr, proxies: &TrustedProxies) -> bool {
        proxies.contains(ip) || self.inner.allow.iter().any(|network| network.contains(&ip))
    }

    /// How much longer `ip` is banned, or `None` when it is not.
    pub async fn banned(&self, ip: IpAddr) -> Option<Duration> {
        let client = self.client(ip);
        #[cfg(feature = "redis")]
        if let Some(store) = &self.inner.redis {
            let mut command = redis::cmd("PTTL");
            command.arg(self.ban_key(store, client));
            // Boxed: the round trip's state would otherwise size every request's future.
            if let Some(millis) = Box::pin(store.query::<i64>(&command)).await {
                let shared = u64::try_from(millis).ok().filter(|millis| *millis > 0).map(Duration::from_millis);
                // A ban this instance made during an outage is not in Redis: still a ban.
                return shared.or_else(|| self.outage_ban_in_memory(client, Instant::now()));
            }
        }
        self.banned_in_memory(client, Instant::now())
    }

    /// Counts one `offence` by `ip`; true when it banned the address.
    pub async fn record(&self, ip: IpAddr, offence: Offence) -> bool {
        let threshold = self.inner.thresholds.of(offence);
        if threshold == 0 {
            return false;
        }
        let client = self.client(ip);
        // Memory always counts, so an outage starts with this instance's own history.
        let banned_here = self.record_in_memory(client, offence, threshold, Instant::now());
        #[cfg(feature = "redis")]
        if let Some(store) = &self.inner.redis {
            let mut command = redis::cmd("EVAL");
            command
                .arg(RECORD_SCRIPT)
                .arg(2)
                .arg(self.count_key(store, client, offence))
                .arg(self.ban_key(store, client))
                .arg(millis(self.inner.window))
                .arg(threshold)
                .arg(millis(self.inner.ban));
            if let Some(banned) = Box::pin(store.query::<i64>(&command)).await {
                return self.report_ban(client, offence, banned == 1);
            }
            if banned_here {
                self.mark_outage_ban(client);
            }
        }
        self.report_ban(client, offence, banned_here)
    }

    /// Lifts `ip`'s ban and forgets its counts (in Redis too, when configured); true when it
    /// was banned. Another instance's in-memory fallback is only reached through Redis: with
    /// Redis down, lift the ban on each instance. A ban an instance made while Redis was down
    /// stays on that instance after Redis is back (Redis never heard of it) until it expires
    /// or is lifted there.
    pub async fn lift(&self, ip: IpAddr) -> bool {
        let client = self.client(ip);
        let now = Instant::now();
        let in_memory = self.banned_in_memory(client, now).is_some();
        self.inner.memory.write().unwrap_or_else(PoisonError::into_inner).remove(&client);
        #[cfg(feature = "redis")]
        if let Some(store) = &self.inner.redis {
            let mut command = redis::cmd("DEL");
            command.arg(self.ban_key(store, client));
            for offence in Offence::ALL {
                command.arg(self.count_key(store, client, offence));
            }
            let banned = Box::pin(self.banned_in_redis(store, client)).await;
            if Box::pin(store.query::<i64>(&command)).await.is_some() {
                let lifted = banned || in_memory;
                if lifted {
                    tracing::info!(target: "secure_api::penalty", client_ip = %client, "ban lifted by the operator");
                }
                return lifted;
            }
        }
        if in_memory {
            tracing::info!(target: "secure_api::penalty", client_ip = %client, "ban lifted by the operator");
        }
        in_memory
    }

    #[cfg(feature = "redis")]
    async fn banned_in_redis(&self, store: &RedisStore, client: IpAddr) -> bool {
        let mut command = redis::cmd("PTTL");
        command.arg(self.ban_key(store, client));
        store.query::<i64>(&command).await.is_some_and(|millis| millis > 0)
    }

    /// The address a client is counted under: IPv6 by its prefix.
    fn client(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V6(v6) => {
                if let Some(v4) = v6.to_ipv4_mapped() {
                    return IpAddr::V4(v4);
                }
                let bits = u32::from(self.inner.ipv6_prefix);
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
            IpAddr::V4(_) => ip,
        }
    }

    /// `<namespace>:pb:{<client>}:ban`; the braces are a Redis Cluster hash tag, so one
    /// client's keys share a slot and the script touching two of them stays atomic.
    #[cfg(feature = "redis")]
    fn ban_key(&self, store: &RedisStore, client: IpAddr) -> String {
        format!("{}:pb:{{{client}}}:ban", store.namespace_name())
    }

    #[cfg(feature = "redis")]
    fn count_key(&self, store: &RedisStore, client: IpAddr, offence: Offence) -> String {
        format!("{}:pb:{{{client}}}:{}", store.namespace_name(), offence.name())
    }

    /// How much longer a ban this instance made while Redis was unreachable lasts.
    #[cfg(feature = "redis")]
    fn outage_ban_in_memory(&self, client: IpAddr, now: Instant) -> Option<Duration> {
        let memory = self.inner.memory.read().unwrap_or_else(PoisonError::into_inner);
        let record = memory.get(&client).filter(|record| record.outage_ban)?;
        let until = record.banned_until?;
        (until > now).then(|| until - now)
    }

    #[cfg(feature = "redis")]
    fn mark_outage_ban(&self, client: IpAddr) {
        let mut memory = self.inner.memory.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(record) = memory.get_mut(&client) {
            record.outage_ban = true;
        }
    }

    fn banned_in_memory(&self, client: IpAddr, now: Instant) -> Option<Duration> {
        let memory = self.inner.memory.read().unwrap_or_else(PoisonError::into_inner);
        let until = memory.get(&client)?.banned_until?;
        (until > now).then(|| until - now)
    }

    fn record_in_memory(&self, client: IpAddr, offence: Offence, threshold: u32, now: Instant) -> bool {
        let inner = &self.inner;
        let mut memory = inner.memory.write().unwrap_or_else(PoisonError::into_inner);
        if !memory.contains_key(&client) && memory.len() >= inner.max_clients {
            make_room(&mut memory, inner.max_clients, inner.window, now);
            if memory.len() >= inner.max_clients {
                if !inner.full_reported.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        target: "secure_api::penalty",
                        max_clients = inner.max_clients,
                        "penalty box full of banned addresses; new addresses are not counted until bans expire"
                    );
                }
                return false;
            }
        }
        let record = memory.entry(client).or_insert(Record {
            window_start: now,
            counts: [0; 3],
            banned_until: None,
            outage_ban: false,
        });
        if record.banned_until.is_some_and(|until| until > now) {
            return false;
        }
        if now.duration_since(record.window_start) >= inner.window {
            *record = Record { window_start: now, counts: [0; 3], banned_until: None, outage_ban: false };
        }
        let Some(count) = record.counts.get_mut(offence.index()) else {
            return false;
        };
        *count = count.saturating_add(1);
        if *count < threshold {
            return false;
        }
        *record = Record { window_start: now, counts: [0; 3], banned_until: Some(now + inner.ban), outage_ban: false };
        true
    }

    fn report_ban(&self, client: IpAddr, offence: Offence, banned: bool) -> bool {
        if banned {
            tracing::warn!(
                target: "secure_api::penalty",
                client_ip = %client,
                offence = offence.name(),
                ban_secs = self.inner.ban.as_secs(),
                "client address banned on every route"
            );
        }
        banned
    }
}

/// Drops expired records, then, if that was not enough, every record without a live ban.
fn make_room(
    memory: &mut HashMap<IpAddr, Record, foldhash::fast::RandomState>,
    max: usize,
    window: Duration,
    now: Instant,
) {
    memory.retain(|_, record| {
        record.banned_until.is_some_and(|until| until > now) || now.duration_since(record.window_start) < window
    });
    if memory.len() >= max {
        memory.retain(|_, record| record.banned_until.is_some_and(|until| until > now));
    }
}

/// The longest window or ban: 100 years. Longer ones (`Duration::MAX` meaning "for good") would
/// overflow the clock's arithmetic when a ban starts, and Redis's expiry times.
const LONGEST_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

#[cfg(feature = "redis")]
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Counts one offence (KEYS[1], a counter expiring with the window) and bans (KEYS[2] for the
/// ban's duration) when it reaches the threshold. ARGV: window ms, threshold, ban ms. Returns 1
/// when this offence banned the client. A banned client's offences are not counted.
#[cfg(feature = "redis")]
const RECORD_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

/// The `429` for a banned client: problem+json, `Retry-After`, outcome `denied:banned`.
pub(crate) fn banned_problem(remaining: Duration) -> Problem {
    let retry_after = remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
    let retry_after = retry_after.max(1);
    Problem::new(StatusCode::TOO_MANY_REQUESTS, "banned", "Too Many Requests")
        .with_detail(format!(
            "Too many failed or refused requests from this address; retry after {retry_after} seconds."
        ))
        .with_extension("retry_after", retry_after)
        .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after))
        .with_outcome(Outcome::DENIED_BANNED)
}

/// The layer's step for a client the penalty box may refuse: refused before routing while
/// banned; otherwise served, and the response's outcome counted.
pub(crate) async fn guard<S, B>(penalty: PenaltyBox, ip: IpAddr, mut inner: S, request: http::Request<B>) -> Response
where
    S: Service<http::Request<B>, Response = Response, Error = Infallible>,
{
    if let Some(remaining) = penalty.banned(ip).await {
        return banned_problem(remaining).into_response();
    }
    let response = match inner.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let outcome =
        response.extensions().get::<Outcome>().copied().unwrap_or_else(|| Outcome::from_status(response.status()));
    if let Some(offence) = Offence::of(outcome) {
        penalty.record(ip, offence).await;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_threshold_within_the_window_bans_and_the_ban_expires() {
        let penalty = PenaltyBox::new().failed_authentications(3).ban_for(Duration::from_secs(10));
        let start = Instant::now();
        let client = ip("192.0.2.1");
        assert!(!penalty.record_in_memory(client, Offence::FailedAuthentication, 3, start));
        assert!(!penalty.record_in_memory(client, Offence::FailedAuthentication, 3, start));
        assert!(penalty.record_in_memory(client, Offence::FailedAuthentication, 3, start));
        assert_eq!(penalty.banned_in_memory(client, start), Some(Duration::from_secs(10)));
        assert_eq!(penalty.banned_in_memory(client, start + Duration::from_secs(10)), None);
    }

    /// `Duration::MAX` ("ban for good") is a hundred-year ban, not an overflow on the request
    /// that earns it.
    #[test]
    fn a_ban_for_good_is_a_long_ban_not_a_panic() {
        let penalty = PenaltyBox::new().ban_for(Duration::MAX).window(Duration::MAX);
        assert_eq!(penalty.ban_duration(), LONGEST_DURATION);
        let start = Instant::now();
        let client = ip("192.0.2.1");
        assert!(!penalty.record_in_memory(client, Offence::Threat, 2, start));
        assert!(penalty.record_in_memory(client, Offence::Threat, 2, start));
        assert_eq!(penalty.banned_in_memory(client, start), Some(LONGEST_DURATION));
    }

    #[test]
    fn offences_of_an_old_window_are_forgotten() {
        let penalty = PenaltyBox::new().window(Duration::from_secs(60));
        let start = Instant::now();
        let client = ip("192.0.2.1");
        assert!(!penalty.record_in_memory(client, Offence::Threat, 2, start));
        assert!(!penalty.record_in_memory(client, Offence::Threat, 2, start + Duration::from_secs(60)));
        assert!(penalty.record_in_memory(client, Offence::Threat, 2, start + Duration::from_secs(61)));
    }

    #[test]
    fn each_offence_has_its_own_count() {
        let penalty = PenaltyBox::new();
        let now = Instant::now();
        let client = ip("192.0.2.1");
        assert!(!penalty.record_in_memory(client, Offence::Threat, 2, now));
        assert!(!penalty.record_in_memory(client, Offence::RateLimited, 2, now));
        assert!(penalty.record_in_memory(client, Offence::Threat, 2, now));
    }

    #[test]
    fn memory_is_bounded_and_never_forgets_a_live_ban() {
        let penalty = PenaltyBox::new().max_clients(2);
        let now = Instant::now();
        assert!(penalty.record_in_memory(ip("192.0.2.1"), Offence::Threat, 1, now));
        assert!(penalty.record_in_memory(ip("192.0.2.2"), Offence::Threat, 1, now));
        // Full of live bans: a third address is not tracked, the bans stay.
        assert!(!penalty.record_in_memory(ip("192.0.2.3"), Offence::Threat, 1, now));
        assert_eq!(penalty.inner.memory.read().unwrap().len(), 2);
        assert!(penalty.banned_in_memory(ip("192.0.2.1"), now).is_some());
        // Once they expire, there is room again.
        let later = now + penalty.ban_duration();
        assert!(penalty.record_in_memory(ip("192.0.2.3"), Offence::Threat, 1, later));
        assert!(penalty.inner.memory.read().unwrap().len() <= 2);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_prefix_and_mapped_v4_as_v4() {
        let penalty = PenaltyBox::new();
        assert_eq!(penalty.client(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(penalty.client(ip("::ffff:192.0.2.9")), ip("192.0.2.9"));
    }

    #[test]
    fn allow_listed_networks_and_trusted_proxies_are_exempt() {
        let penalty = PenaltyBox::new().allow("10.1.0.0/16".parse().unwrap());
        let proxies = TrustedProxies::parse("172.16.0.0/12").unwrap();
        assert!(penalty.exempt(ip("10.1.2.3"), &proxies));
        assert!(penalty.exempt(ip("172.16.0.1"), &proxies));
        assert!(!penalty.exempt(ip("192.0.2.1"), &proxies));
    }

    #[test]
    fn the_ban_answer_is_a_429_problem_with_retry_after() {
        let response = banned_problem(Duration::from_millis(1500)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(response.extensions().get::<Outcome>(), Some(&Outcome::DENIED_BANNED));
    }
}
