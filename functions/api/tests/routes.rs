//! The route table, the dispatcher and the OpenAPI document agree: every listed route
//! reaches a handler, every other method on a listed path is 405, and the document
//! describes exactly the listed routes.

use std::collections::BTreeSet;

use ocomms_api::http::{Method, Request};
use ocomms_api::ports::{DbError, Env, PublishError, RoomPublisher, Row, Sql, Value};
use ocomms_api::router::{OPENAPI_JSON, ROUTES};
use ocomms_api::{Api, BasePorts, Config};
use ocomms_core::event::{ChannelEvent, UserNotice};
use ocomms_core::ids::UserId;

/// A database that is down: handlers that reach it answer 500, which is still "routed".
struct NoDb;
impl Sql for NoDb {
    async fn query(&self, _: &str, _: &[Value]) -> Result<Vec<Row>, DbError> {
        Err(DbError::other("no database in this test"))
    }
    async fn execute(&self, _: &str, _: &[Value]) -> Result<u64, DbError> {
        Err(DbError::other("no database in this test"))
    }
}

struct NoRooms;
impl RoomPublisher for NoRooms {
    async fn publish(&self, _: &ChannelEvent) -> Result<(), PublishError> {
        Ok(())
    }
    async fn notify_user(&self, _: UserId, _: &UserNotice) -> Result<(), PublishError> {
        Ok(())
    }
}

struct FixedEnv;
impl Env for FixedEnv {
    fn now_ms(&self) -> i64 {
        1_800_000_000_000
    }
    fn fill_random(&self, buf: &mut [u8]) {
        buf.fill(7);
    }
    fn log_error(&self, _: &str) {}
}

const METHODS: [Method; 5] = [Method::Get, Method::Post, Method::Put, Method::Patch, Method::Delete];

fn api() -> Api<BasePorts<NoDb, NoRooms, FixedEnv>> {
    Api::new(NoDb, NoRooms, FixedEnv, Config::new(vec![1u8; 32], "http://localhost"))
}

/// A concrete path for a pattern: ids become a valid UUID, other parameters a token.
fn concrete(pattern: &str) -> String {
    let segs: Vec<String> = pattern
        .trim_start_matches('/')
        .split('/')
        .map(|s| match s {
            "{e}" => "%3Athumbsup%3A".to_string(),
            "{code}" => "some-invite-code".to_string(),
            s if s.starts_with('{') => "0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b".to_string(),
            s => s.to_string(),
        })
        .collect();
    format!("/api/v1/{}", segs.join("/"))
}

fn status_and_code(method: Method, path: &str) -> (u16, String) {
    let resp = futures::executor::block_on(api().handle(Request::new(method, path)));
    let code = resp.body_json().and_then(|b| b["error"]["code"].as_str().map(str::to_string)).unwrap_or_default();
    (resp.status, code)
}

/// The `Allow` header of the reply, split into its method names.
fn allow(method: Method, path: &str) -> Option<BTreeSet<String>> {
    let resp = futures::executor::block_on(api().handle(Request::new(method, path)));
    resp.header("allow").map(|v| v.split(',').map(|m| m.trim().to_string()).collect())
}

#[test]
fn every_listed_route_reaches_a_handler() {
    for (method, pattern) in ROUTES {
        let path = concrete(pattern);
        let (status, code) = status_and_code(*method, &path);
        assert!(
            status != 405 && !(status == 404 && code == "not_found" && routed_404(*method, &path)),
            "{method:?} {pattern} did not reach its handler: {status} {code}"
        );
        assert_ne!(status, 500, "{method:?} {pattern}: a handler failed before touching the database");
    }
}

/// A 404 that comes from the router (the message names the route) rather than a handler.
fn routed_404(method: Method, path: &str) -> bool {
    let resp = futures::executor::block_on(api().handle(Request::new(method, path)));
    resp.body_json().is_some_and(|b| b["error"]["message"].as_str().is_some_and(|m| m.contains("route")))
}

#[test]
fn other_methods_on_listed_paths_are_405_and_unlisted_paths_404() {
    for (_, pattern) in ROUTES {
        let path = concrete(pattern);
        // What the path answers, from the table: HEAD goes with GET (HEAD is served as GET).
        let mut expected = BTreeSet::new();
        for (rm, rp) in ROUTES.iter().filter(|(_, rp)| concrete(rp) == path) {
            expected.insert(format!("{rm:?}").to_uppercase());
            if *rm == Method::Get {
                expected.insert("HEAD".to_string());
            }
            assert_eq!(allow(*rm, &path), None, "{rm:?} {rp}: only a 405 carries Allow");
        }
        for m in METHODS.into_iter().chain([Method::Other]) {
            if ROUTES.iter().any(|(rm, rp)| *rm == m && concrete(rp) == path) {
                continue;
            }
            assert_eq!(status_and_code(m, &path), (405, "method_not_allowed".into()), "{m:?} {pattern}");
            assert_eq!(allow(m, &path).as_ref(), Some(&expected), "{m:?} {pattern}: Allow names the path's methods");
        }
    }
    for path in ["/api/v1/nope", "/api/v1/channels", "/api/v1/channels/x/y/z/w", "/api/v2/me", "/api/v1/"] {
        assert_eq!(status_and_code(Method::Get, path).0, 404, "{path}");
        assert_eq!(allow(Method::Other, path), None, "{path}: a 404 has no Allow");
    }
}

