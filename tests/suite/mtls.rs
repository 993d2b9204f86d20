//! Certificate-bound access tokens (RFC 8705) end to end: the quickstart served over real TLS
//! with a client CA (`SECURE_API_TLS_CLIENT_CA`), a CA and client certificates generated here
//! with rcgen, and curl (`--cert`/`--key`) as the client. Skipped, with a message, when curl is
//! not installed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use secure_api_examples::quickstart::{self, Config, TlsFiles, Transport};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::common;

/// The PEM files of one test: server certificate and key, the client CA, and two clients signed
/// by it plus one signed by another CA.
struct Pki {
    dir: PathBuf,
    server_cert: PathBuf,
    client_ca: PathBuf,
    one: Client,
    two: Client,
    stranger: Client,
}

/// A client certificate and key on disk, and the certificate's `x5t#S256`.
struct Client {
    cert: PathBuf,
    key: PathBuf,
    thumbprint: String,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ca(name: &str) -> (CertificateParams, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    (params, key)
}

fn client(dir: &Path, name: &str, issuer: &Issuer<'_, KeyPair>) -> Client {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = params.signed_by(&key, issuer).unwrap();
    let cert_path = dir.join(format!("{name}.pem"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    // Computed here, independently of the server: SHA-256 over the DER, base64url unpadded.
    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(cert.der()));
    Client { cert: cert_path, key: key_path, thumbprint }
}

fn pki() -> Pki {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "secure-api-mtls-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let server = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let server_cert = dir.join("server.pem");
    std::fs::write(&server_cert, server.cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server.signing_key.serialize_pem()).unwrap();

    let (ca_params, ca_key) = ca("secure-api test client CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let client_ca = dir.join("client-ca.pem");
    std::fs::write(&client_ca, ca_cert.pem()).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let (other_params, other_key) = ca("some other CA");
    let other = Issuer::new(other_params, other_key);

    let one = client(&dir, "client-one", &issuer);
    let two = client(&dir, "client-two", &issuer);
    let stranger = client(&dir, "stranger", &other);
    Pki { server_cert, client_ca, one, two, stranger, dir }
}

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn shut_down(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

async fn start(pki: &Pki) -> Running {
    let files = TlsFiles { cert: pki.server_cert.clone(), key: pki.dir.join("server.key") };
    let config = Config { tls: Some(files), tls_client_ca: Some(pki.client_ca.clone()), ..common::config() };
    let app = quickstart::app(&config).unwrap();
    let transport = Transport::from_config(&config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        quickstart::serve_with(&config, transport, app, listener, None, async {
            let _ = stopped.await;
        })
        .await
    });
    Running { addr, stop, task }
}

fn curl_missing() -> bool {
    let missing = std::process::Command::new("curl").arg("--version").output().is_err();
    if missing {
        eprintln!("skipped: curl is not installed");
    }
    missing
}

/// What curl got: its exit code, the HTTP status (0 without a response) and the body.
struct Curled {
    exit: i32,
    status: u16,
    body: String,
}

impl Curled {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("a JSON body, got {:?}", self.body))
    }
}

/// Runs curl against the server at `addr` (as `localhost`, trusting only the test server
/// certificate), presenting `client`'s certificate if given.
async fn curl(pki: &Pki, addr: SocketAddr, client: Option<&Client>, path: &str, extra: &[&str]) -> Curled {
    let mut args: Vec<String> = vec![
        "-s".into(),
        "--max-time".into(),
        "10".into(),
        "--cacert".into(),
        pki.server_cert.display().to_string(),
        "--resolve".into(),
        format!("localhost:{}:127.0.0.1", addr.port()),
        "-w".into(),
        "\n%{http_code}".into(),
    ];
    if let Some(client) = client {
        args.extend(["--cert".into(), client.cert.display().to_string()]);
        args.extend(["--key".into(), client.key.display().to_string()]);
    }
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    args.push(format!("https://localhost:{}{path}", addr.port()));
    let output = tokio::task::spawn_blocking(move || std::process::Command::new("curl").args(&args).output())
        .await
        .unwrap()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
    Curled {
        exit: output.status.code().unwrap_or(-1),
        status: status.trim().parse().unwrap_or(0),
        body: body.to_owned(),
    }
}

/// `POST /oauth/token` (client credentials, `items:read`), with `client`'s certificate if given.
async fn token(pki: &Pki, addr: SocketAddr, client: Option<&Client>) -> Curled {
    let config = common::config();
    let credentials = format!("{}:{}", config.client_id, config.client_secret.expose());
    let extra = ["-u", credentials.as_str(), "-d", "grant_type=client_credentials", "-d", "scope=items:read"];
    curl(pki, addr, client, "/oauth/token", &extra).await
}

/// The claims of a JWT, read without verifying it.
fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn call(pki: &Pki, addr: SocketAddr, client: Option<&Client>, path: &str, token: &str) -> Curled {
    let authorization = format!("Authorization: Bearer {token}");
    curl(pki, addr, client, path, &["-H", authorization.as_str()]).await
}

#[tokio::test]
async fn a_client_certificate_gets_a_certificate_bound_token_that_only_it_can_use() {
    if curl_missing() {
        return;
    }
    let pki = pki();
    let server = start(&pki).await;

    // (a) A certificate-bound token for the client that presented its certificate.
    let issued = token(&pki, server.addr, Some(&pki.one)).await;
    assert_eq!((issued.exit, issued.status), (0, 200), "{}", issued.body);
    let issued = issued.json();
    assert_eq!(issued["token_type"], "Bearer", "RFC 8705 keeps the Bearer token type");
    let access_token = issued["access_token"].as_str().unwrap().to_owned();
    let claims = claims_of(&access_token);
    assert_eq!(claims["cnf"]["x5t#S256"], pki.one.thumbprint.as_str());
    assert!(claims["cnf"].get("jkt").is_none());

    // ... and it opens the sender-constrained route with that certificate.
    let account = call(&pki, server.addr, Some(&pki.one), "/api/account", &access_token).await;
    assert_eq!(account.status, 200, "{}", account.body);
    assert_eq!(account.json()["x5t#S256"], pki.one.thumbprint.as_str());
    let items = call(&pki, server.addr, Some(&pki.one), "/api/items", &access_token).await;
    assert_eq!(items.status, 200, "{}", items.body);

    // (b) Another client's certificate (same CA): refused, on either route.
    for path in ["/api/account", "/api/items"] {
        let stolen = call(&pki, server.addr, Some(&pki.two), path, &access_token).await;
        assert_eq!(stolen.status, 401, "{path}: {}", stolen.body);
        assert_eq!(stolen.json()["error"], "invalid_token", "{path}");
    }

    // (c) No certificate at all: refused.
    for path in ["/api/account", "/api/items"] {
        let bare = call(&pki, server.addr, None, path, &access_token).await;
        assert_eq!(bare.status, 401, "{path}: {}", bare.body);
    }
    server.shut_down().await;
}

#[tokio::test]
async fn plain_bearer_tokens_open_items_but_not_the_account() {
    if curl_missing() {
        return;
    }
    let pki = pki();
    let server = start(&pki).await;

    // Without a certificate the token endpoint issues a plain bearer token.
    let issued = token(&pki, server.addr, None).await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let plain = issued.json()["access_token"].as_str().unwrap().to_owned();
    assert!(claims_of(&plain).get("cnf").is_none());

    // (d) A plain bearer token: /api/account refuses it, /api/items takes it, with or without
    // a client certificate on the connection.
    for client in [None, Some(&pki.one)] {
        let account = call(&pki, server.addr, client, "/api/account", &plain).await;
        assert_eq!(account.status, 401, "{}", account.body);
        let items = call(&pki, server.addr, client, "/api/items", &plain).await;
        assert_eq!(items.status, 200, "{}", items.body);
    }
    let minted = common::token("items:read");
    assert_eq!(call(&pki, server.addr, None, "/api/account", &minted).await.status, 401);
    server.shut_down().await;
}

#[tokio::test]
async fn a_certificate_from_another_ca_fails_the_handshake() {
    if curl_missing() {
        return;
    }
    let pki = pki();
    let server = start(&pki).await;

    // (e) Optional client authentication, but a certificate that is presented must verify:
    // rustls aborts the handshake, curl gets no HTTP response at all.
    let refused = token(&pki, server.addr, Some(&pki.stranger)).await;
    assert_ne!(refused.exit, 0, "curl must fail: {}", refused.body);
    assert_eq!(refused.status, 0, "no HTTP response over a refused handshake");
    let refused = curl(&pki, server.addr, Some(&pki.stranger), "/health", &[]).await;
    assert_eq!(refused.status, 0);

    // The same server still serves clients without a certificate.
    let health = curl(&pki, server.addr, None, "/health", &[]).await;
    assert_eq!((health.exit, health.status), (0, 200));
    server.shut_down().await;
}

/// Behind a TLS-terminating proxy: the certificate in RFC 9440 `Client-Cert`, believed only
/// from a trusted proxy (socket-free requests from 127.0.0.1, the trusted address here).
#[tokio::test]
async fn a_trusted_proxy_forwards_the_client_certificate_in_client_cert() {
    use base64::engine::general_purpose::STANDARD;
    use secure_api::client::{ClientCertHeader, TrustedProxies};

    let trusted = TrustedProxies::parse("127.0.0.1").unwrap().with_client_cert_header(ClientCertHeader::ClientCert);
    let app = quickstart::app(&Config { trusted_proxies: trusted, ..common::config() }).unwrap();
    let der = b"the client's DER certificate, as the proxy verified it";
    let other = b"another client's DER certificate";
    let header = |der: &[u8]| format!(":{}:", STANDARD.encode(der));
    let mut claims = common::claims("items:read");
    claims["cnf"] = serde_json::json!({ "x5t#S256": URL_SAFE_NO_PAD.encode(Sha256::digest(der)) });
    let bound = common::bearer(&common::sign(&claims));

    let reply =
        common::send(&app, common::get("/api/account", &[("authorization", &bound), ("client-cert", &header(der))]))
            .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply =
        common::send(&app, common::get("/api/account", &[("authorization", &bound), ("client-cert", &header(other))]))
            .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body["error"], "invalid_token");
    let reply = common::send(&app, common::get("/api/account", &[("authorization", &bound)])).await;
    assert_eq!(reply.status, 401, "no header, no certificate");
    let reply = common::send(
        &app,
        common::get("/api/account", &[("authorization", &bound), ("client-cert", "not a byte sequence")]),
    )
    .await;
    assert_eq!(reply.status, 401, "a malformed header is no certificate");

