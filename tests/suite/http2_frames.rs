//! HTTP/2 attacks sent as raw frames over a loopback socket, the way an attacker's tool sends
//! them: a client that ignores the server's SETTINGS, a header block that never ends
//! (the "CONTINUATION flood", CVE-2024-27316 and its kin), and streams opened and cancelled at
//! once ("rapid reset", CVE-2023-44487). A well-behaved client (hyper's) would refuse to send
//! most of these, so the frames are built here by hand: a 9-byte frame header, and request
//! header blocks of literal fields (RFC 7541 §6.2.2, no Huffman coding, no table: each frame
//! can be repeated as it is). The server's response heads are decoded with `loona-hpack`.
//!
//! For each: what the server answers, that it does so within a bound (reads give up after
//! `GIVE_UP`, so a server that hangs fails instead of hanging the suite), and that it keeps
//! serving another client afterwards.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::common;

const GIVE_UP: Duration = Duration::from_secs(5);

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const CONTINUATION: u8 = 0x9;

const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

/// RFC 9113 §7: CANCEL, as a browser sends when a page is left.
const CANCEL: u32 = 0x8;

/// The largest frame payload a peer must accept before SETTINGS say otherwise (RFC 9113 §4.2).
const MAX_FRAME: usize = 16_384;

/// A server with the default options on a loopback port; dropping it shuts the server down.
struct Server {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let signal = async {
        let _ = stopped.await;
    };
    let options = secure_api::serve::ServeOptions::default();
    drop(tokio::spawn(secure_api::serve::serve_with(listener, common::app(), options, signal)));
    Server { addr, _stop: stop }
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).unwrap();
    assert!(length < 1 << 24);
    let mut bytes = Vec::with_capacity(9 + payload.len());
    bytes.extend_from_slice(&length.to_be_bytes()[1..]);
    bytes.push(kind);
    bytes.push(flags);
    bytes.extend_from_slice(&stream.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// An HPACK integer with an `prefix_bits`-bit prefix (RFC 7541 §5.1), `first` holding the bits
/// above the prefix.
fn hpack_integer(out: &mut Vec<u8>, first: u8, prefix_bits: u32, value: usize) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.push(first | u8::try_from(value).unwrap());
        return;
    }
    out.push(first | u8::try_from(max).unwrap());
    let mut rest = value - max;
    while rest >= 128 {
        out.push(u8::try_from(rest % 128).unwrap() | 0x80);
        rest /= 128;
    }
    out.push(u8::try_from(rest).unwrap());
}

fn hpack_string(out: &mut Vec<u8>, text: &[u8]) {
    hpack_integer(out, 0x00, 7, text.len());
    out.extend_from_slice(text);
}

/// A literal field without indexing whose name is the static table's entry `index`.
fn field_indexed_name(out: &mut Vec<u8>, index: usize, value: &[u8]) {
    hpack_integer(out, 0x00, 4, index);
    hpack_string(out, value);
}

/// A literal field without indexing with a new name.
fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0x00);
    hpack_string(out, name);
    hpack_string(out, value);
}

/// The header block of `GET path` with `extra` fields.
fn get_block(path: &str, extra: &[(String, String)]) -> Vec<u8> {
    let mut block = vec![0x82, 0x86]; // :method GET, :scheme http
    field_indexed_name(&mut block, 4, path.as_bytes()); // :path
    field_indexed_name(&mut block, 1, b"localhost"); // :authority
    for (name, value) in extra {
        field(&mut block, name.as_bytes(), value.as_bytes());
    }
    block
}

/// `block` as one HEADERS frame and as many CONTINUATION frames as the frame size needs.
fn header_frames(stream: u32, block: &[u8], end_stream: bool) -> Vec<u8> {
    let chunks: Vec<&[u8]> = block.chunks(MAX_FRAME).collect();
    let mut bytes = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = if i + 1 == chunks.len() { END_HEADERS } else { 0 };
        if i == 0 {
            let end = if end_stream { END_STREAM } else { 0 };
            bytes.extend(frame(HEADERS, end | last, stream, chunk));
        } else {
            bytes.extend(frame(CONTINUATION, last, stream, chunk));
        }
    }
    bytes
}

/// Connects and sends the client preface with empty SETTINGS.
async fn connect(addr: SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    tcp.write_all(&hello).await.unwrap();
    tcp
}

struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

