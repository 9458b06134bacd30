//! One request through [`Api::handle`] over fake ports, and the checks every reply must
//! pass: shared by the property test (`tests/props.rs`) and the cargo-fuzz target
//! `api_request` (`fuzz/fuzz_targets/api_request.rs`), which includes this file by path.
//!
//! The fake database never holds data: it either fails every statement, answers every
//! statement with no rows, or is unreachable. Only the session check passes (when the test
//! asks for a live session), so an authenticated request reaches its handler's body parsing,
//! validation and authorization. Whatever the request, the reply must be a well-formed JSON
//! error (a known code, its status, a message) or a success, never a panic, and a 5xx only
//! after the handler asked the fake database something.

#![allow(dead_code, reason = "the property test and the fuzz target use different parts")]

use std::cell::Cell;

use ocomms_api::auth::{Caller, jwt};
use ocomms_api::http::{Method, Request, Response};
use ocomms_api::ports::{DbError, Env, PublishError, RoomPublisher, Row, Sql, Value};
use ocomms_api::router::ROUTES;
use ocomms_api::{Api, Config};
use ocomms_core::ErrorCode;
use ocomms_core::event::{ChannelEvent, UserNotice};
use ocomms_core::ids::UserId;

pub const NOW_MS: i64 = 1_800_000_000_000;
pub const SECRET: [u8; 32] = [1; 32];
pub const USER: &str = "0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b";

/// What the fake database does with every statement but the session check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbMode {
    /// Each statement fails (a bug or a constraint we do not model): 500 after it.
    Fails,
    /// Each query returns no rows, each command affects none: 404s, or 500 where a handler
    /// needs a row that must exist.
    Empty,
    /// The database cannot be reached: 503 after it.
    Unavailable,
}

/// How the request authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    /// A valid token whose session is live.
    Live,
    /// A valid token whose session ended.
    Ended,
    /// A token issued 15 minutes too early: expired.
    Expired,
    /// `Authorization: <this>` verbatim.
    Raw(String),
}

#[derive(Debug, Clone)]
pub struct Input {
    pub method: Method,
    /// Path and query, e.g. `/api/v1/channels/<id>/events?after=3`.
    pub path: String,
    pub content_type: Option<String>,
    pub auth: Auth,
    pub body: Vec<u8>,
    pub db: DbMode,
}

impl Input {
    /// The fuzz input form: five bytes choose the method, the database's behaviour, the
    /// authentication, the content type and the route; then comes a tail (up to a newline)
    /// that becomes the query string, a parameter or the whole path; the rest is the body.
    pub fn from_fuzz_bytes(data: &[u8]) -> Option<Input> {
        if data.len() < 5 {
            return None;
        }
        let (head, rest) = data.split_at(5);
        let (tail, body) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        let tail = String::from_utf8_lossy(tail);
        let route = usize::from(head[4]) % (ROUTES.len() + 1);
        let (own_method, path) = match ROUTES.get(route) {
            Some((m, pattern)) => {
                let segs: Vec<String> = pattern
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| match s {
                        "{e}" => "%3Athumbsup%3A".to_string(),
                        s if s.starts_with('{') && head[3] & 0x80 != 0 => tail.replace(['/', '?'], "_"),
                        s if s.starts_with('{') => USER.to_string(),
                        s => s.to_string(),
                    })
                    .collect();
                (Some(*m), format!("/api/v1/{}?{tail}", segs.join("/")))
            }
            None => (None, format!("/api/v1/{tail}")),
        };
        const METHODS: [Method; 6] =
            [Method::Get, Method::Post, Method::Put, Method::Patch, Method::Delete, Method::Other];
        let method = match (head[0] % 8, own_method) {
            (0..=2, Some(m)) => m,
            (n, _) => METHODS[usize::from(n) % METHODS.len()],
        };
        let db = [DbMode::Fails, DbMode::Empty, DbMode::Unavailable][usize::from(head[1]) % 3];
        let auth = match head[2] % 8 {
            0 => Auth::None,
            1 => Auth::Ended,
            2 => Auth::Expired,
            3 => Auth::Raw(format!("Bearer {tail}")),
            _ => Auth::Live,
        };
        let content_type = match head[3] & 0x7f {
            0 => None,
            1 => Some("text/plain".to_string()),
            _ => Some("application/json".to_string()),
        };
        Some(Input { method, path, content_type, auth, body: body.to_vec(), db })
    }
}

/// The session check's statement: answered with a row when the session is live.
const SESSION_CHECK: &str = "SELECT 1 AS one WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = $1";
/// The session check with a channel's access (posting): answered `live = false` when the
/// session has ended; when it is live, the statement is database work like any other.
const SESSION_AND_ACCESS: &str = "SELECT s.live,";

pub struct FakeDb {
    mode: DbMode,
    live: bool,
    pub session_checks: Cell<usize>,
    pub statements: Cell<usize>,
}

impl FakeDb {
    fn answer<T>(&self, sql: &str, empty: T) -> Result<T, DbError> {
        self.statements.set(self.statements.get() + 1);
        let _ = sql;
        match self.mode {
            DbMode::Fails => Err(DbError::other("the fake database fails every statement")),
            DbMode::Empty => Ok(empty),
            DbMode::Unavailable => Err(DbError::unavailable("the fake database is down")),
        }
    }
}

