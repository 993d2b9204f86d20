//! Redis Cluster: one `cluster_async` connection per store, built again after a node stopped
//! answering.
//!
//! The `redis` crate's cluster connection learns a new slot map when a node answers `MOVED`,
//! `READONLY` or closes its connection. A master cut off by the network (or a frozen host)
//! does none of that: its connection stays open and nothing comes back, so each command to its
//! slots waits for the store's timeout, and after the cluster has promoted a replica the
//! connection still sends those slots to the silent node, for good. So after a timeout this
//! module builds a fresh connection in the background (it asks the reachable nodes for the slot
//! map, past the silent one within the timeouts it is built with) and swaps it in; until then
//! the current connection keeps serving every other slot. Measured by
//! `rate_redis_cluster::a_cluster_master_that_stops_answering_times_out_then_the_promoted_replica_shares_the_limit`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, Value};
use tokio::sync::watch;

/// The cluster connection every clone of one store shares, replaced after a timeout.
#[derive(Clone)]
pub(super) struct ClusterHandle {
    shared: Arc<Shared>,
}

struct Shared {
    /// Built with connection and response timeouts, so a build never waits on a silent node
    /// for longer than those.
    client: ClusterClient,
    /// The connection in use (`None` until the first build finished).
    current: watch::Sender<Option<ClusterConnection>>,
    /// A build is running: at most one at a time.
    building: AtomicBool,
    /// The most a build may take before it is given up (and may be started again).
    build_limit: Duration,
}

impl ClusterHandle {
    /// A handle over `client` (build it with connection and response timeouts); nothing
    /// connects until the first command. `timeout` is the store's.
    pub(super) fn new(client: ClusterClient, timeout: Duration) -> Self {
        Self {
            shared: Arc::new(Shared {
                client,
                current: watch::Sender::new(None),
                building: AtomicBool::new(false),
                // Connecting, one answer per node and the slot map: a few timeouts at most.
                build_limit: timeout.saturating_mul(4).max(Duration::from_secs(1)),
            }),
        }
    }

    /// Builds a fresh connection (with a fresh slot map) in the background and swaps it in when
    /// it is ready; the current one serves meanwhile. Does nothing while a build runs.
    pub(super) fn rebuild(&self) {
        if self.shared.building.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            match tokio::time::timeout(shared.build_limit, shared.client.get_async_connection()).await {
                Ok(Ok(connection)) => {
                    shared.current.send_replace(Some(connection));
                    tracing::debug!(target: "secure_api::rate", "Redis Cluster connection (re)built");
                }
                Ok(Err(error)) => {
                    tracing::debug!(target: "secure_api::rate", reason = %error, "Redis Cluster connection not built");
                }
                Err(_) => tracing::debug!(target: "secure_api::rate", "Redis Cluster connection not built in time"),
            }
            shared.building.store(false, Ordering::Release);
        });
    }

    /// The connection in use, or the first one once it is built (the caller's timeout bounds
    /// the wait).
    async fn connection(&self) -> RedisResult<ClusterConnection> {
        let mut current = self.shared.current.subscribe();
        if let Some(connection) = current.borrow_and_update().clone() {
            return Ok(connection);
        }
        self.rebuild();
        match current.wait_for(Option::is_some).await {
            Ok(connection) => connection.clone().ok_or_else(not_connected),
            Err(_) => Err(not_connected()),
        }
    }
}

fn not_connected() -> RedisError {
    RedisError::from((ErrorKind::ClusterConnectionNotFound, "no Redis Cluster connection yet"))
}

impl ConnectionLike for ClusterHandle {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            connection.req_packed_command(cmd).await
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            connection.req_packed_commands(pipeline, offset, count).await
        })
    }

    fn get_db(&self) -> i64 {
        // Redis Cluster has database 0 only.
        0
    }
}