#[test]
fn allow_lists_methods_in_a_fixed_order() {
    let header = |m: Method, path: &str| {
        let resp = futures::executor::block_on(api().handle(Request::new(m, path)));
        (resp.status, resp.header("allow").map(str::to_string))
    };
    let id = "0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b";
    assert_eq!(header(Method::Put, "/api/v1/me"), (405, Some("GET, HEAD, PATCH".into())));
    assert_eq!(header(Method::Get, &format!("/api/v1/messages/{id}")), (405, Some("PATCH, DELETE".into())));
    assert_eq!(header(Method::Post, &format!("/api/v1/messages/{id}/follow")), (405, Some("PUT, DELETE".into())));
    assert_eq!(header(Method::Other, "/api/v1/auth/login"), (405, Some("POST".into())));
}

#[test]
fn the_openapi_document_describes_exactly_the_routes() {
    let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "an OpenAPI 3.1 document");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                assert!(op["responses"].is_object(), "{method} {path} has responses");
                documented.insert((method.to_uppercase(), normalise(path)));
            }
        }
    }
    let routed: BTreeSet<(String, String)> =
        ROUTES.iter().map(|(m, p)| (format!("{m:?}").to_uppercase(), normalise(p))).collect();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "undocumented routes {missing:?}; documented but not routed {extra:?}"
    );
}

/// Parameter names do not matter for the comparison: `{ws}` and `{workspace_id}` match.
fn normalise(path: &str) -> String {
    path.split('/').map(|s| if s.starts_with('{') { "{}" } else { s }).collect::<Vec<_>>().join("/")
}

/// `refuse_unrouted` is what a runtime answers before it builds the API: for every request it
/// refuses, the API would have answered the same, byte for byte (HSTS included), and every
/// request it lets through reaches past the router.
#[test]
fn refusing_before_building_the_api_answers_as_the_api_does() {
    let mut paths: Vec<String> = ROUTES.iter().map(|(_, p)| concrete(p)).collect();
    paths.extend(
        [
            "/api/v1/nope",
            "/api/v1/",
            "/api/v1",
            "/api/v2/me",
            "/",
            "/index.html",
            "/api/v1/channels/x/y/z/w",
            "/api/v1/chat.postMessage",
            "/api/v1/no.such.method",
            "/api/v1/internal/deliveries",
            "/hooks/T000/B000/secret",
            "/hooks/commands/some-token",
            "/api/v1/me?x=1",
            "/api/v1/nope?x=1",
        ]
        .map(str::to_string),
    );
    let settings =
        [("http://localhost", None), ("https://chat.example.com", None), ("http://localhost", Some("x-real-ip"))];
    for (public_url, header) in settings {
        let config = Config::new(vec![1u8; 32], public_url).with_limits(Default::default(), header.map(str::to_string));
        let api = Api::new(NoDb, NoRooms, FixedEnv, config);
        for path in &paths {
            for method in METHODS.into_iter().chain([Method::Other]) {
                let req = || {
                    let mut r = Request::new(method, path);
                    r.headers.push(("x-forwarded-proto".into(), "https".into()));
                    r
                };
                let full = futures::executor::block_on(api.handle(req()));
                match ocomms_api::refuse_unrouted(&req(), public_url, header) {
                    Some(early) => assert_eq!(early, full, "{method:?} {path} ({public_url}, {header:?})"),
                    // Whether that path exists depends on the configuration (an internal secret).
                    None if path == "/api/v1/internal/deliveries" => {}
                    None => assert!(
                        status_and_code(method, path) != (405, "method_not_allowed".into())
                            && !routed_404(method, path),
                        "{method:?} {path}: let through, but the router refused it"
                    ),
                }
            }
        }
    }
    // The refusals above include both kinds, with and without HSTS.
    let nope = Request::new(Method::Get, "/api/v1/nope");
    let refused = ocomms_api::refuse_unrouted(&nope, "https://chat.example.com", None).expect("404");
    assert_eq!(refused.status, 404);
    assert!(refused.header("strict-transport-security").is_some());
    assert!(
        ocomms_api::refuse_unrouted(&nope, "http://localhost", None)
            .expect("404")
            .header("strict-transport-security")
            .is_none()
    );
    assert_eq!(
        ocomms_api::refuse_unrouted(&Request::new(Method::Put, "/api/v1/me"), "", None).expect("405").status,
        405
    );
}
