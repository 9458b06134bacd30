//! Spin's HTTP trigger contract as a component sees it on this host: the `spin-*` request
//! headers, computed as Spin computes them, with whatever a client forged under those names
//! dropped. Uses the `tests/fixtures/looper` component, whose `/headers` path echoes them.

use crate::common::{HostOptions, Target};

#[tokio::test(flavor = "multi_thread")]
async fn components_get_spins_request_headers_and_clients_cannot_forge_them() {
    let host = Target::Host
        .start_with(HostOptions { manifest_toml: Some(crate::deadline::manifest()), ..HostOptions::default() })
        .await;
    let r = host
        .request(reqwest::Method::GET, "/test/a/headers?x=1", None)
        .header("spin-client-addr", "10.1.2.3:4")
        .header("spin-path-info", "/forged")
        .header("spin-made-up", "forged")
        .send()
        .await
        .expect("the looper answers");
    let status = r.status().as_u16();
    let text = r.text().await.expect("a text body");
    assert_eq!(status, 200, "{text}");
    let addr = host.addr;
    let want = [
        "spin-base-path: /".to_string(),
        "spin-client-addr: 127.0.0.1:".to_string(),
        "spin-component-route: /test".to_string(),
        format!("spin-full-url: http://{addr}/test/a/headers?x=1"),
        "spin-matched-route: /test/...".to_string(),
        "spin-path-info: /a/headers".to_string(),
        "spin-raw-component-route: /test/...".to_string(),
    ];
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), want.len(), "exactly Spin's headers, nothing forged: {text}");
    for (line, want) in lines.iter().zip(&want) {
        assert!(line.starts_with(want.as_str()), "{line:?} should start with {want:?}\n{text}");
    }
    assert!(!text.contains("10.1.2.3") && !text.contains("forged"), "a forged header got through: {text}");
}
