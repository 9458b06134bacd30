//! The OpenAPI document against the real host: the host serves exactly the file in the
//! repository, every documented operation is routed by the host to a handler (not the
//! router's 404 or 405), every other method on a documented path is 405, and the document
//! is well formed (references resolve, operation ids are unique, every operation has a
//! success reply and its errors use the shared `Error` schema).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher as _, RandomState};

use crate::common::{Reply, Target, workspace_root};
use ocomms_core::ErrorCode;
use ocomms_core::ids::UserId;
use reqwest::Method;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn document_text() -> String {
    let path = workspace_root().join("functions/api/openapi.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn document() -> Value {
    serde_json::from_str(&document_text()).expect("functions/api/openapi.json is JSON")
}

/// One documented operation.
struct Operation<'a> {
    path: &'a str,
    method: &'a str,
    item: &'a Value,
    op: &'a Value,
}

impl Operation<'_> {
    fn name(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }

    /// Path parameters declared on the operation or its path item.
    fn parameters(&self, doc: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        for list in [&self.item["parameters"], &self.op["parameters"]] {
            for p in list.as_array().into_iter().flatten() {
                out.push(resolve(doc, p).clone());
            }
        }
        out
    }

    /// Whether a caller without any credentials may call it (an empty security requirement).
    fn anonymous(&self, doc: &Value) -> bool {
        let security = if self.op.get("security").is_some() { &self.op["security"] } else { &doc["security"] };
        let reqs = security.as_array().unwrap_or_else(|| panic!("{}: security is not an array", self.name()));
        reqs.is_empty() || reqs.iter().any(|r| r.as_object().is_some_and(serde_json::Map::is_empty))
    }

    /// Whether `status` is one of the documented replies (exactly or as a `4XX`/`5XX` range).
    fn documents_status(&self, status: u16) -> bool {
        let responses = &self.op["responses"];
        responses.get(status.to_string()).is_some() || responses.get(format!("{}XX", status / 100)).is_some()
    }
}

fn operations(doc: &Value) -> Vec<Operation<'_>> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("the document has paths") {
        for (method, op) in item.as_object().expect("a path item is an object") {
            if METHODS.contains(&method.as_str()) {
                out.push(Operation { path, method, item, op });
            }
        }
    }
    out
}

/// Follows a `$ref` (within the document) to what it names; anything else is returned as is.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let mut cur = v;
    for _ in 0..16 {
        match cur.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("$ref {r} is not local"));
                cur = doc.pointer(pointer).unwrap_or_else(|| panic!("$ref {r} does not resolve"));
            }
            None => return cur,
        }
    }
    panic!("$ref chain too long at {v}");
}

