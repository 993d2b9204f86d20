//! The Redis store: one GCRA for every instance of the app, in an atomic Lua script.
//!
//! One round trip per check, for all of a route's limits together (`EVALSHA`, falling back to `EVAL` when the server does not have
//! the script cached, e.g. after a restart). The script reads the server's clock (`TIME`), so
//! instances whose clocks differ still share one timeline, and it implements exactly the GCRA
//! of the in-memory store, in microseconds. Keys are `<namespace>:rl:<route>:<key>` and expire
//! when their state equals a fresh key's, so Redis holds only the keys of active callers.
//!
//! # Redis Cluster
//! A URL listing several `redis://` nodes separated by commas connects to a Redis Cluster
//! through `redis::cluster_async` (slots discovered from any listed node, redirections
//! followed). There every route's keys carry a hash tag, `<namespace>:rl:{<route>}:<key>`: the
//! script reads a route's client-IP gate and counts the caller's key in one atomic step, and
//! Redis runs a script only on keys of one slot, so one route's keys, for every caller, live on
//! one slot (different routes spread over the cluster). A single server needs no tag, and its
//! keys keep the names they always had.
//! After a command meets no answer within the timeout (a master cut off by the network), the
//! cluster connection is built again in the background with a fresh slot map, so the store
//! follows the cluster's failover to the promoted replica.
//!
//! # Redis Sentinel
//! A `redis+sentinel://` URL names a master through its sentinels:
//! `redis+sentinel://[[username]:password@]host[:port][,host[:port]...]/master-name[/db]`
//! (port 26379 when left out; the credentials and the database are the master's, the sentinels
//! are asked without). The sentinels are asked which server is the master on first use, and
//! again whenever the connection to it fails, it answers `READONLY` (it was demoted to a
//! replica) or it does not answer within the timeout: after a failover the store finds the
//! promoted replica by itself. Keys and scripts are those of a single server.
//!
//! A command that fails because the pooled connection died (Redis restarted, a proxy dropped
//! it) is sent once more on a fresh connection before anything else happens: a restart is not
//! an outage. When Redis is unreachable, errors or does not answer within the timeout, the route falls back
//! to its in-memory limiter (still limited, never open), one error is logged for the outage,
//! and Redis is probed again once per retry interval until it answers; then a recovery line is
//! logged and checks go to Redis again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::{Cmd, ErrorKind, Pipeline, RedisFuture, RedisResult, ServerErrorKind, Value};

use crate::config::ConfigError;
use crate::outage::Outage;
use crate::rate::RateDecision;

mod cluster;
mod quota;
mod sentinel;

pub(crate) use quota::Leases;
use quota::LocalQuota;

use cluster::ClusterHandle;
use sentinel::{SentinelConnection, SentinelUrl};

/// GCRA over the server clock, in microseconds, for every limit of a route at once.
/// ARGV[1] is the number of limits `n`; ARGV[2i], ARGV[2i+1] are limit i's emission interval T
/// and tolerance tau = T * (N - 1); the optional ARGV[2n+2] is how many requests to count at
/// most (the local quota's batch; 1 when absent). KEYS[1..n] are counted, one per limit; the optional
/// KEYS[n+1..2n] are gates that are only read (a client IP whose failed attempts used up a
/// limit). Every limit is looked at before any is written, so a request refused by one limit
/// consumes none of the others. Returns `{allowed, retry_after_us, reset_us, remaining,
/// limit, granted}` (`limit` 0-based): for a refusal, the limit that refuses longest; otherwise the one
/// closest to exhaustion (fewest left, then the latest reset). `granted` is how many requests
/// were counted: the batch asked for, or fewer when a limit has less room (0 for a refusal).
const GCRA_SCRIPT: &str = r"
if redis.replicate_commands then pcall(redis.replicate_commands) end
local n = tonumber(ARGV[1])
local grant = tonumber(ARGV[2 * n + 2]) or 1
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local refusal = nil
local function refuse(retry, reset, i)
  if not refusal or retry > refusal[2] or (retry == refusal[2] and reset > refusal[3]) then
    refusal = {0, retry, reset, 0, i - 1, 0}
  end
