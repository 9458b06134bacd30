//! The request deadline: a component that never returns is cut off with a 503 while other
//! requests (to it and to the API) are served, a panicking component gets a 500, and the host
//! carries on. Uses the `tests/fixtures/looper` component next to the real API component.

use std::time::{Duration, Instant};

use crate::common::{
    Host, HostOptions, PASSWORD, Reply, Target, api_component, component, repo_manifest_with_absolute_sources,
    toml_string,
};

const REQUEST_TIMEOUT_SECS: f64 = 2.0;

/// The repository's manifest (the API on `/api/...`, same variables) plus the looper on
/// `/test/...`. Also used by [`crate::spin_contract`].
pub(crate) fn manifest() -> String {
    let looper = component(
        "looper.wasm",
        "build it with `cargo build -p ocomms-fixture-looper --target wasm32-wasip2 --profile wasm` and copy \
         target/wasm32-wasip2/wasm/ocomms_fixture_looper.wasm to target/components/looper.wasm \
         (`cargo xtask build` does both)",
    );
    api_component();
    let mut text = repo_manifest_with_absolute_sources();
    text.push_str(&format!(
        r#"
[[trigger.http]]
route = "/test/..."
component = "looper"

[component.looper]
source = {}
description = "Test fixture: loops forever on /loop, panics on /panic, echoes spin-* headers on /headers."
"#,
        toml_string(&looper.to_string_lossy())
    ));
    text
}

/// A counter from `/metrics`.
pub(crate) async fn metric(host: &Host, name: &str) -> u64 {
    let r = host.get("/metrics", None).await;
    r.expect_status(200, "metrics");
    r.text
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{}", r.text))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runaway_component_is_cut_off_while_other_requests_succeed() {
    let host = Target::Host
        .start_with(HostOptions {
            manifest_toml: Some(manifest()),
            request_timeout_secs: Some(REQUEST_TIMEOUT_SECS),
            ..HostOptions::default()
        })
        .await;

    let ok = host.get("/test/ok", None).await;
    ok.expect_status(200, "the looper's ok route");
    assert_eq!(ok.text, "ok");

    // Two runaway requests (one per core on a small machine), started together.
    let started = Instant::now();
    let mut loops = Vec::new();
    for i in 0..2 {
        let rb = host.request(reqwest::Method::GET, &format!("/test/{i}/loop"), None);
        loops.push(tokio::spawn(async move {
            let r = Reply::read(rb.send().await.expect("the loop request gets an answer")).await;
            (r, started.elapsed())
        }));
    }
    // Let them get going, then use the host while they spin.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let meanwhile = async {
        let (ok1, ok2, signup) = tokio::join!(
            host.get("/test/ok", None),
            host.get("/test/still/ok", None),
            host.post(
                "/api/v1/auth/signup",
                None,
                serde_json::json!({ "email": "ann@example.com", "password": PASSWORD, "display_name": "Ann" }),
            ),
        );
        ok1.expect_status(200, "ok while looping");
        ok2.expect_status(200, "ok while looping");
        signup.expect_status(201, "signup while looping");
        let health = host.get("/healthz", None).await;
        health.expect_status(200, "healthz while looping");
    };
    tokio::time::timeout(Duration::from_secs(20), meanwhile)
        .await
        .expect("other requests are served while components loop");

    for task in loops {
        let (r, elapsed) = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the runaway request is cut off")
            .expect("the loop request task");
        r.expect_error(503, "unavailable", "a request past its deadline");
        assert!(
            elapsed >= Duration::from_secs_f64(REQUEST_TIMEOUT_SECS * 0.75),
            "the loop was answered after {elapsed:?}, before the {REQUEST_TIMEOUT_SECS} s deadline: not a timeout"
        );
    }
    assert_eq!(metric(&host, "ocomms_component_timeouts_total").await, 2, "both loops counted as timeouts");

    // A panic is a trap: 500 with the fixed internal error, nothing leaked.
    let r = host.get("/test/panic", None).await;
    r.expect_error(500, "internal", "a panicking component");
    assert!(!r.text.contains("looper fixture"), "the panic message leaked to the client: {}", r.text);
    assert_eq!(metric(&host, "ocomms_component_traps_total").await, 1, "the panic counted as a trap");

    // The host and both components carry on, and the deadline holds again.
    host.get("/test/ok", None).await.expect_status(200, "ok after the loop and the panic");
    let ann = host.login("ann@example.com").await;
    let (_, general) = host.create_workspace(&ann.access, "Acme").await;
    host.post_message(&ann.access, &general, "after the storm").await;
    assert_eq!(host.history(&ann.access, &general).await.len(), 1);
    let again =
        tokio::time::timeout(Duration::from_secs(30), host.get("/test/loop", None)).await.expect("cut off again");
    again.expect_error(503, "unavailable", "a second runaway request");
    host.get("/test/ok", None).await.expect_status(200, "ok at the end");
}
