//! End-to-end check against a real component and database, skipped unless
//! `WASM_HOST_TEST_COMPONENT` (a spin-sdk test component) and `WASM_HOST_TEST_PG`
//! (a libpq-style connection string) are set.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

struct Rooms;

impl OutboundInterceptor for Rooms {
    fn handles(&self, authority: &str, scheme: &str) -> bool {
        authority == "rooms.internal" && scheme == "http"
    }
    fn intercept(
        &self,
        req: http::Request<Bytes>,
    ) -> Option<std::pin::Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send>>> {
        let uri = req.uri().to_string();
        Some(Box::pin(async move {
            http::Response::builder()
                .status(201)
                .body(Bytes::from(format!("intercepted {uri}")))
                .expect("response")
        }))
    }
}

fn get(path: &str) -> http::Request<Bytes> {
    http::Request::builder()
        .uri(format!("http://localhost{path}"))
        .body(Bytes::new())
        .expect("request")
}

async fn body(c: &LoadedComponent, path: &str) -> String {
    let resp = c.handle(get(path)).await.expect("handled");
    String::from_utf8_lossy(resp.body()).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_end_to_end() {
    let (Ok(wasm), Ok(pg_url)) = (
        std::env::var("WASM_HOST_TEST_COMPONENT"),
        std::env::var("WASM_HOST_TEST_PG"),
    ) else {
        eprintln!("skipped: WASM_HOST_TEST_COMPONENT / WASM_HOST_TEST_PG not set");
        return;
    };
    let wasm = PathBuf::from(wasm);
    let cache = std::env::temp_dir().join(format!("wasm-host-cache-{}", std::process::id()));

    // A local HTTP server for a real outgoing request.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nlocal")
                .await;
        }
    });

    let rt = Runtime::new(RuntimeConfig {
        max_instance_memory_bytes: 32 << 20,
        max_instances: 50,
        request_timeout: Duration::from_secs(2),
        cache_dir: Some(cache.clone()),
        max_result_rows: 10,
    })
    .expect("runtime");

    let pg_config: tokio_postgres::Config = pg_url.parse().expect("pg url");
    let mgr = deadpool_postgres::Manager::new(pg_config, tokio_postgres::NoTls);
    let pool = deadpool_postgres::Pool::builder(mgr)
        .max_size(1)
        .build()
        .expect("pool");

    let started = Instant::now();
    let c = rt
        .load_component(
            "test",
            &wasm,
            ComponentContext {
                variables: HashMap::from([("greeting".to_owned(), "hello".to_owned())]),
                allowed_outbound_hosts: vec![
                    "http://rooms.internal".to_owned(),
                    "http://127.0.0.1:*".to_owned(),
                ],
                pg: Some(pool),
                interceptor: Some(Arc::new(Rooms)),
            },
        )
        .expect("load");
    eprintln!("first load: {:?}", started.elapsed());
    let started = Instant::now();
    let no_pg = rt
        .load_component("nopg", &wasm, ComponentContext::default())
        .expect("load again");
    eprintln!("cached load: {:?}", started.elapsed());
    assert!(
        std::fs::read_dir(&cache)
            .expect("cache dir")
            .any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "cwasm")))
    );

    assert_eq!(body(&c, "/").await, "ok");
    let resp = c
        .handle(
            http::Request::builder()
                .method("POST")
                .uri("/echo?x=1")
                .header("host", "example.org")
                .body(Bytes::from_static(b"payload"))
                .expect("request"),
        )
        .await
        .expect("echo");
    eprintln!("echo: {}", String::from_utf8_lossy(resp.body()));

    for path in [
        "/var?greeting",
        "/var?missing",
        "/var?BAD",
        "/pg",
        "/pgtypes",
        "/pgparams",
        "/pgbadparam",
        "/pgbaduuid",
        "/pgerr",
        "/pgsetup",
        "/pgconstraint",
        "/pgmany?10",
        "/pgmany?11",
        "/out?http://rooms.internal/x",
        "/out?http://evil.example/",
        "/out?https://rooms.internal/x",
    ] {
        eprintln!("{path}:\n{}\n", body(&c, path).await);
    }
    let local = body(&c, &format!("/out?http://127.0.0.1:{port}/")).await;
    eprintln!("local: {local}");
    assert!(local.contains("status=200 body=local"), "{local}");
    assert!(body(&c, "/var?greeting").await.contains("hello"));
    assert!(body(&c, "/pg").await.contains("Int64(42)"));
    assert!(body(&c, "/pgmany?11").await.contains("maximum of 10 rows"));
    assert!(body(&c, "/pgerr").await.contains("42P01"));
    assert!(body(&c, "/out?http://evil.example/").await.contains("HttpRequestDenied"));
    assert!(body(&c, "/out?http://rooms.internal/x").await.contains("status=201"));
    assert!(body(&no_pg, "/pg").await.contains("ConnectionFailed"));

    let t = Instant::now();
    let r = c.handle(get("/panic")).await;
    eprintln!("panic: {r:?} in {:?}", t.elapsed());
    assert!(matches!(r, Err(HandleError::Trap(_))));

    let t = Instant::now();
    let r = c.handle(get("/mem")).await;
    eprintln!("mem: {:?} in {:?}", r.as_ref().map(|_| ()), t.elapsed());
    assert!(matches!(r, Err(HandleError::Trap(_))));

    // Two spinning guests on a two-worker runtime must not starve other requests.
    let t = Instant::now();
    let l1 = tokio::spawn({
        let c = c.clone();
        async move { c.handle(get("/loop")).await }
    });
    let l2 = tokio::spawn({
        let c = c.clone();
        async move { c.handle(get("/loop")).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t_ok = Instant::now();
    assert_eq!(body(&c, "/").await, "ok");
    eprintln!("ok during loops: {:?}", t_ok.elapsed());
    let (r1, r2) = (l1.await.expect("join"), l2.await.expect("join"));
    eprintln!("loops: {:?} {:?} in {:?}", r1.as_ref().map(|_| ()), r2.as_ref().map(|_| ()), t.elapsed());
    assert!(matches!(r1, Err(HandleError::Timeout)));
    assert!(matches!(r2, Err(HandleError::Timeout)));
    assert!(t.elapsed() < Duration::from_millis(2600));

    // A guest blocked in the host (pg_sleep) is cut off too.
    let t = Instant::now();
    let r = c.handle(get("/pgsleep")).await;
    eprintln!("pgsleep: {:?} in {:?}", r.as_ref().map(|_| ()), t.elapsed());
    assert!(matches!(r, Err(HandleError::Timeout)));

    // The pool has one connection: the timed-out query's connection must not be reused.
    assert_eq!(body(&c, "/").await, "ok");
    let t = Instant::now();
    assert!(body(&c, "/pg").await.contains("Int64(42)"));
    eprintln!("pg after timeout: {:?}", t.elapsed());

    // An unfinished transaction does not leak into the next request.
    eprintln!("/pgbegin: {}", body(&c, "/pgbegin").await);
    let check = body(&c, "/pgtxcheck").await;
    eprintln!("/pgtxcheck: {check}");
    assert!(!check.contains("leaked"), "{check}");

    // Throughput sanity: sequential requests.
    let t = Instant::now();
    for _ in 0..200 {
        assert_eq!(body(&c, "/").await, "ok");
    }
    eprintln!("200 requests: {:?}", t.elapsed());
    let _ = std::fs::remove_dir_all(&cache);
}