/// The next frame, or `None` when the server closed the connection (EOF or reset).
async fn read_frame(reader: &mut OwnedReadHalf) -> Option<Frame> {
    let mut head = [0u8; 9];
    reader.read_exact(&mut head).await.ok()?;
    let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; length];
    reader.read_exact(&mut payload).await.ok()?;
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    Some(Frame { kind: head[3], flags: head[4], stream, payload })
}

/// What the server did on one stream, as read from its frames.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// A response with this status, and its `content-type` and `x-content-type-options`.
    Status(u16, Option<String>, Option<String>),
    /// `RST_STREAM` with this error code.
    Reset(u32),
}

/// Reads frames until every stream in `streams` is answered, the connection closes, or
/// `GIVE_UP` passes. Returns the answers by stream and whether a GOAWAY came.
async fn answers(reader: &mut OwnedReadHalf, streams: &[u32]) -> (Vec<(u32, Answer)>, Option<u32>) {
    // One decoder per connection: response heads refer to its dynamic table.
    let mut decoder = loona_hpack::Decoder::new();
    let mut found: Vec<(u32, Answer)> = Vec::new();
    let mut goaway = None;
    let deadline = Instant::now() + GIVE_UP;
    while !streams.iter().all(|stream| found.iter().any(|(done, _)| done == stream)) {
        let Ok(next) = tokio::time::timeout_at(deadline.into(), read_frame(reader)).await else {
            break;
        };
        let Some(frame) = next else { break };
        match frame.kind {
            HEADERS if !found.iter().any(|(done, _)| *done == frame.stream) => {
                assert!(frame.flags & END_HEADERS != 0, "the test reads single-frame response heads only");
                let fields = decoder.decode(&frame.payload).expect("a valid HPACK header block");
                let field = |wanted: &[u8]| {
                    fields
                        .iter()
                        .find(|(name, _)| name == wanted)
                        .map(|(_, value)| String::from_utf8(value.clone()).unwrap())
                };
                let status = field(b":status").expect("a response has a status").parse().unwrap();
                let answer = Answer::Status(status, field(b"content-type"), field(b"x-content-type-options"));
                found.push((frame.stream, answer));
            }
            RST_STREAM => {
                let code = u32::from_be_bytes(frame.payload[..4].try_into().unwrap());
                found.push((frame.stream, Answer::Reset(code)));
            }
            GOAWAY => {
                goaway = Some(u32::from_be_bytes(frame.payload[4..8].try_into().unwrap()));
                break;
            }
            // DATA, SETTINGS, WINDOW_UPDATE, PING: nothing to judge.
            _ => {}
        }
    }
    (found, goaway)
}

/// A well-behaved HTTP/2 client (hyper's) on a new connection gets `200` from `/health`.
async fn assert_still_serving(addr: SocketAddr) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::get(format!("http://{addr}/health")).body(axum::body::Body::empty()).unwrap();
    let response = tokio::time::timeout(GIVE_UP, sender.send_request(request))
        .await
        .expect("another client is answered in time")
        .unwrap();
    assert_eq!(response.status(), 200);
    connection.abort();
}

fn filler(total: usize) -> Vec<(String, String)> {
    (0..total / 2_000).map(|i| (format!("x-filler-{i}"), "a".repeat(1_990))).collect()
}

#[tokio::test]
async fn header_lists_over_each_limit_are_refused_and_the_connection_keeps_serving() {
    let server = start().await;
    let (mut reader, mut writer) = connect(server.addr).await.into_split();
    // Stream 1: a 48 KB header list, over the framework's 32 KiB and under h2's 64 KiB: the
    // layer's 431 problem. Stream 3: 96 KB, over h2's limit, which the client was told in the
    // server's SETTINGS and ignores: h2's own refusal. Stream 5: an ordinary request.
    let mut bytes = header_frames(1, &get_block("/health", &filler(48_000)), true);
    bytes.extend(header_frames(3, &get_block("/health", &filler(96_000)), true));
    bytes.extend(header_frames(5, &get_block("/health", &[]), true));
    writer.write_all(&bytes).await.unwrap();

    let (found, goaway) = answers(&mut reader, &[1, 3, 5]).await;
    assert_eq!(goaway, None, "the connection was ended: {found:?}");
    println!("header lists over the limits: {found:?}");
    let answer = |stream: u32| found.iter().find(|(id, _)| *id == stream).map(|(_, answer)| answer);
    // The framework's refusal: the problem envelope and the security headers.
    let problem = Answer::Status(431, Some("application/problem+json".into()), Some("nosniff".into()));
    assert_eq!(answer(1), Some(&problem), "{found:?}");
    // h2's own refusal, before the app: no envelope (README, "Responses").
    assert!(
        matches!(answer(3), Some(Answer::Status(431, _, None) | Answer::Reset(_))),
        "h2 answers a header list over its limit with a bare 431 or a reset: {found:?}"
    );
    assert!(matches!(answer(5), Some(Answer::Status(200, _, Some(_)))), "{found:?}");
    assert_still_serving(server.addr).await;
}

