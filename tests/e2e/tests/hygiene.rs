//! Connection hygiene and response headers on the real targets: the header-read timeout,
//! the per-address connection cap, the per-user and per-address WebSocket caps with their
//! close code, `/metrics` behind its token, and the security headers of every response
//! (with HSTS only over TLS). The host's checks share one host with small caps.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::common::{Host, HostOptions, Reply, Target, WAIT, Ws, WsAuth, both_targets};

const METRICS_TOKEN: &str = "metrics-token-for-tests";
const PER_USER: usize = 2;
const PER_ADDRESS_SOCKETS: usize = 4;
const PER_ADDRESS_CONNECTIONS: usize = 12;

/// `ocomms_api::socket::CLOSE_TOO_MANY_SOCKETS`.
const CLOSE_TOO_MANY_SOCKETS: u16 = 4029;

fn small_caps() -> HostOptions {
    let args = [
        ("--header-timeout", "1".to_owned()),
        ("--max-sockets-per-user", PER_USER.to_string()),
        ("--max-sockets-per-address", PER_ADDRESS_SOCKETS.to_string()),
        ("--max-connections-per-address", PER_ADDRESS_CONNECTIONS.to_string()),
        ("--metrics-token", METRICS_TOKEN.to_owned()),
    ];
    HostOptions {
        host_args: args.into_iter().flat_map(|(k, v)| [k.to_owned(), v]).collect(),
        // Behind a TLS proxy: every answer gets HSTS.
        variables: vec![("PUBLIC_URL", "https://chat.example.test".to_owned())],
        ..HostOptions::default()
    }
}

