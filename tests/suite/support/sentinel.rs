//! A real Redis Sentinel deployment on loopback: one master, one replica (`--replicaof`) and
//! three sentinels (`redis-server <conf> --sentinel`, quorum 2) on free ports, their files in a
//! temporary directory; every process is killed and the directory removed on drop.
//!
//! Failover is tuned to take seconds, not minutes: a master is subjectively down after 1 s
//! without an answer (`down-after-milliseconds 1000`) and a failed election is retried after
//! 6 s (`failover-timeout 3000`). Skipped like the other Redis tests when `redis-server` is
//! missing, unless `SECURE_API_REQUIRE_REDIS=1`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::redis::{RedisServer, free_port, tools_installed};

/// The name the sentinels know the master by.
pub const MASTER_NAME: &str = "mymaster";

pub struct RedisSentinels {
    /// The master first, then the replica; `None` once killed.
    servers: Vec<(Option<Child>, u16)>,
    sentinels: Vec<(Child, u16)>,
    dir: PathBuf,
}

impl RedisSentinels {
    /// Starts the deployment and waits (bounded) until the replica is in sync and every
    /// sentinel sees the replica and the two other sentinels (so a failover can be authorised),
    /// or returns `None` (after printing why) when `redis-server` is missing and Redis is not
    /// required.
    pub fn start(test: &str) -> Option<Self> {
        if !tools_installed(test, &["redis-server"]) {
            return None;
        }
        let dir = std::env::temp_dir().join(format!("secure-api-sentinel-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut deployment = Self { servers: Vec::new(), sentinels: Vec::new(), dir };

        let master_port = free_port();
        deployment.servers.push((Some(deployment.spawn_server(master_port, &[])), master_port));
        deployment.wait_for("the master answers PING", Duration::from_secs(10), |_| {
            RedisServer::command_on(master_port, &["PING"]).is_some_and(|reply| reply.starts_with("+PONG"))
        });
        let replica_port = free_port();
        let replica_of = ["--replicaof", "127.0.0.1", &master_port.to_string()].map(str::to_owned);
        deployment.servers.push((Some(deployment.spawn_server(replica_port, &replica_of)), replica_port));
        deployment.wait_for("the replica is in sync", Duration::from_secs(30), |_| {
            RedisServer::command_on(replica_port, &["INFO", "replication"])
                .is_some_and(|reply| reply.contains("master_link_status:up"))
        });

        for _ in 0..3 {
            let port = free_port();
            let conf = deployment.dir.join(format!("sentinel-{port}.conf"));
            // Sentinel rewrites its configuration file as it learns: one writable file each.
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {dir}\n\
                     sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                     sentinel failover-timeout {MASTER_NAME} 3000\n\
                     sentinel parallel-syncs {MASTER_NAME} 1\n",
                    dir = deployment.dir.display()
                ),
            )
            .expect("the sentinel configuration is written");
            let child = Command::new("redis-server")
                .arg(&conf)
                .arg("--sentinel")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server --sentinel starts");
            deployment.sentinels.push((child, port));
        }
        for port in deployment.sentinel_ports() {
            deployment.wait_for("every sentinel sees the replica and the two others", Duration::from_secs(60), |_| {
                let reply = RedisServer::command_on(port, &["SENTINEL", "MASTER", MASTER_NAME]).unwrap_or_default();
                field(&reply, "num-slaves").as_deref() == Some("1")
                    && field(&reply, "num-other-sentinels").as_deref() == Some("2")
                    && field(&reply, "flags").as_deref() == Some("master")
            });
        }
        Some(deployment)
    }

    fn spawn_server(&self, port: u16, extra: &[String]) -> Child {
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            // No 5 s pause before the replica's first full sync.
            .args(["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"])
            .args(["--dir", &self.dir.to_string_lossy()])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts")
    }

    /// `redis+sentinel://127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3/mymaster`.
    pub fn url(&self) -> String {
        let sentinels: Vec<String> = self.sentinel_ports().iter().map(|port| format!("127.0.0.1:{port}")).collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", sentinels.join(","))
    }