impl Sql for FakeDb {
    async fn query(&self, sql: &str, _: &[Value]) -> Result<Vec<Row>, DbError> {
        if sql.trim_start().starts_with(SESSION_CHECK) {
            self.session_checks.set(self.session_checks.get() + 1);
            if self.mode == DbMode::Unavailable {
                return Err(DbError::unavailable("the fake database is down"));
            }
            let rows = if self.live {
                vec![Row { columns: vec!["one".to_string()].into(), values: vec![Value::Int(1)] }]
            } else {
                Vec::new()
            };
            return Ok(rows);
        }
        if sql.trim_start().starts_with(SESSION_AND_ACCESS) {
            self.session_checks.set(self.session_checks.get() + 1);
            if self.mode != DbMode::Unavailable && !self.live {
                let columns: Vec<String> = ["live", "channel", "is_member", "role"].map(String::from).into();
                let values = vec![Value::Bool(false), Value::Null, Value::Bool(false), Value::Null];
                return Ok(vec![Row { columns: columns.into(), values }]);
            }
        }
        self.answer(sql, Vec::new())
    }

    async fn execute(&self, sql: &str, _: &[Value]) -> Result<u64, DbError> {
        self.answer(sql, 0)
    }
}

pub struct NoRooms;
impl RoomPublisher for NoRooms {
    async fn publish(&self, _: &ChannelEvent) -> Result<(), PublishError> {
        Ok(())
    }
    async fn notify_user(&self, _: UserId, _: &UserNotice) -> Result<(), PublishError> {
        Ok(())
    }
}

pub struct FixedEnv;
impl Env for FixedEnv {
    fn now_ms(&self) -> i64 {
        NOW_MS
    }
    fn fill_random(&self, buf: &mut [u8]) {
        buf.fill(7);
    }
    fn log_error(&self, _: &str) {}
}

fn token(issued_ms: i64) -> String {
    let caller = Caller { user_id: USER.parse().expect("a valid id"), session_id: uuid::Uuid::from_u128(9) };
    jwt::issue(&SECRET, caller, issued_ms, Config::DEFAULT_ACCESS_TTL_SECS).expect("a token")
}

/// Runs `input` and checks the reply; returns it for further checks.
pub fn check(input: &Input) -> Response {
    let mut req = Request::new(input.method, &input.path);
    if let Some(ct) = &input.content_type {
        req.headers.push(("content-type".into(), ct.clone()));
    }
    let authorization = match &input.auth {
        Auth::None => None,
        Auth::Live | Auth::Ended => Some(format!("Bearer {}", token(NOW_MS))),
        Auth::Expired => Some(format!("Bearer {}", token(NOW_MS - (Config::DEFAULT_ACCESS_TTL_SECS + 60) * 1000))),
        Auth::Raw(v) => Some(v.clone()),
    };
    if let Some(a) = authorization {
        req.headers.push(("authorization".into(), a));
    }
    req.body = input.body.clone();
    let db = FakeDb {
        mode: input.db,
        live: input.auth != Auth::Ended,
        session_checks: Cell::new(0),
        statements: Cell::new(0),
    };
    let api = Api::new(db, NoRooms, FixedEnv, Config::new(SECRET.to_vec(), "http://localhost"));
    let resp = futures::executor::block_on(api.handle(req));
    let touched = api.sql.statements.get() + api.sql.session_checks.get();
    let what = || format!("{input:?} -> {} {}", resp.status, String::from_utf8_lossy(&resp.body));

    assert!((200..600).contains(&resp.status), "status out of range: {}", what());
    if resp.status >= 400 {
        let body = resp.body_json().unwrap_or_else(|| panic!("an error body that is not JSON: {}", what()));
        let obj = body.as_object().unwrap_or_else(|| panic!("an error body that is not an object: {}", what()));
        assert_eq!(obj.len(), 1, "fields besides `error`: {}", what());
        let err = body["error"].as_object().unwrap_or_else(|| panic!("no `error` object: {}", what()));
        assert_eq!(err.len(), 2, "`error` has fields besides code and message: {}", what());
        let code = err["code"].as_str().unwrap_or_else(|| panic!("no code: {}", what()));
        let known =
            ErrorCode::ALL.iter().find(|c| c.as_str() == code).unwrap_or_else(|| panic!("unknown code: {}", what()));
        assert_eq!(known.status(), resp.status, "the code's status differs: {}", what());
        assert!(err["message"].as_str().is_some_and(|m| !m.trim().is_empty()), "no message: {}", what());
        if resp.status >= 500 {
            assert!(touched > 0, "a 5xx without asking the database: {}", what());
            let expected = if input.db == DbMode::Unavailable { 503 } else { 500 };
            assert_eq!(resp.status, expected, "a 5xx the fake database did not cause: {}", what());
        }
        if input.auth == Auth::None || matches!(input.auth, Auth::Raw(_)) {
            // Without a valid token only public routes may get as far as the database.
            let public = ["/api/v1/auth/", "/api/v1/invites/"].iter().any(|p| input.path.starts_with(p));
            assert!(
                public || api.sql.statements.get() == 0,
                "an unauthenticated request reached the database: {}",
                what()
            );
        }
    } else {
        assert!(resp.body.is_empty() || resp.body_json().is_some(), "a success whose body is not JSON: {}", what());
    }
    resp
}