/// Every `$ref` string in the document, with the JSON pointer of where it occurs.
fn all_refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                if k == "$ref" {
                    out.push((here, child.as_str().unwrap_or_else(|| panic!("{at}: $ref is not a string")).into()));
                } else {
                    all_refs(child, &here, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                all_refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The `{name}` segments of a path template.
fn template_names(path: &str) -> BTreeSet<String> {
    path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).map(str::to_string).collect()
}

#[test]
fn the_document_is_well_formed() {
    let doc = document();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "an OpenAPI 3.1 document");
    for field in ["title", "version", "description"] {
        assert!(doc["info"][field].as_str().is_some_and(|s| !s.is_empty()), "info.{field} is set");
    }

    // Every reference resolves inside the document.
    let mut refs = Vec::new();
    all_refs(&doc, "", &mut refs);
    assert!(refs.len() > 50, "the document shares its schemas through $ref ({} found)", refs.len());
    for (at, r) in &refs {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{at}: $ref {r} is not local"));
        assert!(doc.pointer(pointer).is_some(), "{at}: $ref {r} does not resolve");
    }

    // The error codes are exactly the server's.
    let documented: BTreeSet<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode has an enum")
        .iter()
        .map(|c| c.as_str().expect("error codes are strings"))
        .collect();
    let server: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(documented, server, "the ErrorCode enum lists exactly the server's codes");
    let error = &doc["components"]["schemas"]["Error"];
    assert_eq!(error["properties"]["error"]["properties"]["code"]["$ref"], "#/components/schemas/ErrorCode");

    let tags: BTreeSet<&str> =
        doc["tags"].as_array().expect("top-level tags").iter().filter_map(|t| t["name"].as_str()).collect();
    let schemes = doc["components"]["securitySchemes"].as_object().expect("security schemes");
    assert_eq!(schemes["bearerAuth"]["type"], "http");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert!(!doc["security"].as_array().expect("a default security requirement").is_empty());

    let ops = operations(&doc);
    assert!(ops.len() > 40, "all operations are found ({})", ops.len());
    let mut ids = BTreeMap::new();
    for o in &ops {
        let name = o.name();
        let id = o.op["operationId"].as_str().filter(|s| !s.is_empty());
        let id = id.unwrap_or_else(|| panic!("{name} has no operationId"));
        if let Some(other) = ids.insert(id.to_string(), name.clone()) {
            panic!("operationId {id} is used by {other} and {name}");
        }
        assert!(o.op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{name} has a summary");
        let op_tags = o.op["tags"].as_array().filter(|t| !t.is_empty());
        for t in op_tags.unwrap_or_else(|| panic!("{name} has no tags")) {
            assert!(t.as_str().is_some_and(|t| tags.contains(t)), "{name}: tag {t} is not declared");
        }
        for req in o.op["security"].as_array().into_iter().flatten() {
            for scheme in req.as_object().expect("a security requirement is an object").keys() {
                assert!(schemes.contains_key(scheme), "{name}: unknown security scheme {scheme}");
            }
        }

        // Path parameters: exactly the template's names, required, unique.
        let params = o.parameters(&doc);
        let mut seen = BTreeSet::new();
        for p in &params {
            let key = (p["name"].as_str().unwrap_or_default().to_string(), p["in"].as_str().unwrap_or_default());
            assert!(!key.0.is_empty() && p["schema"].is_object(), "{name}: parameter without name or schema: {p}");
            assert!(seen.insert(key.clone()), "{name}: parameter {key:?} is declared twice");
            if key.1 == "path" {
                assert_eq!(p["required"], true, "{name}: path parameter {} must be required", key.0);
            }
        }
        let in_path: BTreeSet<String> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect();
        assert_eq!(in_path, template_names(o.path), "{name}: path parameters match the template");

        // Replies: a success, and every error is the shared Error shape.
        let responses = o.op["responses"].as_object().unwrap_or_else(|| panic!("{name} has no responses"));
        // A success: 2xx, or a redirect for a download.
        assert!(
            responses.keys().any(|s| s.starts_with('2') || s.starts_with('3')),
            "{name} documents no success reply"
        );
        for (status, r) in responses {
            let r = resolve(&doc, r);
            assert!(r["description"].as_str().is_some_and(|d| !d.is_empty()), "{name} {status}: no description");
            let schema = &r["content"]["application/json"]["schema"];
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(schema["$ref"], "#/components/schemas/Error", "{name} {status}: errors use Error");
            } else if status.starts_with('3') {
                assert!(r["headers"]["Location"].is_object(), "{name} {status}: a redirect documents Location");
            } else if status != "204" {
                assert!(schema.is_object(), "{name} {status}: a JSON reply schema");
            }
        }
        if !o.anonymous(&doc) {
            assert!(responses.contains_key("401"), "{name}: an authenticated operation documents 401");
        }

        // Bodies: JSON objects that refuse unknown fields (serde deny_unknown_fields).
        if let Some(body) = o.op.get("requestBody") {
            let schema = resolve(&doc, &body["content"]["application/json"]["schema"]);
            assert_eq!(schema["type"], "object", "{name}: the body is a JSON object");
            assert_eq!(schema["additionalProperties"], false, "{name}: the body refuses unknown fields");
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{name}: a JSON body can be refused with {status}");
            }
        }
    }
}

/// A fresh random UUID (version 4).
fn random_uuid() -> String {
    let s = RandomState::new();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&s.hash_one(1u8).to_le_bytes());
    bytes[8..].copy_from_slice(&s.hash_one(2u8).to_le_bytes());
    UserId::from_bytes(bytes).to_string()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A concrete value for a parameter: a random UUID for ids, else the documented example.
fn value_for(p: &Value, what: &str) -> String {
    if p["schema"]["format"] == "uuid" {
        return random_uuid();
    }
    match &p["example"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("{what}: parameter {} has no usable example ({other})", p["name"]),
    }
}

