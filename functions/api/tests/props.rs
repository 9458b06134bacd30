//! Property test of the whole request path with untrusted input: arbitrary methods, paths,
//! query strings, content types, tokens and JSON (or not JSON) bodies through
//! [`ocomms_api::Api::handle`] over fake ports (see `fuzzing/mod.rs` for what every reply
//! must satisfy). Bodies are built from the fields the handlers' body types know, with
//! values of every JSON type, so many reach validation and authorization. A bounded number
//! of cases runs in `cargo test` (`PROPTEST_CASES=N` runs more); failures are saved in
//! `tests/props.proptest-regressions`. The cargo-fuzz target `api_request` runs the same
//! checks with coverage guidance.

#![allow(clippy::unwrap_used, reason = "tests")]

mod fuzzing;

use fuzzing::{Auth, DbMode, Input, check};
use ocomms_api::http::Method;
use ocomms_api::router::ROUTES;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Map, Value};

fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

/// Every field some request body type has.
const FIELDS: &[&str] = &[
    "also_to_channel",
    "avatar_url",
    "client_msg_id",
    "description",
    "display_name",
    "email",
    "emoji",
    "expires_in_secs",
    "kind",
    "max_uses",
    "members_can_create_channels",
    "members_can_invite",
    "name",
    "password",
    "purpose",
    "refresh_token",
    "role",
    "seq",
    "status_text",
    "text",
    "thread_root_id",
    "time_zone",
    "topic",
    "user_ids",
];

const ID: &str = "0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b";

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Get),
        Just(Method::Post),
        Just(Method::Put),
        Just(Method::Patch),
        Just(Method::Delete),
        Just(Method::Other)
    ]
}

/// Strings that hit the validators' edges as well as arbitrary text.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[a-z0-9._-]{0,12}(@[a-z0-9.-]{1,12})?",
        1 => Just(ID.to_string()),
        1 => Just(String::new()),
        1 => prop_oneof![Just("public"), Just("private"), Just("owner"), Just("admin"), Just("member"), Just("guest"),
                         Just(":thumbsup:"), Just("👍"), Just("correct horse battery staple"), Just("ann@example.com")]
            .prop_map(str::to_string),
        1 => (1usize..5000, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
        1 => Just(format!("hi <@{ID}> @here `code` ```\nfence\n```")),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop_oneof![Just(0i64), Just(1), Just(-1), Just(i64::MAX), Just(i64::MIN), Just(100), Just(86_400)]
            .prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object of known fields (sometimes with an unknown one) or any JSON value.
fn body_value() -> impl Strategy<Value = Value> {
    let field = prop_oneof![9 => prop::sample::select(FIELDS).prop_map(str::to_string), 1 => "[a-z_]{1,10}"];
    prop_oneof![
        5 => prop::collection::btree_map(field, json_value(), 0..5)
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        1 => json_value(),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => body_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        // Broken JSON: a valid body cut short or with a byte replaced.
        2 => (body_value(), any::<prop::sample::Index>(), any::<u8>(), any::<bool>()).prop_map(|(v, at, b, cut)| {
            let mut bytes = serde_json::to_vec(&v).unwrap();
            let i = at.index(bytes.len());
            if cut { bytes.truncate(i) } else { bytes[i] = b }
            bytes
        }),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(Vec::new()),
    ]
}

/// A segment for a route parameter: usually something it accepts, sometimes not.
fn segment(param: &str) -> BoxedStrategy<String> {
    let valid = match param {
        "{e}" => prop_oneof![Just("%3Athumbsup%3A".to_string()), Just("%F0%9F%91%8D".to_string())].boxed(),
        "{code}" => "[A-Za-z0-9_-]{1,24}".boxed(),
        _ => {
            prop_oneof![Just(ID.to_string()), any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string())].boxed()
        }
    };
    prop_oneof![6 => valid, 1 => "[^/?#]{1,40}", 1 => Just("%zz".to_string()), 1 => Just("..".to_string())].boxed()
}

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![Just("after"), Just("before"), Just("limit"), Just("q"), Just("x")];
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        Just("0".to_string()),
        Just("201".to_string()),
        Just("99999999999999999999".to_string()),
        "[^&#]{0,12}",
    ];
    prop::collection::vec((key, value), 0..3)
        .prop_map(|kv| kv.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
}