end
if #KEYS > n then
  for i = 1, n do
    local tau = tonumber(ARGV[2 * i + 1])
    local gate = tonumber(redis.call('GET', KEYS[n + i]))
    if gate and now < gate - tau then refuse(gate - tau - now, gate - now, i) end
  end
  if refusal then return refusal end
end
local tats = {}
for i = 1, n do
  local tau = tonumber(ARGV[2 * i + 1])
  local t = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  tats[i] = tat
  if now < tat - tau then
    refuse(tat - tau - now, tat - now, i)
  else
    -- Room for at least one request here; a batch takes no more than every limit has.
    local room = math.floor((tau + t - (math.max(tat, now) - now)) / t)
    if room < grant then grant = room end
  end
end
if refusal then return refusal end
local report = nil
for i = 1, n do
  local t = tonumber(ARGV[2 * i])
  local tau = tonumber(ARGV[2 * i + 1])
  local next_tat = math.max(tats[i], now) + t * grant
  local ttl_ms = math.max(1, math.ceil((next_tat - now) / 1000))
  redis.call('SET', KEYS[i], string.format('%.0f', next_tat), 'PX', string.format('%.0f', ttl_ms))
  local remaining = math.floor((tau + t - (next_tat - now)) / t)
  local reset = next_tat - now
  if not report or remaining < report[4] or (remaining == report[4] and reset > report[3]) then
    report = {1, 0, reset, remaining, i - 1, grant}
  end
end
return report
";

/// The script's answer: `(allowed, retry_after_us, reset_us, remaining, limit, granted)`.
type Reply = (i64, i64, i64, i64, i64, i64);

/// Where rate-limit state lives when every instance must share it: a Redis server, a Redis
/// Cluster, or the master that Redis Sentinel names (see [`open`](Self::open)).
///
/// Give it to [`RateLimits::redis`](crate::rate::RateLimits::redis). Nothing connects until the
/// first limited request; an unreachable server at start-up is an outage like any other (the
/// routes limit in memory meanwhile).
///
/// # Examples
/// ```
/// use secure_api::{Security, rate::{RateLimits, RedisStore}};
/// use std::time::Duration;
///
/// let store = RedisStore::open("redis://127.0.0.1:6379/")
///     .unwrap()
///     .namespace("items-api")
///     .timeout(Duration::from_millis(50));
/// let security = Security::builder().rate_limits(RateLimits::redis(store)).build();
///
/// assert!(RedisStore::open("not a url").is_err());
/// ```
#[derive(Clone)]
pub struct RedisStore {
    client: Backend,
    namespace: Arc<str>,
    timeout: Duration,
    retry_interval: Duration,
    local_quota: Option<LocalQuota>,
    shared: Arc<Shared>,
}

/// One server, the nodes of a Redis Cluster, or the sentinels that name a master.
#[derive(Clone)]
enum Backend {
    Single(redis::Client),
    /// The nodes' URLs (checked): the client is built with the store's timeouts on first use.
    Cluster(Arc<[String]>),
    Sentinel(Arc<SentinelUrl>),
}

/// A live connection of any kind: all speak the same commands.
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterHandle),
    Sentinel(SentinelConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
            Self::Sentinel(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Sentinel(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
            Self::Sentinel(connection) => connection.get_db(),
        }
    }
}

