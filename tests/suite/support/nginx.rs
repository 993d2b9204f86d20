//! A private nginx per test: Debian's binary, a configuration written into a temporary
//! directory (pid file, logs and temp paths inside it), on a free loopback port, stopped on drop.
//!
//! When nginx is not installed the tests that need it print a note and skip, unless
//! `SECURE_API_REQUIRE_NGINX=1` (set by CI), which turns a missing nginx into a failure.
//! Install it with `apt-get install nginx` (`scripts/install-test-deps.sh` does).

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One running nginx (master and its worker), listening on 127.0.0.1:`port`.
pub struct Nginx {
    child: Child,
    dir: PathBuf,
    port: u16,
}

/// Where Debian (and most distributions) put the binary; `/usr/sbin` is often not on a normal
/// user's `PATH`.
fn binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join("nginx")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"].map(PathBuf::from))
        .find(|candidate| candidate.is_file())
}

impl Nginx {
    /// Starts nginx with `server_body` (the `location` blocks of its one `server`), or returns
    /// `None` (after printing why) when nginx is missing and not required.
    pub fn start(test: &str, server_body: &str) -> Option<Self> {
        Self::start_listening(test, "", "", server_body)
    }

    /// [`start`](Self::start) with `http_body` in the `http` block too (an `upstream` with a
    /// `keepalive` pool, say).
    pub fn start_with_http(test: &str, http_body: &str, server_body: &str) -> Option<Self> {
        Self::start_listening(test, "", http_body, server_body)
    }

    /// [`start`](Self::start) with TLS on the listener (`listen ... ssl`): `server_body` names
    /// the certificate (`ssl_certificate`, ...) besides its `location` blocks.
    pub fn start_tls(test: &str, server_body: &str) -> Option<Self> {
        Self::start_listening(test, " ssl", "", server_body)
    }

    fn start_listening(test: &str, listen_options: &str, http_body: &str, server_body: &str) -> Option<Self> {
        let Some(binary) = binary() else {
            let required = std::env::var("SECURE_API_REQUIRE_NGINX").is_ok_and(|value| value == "1");
            assert!(!required, "{test}: nginx is not installed and SECURE_API_REQUIRE_NGINX=1 (apt-get install nginx)");
            eprintln!("note: skipping {test}: nginx is not installed (apt-get install nginx)");
            return None;
        };
        let dir = std::env::temp_dir().join(format!("secure-api-nginx-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).expect("nginx temp dir");
        let port = free_port();
        let d = dir.display();
        let conf = format!(
            "worker_processes 1;\n\
             pid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {d}/client_body;\n\
               proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi;\n\
               uwsgi_temp_path {d}/uwsgi;\n\
               scgi_temp_path {d}/scgi;\n\
               {http_body}\n\
               server {{\n\
                 listen 127.0.0.1:{port}{listen_options};\n\
                 {server_body}\n\
               }}\n\
             }}\n"
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let child = Command::new(&binary)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf_path)
            // Before it reads the configuration nginx opens its compiled-in error log; point
            // that at the temp dir too (nginx >= 1.19.5).
            .arg("-e")
            .arg(dir.join("error.log"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut nginx = Self { child, dir, port };
        nginx.wait_until_listening();
        Some(nginx)
    }

    /// The address nginx listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// nginx's error log so far (for failure messages).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nginx exited at start ({status}):\n{}", self.error_log());
            }
            if TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "nginx did not listen on {}:\n{}", self.addr(), self.error_log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its worker too (SIGKILL would orphan it, still listening).
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nobody listens on right now (bound and released; nginx binds it a moment later).
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