/// Reads one HTTP/1.1 response off `tcp`: its status and body.
async fn read_response(tcp: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tokio::time::timeout(WAIT, tcp.read(&mut chunk)).await.expect("a response in time").unwrap_or(0);
        assert!(n > 0, "the connection closed before a response: {:?}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("a content-length");
    while buf.len() < head_end + length {
        let n = tokio::time::timeout(WAIT, tcp.read(&mut chunk)).await.expect("the body in time").unwrap_or(0);
        assert!(n > 0, "the connection closed in the body");
        buf.extend_from_slice(&chunk[..n]);
    }
    (status, String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned())
}

/// Whether the server closes `tcp` (end of stream or reset) within [`WAIT`].
async fn closed_by_server(tcp: &mut TcpStream) -> bool {
    let mut chunk = [0u8; 1024];
    loop {
        match tokio::time::timeout(WAIT, tcp.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

async fn metrics(host: &Host, token: Option<&str>) -> Reply {
    let mut req = host.http().get(host.url("/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    host.send(req).await
}

fn counter(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_and_socket_floods_meet_the_caps() {
    let host = Target::Host.start_with(small_caps()).await;

    // A request head never finished, and a connection that never says anything: both are
    // closed after the header timeout (1 s here).
    let mut half = TcpStream::connect(host.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ").await.unwrap();
    let mut silent = TcpStream::connect(host.addr).await.unwrap();
    assert!(closed_by_server(&mut half).await, "a half-sent request is cut off");
    assert!(closed_by_server(&mut silent).await, "a silent connection is cut off");

    // Per user: the third socket of one user is closed with 4029 and the reason.
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let mut anns = Vec::new();
    for _ in 0..PER_USER {
        anns.push(Ws::connect(&host, &ann.access, false).await.0);
    }
    let mut extra = Ws::open(&host, false, WsAuth::Frame(&ann.access)).await;
    assert_eq!(extra.expect_close().await, Some((CLOSE_TOO_MANY_SOCKETS, "too many sockets for this user".to_owned())));
    // Another user from the same address still connects, up to the address's cap.
    let mut bobs = Vec::new();
    for _ in 0..PER_ADDRESS_SOCKETS - PER_USER {
        bobs.push(Ws::connect(&host, &bob.access, false).await.0);
    }
    let mut extra = Ws::open(&host, false, WsAuth::None).await;
    assert_eq!(
        extra.expect_close().await,
        Some((CLOSE_TOO_MANY_SOCKETS, "too many sockets from this address".to_owned()))
    );
    // A socket closed gives its place back.
    anns.pop().unwrap().close().await;
    let mut again = None;
    for _ in 0..50 {
        let mut ws = Ws::open(&host, false, WsAuth::Frame(&ann.access)).await;
        match ws.recv_within(WAIT).await {
            crate::common::Incoming::Frame(_) => {
                again = Some(ws);
                break;
            }
            crate::common::Incoming::Closed(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(again.is_some(), "a place freed by a closed socket is taken again");
    drop(again);
    for ws in anns.into_iter().chain(bobs) {
        ws.close().await;
    }

    // /metrics: refused without the token (401 JSON), served with it, and counting the above.
    let r = metrics(&host, None).await;
    r.expect_error(401, "unauthenticated", "metrics without the token");
    assert_eq!(r.headers.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    metrics(&host, Some("not-the-token")).await.expect_error(401, "unauthenticated", "metrics, wrong token");
    let r = metrics(&host, Some(METRICS_TOKEN)).await;
    r.expect_status(200, "metrics with the token");
    assert!(counter(&r.text, "ocomms_header_timeouts_total") >= 1, "{}", r.text);
    assert!(counter(&r.text, "ocomms_websockets_refused_total") >= 2, "{}", r.text);
    // Behind TLS (an https public URL), every answer says so.
    assert_eq!(r.headers.get("strict-transport-security").and_then(|v| v.to_str().ok()), Some("max-age=31536000"));

    // Per address: connections beyond the cap (the client's pooled ones count too) are
    // answered 429 with the JSON error and closed; the ones before are served.
    let mut open = Vec::new();
    let mut refused = None;
    for _ in 0..=PER_ADDRESS_CONNECTIONS {
        let mut tcp = TcpStream::connect(host.addr).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        let (status, body) = read_response(&mut tcp).await;
        if status == 429 {
            refused = Some(body);
            break;
        }
        assert_eq!(status, 200, "under the cap: {body}");
        open.push(tcp);
    }
    let body = refused.expect("the connection over the cap is refused");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("too many connections"), "{body}");
    // One closed, one more fits.
    drop(open.pop());
    let mut served = false;
    for _ in 0..50 {
        let mut tcp = TcpStream::connect(host.addr).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        if read_response(&mut tcp).await.0 == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "a closed connection gives its place back");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_answer_loopback_only_without_a_token() {
    // Without a token or a metrics address, loopback clients (every test client) read them;
    // behind a trusted proxy, the proxy's client address decides.
    let host = Target::Host
        .start_with(HostOptions {
            variables: vec![("CLIENT_ADDRESS_HEADER", "x-forwarded-for".to_owned())],
            ..HostOptions::default()
        })
        .await;
    metrics(&host, None).await.expect_status(200, "metrics from loopback");
    let far = host.http().get(host.url("/metrics")).header("x-forwarded-for", "203.0.113.7");
    host.send(far).await.expect_error(403, "forbidden", "metrics for a client beyond the proxy");
}

const SECURITY_HEADERS: [(&str, &str); 3] =
    [("x-content-type-options", "nosniff"), ("x-frame-options", "DENY"), ("referrer-policy", "no-referrer")];

fn assert_security_headers(r: &Reply, what: &str) {
    let get = |n: &str| r.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(get(name), value, "{what}: {name}");
    }
    let csp = get("content-security-policy");
    for directive in ["default-src 'self'", "script-src 'self';", "object-src 'none'", "frame-ancestors 'none'"] {
        assert!(csp.contains(directive), "{what}: CSP {csp:?} lacks {directive}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{what}: {csp}");
    assert!(r.headers.get("strict-transport-security").is_none(), "{what}: no HSTS over plain HTTP");
}

async fn security_headers_on_every_answer(host: &Host) {
    let signup = host
        .post(
            "/api/v1/auth/signup",
            None,
            json!({ "email": "ann@example.com", "password": crate::common::PASSWORD, "display_name": "Ann" }),
        )
        .await;
    signup.expect_status(201, "signup");
    assert_security_headers(&signup, "an API answer");
    let unauthenticated = host.get("/api/v1/me", None).await;
    assert_eq!(unauthenticated.status, 401);
    assert_security_headers(&unauthenticated, "an API error");
    if host.target() == Target::Spin {
        return; // Spin answers the paths outside the component's routes itself.
    }
    assert_security_headers(&host.get("/healthz", None).await, "the health check");
    // The web client on the host (or, built without it, the page saying so); the Worker
    // serves no page and answers 404.
    let page = host.get("/", None).await;
    let expected: &[u16] = if host.target() == Target::Host { &[200, 503] } else { &[404] };
    assert!(expected.contains(&page.status), "GET /: {} {}", page.status, page.text);
    assert_security_headers(&page, "the page at /");
}

both_targets!(security_headers_on_every_answer);