/// State shared by clones of one store: the connection and the outage bookkeeping.
struct Shared {
    connection: tokio::sync::OnceCell<Connection>,
    script_sha: String,
    origin: Instant,
    outage: Outage,
    /// While in an outage: the earliest time (ms since `origin`) of the next probe.
    retry_at: AtomicU64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("RedisStore")
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .field("retry_interval", &self.retry_interval)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store for the server at `url` (`redis://[:password@]host[:port][/db]`, or `rediss://`
    /// is refused: this build has no TLS for Redis), or for a Redis Cluster when `url` lists
    /// several nodes separated by commas (`redis://10.0.0.1:6379,redis://10.0.0.2:6379`; any
    /// reachable one lets the client discover the rest), or for the master that Redis
    /// Sentinel names when `url` is
    /// `redis+sentinel://[[username]:password@]host[:port][,host[:port]...]/master-name[/db]`
    /// (the sentinels' addresses, port 26379 by default; the credentials and the database are
    /// the master's, the sentinels are asked without). The sentinels are asked for the master
    /// on first use and again whenever the connection to it fails, answers `READONLY` or does
    /// not answer within the [timeout](Self::timeout), so the store follows a failover by
    /// itself (meanwhile routes limit in memory, as in any outage). No connection is made here.
    ///
    /// # Examples
    /// ```
    /// use secure_api::rate::RedisStore;
    ///
    /// let cluster = RedisStore::open("redis://127.0.0.1:7000, redis://127.0.0.1:7001,redis://127.0.0.1:7002").unwrap();
    /// assert!(cluster.is_cluster());
    /// assert!(!RedisStore::open("redis://127.0.0.1:6379/").unwrap().is_cluster());
    /// assert!(RedisStore::open("redis://127.0.0.1:7000,nonsense").is_err());
    ///
    /// // Three sentinels watching the master `mymaster`, whose password is `s3cret`.
    /// let sentinel =
    ///     RedisStore::open("redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26379,10.0.0.3/mymaster").unwrap();
    /// assert!(sentinel.is_sentinel() && !sentinel.is_cluster());
    /// assert!(RedisStore::open("redis+sentinel://10.0.0.1:26379").is_err(), "no master name");
    /// ```
    pub fn open(url: &str) -> Result<Self, ConfigError> {
        // The error never repeats the URL: it may hold a password.
        let client = if url.starts_with(sentinel::SCHEME) {
            Backend::Sentinel(Arc::new(sentinel::parse(url)?))
        } else if url.contains(',') {
            let nodes: Vec<&str> = url.split(',').map(str::trim).filter(|node| !node.is_empty()).collect();
            if !nodes.iter().all(|node| node.starts_with("redis://")) {
                return Err(ConfigError::new("a Redis Cluster URL lists redis://host:port nodes separated by commas"));
            }
            ClusterClientBuilder::new(nodes.clone()).build().map_err(|_| {
                ConfigError::new(
                    "the Redis Cluster URL is not valid (expected redis://host:port,redis://host:port,...)",
                )
            })?;
            Backend::Cluster(nodes.into_iter().map(str::to_owned).collect())
        } else {
            Backend::Single(
                redis::Client::open(url)
                    .map_err(|_| ConfigError::new("the Redis URL is not valid (expected redis://host:port/db)"))?,
            )
        };
        Ok(Self {
            client,
            namespace: Arc::from("secure-api"),
            timeout: Duration::from_millis(100),
            retry_interval: Duration::from_secs(1),
            local_quota: None,
            shared: Arc::new(Shared {
                connection: tokio::sync::OnceCell::new(),
                script_sha: redis::Script::new(GCRA_SCRIPT).get_hash().to_owned(),
                origin: Instant::now(),
                outage: Outage::new(),
                retry_at: AtomicU64::new(0),
            }),
        })
    }

    /// The prefix of every key (default `secure-api`): give each application its own, so two
    /// apps sharing a server never share limits. Instances of one app use the same.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Arc::from(namespace.into());
        self
    }