/// Frames of a header block that never ends: `HEADERS` without `END_HEADERS`, then
/// `CONTINUATION` frames of `fragment` each, until the server stops reading or `budget`
/// bytes are sent. Returns the bytes the server took.
async fn continuation_flood(addr: SocketAddr, fragment: &[u8], budget: usize) -> (usize, Option<u32>, Duration) {
    let (mut reader, mut writer) = connect(addr).await.into_split();
    let since = Instant::now();
    let chunk: Vec<u8> = (0..64).flat_map(|_| frame(CONTINUATION, 0, 1, fragment)).collect();
    let sender = tokio::spawn(async move {
        let mut sent = 0;
        let first = frame(HEADERS, END_STREAM, 1, &get_block("/health", &[]));
        if writer.write_all(&first).await.is_err() {
            return sent;
        }
        sent += first.len();
        while sent < budget {
            if writer.write_all(&chunk).await.is_err() {
                break;
            }
            sent += chunk.len();
        }
        sent
    });
    let (found, goaway) = answers(&mut reader, &[1]).await;
    // Whatever the server answers, it must not be stream 1's response: its head never ended.
    assert!(found.iter().all(|(_, answer)| !matches!(answer, Answer::Status(..))), "{found:?}");
    let elapsed = since.elapsed();
    drop(reader);
    let sent = tokio::time::timeout(GIVE_UP, sender).await.expect("the flood stops once the server closes").unwrap();
    (sent, goaway, elapsed)
}

#[tokio::test]
async fn a_header_block_that_never_ends_is_cut_off() {
    let server = start().await;
    // One header field per frame, each 1 KB: the header list grows past h2's 64 KiB.
    let mut fragment = Vec::new();
    field(&mut fragment, b"x-flood", &[b'a'; 1_000]);
    let (sent, goaway, elapsed) = continuation_flood(server.addr, &fragment, 64 << 20).await;
    println!("CONTINUATION flood, 1 KB fields: GOAWAY {goaway:?} after {sent} bytes sent, {elapsed:?}");
    assert!(goaway.is_some(), "the server ended the connection with GOAWAY after {sent} bytes in {elapsed:?}");
    assert!(sent < 16 << 20, "the server kept reading the header block: {sent} bytes");
    assert_still_serving(server.addr).await;

    // Empty CONTINUATION frames: the list never grows, only the frame count does.
    let (sent, goaway, elapsed) = continuation_flood(server.addr, &[], 64 << 20).await;
    println!("CONTINUATION flood, empty frames: GOAWAY {goaway:?} after {sent} bytes sent, {elapsed:?}");
    assert!(goaway.is_some(), "the server ended the connection with GOAWAY after {sent} bytes in {elapsed:?}");
    assert!(sent < 16 << 20, "the server kept reading empty CONTINUATION frames: {sent} bytes");
    assert_still_serving(server.addr).await;
}

#[tokio::test]
async fn streams_opened_and_cancelled_at_once_end_the_connection_and_others_are_served() {
    let server = start().await;
    let (mut reader, mut writer) = connect(server.addr).await.into_split();
    let since = Instant::now();
    let block = get_block("/health", &[]);
    let sender = tokio::spawn(async move {
        let mut opened = 0u32;
        for batch in 0..1_000u32 {
            let mut bytes = Vec::new();
            for i in 0..100u32 {
                let stream = 2 * (batch * 100 + i) + 1;
                bytes.extend(header_frames(stream, &block, true));
                bytes.extend(frame(RST_STREAM, 0, stream, &CANCEL.to_be_bytes()));
            }
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
            opened += 100;
        }
        opened
    });
    let (_, goaway) = answers(&mut reader, &[u32::MAX]).await;
    let elapsed = since.elapsed();
    drop(reader);
    let opened = tokio::time::timeout(GIVE_UP, sender).await.expect("the sender stops").unwrap();
    println!("rapid reset: GOAWAY {goaway:?} after {opened} streams, {elapsed:?}");
    assert!(goaway.is_some(), "no GOAWAY after {opened} streams opened and cancelled in {elapsed:?}");
    assert_still_serving(server.addr).await;
}