    // The same header from an address that is not a trusted proxy is not believed.
    let mut request = common::get("/api/account", &[("authorization", &bound), ("client-cert", &header(der))]);
    request.extensions_mut().insert(axum::extract::ConnectInfo(SocketAddr::from(([192, 0, 2, 7], 50000))));
    assert_eq!(common::send(&app, request).await.status, 401);

    // Without the option, the header is never read, even from a trusted proxy.
    let plain =
        quickstart::app(&Config { trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(), ..common::config() })
            .unwrap();
    let reply =
        common::send(&plain, common::get("/api/account", &[("authorization", &bound), ("client-cert", &header(der))]))
            .await;
    assert_eq!(reply.status, 401);

    // A trusted proxy that talks mTLS to the app presents its own certificate on the
    // connection: never a client's, with the header option or without. (Before, without the
    // option, a token bound to the proxy's certificate opened bound routes for anyone behind it.)
    let proxy_der = b"the proxy's own DER certificate";
    let mut claims = common::claims("items:read");
    claims["cnf"] = serde_json::json!({ "x5t#S256": URL_SAFE_NO_PAD.encode(Sha256::digest(proxy_der)) });
    let bound_to_proxy = common::bearer(&common::sign(&claims));
    for server in [&plain, &app] {
        let mut request = common::get("/api/account", &[("authorization", &bound_to_proxy)]);
        request.extensions_mut().insert(secure_api::auth::ClientCertificate::from_der(proxy_der));
        assert_eq!(common::send(server, request).await.status, 401);
    }
    // From a client connecting directly (not a trusted proxy), its connection's certificate counts.
    let mut request = common::get("/api/account", &[("authorization", &bound_to_proxy)]);
    request.extensions_mut().insert(secure_api::auth::ClientCertificate::from_der(proxy_der));
    request.extensions_mut().insert(axum::extract::ConnectInfo(SocketAddr::from(([192, 0, 2, 7], 50000))));
    assert_eq!(common::send(&plain, request).await.status, 200);
}