    /// How long one check may take, connecting included (default 100 ms); past it the route
    /// limits in memory.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// During an outage, how often Redis is tried again (default 1 s); meanwhile requests go
    /// straight to the in-memory limiter without waiting for a timeout.
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// Local quota (off by default): each instance takes up to `batch` requests of a caller's
    /// quota from Redis in one round trip and admits the rest of them locally for up to `lease`,
    /// so a busy caller costs one round trip per `batch` requests instead of one per request.
    ///
    /// Accuracy: every request is counted in Redis before it is admitted (when its batch is
    /// taken), so across all instances no more requests are admitted than Redis counted. Two
    /// things move: a request may be admitted up to `lease` after Redis counted it, so in a
    /// window of length `W` a caller can be admitted what the shared limit allows in `W + lease`;
    /// and permits an instance took but did not spend are not given back (they expire with the
    /// lease), so a caller spread over `M` instances can meet a `429` after
    /// `limit - M × (batch - 1)` requests of a period: stricter, never looser. A batch never takes
    /// more than the limits have room for, so one instance alone gets the whole limit. Keep
    /// `batch` small beside the limits (a tenth or less) and `lease` short beside their periods.
    ///
    /// `batch` below 2 or a zero `lease` leaves the mode off. On routes whose authenticated
    /// callers are also gated by their address's failed authentications, the gate is read
    /// when a batch is taken: a gate that closes meanwhile refuses from the next batch (within
    /// `lease`).
    ///
    /// # Examples
    /// ```
    /// use secure_api::rate::RedisStore;
    /// use std::time::Duration;
    ///
    /// // At 1 000 requests a minute per caller: one round trip per 10 requests, spent within 1 s.
    /// let store = RedisStore::open("redis://127.0.0.1:6379/").unwrap().local_quota(10, Duration::from_secs(1));
    /// assert_eq!(store.local_quota_batch(), Some(10));
    /// assert_eq!(RedisStore::open("redis://127.0.0.1:6379/").unwrap().local_quota(1, Duration::from_secs(1)).local_quota_batch(), None);
    /// ```
    pub fn local_quota(mut self, batch: u32, lease: Duration) -> Self {
        self.local_quota = (batch >= 2 && !lease.is_zero()).then_some(LocalQuota { batch, lease });
        self
    }

    /// The local quota's batch, when the mode is on.
    pub fn local_quota_batch(&self) -> Option<u32> {
        self.local_quota.map(|quota| quota.batch)
    }

    /// One route's leases when the local quota is on.
    pub(crate) fn leases(&self) -> Option<Leases> {
        self.local_quota.map(Leases::new)
    }

