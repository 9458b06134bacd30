//! wasm-host's spin:postgres against Spin's, call for call: the `pgprobe` fixture component
//! makes the same calls (`open`, `query`, `execute` with typed parameters) on both runtimes,
//! against one database, and the answers must be the same: the same columns and WIT types,
//! the same values, the same kind of error (and SQLSTATE) for what Spin refuses.
//!
//! One difference is not compared because Spin cannot answer it: a `query` that matches no
//! rows never returns on Spin 4.0 (spinframework/spin#3671; the API component pads its
//! queries, see `functions/component/src/one_row.rs`). Every query below matches a row.

use serde_json::{Value, json};

use crate::common::{Host, HostOptions, Target, component, db_host_of, spin_available, toml_string};

/// The probe on `/probe`, allowed to reach the database named by `db_host`.
fn manifest() -> String {
    let probe = component(
        "pgprobe.wasm",
        "build it with `cargo xtask build component` (the test fixtures are built by `cargo xtask test`)",
    );
    format!(
        r#"spin_manifest_version = 2

[application]
name = "pgprobe"

[variables]
db_host = {{ default = "localhost:5432" }}

[[trigger.http]]
route = "/probe"
component = "probe"

[component.probe]
source = {source}
allowed_outbound_hosts = ["postgres://{{{{ db_host }}}}"]
"#,
        source = toml_string(&probe.to_string_lossy())
    )
}

struct Runtimes {
    host: Host,
    spin: Host,
    db: ocomms_testsupport::TestDb,
    address: String,
}

impl Runtimes {
    async fn start() -> Option<Runtimes> {
        if !spin_available("pg_contract") {
            return None;
        }
        let db = ocomms_testsupport::fresh_db().await.expect("a fresh test database");
        let address = format!("{}?sslmode=disable", db.url);
        let manifest = manifest();
        let host = Target::Host
            .start_with(HostOptions {
                manifest_toml: Some(manifest.clone()),
                database_url: Some(db.url.clone()),
                ..HostOptions::default()
            })
            .await;
        let spin = Host::spin_app(&manifest, &[("DB_HOST", db_host_of(&db.url))]).await;
        Some(Runtimes { host, spin, db, address })
    }

    /// The probe's answer on one runtime.
    async fn on(&self, target: &Host, call: &str, statement: &str, params: &Value, address: &str) -> Value {
        let body = json!({ "address": address, "call": call, "statement": statement, "params": params });
        let resp = target
            .http()
            .post(target.url("/probe"))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("probe on {:?}: {e}", target.target()));
        let mut v: Value = resp.json().await.expect("the probe answers JSON");
        assert!(v.get("fixture_error").is_none(), "the probe refused the request: {v}");
        // Messages differ in wording between the runtimes; the kind and code are the contract.
        if let Some(o) = v.as_object_mut() {
            o.remove("message");
        }
        v
    }

    /// Both runtimes' answers, which must be equal; returns one.
    async fn same(&self, call: &str, statement: &str, params: Value) -> Value {
        self.same_at(call, statement, params, &self.address.clone()).await
    }

    async fn same_at(&self, call: &str, statement: &str, params: Value, address: &str) -> Value {
        let host = self.on(&self.host, call, statement, &params, address).await;
        let spin = self.on(&self.spin, call, statement, &params, address).await;
        assert_eq!(host, spin, "wasm-host and Spin differ on {call} {statement:?} with {params}");
        host
    }
}

