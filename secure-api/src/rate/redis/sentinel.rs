//! Redis Sentinel: the `redis+sentinel://` URL, and a connection to whichever server the
//! sentinels name master, found again after a failover.
//!
//! Discovery is the `redis` crate's (`SentinelClient`: `SENTINEL MASTERS` on a sentinel, a
//! named master skipped while it is flagged down, then `ROLE` on the server to confirm it is a
//! master), with one client per sentinel, all asked at once: the first that names a confirmed
//! master wins. (One client over every sentinel takes their answers in the configured order, so
//! a first sentinel that accepts connections and never answers, a frozen or partitioned host,
//! held discovery back for good: measured by
//! `rate_redis_sentinel::a_first_sentinel_that_answers_nothing_is_passed_over`.) This module
//! also decides *when* to ask again: the connection to the master
//! is forgotten when it fails (the master died or restarted), when the server answers
//! `READONLY` (it was demoted to a replica), or when the store gives up waiting for it (a
//! master cut off by the network answers nothing at all). The next command asks the sentinels.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{AsyncConnectionConfig, Cmd, ConnectionAddr, ErrorKind, IntoConnectionInfo, Pipeline, RedisError};
use redis::{RedisFuture, RedisResult, ServerErrorKind, Value};

use crate::config::ConfigError;

/// The URL scheme that names a master through its sentinels.
pub(super) const SCHEME: &str = "redis+sentinel://";

/// The port of a sentinel whose address has none (Redis Sentinel's own default).
const DEFAULT_SENTINEL_PORT: u16 = 26379;

/// What a `redis+sentinel://` URL says, checked. Holds the password: never printed.
pub(super) struct SentinelUrl {
    sentinels: Vec<ConnectionAddr>,
    master_name: String,
    username: Option<String>,
    password: Option<String>,
    db: i64,
}