    pub fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(|(_, port)| *port).collect()
    }

    /// The port of the server started as the master.
    pub fn first_master_port(&self) -> u16 {
        self.servers[0].1
    }

    /// The port of the server started as the replica.
    pub fn replica_port(&self) -> u16 {
        self.servers[1].1
    }

    /// Kills the master (as a crash would) and waits until its port refuses connections.
    pub fn kill_master(&mut self) {
        let (child, port) = &mut self.servers[0];
        if let Some(mut child) = child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let port = *port;
        self.wait_for("the killed master's port is closed", Duration::from_secs(10), |_| {
            RedisServer::command_on(port, &["PING"]).is_none()
        });
    }

    /// Stops the master with `SIGSTOP`, as a network partition or a frozen host would: its port
    /// still accepts connections and its clients' connections stay open, but nothing answers.
    /// It stays stopped until the deployment is dropped (`SIGKILL` ends a stopped process too).
    pub fn freeze_master(&self) {
        let pid = self.servers[0].0.as_ref().expect("the master runs").id();
        freeze(pid);
    }

    /// Stops the sentinel listed first in [`url`](Self::url) with `SIGSTOP`: it accepts
    /// connections and answers nothing.
    pub fn freeze_first_sentinel(&self) {
        freeze(self.sentinels[0].0.id());
    }

    /// Asks the sentinels for a manual failover (`SENTINEL FAILOVER`): the replica is promoted
    /// while the old master keeps running, then demoted to a replica of it. Retried (bounded)
    /// while a sentinel does not yet consider the replica a good candidate.
    pub fn manual_failover(&self) {
        let sentinel = self.sentinel_ports()[0];
        self.wait_for("SENTINEL FAILOVER is accepted", Duration::from_secs(30), |_| {
            RedisServer::command_on(sentinel, &["SENTINEL", "FAILOVER", MASTER_NAME])
                .is_some_and(|reply| reply.starts_with("+OK"))
        });
    }

    /// The master's port as a sentinel reports it (`SENTINEL GET-MASTER-ADDR-BY-NAME`).
    pub fn reported_master_port(&self, sentinel: u16) -> Option<u16> {
        let reply = RedisServer::command_on(sentinel, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME])?;
        values(&reply).get(1)?.parse().ok()
    }

    /// The server's role (`master`, `slave`), from `ROLE`.
    pub fn role(&self, port: u16) -> Option<String> {
        let reply = RedisServer::command_on(port, &["ROLE"])?;
        values(&reply).first().cloned()
    }

    /// `KEYS pattern` on the server at `port`.
    pub fn keys_on(&self, port: u16, pattern: &str) -> Vec<String> {
        values(&RedisServer::command_on(port, &["KEYS", pattern]).unwrap_or_default())
    }

    /// Polls `ready` (given the time waited so far) every 50 ms until it holds; panics after
    /// `limit`, saying what was awaited.
    pub fn wait_for(&self, what: &str, limit: Duration, mut ready: impl FnMut(Duration) -> bool) {
        let started = Instant::now();
        while !ready(started.elapsed()) {
            assert!(started.elapsed() < limit, "Redis Sentinel test deployment: {what}: not within {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RedisSentinels {
    fn drop(&mut self) {
        let children = self
            .sentinels
            .iter_mut()
            .map(|(child, _)| child)
            .chain(self.servers.iter_mut().filter_map(|(child, _)| child.as_mut()));
        for child in children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `kill -STOP pid`: the process keeps its sockets and answers nothing.
fn freeze(pid: u32) {
    let status = Command::new("kill").args(["-STOP", &pid.to_string()]).status().expect("kill runs");
    assert!(status.success(), "kill -STOP {pid}");
}

/// The values of a flat RESP2 reply (simple strings, bulk strings, integers), in order.
fn values(reply: &str) -> Vec<String> {
    reply
        .split("\r\n")
        .filter(|line| !line.is_empty() && !line.starts_with('*') && !line.starts_with('$'))
        .map(|line| line.trim_start_matches([':', '+']).to_owned())
        .collect()
}

/// The value after `name` in a flat name/value RESP2 reply (`SENTINEL MASTER`).
fn field(reply: &str, name: &str) -> Option<String> {
    let values = values(reply);
    let at = values.iter().position(|value| value == name)?;
    values.get(at + 1).cloned()
}