#[secure_api::secure(auth = "oauth", bound = "mtls")]
async fn certificate_only() -> &'static str {
    "ok"
}

#[secure_api::secure(auth = "oauth", bound = "any")]
async fn either() -> &'static str {
    "ok"
}

/// `bound = "mtls"` takes certificate-bound tokens only (not a DPoP-bound token with a valid
/// proof, not a plain one); `bound = "any"` takes either. Socket-free: the request carries the
/// `ClientCertificate` that `serve_tls` inserts for a verified client certificate.
#[tokio::test]
async fn mtls_routes_take_only_certificate_bound_tokens_any_routes_take_either() {
    use secure_api::auth::ClientCertificate;
    use secure_api::testing::DpopKey;
    use secure_api::{SecureRouter, Security, routing};

    let app = SecureRouter::new()
        .route("/mtls", routing::get(certificate_only))
        .route("/any", routing::get(either))
        .with_state(Security::builder().jwt(common::config_verifier()).build());

    let certificate = ClientCertificate::from_der(b"a verified client certificate");
    let mut claims = common::claims("");
    claims["cnf"] = serde_json::json!({ "x5t#S256": certificate.thumbprint() });
    let cert_bound = common::sign(&claims);
    let key = DpopKey::test_key();
    let mut claims = common::claims("");
    claims["cnf"] = serde_json::json!({ "jkt": key.jkt() });
    let dpop_bound = common::sign(&claims);
    let plain = common::sign(&common::claims(""));

    let with_certificate = |path: &str, headers: &[(&str, &str)]| {
        let mut request = common::get(path, headers);
        request.extensions_mut().insert(certificate.clone());
        request
    };
    for path in ["/mtls", "/any"] {
        let reply =
            common::send(&app, with_certificate(path, &[("authorization", &common::bearer(&cert_bound))])).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        let reply = common::send(&app, with_certificate(path, &[("authorization", &common::bearer(&plain))])).await;
        assert_eq!(reply.status, 401, "{path}: a plain bearer token");
        let proof = key.proof("GET", &format!("http://api.test{path}"), Some(&dpop_bound));
        let authorization = format!("DPoP {dpop_bound}");
        let headers = [("host", "api.test"), ("authorization", authorization.as_str()), ("dpop", proof.as_str())];
        let reply = common::send(&app, with_certificate(path, &headers)).await;
        let expected = if path == "/any" { 200 } else { 401 };
        assert_eq!(reply.status, expected, "{path}: a DPoP-bound token with its proof: {}", reply.text);
    }
    // Without the certificate, the certificate-bound token opens neither.
    for path in ["/mtls", "/any"] {
        let reply = common::send(&app, common::get(path, &[("authorization", &common::bearer(&cert_bound))])).await;
        assert_eq!(reply.status, 401, "{path}");
    }
    // The inventory says which binding each route requires.
    let routes = app.routes();
    let binding = |path: &str| {
        routes.iter().find(|route| route.path == path).and_then(|route| route.policy.binding()).map(|b| b.as_str())
    };
    assert_eq!((binding("/mtls"), binding("/any")), (Some("mtls"), Some("any")));
}