fn types(v: &Value) -> Vec<String> {
    v["columns"].as_array().unwrap_or(&Vec::new()).iter().map(|c| c["type"].as_str().unwrap_or("").to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn wasm_host_maps_types_and_refusals_as_spin_does() {
    let Some(rt) = Runtimes::start().await else { return };

    // A table of every type the API's schema uses and the ones Spin maps specially, made
    // directly (both runtimes share the database: only statements that change nothing, or
    // change it the same way twice, go through them).
    let db = rt.db.connect().await.expect("connect to the test database");
    db.batch_execute(
        "CREATE TABLE probe (id int8 PRIMARY KEY, b bool, i2 int2, i4 int4, f4 float4, f8 float8, t text,
             v varchar(10), c char(3), u uuid, j jsonb, js json, n numeric(10,2), d date, tm time,
             ts timestamp, tz timestamptz, iv interval, a4 int4[], a8 int8[], at text[], au uuid[],
             r4 int4range, r8 int8range, nm name, by bytea);
         INSERT INTO probe VALUES (1, true, 2, 4, 1.5, 2.25, 'text', 'var', 'ch', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
             '{\"k\": [1, 2]}', '{\"k\": 1}', 12.5, '2024-02-29', '13:14:15.5', '2024-02-29 13:14:15.25',
             '2024-02-29 13:14:15.25+00', '1 mon 2 days 3 s', '{1,NULL}', '{8}', '{a,NULL}',
             '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '[1,5)', 'empty', 'nm', '\\x0102');",
    )
    .await
    .expect("create the probe table");
    let updated = rt.same("execute", "UPDATE probe SET b = $1 WHERE id = 1", json!([{ "bool": true }])).await;
    assert_eq!(updated, json!({ "affected": 1 }), "{updated}");

    // Every column but timestamptz reads the same on both, including those Spin passes
    // through as `other`/`unsupported`.
    let all = rt
        .same(
            "query",
            "SELECT b, i2, i4, id, f4, f8, t, v, c, u, j, js, n, d, tm, ts, iv, a4, a8, at, au, r4, r8, nm, by
             FROM probe WHERE id = $1",
            json!([{ "int64": 1 }]),
        )
        .await;
    assert_eq!(
        types(&all).iter().filter(|t| t.starts_with("other:")).collect::<Vec<_>>(),
        ["other:json", "other:_uuid", "other:name"],
        "{all}"
    );
    assert_eq!(all["rows"][0][3], json!({ "int64": 1 }), "{all}");

    // A timestamptz column cannot be read, NULL or not; as epoch milliseconds it can.
    let tz = rt.same("query", "SELECT tz FROM probe WHERE id = 1", json!([])).await;
    assert_eq!(tz["error"], "query-failed/text", "{tz}");
    let tz_null = rt.same("query", "SELECT NULL::timestamptz AS tz", json!([])).await;
    assert_eq!(tz_null["error"], "query-failed/text", "{tz_null}");
    let ms = rt.same("query", "SELECT (extract(epoch from tz) * 1000)::int8 AS ms FROM probe", json!([])).await;
    assert_eq!(ms["rows"][0][0], json!({ "int64": 1_709_212_455_250_i64 }), "{ms}");

    // Parameters bind only to the type Spin converts them to.
    for (statement, params, binds) in [
        ("SELECT id FROM probe WHERE id = $1", json!([{ "int64": 1 }]), true),
        ("SELECT id FROM probe WHERE i4 = $1", json!([{ "int64": 4 }]), false),
        ("SELECT id FROM probe WHERE i4 = $1", json!([{ "int32": 4 }]), true),
        ("SELECT id FROM probe WHERE i4 = $1::int8", json!([{ "int64": 4 }]), true),
        ("SELECT id FROM probe WHERE u = $1", json!([{ "str": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" }]), false),
        ("SELECT id FROM probe WHERE u = $1", json!([{ "uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" }]), true),
        ("SELECT id FROM probe WHERE u::text = $1", json!([{ "str": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" }]), true),
        ("SELECT id FROM probe WHERE t = $1", json!([{ "str": "text" }]), true),
        ("SELECT id FROM probe WHERE v = $1", json!([{ "str": "var" }]), true),
        ("SELECT id FROM probe WHERE f4 = $1", json!([{ "float64": 1.5 }]), false),
        ("SELECT id FROM probe WHERE f8 = $1", json!([{ "float64": 2.25 }]), true),
        ("SELECT id FROM probe WHERE n = $1", json!([{ "decimal": "12.50" }]), true),
        ("SELECT id FROM probe WHERE j = $1", json!([{ "jsonb": { "k": [1, 2] } }]), true),
        ("SELECT id FROM probe WHERE ts = $1", json!([{ "datetime": [2024, 2, 29, 13, 14, 15, 250_000_000] }]), true),
        ("SELECT id FROM probe WHERE tz = $1", json!([{ "datetime": [2024, 2, 29, 13, 14, 15, 250_000_000] }]), false),
        ("SELECT id FROM probe WHERE tz > $1", json!([{ "timestamp": 0 }]), true),
        ("SELECT id FROM probe WHERE ts > $1", json!([{ "timestamp": 0 }]), false),
        ("SELECT id FROM probe WHERE tz > $1", json!([{ "str": "2000-01-01" }]), false),
        ("SELECT id FROM probe WHERE d = $1", json!([{ "date": [2024, 2, 29] }]), true),
        ("SELECT id FROM probe WHERE $1 = ANY(a8)", json!([{ "int64": 8 }]), true),
        ("SELECT id FROM probe WHERE a8 = $1", json!([{ "array_int64": [8] }]), true),
        ("SELECT id FROM probe WHERE at = $1", json!([{ "array_str": ["a", null] }]), true),
        (
            "SELECT id FROM probe WHERE au = $1",
            json!([{ "array_str": ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"] }]),
            false,
        ),
        ("SELECT id FROM probe WHERE b = $1", json!([{ "bool": true }]), true),
        ("SELECT id FROM probe WHERE coalesce($1, i4) = i4", json!([{ "null": null }]), true),
    ] {
        let got = rt.same("query", statement, params.clone()).await;
        if binds {
            assert_eq!(got["rows"], json!([[{ "int64": 1 }]]), "{statement} with {params}: {got}");
        } else {
            assert_eq!(got["error"], "query-failed/text", "{statement} with {params}: {got}");
        }
    }

    // Values that do not parse fail before the statement runs, as bad-parameter from query
    // and value-conversion-failed from execute.
    for params in [json!([{ "uuid": "not-a-uuid" }]), json!([{ "jsonb_raw": "{" }]), json!([{ "date": [2023, 2, 29] }])]
    {
        let q = rt.same("query", "SELECT id FROM probe WHERE id = 1 AND $1 IS NULL", params.clone()).await;
        assert_eq!(q["error"], "bad-parameter", "{params}: {q}");
        let e = rt.same("execute", "UPDATE probe SET b = b WHERE id = 1 AND $1 IS NULL", params.clone()).await;
        assert_eq!(e["error"], "value-conversion-failed", "{params}: {e}");
    }

    // Database errors keep their SQLSTATE.
    let dup = rt.same("execute", "INSERT INTO probe (id) VALUES ($1)", json!([{ "int64": 1 }])).await;
    assert_eq!((dup["error"].as_str(), dup["code"].as_str()), (Some("query-failed/db-error"), Some("23505")), "{dup}");
    let syntax = rt.same("query", "SELEC 1", json!([])).await;
    assert_eq!(syntax["code"], "42601", "{syntax}");
    let count = rt.same("query", "SELECT $1::int8 AS x", json!([])).await;
    assert_eq!(count["error"], "query-failed/text", "{count}");

    // Addresses that allowed_outbound_hosts do not permit are refused before connecting.
    for address in ["postgres://127.0.0.1:1/x", "host=/tmp dbname=x", "not a url"] {
        let refused = rt.same_at("query", "SELECT 1::int8", json!([]), address).await;
        assert_eq!(refused["error"], "connection-failed", "{address}: {refused}");
    }
}