/// Parses `redis+sentinel://[[username]:password@]host[:port][,host[:port]...]/master-name[/db]`.
/// Errors never repeat the URL: it may hold a password.
pub(super) fn parse(url: &str) -> Result<SentinelUrl, ConfigError> {
    const EXPECTED: &str =
        "a Redis Sentinel URL is redis+sentinel://[:password@]host:26379[,host:26379...]/master-name[/db]";
    let rest = url.strip_prefix(SCHEME).ok_or_else(|| ConfigError::new(EXPECTED))?;
    let (authority, path) = rest.split_once('/').ok_or_else(|| ConfigError::new(EXPECTED))?;
    let (userinfo, hosts) = match authority.rfind('@') {
        Some(at) => (authority.get(..at), authority.get(at + 1..).unwrap_or_default()),
        None => (None, authority),
    };
    let mut segments = path.split('/');
    let master_name = segments.next().unwrap_or_default();
    let db = segments.next().unwrap_or_default();
    let valid_name = |name: &str| !name.is_empty() && !name.contains(['?', '#', '@', ',', ' ']);
    if !valid_name(master_name) || segments.any(|segment| !segment.is_empty()) {
        return Err(ConfigError::new(EXPECTED));
    }
    let db: i64 = if db.is_empty() { 0 } else { db.parse().map_err(|_| ConfigError::new(EXPECTED))? };

    let sentinels = hosts
        .split(',')
        .map(str::trim)
        .map(|host| {
            // `[::1]:26379` has a port, `[::1]` and `sentinel-1` have none.
            let has_port = match host.rfind(']') {
                Some(bracket) => host.get(bracket + 1..).is_some_and(|tail| tail.starts_with(':')),
                None => host.contains(':'),
            };
            let address =
                if has_port { format!("redis://{host}") } else { format!("redis://{host}:{DEFAULT_SENTINEL_PORT}") };
            match (host.is_empty() || host.contains(['/', '@']), address.into_connection_info()) {
                (false, Ok(info)) if matches!(info.addr(), ConnectionAddr::Tcp(..)) => Ok(info.addr().clone()),
                _ => Err(ConfigError::new(EXPECTED)),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;

    // The redis crate's own URL parser decodes the credentials (percent-encoding included).
    let (username, password) = match userinfo {
        Some(userinfo) => {
            let info = format!("redis://{userinfo}@127.0.0.1/").into_connection_info().map_err(|_| {
                ConfigError::new("the credentials of the Redis Sentinel URL are not valid (expected :password@)")
            })?;
            let settings = info.redis_settings();
            (settings.username().map(str::to_owned), settings.password().map(str::to_owned))
        }
        None => (None, None),
    };
    Ok(SentinelUrl { sentinels, master_name: master_name.to_owned(), username, password, db })
}

/// The master a set of sentinels names, reached through one multiplexed connection shared by
/// every clone (every route of one store); asked for again after a failover.
#[derive(Clone)]
pub(super) struct SentinelConnection {
    shared: Arc<Shared>,
}

struct Shared {
    /// One client per sentinel. Discovery needs `&mut`; the lock also means one caller asks
    /// the sentinels while the others wait for its answer instead of all asking at once.
    sentinels: tokio::sync::Mutex<Vec<SentinelClient>>,
    master: Mutex<Option<Master>>,
    /// Numbers each master connection, so a failure forgets only the connection it met.
    generations: AtomicU64,
    config: AsyncConnectionConfig,
    db: i64,
}

#[derive(Clone)]
struct Master {
    generation: u64,
    connection: MultiplexedConnection,
}

impl SentinelConnection {
    /// A connection to the master `url` names; nothing connects until the first command.
    /// `timeout` bounds connecting to the master and each of its answers.
    pub(super) fn new(url: &SentinelUrl, timeout: Duration) -> RedisResult<Self> {
        let client = |sentinel: &ConnectionAddr| {
            let mut builder =
                SentinelClientBuilder::new([sentinel.clone()], &url.master_name, SentinelServerType::Master)?;
            // The credentials and the database are the master's; the sentinels are asked without.
            if let Some(username) = &url.username {
                builder = builder.set_client_to_redis_username(username);
            }
            if let Some(password) = &url.password {
                builder = builder.set_client_to_redis_password(password);
            }
            builder.set_client_to_redis_db(url.db).build()
        };
        // `parse` never yields an empty list; `select_ok` below would panic on one.
        if url.sentinels.is_empty() {
            return Err(RedisError::from((ErrorKind::InvalidClientConfig, "no sentinel to ask")));
        }
        Ok(Self {
            shared: Arc::new(Shared {
                sentinels: tokio::sync::Mutex::new(url.sentinels.iter().map(client).collect::<RedisResult<_>>()?),
                master: Mutex::new(None),
                generations: AtomicU64::new(0),
                config: AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout)),
                db: url.db,
            }),
        })
    }

    /// Drops the master connection, so the next command asks the sentinels again.
    pub(super) fn forget_master(&self) {
        *self.shared.master.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn current(&self) -> Option<Master> {
        self.shared.master.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The current master connection, or a new one to the master the sentinels name now.
    async fn master(&self) -> RedisResult<Master> {
        if let Some(master) = self.current() {
            return Ok(master);
        }
        let mut sentinels = self.shared.sentinels.lock().await;
        // Whoever held the lock before may have found the master already.
        if let Some(master) = self.current() {
            return Ok(master);
        }
        // Every sentinel at once; the first confirmed master wins and the other lookups are
        // dropped (the redis crate caches only a verified sentinel connection, so a lookup may
        // be dropped at any point). The store's timeout bounds the whole.
        let config = &self.shared.config;
        let lookups = sentinels.iter_mut().map(|client| Box::pin(client.get_async_connection_with_config(config)));
        let (connection, _) = futures_util::future::select_ok(lookups).await?;
        let master = Master { generation: self.shared.generations.fetch_add(1, Ordering::Relaxed) + 1, connection };
        *self.shared.master.lock().unwrap_or_else(PoisonError::into_inner) = Some(master.clone());
        tracing::debug!(target: "secure_api::rate", "Redis Sentinel named the master; connected");
        Ok(master)
    }

    /// After `error` on the connection of `generation`: forget it when a fresh lookup may help.
    fn after_error(&self, generation: u64, error: &RedisError) {
        if !needs_another_master(error) {
            return;
        }
        let mut master = self.shared.master.lock().unwrap_or_else(PoisonError::into_inner);
        if master.as_ref().is_some_and(|master| master.generation == generation) {
            *master = None;
        }
    }
}

/// Errors after which the connection is of no further use: the server is gone or was demoted.
pub(super) fn needs_another_master(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_unrecoverable_error()
        || error.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)
}

impl ConnectionLike for SentinelConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let Master { generation, mut connection } = self.master().await?;
            let answer = connection.req_packed_command(cmd).await;
            if let Err(error) = &answer {
                self.after_error(generation, error);
            }
            answer
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let Master { generation, mut connection } = self.master().await?;
            let answers = connection.req_packed_commands(pipeline, offset, count).await;
            if let Err(error) = &answers {
                self.after_error(generation, error);
            }
            answers
        })
    }

    fn get_db(&self) -> i64 {
        self.shared.db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_sentinels_a_master_and_optionally_credentials_and_a_db() {
        let url = parse("redis+sentinel://:p%40ss@10.0.0.1:26380, 10.0.0.2 ,[::1]:5000/mymaster/2").unwrap();
        assert_eq!(
            url.sentinels,
            [
                ConnectionAddr::Tcp("10.0.0.1".to_owned(), 26380),
                ConnectionAddr::Tcp("10.0.0.2".to_owned(), 26379),
                ConnectionAddr::Tcp("::1".to_owned(), 5000),
            ]
        );
        assert_eq!(url.master_name, "mymaster");
        assert_eq!(url.password.as_deref(), Some("p@ss"));
        assert_eq!(url.username, None);
        assert_eq!(url.db, 2);
        let plain = parse("redis+sentinel://s1:26379/cache/").unwrap();
        assert_eq!((plain.password, plain.db), (None, 0));
        let named = parse("redis+sentinel://app:secret@s1/cache").unwrap();
        assert_eq!((named.username.as_deref(), named.password.as_deref()), (Some("app"), Some("secret")));
    }

    #[test]
    fn a_dead_or_demoted_master_is_asked_for_again_a_script_error_is_not() {
        let error = |kind, detail: &'static str| RedisError::from((kind, detail));
        assert!(needs_another_master(&error(ErrorKind::Server(ServerErrorKind::ReadOnly), "read only replica")));
        assert!(needs_another_master(&RedisError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe))));
        assert!(!needs_another_master(&error(ErrorKind::Server(ServerErrorKind::NoScript), "no script")));
        assert!(!needs_another_master(&error(ErrorKind::Server(ServerErrorKind::ResponseError), "script failed")));
    }

    #[test]
    fn malformed_sentinel_urls_are_refused_without_echoing_them() {
        for url in [
            "redis+sentinel://s1:26379",
            "redis+sentinel://s1:26379/",
            "redis+sentinel:///mymaster",
            "redis+sentinel://s1:26379,,s2/mymaster",
            "redis+sentinel://s1:notaport/mymaster",
            "redis+sentinel://:hunter2@s1/mymaster/notadb",
            "redis+sentinel://:hunter2@s1/mymaster/0/extra",
            "redis+sentinel://s1/mymaster?db=1",
        ] {
            let error = parse(url).err().unwrap_or_else(|| panic!("{url} was accepted"));
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    }
}