/// The self-scan acts as a certificate-holding client on a `bound = "mtls"` route (its valid
/// credentials are a token bound to the scan's certificate, presented with it), and probes the
/// certificate binding on every OAuth route: clean on routes that enforce it.
#[tokio::test]
async fn the_self_scan_probes_certificate_binding_on_every_oauth_route() {
    use secure_api::testing::{Probe, Verdict, scan};
    use secure_api::{SecureRouter, routing};

    let routes = SecureRouter::new().route("/mtls", routing::get(certificate_only)).route("/any", routing::get(either));
    let recorded = routes.routes().to_vec();
    let app = routes.with_state(quickstart::security(&common::config()).unwrap());
    let report = scan(&recorded, &app, &crate::scan::credentials()).await;
    report.assert_clean();
    let passed = |path: &str, probe: Probe| {
        report.rows().iter().any(|row| row.path == path && row.probe == probe && row.verdict == Verdict::Pass)
    };
    for probe in [Probe::ValidCredentials, Probe::CertificateBoundWithoutCertificate, Probe::OtherClientCertificate] {
        assert!(passed("/mtls", probe), "{probe}: {report}");
        assert!(passed("/any", probe), "{probe}: {report}");
    }
    // The quickstart's routes hold too (its /api/items checks a bound token's certificate as well).
    let quickstart_routes = quickstart::routes();
    let report = scan(quickstart_routes.routes(), &common::app(), &crate::scan::credentials()).await;
    report.assert_clean();
    assert!(report.rows().iter().any(|row| {
        row.path == "/api/items" && row.probe == Probe::OtherClientCertificate && row.verdict == Verdict::Pass
    }));
}

