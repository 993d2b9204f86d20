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

/// One running `redis-server`, bound to 127.0.0.1 on a port nobody else uses.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    /// Starts a server, or returns `None` (after printing why) when `redis-server` is missing
    /// and Redis is not required.
    pub fn start(test: &str) -> Option<Self> {
        if Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_err() {
            let required = std::env::var("SECURE_API_REQUIRE_REDIS").is_ok_and(|value| value == "1");
            assert!(
                !required,
                "{test}: redis-server is not installed and SECURE_API_REQUIRE_REDIS=1 (apt-get install redis-server)"
            );
            eprintln!("note: skipping {test}: redis-server is not installed (apt-get install redis-server)");
            return None;
        }
        let mut server = Self { child: None, port: free_port() };
        server.restart();
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
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
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

/// A loopback port the OS says is free right now.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|listener| listener.local_addr()).expect("a free port").port()
}
