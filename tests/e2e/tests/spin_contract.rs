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

/// The looper on wildcard, exact and parameter routes.
fn routes_manifest() -> String {
    let looper = crate::common::component("looper.wasm", "build it with `cargo xtask build fixtures`");
    let source = crate::common::toml_string(&looper.to_string_lossy());
    let mut text = "spin_manifest_version = 2\n\n[application]\nname = \"routes\"\n".to_owned();
    for (id, route) in [
        ("wild", "/test/..."),
        ("exact", "/exact/headers"),
        ("param", "/users/:id/headers"),
        ("both", "/files/:kind/..."),
        ("two", "/a/:x/b/:y/headers"),
    ] {
        text.push_str(&format!(
            "\n[[trigger.http]]\nroute = \"{route}\"\ncomponent = \"{id}\"\n\n[component.{id}]\nsource = {source}\n"
        ));
    }
    text
}

/// The headers a path gets, with the parts that name the server or the client made neutral.
async fn headers_at(host: &crate::common::Host, path: &str) -> String {
    let r = host.request(reqwest::Method::GET, path, None).send().await.expect("the looper answers");
    assert_eq!(r.status().as_u16(), 200, "{path} on {:?}", host.target());
    let text = r.text().await.expect("a text body");
    let addr = host.addr.to_string();
    text.lines()
        .map(|l| {
            if l.starts_with("spin-client-addr: 127.0.0.1:") {
                "spin-client-addr: 127.0.0.1:<port>".to_owned()
            } else {
                l.replace(&addr, "<server>")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Route parameters, wildcards and exact routes give a component the same `spin-*` headers
/// on this host as on Spin itself.
#[tokio::test(flavor = "multi_thread")]
async fn routes_and_their_headers_match_spin() {
    if !crate::common::spin_available("spin_contract::routes_and_their_headers_match_spin") {
        return;
    }
    let manifest = routes_manifest();
    let host =
        Target::Host.start_with(HostOptions { manifest_toml: Some(manifest.clone()), ..HostOptions::default() }).await;
    let spin = crate::common::Host::spin_app(&manifest, &[]).await;
    for path in [
        "/test/a/headers",
        "/test/a/headers?x=1",
        "/exact/headers",
        "/users/42/headers",
        "/files/img/x/headers",
        "/a/1/b/two/headers",
    ] {
        let ours = headers_at(&host, path).await;
        let theirs = headers_at(&spin, path).await;
        assert_eq!(ours, theirs, "the spin-* headers of {path}");
        assert!(ours.contains("spin-matched-route"), "{path}: {ours}");
    }
    let users = headers_at(&host, "/users/42/headers").await;
    assert!(users.contains("spin-path-match-id: 42"), "{users}");
}