/// The request URL path (with a query string) for an operation, with concrete parameters.
fn concrete_path(doc: &Value, o: &Operation<'_>) -> String {
    let params = o.parameters(doc);
    let mut path = o.path.to_string();
    let mut query = Vec::new();
    for p in &params {
        let name = p["name"].as_str().unwrap_or_default();
        let value = percent_encode(&value_for(p, &o.name()));
        match p["in"].as_str() {
            Some("path") => path = path.replace(&format!("{{{name}}}"), &value),
            Some("query") => query.push(format!("{name}={value}")),
            other => panic!("{}: parameter {name} in {other:?} is not exercised", o.name()),
        }
    }
    let base = doc["servers"][0]["url"].as_str().expect("a server url");
    assert_eq!(base, "/api/v1", "the document describes the routes under /api/v1");
    if query.is_empty() { format!("{base}{path}") } else { format!("{base}{path}?{}", query.join("&")) }
}

/// The router's own 404 (no route matched) names the route in its message.
fn is_router_404(r: &Reply) -> bool {
    r.status == 404 && r.body["error"]["message"].as_str().is_some_and(|m| m.contains("route"))
}

fn assert_json_error(r: &Reply, what: &str) {
    let ct = r.content_type.as_deref().unwrap_or("");
    assert!(ct.starts_with("application/json"), "{what}: reply is {ct:?}, not JSON: {}", r.text);
    let code = r.error_code().unwrap_or_else(|| panic!("{what}: not an API error: {} {}", r.status, r.text));
    let known = ErrorCode::ALL.iter().find(|c| c.as_str() == code);
    let known = known.unwrap_or_else(|| panic!("{what}: unknown error code {code}"));
    assert_eq!(known.status(), r.status, "{what}: code {code} comes with another status");
    assert!(r.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: no message: {}", r.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_serves_the_document_and_routes_every_operation() {
    let host = Target::Host.start().await;
    let text = document_text();
    let doc = document();

    let served = host.get("/api/v1/openapi.json", None).await;
    served.expect_status(200, "GET /api/v1/openapi.json");
    let ct = served.content_type.as_deref().unwrap_or("");
    assert!(ct.starts_with("application/json"), "the document is served as JSON, not {ct:?}");
    assert!(
        served.text == text,
        "the served document differs from functions/api/openapi.json: rebuild the component \
         (`cargo xtask build component`)"
    );

    // The check below can tell a router 404 from a handler's reply.
    let unrouted = host.get("/api/v1/no-such-route", None).await;
    unrouted.expect_error(404, "not_found", "an unknown route");
    assert!(is_router_404(&unrouted), "the router's 404 names the route: {}", unrouted.text);

    let ops = operations(&doc);
    for o in &ops {
        let what = o.name();
        let url = concrete_path(&doc, o);
        let method = Method::from_bytes(o.method.to_uppercase().as_bytes()).expect("an HTTP method");
        let r = host.send(host.request(method, &url, None)).await;
        let what = format!("{what} ({url}) without a token");
        assert!(!is_router_404(&r), "{what}: the host does not route it: {}", r.text);
        assert_ne!(r.status, 405, "{what}: the host refuses the method: {}", r.text);
        assert!(o.documents_status(r.status), "{what}: HTTP {} is not documented: {}", r.status, r.text);
        if o.anonymous(&doc) {
            if o.op.get("requestBody").is_some() {
                r.expect_error(415, "unsupported_media_type", &what);
                assert_json_error(&r, &what);
            } else if o.path.contains('{') || !o.documents_status(200) {
                // A public resource named by a random id, or a browser redirect needing
                // parameters or a configuration the test host lacks: a clear 4xx.
                assert!((400..500).contains(&r.status), "{what}: expected a 4xx, got {}: {}", r.status, r.text);
                assert_json_error(&r, &what);
            } else {
                r.expect_status(200, &what);
            }
        } else {
            r.expect_error(401, "unauthenticated", &what);
            assert_json_error(&r, &what);
            let challenge = r.headers.get("www-authenticate").and_then(|v| v.to_str().ok());
            assert_eq!(challenge, Some("Bearer"), "{what}: a 401 carries the Bearer challenge");
        }
    }

    // Every method the document leaves out of a path is refused by the host as 405.
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let Some(first) = ops.iter().find(|o| o.path == path.as_str()) else { continue };
        let url = concrete_path(&doc, first);
        for m in METHODS.iter().filter(|m| item.get(**m).is_none()) {
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).expect("an HTTP method");
            let r = host.send(host.request(method, &url, None)).await;
            r.expect_error(405, "method_not_allowed", &format!("{} {url} (undocumented)", m.to_uppercase()));
            checked += 1;
        }
    }
    assert!(checked > 50, "undocumented methods were exercised ({checked})");
}