    /// Whether the URL named the nodes of a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.client, Backend::Cluster(_))
    }

    /// Whether the URL named a master through Redis Sentinel (`redis+sentinel://`).
    pub fn is_sentinel(&self) -> bool {
        matches!(self.client, Backend::Sentinel(_))
    }

    /// The configured namespace.
    pub fn namespace_name(&self) -> &str {
        &self.namespace
    }

    /// Whether the store is currently in an outage (routes are limiting in memory).
    pub fn is_degraded(&self) -> bool {
        self.shared.outage.is_failing()
    }

    /// Counts up to `batch` requests (at least one) against `keys`, one per limit with its
    /// `(period_us, tau_us)` in `windows`, only if every limit has room (reading the `gates`,
    /// one per limit, first): one round trip. Also returns how many were counted. `None` when
    /// Redis cannot answer now, and the caller must decide in memory.
    pub(crate) async fn check(
        &self,
        keys: &[String],
        gates: Option<&[String]>,
        windows: &[(u64, u64)],
        batch: u32,
    ) -> Option<(RateDecision, u32)> {
        let (allowed, retry_after_us, reset_us, remaining, limit, granted) =
            self.answer(self.retrying(|| self.eval_once(keys, gates, windows, batch))).await?;
        let micros = |value: i64| Duration::from_micros(u64::try_from(value).unwrap_or(0));
        let decision = if allowed == 1 {
            RateDecision::allow(u32::try_from(remaining).unwrap_or(0), micros(reset_us))
        } else {
            RateDecision::deny(micros(retry_after_us), micros(reset_us))
        };
        Some((decision.for_policy(usize::try_from(limit).unwrap_or(0)), u32::try_from(granted).unwrap_or(0)))
    }

    /// The route part of this store's keys: `<namespace>:rl:<route>:`, or on a cluster
    /// `<namespace>:rl:{<route>}:` (see the module docs: one route's keys share a slot).
    pub(crate) fn route_prefix(&self, route: &str) -> String {
        match self.client {
            Backend::Single(_) | Backend::Sentinel(_) => format!("{}:rl:{route}:", self.namespace),
            Backend::Cluster(_) => format!("{}:rl:{{{route}}}:", self.namespace),
        }
    }

    /// Runs `attempt` once, and once more when the pooled connection turned out to be dead.
    ///
    /// After a Redis restart (or a proxy or failover dropping idle connections) the pooled
    /// connection is stale: its next command fails with "broken pipe" or "connection reset"
    /// before reaching the server. The connection manager reconnects on that error (a
    /// Sentinel store asks the sentinels for the master again, also after a `READONLY`
    /// answer from a demoted master), so the same command is sent once more on the fresh
    /// connection, within the same timeout, rather than declaring an outage and limiting every
    /// instance in memory for a whole retry interval. A second failure is an outage. (Should a
    /// server die after running the script but before answering, the retry counts the request
    /// twice: stricter, never looser.)
    async fn retrying<T, F>(&self, attempt: impl Fn() -> F) -> RedisResult<T>
    where
        F: Future<Output = RedisResult<T>>,
    {
        match attempt().await {
            Err(error) if self.worth_a_fresh_connection(&error) => {
                tracing::debug!(
                    target: "secure_api::rate",
                    namespace = %self.namespace,
                    reason = %error,
                    "Redis connection dropped; retrying once on a fresh connection"
                );
                attempt().await
            }
            result => result,
        }
    }

    fn worth_a_fresh_connection(&self, error: &redis::RedisError) -> bool {
        match self.client {
            Backend::Sentinel(_) => sentinel::needs_another_master(error),
            Backend::Single(_) | Backend::Cluster(_) => error.is_connection_dropped(),
        }
    }

    async fn eval_once(
        &self,
        keys: &[String],
        gates: Option<&[String]>,
        windows: &[(u64, u64)],
        batch: u32,
    ) -> RedisResult<Reply> {
        let mut connection = self.connection().await?;
        let command = |name: &str, script: &str| {
            let mut command = redis::cmd(name);
            let gates = gates.unwrap_or_default();
            command.arg(script).arg(keys.len() + gates.len()).arg(keys).arg(gates).arg(windows.len());
            for (period_us, tau_us) in windows {
                command.arg(period_us).arg(tau_us);
            }
            if batch > 1 {
                command.arg(batch);
            }
            command
        };
        match command("EVALSHA", &self.shared.script_sha).query_async(&mut connection).await {
            Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                // EVAL runs the script and caches it, so the next EVALSHA finds it again.
                command("EVAL", GCRA_SCRIPT).query_async(&mut connection).await
            }
            result => result,
        }
    }

    async fn connection(&self) -> RedisResult<Connection> {
        let connection = self
            .shared
            .connection
            .get_or_try_init(|| async {
                match &self.client {
                    Backend::Single(client) => {
                        let config = ConnectionManagerConfig::new()
                            .set_connection_timeout(Some(self.timeout))
                            .set_response_timeout(Some(self.timeout))
                            .set_number_of_retries(2);
                        client.get_connection_manager_with_config(config).await.map(Connection::Single)
                    }
                    // Makes no connection yet: the first command builds one. The client's own
                    // timeouts bound a build that meets a node which answers nothing.
                    Backend::Cluster(nodes) => ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                        .connection_timeout(self.timeout)
                        .response_timeout(self.timeout)
                        .build()
                        .map(|client| Connection::Cluster(ClusterHandle::new(client, self.timeout))),
                    // Makes no connection yet: the first command asks the sentinels.
                    Backend::Sentinel(url) => SentinelConnection::new(url, self.timeout).map(Connection::Sentinel),
                }
            })
            .await?;
        Ok(connection.clone())
    }

    /// Runs one command (the penalty box's reads and scripts) with this store's timeout,
    /// connection and outage handling: `None` when Redis cannot answer now, and the caller must
    /// decide in memory. A dropped pooled connection is retried once, as for the limiter.
    pub(crate) async fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Option<T> {
        self.answer(self.retrying(|| async { command.query_async(&mut self.connection().await?).await })).await
    }

    /// Awaits `attempt` within the timeout, with the outage bookkeeping every command shares:
    /// `None` (decide in memory) when Redis cannot answer now or is in an outage and not due
    /// for a probe.
    async fn answer<T>(&self, attempt: impl Future<Output = RedisResult<T>>) -> Option<T> {
        if !self.should_try() {
            return None;
        }
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => {
                self.recovered();
                Some(value)
            }
            Ok(Err(error)) => {
                if error.is_timeout() {
                    self.after_silence();
                }
                self.failed(&error.to_string());
                None
            }
            Err(_) => {
                self.after_silence();
                self.failed("no answer within the timeout");
                None
            }
        }
    }

    /// After no answer within the timeout. A server cut off by the network answers nothing,
    /// not even an error: the sentinels are asked again on the next try, and a cluster
    /// connection is built again with a fresh slot map (after a failover it names the promoted
    /// replica).
    fn after_silence(&self) {
        match self.shared.connection.get() {
            Some(Connection::Sentinel(connection)) => connection.forget_master(),
            Some(Connection::Cluster(connection)) => connection.rebuild(),
            Some(Connection::Single(_)) | None => {}
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.shared.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn retry_ms(&self) -> u64 {
        u64::try_from(self.retry_interval.as_millis()).unwrap_or(u64::MAX)
    }

    /// Healthy: always. In an outage: one caller per retry interval probes; the rest skip.
    fn should_try(&self) -> bool {
        if !self.shared.outage.is_failing() {
            return true;
        }
        let now = self.now_ms();
        let retry_at = self.shared.retry_at.load(Ordering::Relaxed);
        now >= retry_at
            && self
                .shared
                .retry_at
                .compare_exchange(retry_at, now.saturating_add(self.retry_ms()), Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }

    fn failed(&self, reason: &str) {
        self.shared.retry_at.store(self.now_ms().saturating_add(self.retry_ms()), Ordering::Relaxed);
        if self.shared.outage.failed() {
            tracing::error!(
                target: "secure_api::rate",
                namespace = %self.namespace,
                reason,
                "Redis rate-limit store unavailable; limiting in memory per instance until it answers again"
            );
        }
    }

    fn recovered(&self) {
        if self.shared.outage.recovered() {
            tracing::info!(
                target: "secure_api::rate",
                namespace = %self.namespace,
                "Redis rate-limit store answers again; shared limits restored"
            );
        }
    }
}

/// A key written once (`SET NX PX`): the DPoP replay cache shared by every instance.
impl RedisStore {
    /// Records `key` (under this store's namespace) for `ttl`: `Some(true)` when it was not
    /// there yet, `Some(false)` when it was, `None` when Redis cannot answer now (the caller
    /// then decides with what it knows locally, as the limiters do during an outage).
    pub(crate) async fn set_once(&self, key: &str, ttl: Duration) -> Option<bool> {
        let key = format!("{}:{key}", self.namespace);
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut command = redis::cmd("SET");
        command.arg(&key).arg(1).arg("NX").arg("PX").arg(millis);
        let written: Option<String> = self.query(&command).await?;
        Some(written.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        let error = RedisStore::open("http://user:hunter2@example.invalid").unwrap_err();
        assert!(!error.to_string().contains("hunter2"));
        let store = RedisStore::open("redis://:hunter2@127.0.0.1:1/").unwrap();
        assert!(!format!("{store:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn unreachable_server_is_an_outage_not_an_error() {
        // Port 1 on loopback: nothing listens there; the connection is refused at once.
        let store = RedisStore::open("redis://127.0.0.1:1/").unwrap().retry_interval(Duration::from_secs(3600));
        let keys = ["k".to_owned()];
        assert!(store.check(&keys, None, &[(1_000, 0)], 1).await.is_none());
        assert!(store.is_degraded());
        // Within the retry interval nobody waits for Redis again.
        let started = Instant::now();
        assert!(store.check(&keys, None, &[(1_000, 0)], 1).await.is_none());
        assert!(started.elapsed() < Duration::from_millis(50));
    }

    #[tokio::test]
    async fn an_unreachable_cluster_is_an_outage_and_is_tried_again_after_the_interval() {
        let store = RedisStore::open("redis://127.0.0.1:1,redis://127.0.0.1:2")
            .unwrap()
            .timeout(Duration::from_millis(200))
            .retry_interval(Duration::from_millis(10));
        let keys = ["{r}k".to_owned()];
        for _ in 0..3 {
            let started = Instant::now();
            assert!(store.check(&keys, None, &[(1_000, 0)], 1).await.is_none());
            assert!(store.is_degraded());
            assert!(started.elapsed() < Duration::from_secs(1), "bounded by the timeout: {:?}", started.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