/// A listed route with its parameters filled in, or an arbitrary path.
fn path() -> impl Strategy<Value = String> {
    let routed = prop::sample::select(ROUTES).prop_flat_map(|(_, pattern)| {
        let segs: Vec<BoxedStrategy<String>> = pattern
            .trim_start_matches('/')
            .split('/')
            .map(|s| if s.starts_with('{') { segment(s) } else { Just(s.to_string()).boxed() })
            .collect();
        segs.prop_map(|s| format!("/api/v1/{}", s.join("/")))
    });
    let path = prop_oneof![9 => routed, 1 => "/api/v1/[^?#]{0,40}", 1 => "[^?#]{0,20}"];
    (path, query()).prop_map(|(p, q)| if q.is_empty() { p } else { format!("{p}?{q}") })
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        12 => Just(Auth::Live),
        1 => Just(Auth::None),
        1 => Just(Auth::Ended),
        1 => Just(Auth::Expired),
        1 => "(Bearer |bearer |Basic )?[A-Za-z0-9._-]{0,40}".prop_map(Auth::Raw),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    let content_type = prop_oneof![
        8 => Just(Some("application/json".to_string())),
        1 => Just(Some("application/json; charset=utf-8".to_string())),
        1 => Just(None),
        1 => Just(Some("text/plain".to_string())),
    ];
    let db = prop_oneof![Just(DbMode::Fails), Just(DbMode::Empty), Just(DbMode::Unavailable)];
    // Requests for listed routes mostly use the route's own method.
    (path(), method(), any::<bool>(), content_type, auth(), body(), db).prop_map(
        |(path, other_method, own, content_type, auth, body, db)| {
            let bare = path.split('?').next().unwrap_or("").trim_start_matches("/api/v1");
            let listed = ROUTES.iter().find(|(_, p)| pattern_fits(p, bare)).map(|(m, _)| *m);
            let method = match listed {
                Some(m) if own => m,
                _ => other_method,
            };
            Input { method, path, content_type, auth, body, db }
        },
    )
}

fn pattern_fits(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    p.len() == s.len() && p.iter().zip(&s).all(|(p, s)| p.starts_with('{') || p == s)
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn every_reply_is_well_formed_and_5xx_only_comes_from_the_database(input in input()) {
        check(&input);
    }
}

/// The fake session check must match the real statement, or every authenticated case would
/// stop at the session check and the property above would test little.
#[test]
fn the_fake_session_check_matches_the_handlers() {
    let input = Input {
        method: Method::Post,
        path: format!("/api/v1/channels/{ID}/messages"),
        content_type: Some("application/json".into()),
        auth: Auth::Live,
        body: br#"{"text":5}"#.to_vec(),
        db: DbMode::Fails,
    };
    // A body of the wrong shape is refused after the token's check, before the database
    // (posting checks the session in the statement that reads the channel).
    let r = check(&input);
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    let input = Input { body: br#"{"text":"hi"}"#.to_vec(), ..input };
    let r = check(&input);
    assert_eq!(r.status, 500, "{}", String::from_utf8_lossy(&r.body));
    let r = check(&Input { auth: Auth::Ended, ..input.clone() });
    assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
    let r = check(&Input { db: DbMode::Unavailable, ..input });
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
}

/// The cargo-fuzz target's committed corpus, replayed on every test run.
#[test]
fn the_fuzz_corpus_replays_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/api_request");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())).flatten() {
        if let Some(input) = Input::from_fuzz_bytes(&std::fs::read(entry.path()).unwrap()) {
            check(&input);
            n += 1;
        }
    }
    assert!(n > 0, "{} holds no input", dir.display());
}