/// nginx's escaping of a PEM in `$ssl_client_escaped_cert`: everything but letters and digits
/// as `%XX` (what a client would forge in the header).
fn nginx_escaped(pem: &str) -> String {
    pem.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Behind a REAL nginx that terminates TLS with optional client certificates and passes the
/// verified one in `X-SSL-Client-Cert` (`$ssl_client_escaped_cert`), the configuration nginx's
/// documentation gives: curl with a certificate gets a token bound to it through nginx and
/// only that certificate opens `/api/account`; a client without a certificate that forges the
/// header gets nothing (nginx replaces it); a certificate from another CA is refused by nginx.
#[tokio::test]
async fn behind_nginx_the_forwarded_certificate_binds_tokens_and_a_forged_header_does_not() {
    use secure_api::client::{ClientCertHeader, TrustedProxies};

    if curl_missing() {
        return;
    }
    let pki = pki();
    let header = ClientCertHeader::NginxEscapedPem(http::HeaderName::from_static("x-ssl-client-cert"));
    let trusted = TrustedProxies::parse("127.0.0.3").unwrap().with_client_cert_header(header);
    let app = quickstart::app(&Config { trusted_proxies: trusted, ..common::config() }).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(secure_api::serve(listener, app));
    let d = pki.dir.display();
    let site = format!(
        "ssl_certificate {d}/server.pem;\n\
         ssl_certificate_key {d}/server.key;\n\
         ssl_client_certificate {ca};\n\
         ssl_verify_client optional;\n\
         location / {{\n\
           proxy_pass http://{app_addr};\n\
           proxy_bind 127.0.0.3;\n\
           proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;\n\
           proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         }}\n",
        ca = pki.client_ca.display(),
    );
    let Some(nginx) = crate::support::nginx::Nginx::start_tls("mtls::behind_nginx", &site) else {
        server.abort();
        return;
    };
    let addr = nginx.addr();

    // Client one: a token bound to its certificate, usable with that certificate only.
    let issued = token(&pki, addr, Some(&pki.one)).await;
    assert_eq!(issued.status, 200, "{}; nginx log:\n{}", issued.body, nginx.error_log());
    let bound = issued.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&bound)["cnf"]["x5t#S256"], pki.one.thumbprint.as_str());
    let reply = call(&pki, addr, Some(&pki.one), "/api/account", &bound).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = call(&pki, addr, Some(&pki.two), "/api/account", &bound).await;
    assert_eq!(
        (reply.status, reply.json()["error"].as_str()),
        (401, Some("invalid_token")),
        "another client's certificate"
    );
    let reply = call(&pki, addr, None, "/api/account", &bound).await;
    assert_eq!(reply.status, 401, "no certificate");

    // A thief with the token and client one's certificate (public), but not its key: the forged
    // header is replaced by nginx with the (empty) verified certificate.
    let one_pem = std::fs::read_to_string(&pki.one.cert).unwrap();
    let forged = format!("X-SSL-Client-Cert: {}", nginx_escaped(&one_pem));
    let authorization = format!("Authorization: Bearer {bound}");
    let reply = curl(&pki, addr, None, "/api/account", &["-H", authorization.as_str(), "-H", forged.as_str()]).await;
    assert_eq!(reply.status, 401, "a forged certificate header: {}", reply.body);
    let reply =
        curl(&pki, addr, Some(&pki.two), "/api/account", &["-H", authorization.as_str(), "-H", forged.as_str()]).await;
    assert_eq!(reply.status, 401, "a forged header beside another verified certificate: {}", reply.body);

    // Without a certificate the token is a plain one, which /api/account refuses.
    let plain = token(&pki, addr, None).await.json()["access_token"].as_str().unwrap().to_owned();
    assert!(claims_of(&plain).get("cnf").is_none());
    assert_eq!(call(&pki, addr, None, "/api/items", &plain).await.status, 200);
    assert_eq!(call(&pki, addr, None, "/api/account", &plain).await.status, 401);

    // A certificate from another CA: nginx answers 400 itself, nothing reaches the app.
    let reply = token(&pki, addr, Some(&pki.stranger)).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(!reply.body.contains("access_token"));

    drop(nginx);
    server.abort();
}
