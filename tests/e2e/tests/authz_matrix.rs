//! The authorization matrix: every endpoint (and the WebSocket actions) against every kind of
//! caller, on the real host and PostgreSQL.
//!
//! Callers, all in or around workspace "Acme": the owner, an admin, a member, a guest (added
//! to #general only), a member outside the private channel, a user of another workspace, a
//! removed member and a deactivated member (both logged in again afterwards: their old
//! sessions ended), and no token at all. Channels: #general (public, default), #random
//! (public, only the owner in it), #secret (private: owner and member) and a DM (owner and
//! member). Each cell states the expected status; a refused cell must also leave the
//! channel's event log as it was. Every mismatch is collected and the whole table printed,
//! so one run shows every wrong cell.
//!
//! Regression cases modelled on known bugs in other chat servers close the file.

use std::fmt::Write as _;

use crate::common::{Host, Reply, Session, Ws};
use ocomms_core::event::{ClientFrame, ServerFrame};
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Owner,
    Admin,
    Member,
    Guest,
}

#[derive(Clone)]
struct Actor {
    name: &'static str,
    session: Option<Session>,
    /// Active role in Acme; `None` for outsiders, removed and deactivated members.
    role: Option<Role>,
    in_general: bool,
    in_secret: bool,
    in_dm: bool,
    in_random: bool,
}

impl Actor {
    fn token(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.access.as_str())
    }
    fn is_admin(&self) -> bool {
        matches!(self.role, Some(Role::Owner | Role::Admin))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Public,
    Private,
    Dm,
}

#[derive(Clone, Copy)]
struct Chan<'a> {
    id: &'a str,
    kind: Kind,
    member: fn(&Actor) -> bool,
}

// ----- expected statuses, from the rules in docs/api.md ----------------------------------

fn anon_or<F: FnOnce() -> u16>(a: &Actor, f: F) -> u16 {
    if a.session.is_none() { 401 } else { f() }
}

fn ws_member(a: &Actor, ok: u16) -> u16 {
    anon_or(a, || if a.role.is_some() { ok } else { 404 })
}

fn ws_admin(a: &Actor, ok: u16) -> u16 {
    anon_or(a, || match a.role {
        None => 404,
        Some(Role::Owner | Role::Admin) => ok,
        Some(_) => 403,
    })
}

fn read(a: &Actor, c: Chan, ok: u16) -> u16 {
    anon_or(a, || match (a.role, c.kind) {
        (None, _) => 404,
        _ if (c.member)(a) => ok,
        (Some(Role::Guest), Kind::Public) => 403,
        (Some(_), Kind::Public) => ok,
        _ => 404,
    })
}

fn post(a: &Actor, c: Chan, ok: u16) -> u16 {
    match read(a, c, ok) {
        s if s == ok && !(c.member)(a) => 403,
        s => s,
    }
}

fn label_of(f: &Fixture, c: Chan) -> &'static str {
    match c.kind {
        Kind::Public if c.id == f.general => "#general",
        Kind::Public => "#random",
        Kind::Private => "#secret",
        Kind::Dm => "dm",
    }
}

/// A small picture (so it has a thumbnail) the owner uploads and sends in `channel`; its id.
async fn sent_file(host: &Host, owner: &Session, channel: &str) -> String {
    let png = ocomms_thumbs::fixtures::transparent_png(8, 8);
    let r = host
        .post(
            &format!("/api/v1/channels/{channel}/files"),
            Some(&owner.access),
            json!({ "name": "dot.png", "content_type": "image/png", "size": png.len() }),
        )
        .await;
    r.expect_status(201, "the owner starts an upload");
    let id = r.str_at("/file/id");
    let put = host
        .http()
        .put(r.str_at("/upload/url"))
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .expect("PUT to the store");
    assert_eq!(put.status().as_u16(), 200, "the owner's upload");
    host.post_empty(&format!("/api/v1/files/{id}/complete"), Some(&owner.access))
        .await
        .expect_status(200, "the owner completes it");
    host.post(&format!("/api/v1/channels/{channel}/messages"), Some(&owner.access), json!({ "file_ids": [id] }))
        .await
        .expect_status(201, "the owner sends it");
    id
}

/// The owner can read every channel of the fixture, so counts its events.
async fn event_count(host: &Host, owner: &Session, channel: &str) -> usize {
    host.event_count(&owner.access, channel).await
}

struct Matrix {
    rows: Vec<String>,
    failures: Vec<String>,
}

impl Matrix {
    fn check(&mut self, row: &str, actor: &Actor, expected: u16, got: &Reply) {
        let ok = got.status == expected
            && (expected < 400
                || (got.error_code().is_some()
                    && got.content_type.as_deref().is_some_and(|c| c.starts_with("application/json"))));
        let mark = if ok { "" } else { " ✗" };
        self.rows.push(format!("{row:<44} {:<12} expect {expected} got {}{mark}", actor.name, got.status));
        if !ok {
            self.failures
                .push(format!("{row} as {}: expected {expected}, got {} {}", actor.name, got.status, got.text));
        }
    }

    fn finish(self) {
        let mut table = String::new();
        for r in &self.rows {
            let _ = writeln!(table, "{r}");
        }
        println!("{table}");
        assert!(self.failures.is_empty(), "{} wrong cells:\n{}", self.failures.len(), self.failures.join("\n"));
    }
}

async fn call(host: &Host, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
    let mut req = host.request(method, path, token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    host.send(req).await
}

struct Fixture {
    owner: Session,
    mia: Session,
    tia: Session,
    ws: String,
    general: String,
    random: String,
    secret: String,
    dm: String,
    msg_general: String,
    msg_secret: String,
    actors: Vec<Actor>,
}

async fn fixture(host: &Host) -> Fixture {
    let owner = host.signup("owner@example.com").await;
    let (ws, general) = host.create_workspace(&owner.access, "Acme").await;
    let invite = |role: &'static str| {
        let path = format!("/api/v1/workspaces/{ws}/invites");
        let token = owner.access.clone();
        async move {
            let r = host.post(&path, Some(&token), json!({ "role": role })).await;
            r.expect_status(201, "invite");
            r.str_at("/invite/code")
        }
    };
    let join = async |email: &str, role: &'static str| {
        let s = host.signup(email).await;
        let code = invite(role).await;
        host.accept_invite(&s.access, &code).await.expect_status(200, "accept");
        s
    };
    let adam = join("adam@example.com", "admin").await;
    let mia = join("mia@example.com", "member").await;
    let nora = join("nora@example.com", "member").await;
    let gus = join("gus@example.com", "guest").await;
    let tia = join("tia@example.com", "member").await;
    let rob = join("rob@example.com", "member").await;
    let dee = join("dee@example.com", "member").await;
    let eve = host.signup("eve@example.com").await;
    host.create_workspace(&eve.access, "Elsewhere").await;

    let add = |channel: &str, users: Vec<&str>| {
        let path = format!("/api/v1/channels/{channel}/members");
        let body = json!({ "user_ids": users });
        let token = owner.access.clone();
        async move { host.post(&path, Some(&token), body).await.expect_status(200, "add members").clone() }
    };
    add(&general, vec![&gus.user_id]).await;
    let random = host.create_channel(&owner.access, &ws, "random", "public").await;
    let secret = host.create_channel(&owner.access, &ws, "secret", "private").await;
    add(&secret, vec![&mia.user_id, &rob.user_id, &dee.user_id]).await;
    let r = host
        .post(&format!("/api/v1/workspaces/{ws}/dms"), Some(&owner.access), json!({ "user_ids": [mia.user_id] }))
        .await;
    r.expect_status(201, "open dm");
    let dm = r.str_at("/channel/id");
    let msg = |channel: String, text: &'static str| {
        let token = mia.access.clone();
        async move {
            let r =
                host.post(&format!("/api/v1/channels/{channel}/messages"), Some(&token), json!({ "text": text })).await;
            r.expect_status(201, "post");
            r.str_at("/message/id")
        }
    };
    let msg_general = msg(general.clone(), "hello general").await;
    let msg_secret = msg(secret.clone(), "hello secret").await;

    // Rob is removed and Dee deactivated; both log in again (their sessions ended).
    call(host, Method::DELETE, &format!("/api/v1/workspaces/{ws}/members/{}", rob.user_id), Some(&owner.access), None)
        .await
        .expect_status(204, "remove rob");
    let r = host
        .post_empty(&format!("/api/v1/workspaces/{ws}/members/{}/deactivate", dee.user_id), Some(&owner.access))
        .await;
    r.expect_status(200, "deactivate dee");
    let rob = host.login("rob@example.com").await;
    let dee = host.login("dee@example.com").await;

    let actor = |name, s: &Session, role, g, sec, dm, rnd| Actor {
        name,
        session: Some(s.clone()),
        role,
        in_general: g,
        in_secret: sec,
        in_dm: dm,
        in_random: rnd,
    };
    let actors = vec![
        actor("owner", &owner, Some(Role::Owner), true, true, true, true),
        actor("admin", &adam, Some(Role::Admin), true, false, false, false),
        actor("member", &mia, Some(Role::Member), true, true, true, false),
        actor("guest", &gus, Some(Role::Guest), true, false, false, false),
        actor("non-member", &nora, Some(Role::Member), true, false, false, false),
        actor("outsider", &eve, None, false, false, false, false),
        actor("removed", &rob, None, false, false, false, false),
        actor("deactivated", &dee, None, false, false, false, false),
        Actor {
            name: "anonymous",
            session: None,
            role: None,
            in_general: false,
            in_secret: false,
            in_dm: false,
            in_random: false,
        },
    ];
    Fixture { owner, mia, tia, ws, general, random, secret, dm, msg_general, msg_secret, actors }
}

async fn every_endpoint_against_every_caller(host: &Host) {
    let f = fixture(host).await;
    let general = Chan { id: &f.general, kind: Kind::Public, member: |a| a.in_general };
    let random = Chan { id: &f.random, kind: Kind::Public, member: |a| a.in_random };
    let secret = Chan { id: &f.secret, kind: Kind::Private, member: |a| a.in_secret };
    let dm = Chan { id: &f.dm, kind: Kind::Dm, member: |a| a.in_dm };
    let channels = [general, random, secret, dm];
    let mut m = Matrix { rows: Vec::new(), failures: Vec::new() };
    let ws = &f.ws;
    let owner = &f.owner;
    let mut n = 0u32;
    // One word in every channel, for the search rows: each caller must find it in exactly
    // the channels they can read.
    for c in &channels {
        let r = host
            .post(&format!("/api/v1/channels/{}/messages", c.id), Some(&owner.access), json!({ "text": "zebrafind" }))
            .await;
        r.expect_status(201, "the owner posts the search word");
    }
    // A session of someone outside every workspace, which nobody else may end.
    let outsider = host.signup("zed@example.com").await;
    let r = host.get("/api/v1/auth/sessions", Some(&outsider.access)).await;
    let outsider_session = r.str_at("/sessions/0/id");
    let r = host
        .post("/api/v1/me/avatar", Some(&outsider.access), json!({ "content_type": "image/png", "size": 10 }))
        .await;
    let outsider_avatar = r.str_at("/avatar_id");

    for a in &f.actors {
        let t = a.token();
        // ----- workspace ------------------------------------------------------------
        m.check(
            "GET /workspaces/{ws}",
            a,
            ws_member(a, 200),
            &call(host, Method::GET, &format!("/api/v1/workspaces/{ws}"), t, None).await,
        );
        let r = call(host, Method::PATCH, &format!("/api/v1/workspaces/{ws}"), t, Some(json!({ "description": "d" })))
            .await;
        m.check("PATCH /workspaces/{ws}", a, ws_admin(a, 200), &r);
        // Requiring single sign-on is an admin's setting; this target has no provider, so an
        // admin's request is refused as invalid, anyone else's as before.
        let r =
            call(host, Method::PATCH, &format!("/api/v1/workspaces/{ws}"), t, Some(json!({ "sso_only": true }))).await;
        m.check("PATCH /workspaces/{ws} sso_only", a, ws_admin(a, 422), &r);
        for (row, path) in [
            ("GET /workspaces/{ws}/members", format!("/api/v1/workspaces/{ws}/members")),
            ("GET /workspaces/{ws}/channels", format!("/api/v1/workspaces/{ws}/channels")),
            ("GET /workspaces/{ws}/unreads", format!("/api/v1/workspaces/{ws}/unreads")),
        ] {
            m.check(row, a, ws_member(a, 200), &call(host, Method::GET, &path, t, None).await);
        }
        m.check(
            "GET /workspaces/{ws}/invites",
            a,
            ws_admin(a, 200),
            &call(host, Method::GET, &format!("/api/v1/workspaces/{ws}/invites"), t, None).await,
        );
        let r = call(host, Method::POST, &format!("/api/v1/workspaces/{ws}/invites"), t, Some(json!({}))).await;
        m.check("POST /workspaces/{ws}/invites", a, ws_admin(a, 201), &r);

        // ----- integrations: admins and owners only ------------------------------------
        let r = call(host, Method::GET, &format!("/api/v1/workspaces/{ws}/apps"), t, None).await;
        m.check("GET /workspaces/{ws}/apps", a, ws_admin(a, 200), &r);
        n += 1;
        let r = call(
            host,
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/apps"),
            t,
            Some(json!({ "name": format!("a{n}") })),
        )
        .await;
        m.check("POST /workspaces/{ws}/apps", a, ws_admin(a, 201), &r);
        let made = host
            .post(&format!("/api/v1/workspaces/{ws}/apps"), Some(&owner.access), json!({ "name": format!("o{n}") }))
            .await;
        made.expect_status(201, "the owner makes an app");
        let app = made.str_at("/app/id");
        for c in [general, secret] {
            let r = call(
                host,
                Method::POST,
                &format!("/api/v1/workspaces/{ws}/apps/{app}/hooks"),
                t,
                Some(json!({ "channel_id": c.id })),
            )
            .await;
            // An admin hooks only channels they may post in.
            let expect = match ws_admin(a, 201) {
                201 => post(a, c, 201),
                s => s,
            };
            m.check(&format!("POST /workspaces/{{ws}}/apps/{{app}}/hooks {}", label_of(&f, c)), a, expect, &r);
        }
        let hook = host
            .post(
                &format!("/api/v1/workspaces/{ws}/apps/{app}/hooks"),
                Some(&owner.access),
                json!({ "channel_id": f.general }),
            )
            .await;
        hook.expect_status(201, "the owner makes a hook");
        let r =
            call(host, Method::DELETE, &format!("/api/v1/workspaces/{ws}/hooks/{}", hook.str_at("/hook/id")), t, None)
                .await;
        m.check("DELETE /workspaces/{ws}/hooks/{hook}", a, ws_admin(a, 204), &r);
        let r = call(
            host,
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/apps/{app}/tokens"),
            t,
            Some(json!({ "scopes": ["chat:write"] })),
        )
        .await;
        m.check("POST /workspaces/{ws}/apps/{app}/tokens", a, ws_admin(a, 201), &r);
        let token = host
            .post(
                &format!("/api/v1/workspaces/{ws}/apps/{app}/tokens"),
                Some(&owner.access),
                json!({ "scopes": ["chat:write"] }),
            )
            .await;
        token.expect_status(201, "the owner makes a token");
        let r = call(
            host,
            Method::DELETE,
            &format!("/api/v1/workspaces/{ws}/tokens/{}", token.str_at("/token/id")),
            t,
            None,
        )
        .await;
        m.check("DELETE /workspaces/{ws}/tokens/{token}", a, ws_admin(a, 204), &r);
        // What apps receive: subscriptions, commands, outgoing webhooks, the delivery log.
        let r = call(
            host,
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/apps/{app}/events"),
            t,
            Some(json!({ "url": null, "events": ["message.channels"] })),
        )
        .await;
        m.check("PUT /workspaces/{ws}/apps/{app}/events", a, ws_admin(a, 200), &r);
        // `.invalid` never resolves: an invoked command fails after every check passed.
        let command = |name: String| json!({ "name": name, "url": "https://apps.invalid/commands" });
        let r = call(
            host,
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/apps/{app}/commands"),
            t,
            Some(command(format!("a{n}"))),
        )
        .await;
        m.check("POST /workspaces/{ws}/apps/{app}/commands", a, ws_admin(a, 201), &r);
        let made = host
            .post(
                &format!("/api/v1/workspaces/{ws}/apps/{app}/commands"),
                Some(&owner.access),
                command(format!("o{n}")),
            )
            .await;
        made.expect_status(201, "the owner adds a command");
        let r = call(host, Method::GET, &format!("/api/v1/workspaces/{ws}/commands"), t, None).await;
        m.check("GET /workspaces/{ws}/commands", a, ws_member(a, 200), &r);
        for c in channels {
            let r = call(
                host,
                Method::POST,
                &format!("/api/v1/channels/{}/commands", c.id),
                t,
                Some(json!({ "command": format!("/o{n}"), "text": "x" })),
            )
            .await;
            // Whoever may post invokes it; the app is unreachable, so that ends in 503.
            m.check(&format!("POST /channels/{{ch}}/commands {}", label_of(&f, c)), a, post(a, c, 503), &r);
        }
        let r = call(
            host,
            Method::DELETE,
            &format!("/api/v1/workspaces/{ws}/commands/{}", made.str_at("/command/id")),
            t,
            None,
        )
        .await;
        m.check("DELETE /workspaces/{ws}/commands/{command}", a, ws_admin(a, 204), &r);
        let outgoing = json!({ "trigger_words": ["!x"], "url": "https://apps.invalid/outgoing" });
        let r = call(
            host,
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/apps/{app}/outgoing-hooks"),
            t,
            Some(outgoing.clone()),
        )
        .await;
        m.check("POST /workspaces/{ws}/apps/{app}/outgoing-hooks", a, ws_admin(a, 201), &r);
        let made = host
            .post(&format!("/api/v1/workspaces/{ws}/apps/{app}/outgoing-hooks"), Some(&owner.access), outgoing)
            .await;
        made.expect_status(201, "the owner adds an outgoing webhook");
        let r = call(
            host,
            Method::DELETE,
            &format!("/api/v1/workspaces/{ws}/outgoing-hooks/{}", made.str_at("/outgoing_hook/id")),
            t,
            None,
        )
        .await;
        m.check("DELETE /workspaces/{ws}/outgoing-hooks/{hook}", a, ws_admin(a, 204), &r);
        let r = call(host, Method::GET, &format!("/api/v1/workspaces/{ws}/apps/{app}/deliveries"), t, None).await;
        m.check("GET /workspaces/{ws}/apps/{app}/deliveries", a, ws_admin(a, 200), &r);
        // No delivery has failed: admins are told so, anyone else is refused before that.
        let r = call(host, Method::POST, &format!("/api/v1/workspaces/{ws}/deliveries/1/retry"), t, None).await;
        m.check("POST /workspaces/{ws}/deliveries/{id}/retry", a, ws_admin(a, 404), &r);
        let r = call(host, Method::DELETE, &format!("/api/v1/workspaces/{ws}/apps/{app}"), t, None).await;
        m.check("DELETE /workspaces/{ws}/apps/{app}", a, ws_admin(a, 204), &r);
        n += 1;
        let r = call(
            host,
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/channels"),
            t,
            Some(json!({ "name": format!("c{n}") })),
        )
        .await;
        let create = anon_or(a, || match a.role {
            None => 404,
            Some(Role::Guest) => 403,
            Some(_) => 201,
        });
        m.check("POST /workspaces/{ws}/channels", a, create, &r);
        let r = call(
            host,
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/dms"),
            t,
            Some(json!({ "user_ids": [owner.user_id] })),
        )
        .await;
        // The member already has a DM with the owner; everyone else opens a new one (the owner a
        // note to self).
        let expect = if a.name == "member" { 200 } else { ws_member(a, 201) };
        m.check("POST /workspaces/{ws}/dms", a, expect, &r);
        let r = call(
            host,
            Method::PATCH,
            &format!("/api/v1/workspaces/{ws}/members/{}", f.tia.user_id),
            t,
            Some(json!({ "role": "member" })),
        )
        .await;
        m.check("PATCH /workspaces/{ws}/members/{user}", a, ws_admin(a, 200), &r);

        // Destructive member actions: a fresh victim per cell.
        let victim = host.signup(&format!("victim{n}@example.com")).await;
        let code = host.create_invite(&owner.access, ws).await;
        host.accept_invite(&victim.access, &code).await.expect_status(200, "victim joins");
        let r = call(
            host,
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/members/{}/deactivate", victim.user_id),
            t,
            None,
        )
        .await;
        m.check("POST /workspaces/{ws}/members/{u}/deactivate", a, ws_admin(a, 200), &r);
        if r.status != 200 {
            host.post_empty(
                &format!("/api/v1/workspaces/{ws}/members/{}/deactivate", victim.user_id),
                Some(&owner.access),
            )
            .await
            .expect_status(200, "owner deactivates");
        }
        let r = call(
            host,
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/members/{}/reactivate", victim.user_id),
            t,
            None,
        )
        .await;
        m.check("POST /workspaces/{ws}/members/{u}/reactivate", a, ws_admin(a, 200), &r);
        if r.status != 200 {
            host.post_empty(
                &format!("/api/v1/workspaces/{ws}/members/{}/reactivate", victim.user_id),
                Some(&owner.access),
            )
            .await
            .expect_status(200, "owner reactivates");
        }
        let r =
            call(host, Method::DELETE, &format!("/api/v1/workspaces/{ws}/members/{}", victim.user_id), t, None).await;
        m.check("DELETE /workspaces/{ws}/members/{u}", a, ws_admin(a, 204), &r);
        let code = host.create_invite(&owner.access, ws).await;
        let r = call(host, Method::DELETE, &format!("/api/v1/workspaces/{ws}/invites/{code}"), t, None).await;
        m.check("DELETE /workspaces/{ws}/invites/{code}", a, ws_admin(a, 204), &r);
        let r = call(host, Method::GET, &format!("/api/v1/invites/{code}"), t, None).await;
        m.check("GET /invites/{code}", a, anon_or(a, || 200), &r);

        // ----- search ---------------------------------------------------------------
        let r = call(host, Method::GET, &format!("/api/v1/workspaces/{ws}/search?q=zebrafind"), t, None).await;
        m.check("GET /workspaces/{ws}/search", a, ws_member(a, 200), &r);
        if r.status == 200 {
            let mut found: Vec<String> = r.body["hits"]
                .as_array()
                .map(|hits| hits.iter().filter_map(|h| h["channel_id"].as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            found.sort();
            let mut readable: Vec<String> =
                channels.iter().filter(|c| read(a, **c, 200) == 200).map(|c| c.id.to_string()).collect();
            readable.sort();
            let row = format!("{:<44} {:<12} hits in readable channels only", "GET /workspaces/{ws}/search", a.name);
            if found == readable {
                m.rows.push(row);
            } else {
                m.rows.push(format!("{row} ✗"));
                m.failures.push(format!("search as {}: hits in {found:?}, readable {readable:?}", a.name));
            }
        }

        // ----- sessions and the outbox ---------------------------------------------------
        // One's own sessions only: another user's session is as good as missing.
        let r = call(host, Method::GET, "/api/v1/auth/sessions", t, None).await;
        m.check("GET /auth/sessions", a, anon_or(a, || 200), &r);
        let r = call(host, Method::DELETE, &format!("/api/v1/auth/sessions/{outsider_session}"), t, None).await;
        m.check("DELETE /auth/sessions/{another's}", a, anon_or(a, || 404), &r);
        // Profile pictures are one's own: anyone signed in starts an upload; nobody completes
        // another's.
        let r =
            call(host, Method::POST, "/api/v1/me/avatar", t, Some(json!({ "content_type": "image/png", "size": 10 })))
                .await;
        m.check("POST /me/avatar", a, anon_or(a, || 201), &r);
        let r = call(host, Method::POST, &format!("/api/v1/me/avatar/{outsider_avatar}/complete"), t, None).await;
        m.check("POST /me/avatar/{another's}/complete", a, anon_or(a, || 404), &r);
        // Nobody here is an install admin.
        let r = call(host, Method::GET, "/api/v1/admin/outbox", t, None).await;
        m.check("GET /admin/outbox", a, anon_or(a, || 403), &r);

        // ----- profiles -------------------------------------------------------------
        m.check("GET /me", a, anon_or(a, || 200), &call(host, Method::GET, "/api/v1/me", t, None).await);
        let r = call(host, Method::PATCH, "/api/v1/me", t, Some(json!({ "status_text": "here" }))).await;
        m.check("PATCH /me", a, anon_or(a, || 200), &r);
        // Preferences are the caller's own: anyone signed in, whatever their workspaces.
        let r = call(host, Method::GET, "/api/v1/me/notifications", t, None).await;
        m.check("GET /me/notifications", a, anon_or(a, || 200), &r);
        let r =
            call(host, Method::PATCH, "/api/v1/me/notifications", t, Some(json!({ "do_not_disturb": false }))).await;
        m.check("PATCH /me/notifications", a, anon_or(a, || 200), &r);
        let r = call(host, Method::GET, &format!("/api/v1/users/{}", f.mia.user_id), t, None).await;
        m.check("GET /users/{id}", a, ws_member(a, 200), &r);
        m.check(
            "GET /workspaces",
            a,
            anon_or(a, || 200),
            &call(host, Method::GET, "/api/v1/workspaces", t, None).await,
        );

        // ----- channels -------------------------------------------------------------
        for c in channels {
            let label = match c.kind {
                Kind::Public if c.id == f.general => "#general",
                Kind::Public => "#random",
                Kind::Private => "#secret",
                Kind::Dm => "dm",
            };
            let before = event_count(host, owner, c.id).await;
            let mut refused_something = false;
            for (row, path) in [
                ("GET /channels/{id}", format!("/api/v1/channels/{}", c.id)),
                ("GET /channels/{id}/messages", format!("/api/v1/channels/{}/messages", c.id)),
                ("GET /channels/{id}/events", format!("/api/v1/channels/{}/events", c.id)),
                ("GET /channels/{id}/members", format!("/api/v1/channels/{}/members", c.id)),
                ("GET /channels/{id}/pins", format!("/api/v1/channels/{}/pins", c.id)),
            ] {
                let r = call(host, Method::GET, &path, t, None).await;
                m.check(&format!("{row} {label}"), a, read(a, c, 200), &r);
            }
            let r = call(
                host,
                Method::POST,
                &format!("/api/v1/channels/{}/messages", c.id),
                t,
                Some(json!({ "text": "hi" })),
            )
            .await;
            let expect = post(a, c, 201);
            refused_something |= expect >= 400;
            m.check(&format!("POST /channels/{{id}}/messages {label}"), a, expect, &r);
            let r = call(host, Method::POST, &format!("/api/v1/channels/{}/read", c.id), t, Some(json!({ "seq": 1 })))
                .await;
            m.check(&format!("POST /channels/{{id}}/read {label}"), a, post(a, c, 200), &r);
            let r = call(
                host,
                Method::PUT,
                &format!("/api/v1/channels/{}/notifications", c.id),
                t,
                Some(json!({ "level": "mentions" })),
            )
            .await;
            m.check(&format!("PUT /channels/{{id}}/notifications {label}"), a, post(a, c, 200), &r);
            let r = call(host, Method::PATCH, &format!("/api/v1/channels/{}", c.id), t, Some(json!({ "topic": "t" })))
                .await;
            let topic = match post(a, c, 200) {
                200 if c.kind == Kind::Dm => 403,
                200 if a.role == Some(Role::Guest) => 403,
                s => s,
            };
            refused_something |= topic >= 400;
            m.check(&format!("PATCH /channels/{{id}} topic {label}"), a, topic, &r);
            let r = call(
                host,
                Method::POST,
                &format!("/api/v1/channels/{}/members", c.id),
                t,
                Some(json!({ "user_ids": [f.tia.user_id] })),
            )
            .await;
            let add = match post(a, c, 200) {
                200 if c.kind == Kind::Dm || a.role == Some(Role::Guest) => 403,
                s => s,
            };
            m.check(&format!("POST /channels/{{id}}/members {label}"), a, add, &r);
            if add == 200 && c.kind != Kind::Public {
                // Undo, so later rows see the fixture unchanged.
                call(
                    host,
                    Method::DELETE,
                    &format!("/api/v1/channels/{}/members/{}", c.id, f.tia.user_id),
                    Some(&owner.access),
                    None,
                )
                .await
                .expect_status(204, "owner removes tia again");
            }
            if refused_something && add >= 400 {
                let after = event_count(host, owner, c.id).await;
                let posted = usize::from(post(a, c, 201) == 201) + usize::from(topic == 200);
                if after != before + posted {
                    m.failures.push(format!(
                        "{label} as {}: refused requests changed the event log ({before} -> {after})",
                        a.name
                    ));
                }
            }
        }

        // ----- files: each caller against a file the owner sent in each channel -------
        for c in channels {
            let label = label_of(&f, c);
            let r = call(
                host,
                Method::POST,
                &format!("/api/v1/channels/{}/files", c.id),
                t,
                Some(json!({ "name": "a.txt", "content_type": "text/plain", "size": 5 })),
            )
            .await;
            m.check(&format!("POST /channels/{{id}}/files {label}"), a, post(a, c, 201), &r);
            let r = call(host, Method::GET, &format!("/api/v1/channels/{}/files", c.id), t, None).await;
            m.check(&format!("GET /channels/{{id}}/files {label}"), a, read(a, c, 200), &r);
            let file = sent_file(host, owner, c.id).await;
            // A file is as hidden as its channel: 404 where the channel would be 403.
            let seen = |ok: u16| match read(a, c, ok) {
                403 => 404,
                s => s,
            };
            // The download redirect is followed: 200 is the store's answer.
            let r = call(host, Method::GET, &format!("/api/v1/files/{file}"), t, None).await;
            m.check(&format!("GET /files/{{id}} {label}"), a, seen(200), &r);
            let r = call(host, Method::GET, &format!("/api/v1/files/{file}/url"), t, None).await;
            m.check(&format!("GET /files/{{id}}/url {label}"), a, seen(200), &r);
            let r = call(host, Method::GET, &format!("/api/v1/files/{file}/thumbnail"), t, None).await;
            m.check(&format!("GET /files/{{id}}/thumbnail {label}"), a, seen(200), &r);
            let r = call(host, Method::POST, &format!("/api/v1/files/{file}/complete"), t, None).await;
            let complete = match seen(409) {
                409 if a.name != "owner" => 403,
                s => s,
            };
            m.check(&format!("POST /files/{{id}}/complete {label}"), a, complete, &r);
            let r = call(host, Method::DELETE, &format!("/api/v1/files/{file}"), t, None).await;
            let delete = match seen(204) {
                204 if a.name != "owner" && !a.is_admin() => 403,
                s => s,
            };
            m.check(&format!("DELETE /files/{{id}} {label}"), a, delete, &r);
        }

        // Join, leave, rename, archive: on fresh channels of the owner, per cell.
        n += 1;
        let fresh = host.create_channel(&owner.access, ws, &format!("f{n}"), "public").await;
        let fresh_c = Chan { id: &fresh, kind: Kind::Public, member: |a| a.name == "owner" };
        let r = call(host, Method::POST, &format!("/api/v1/channels/{fresh}/join"), t, None).await;
        let join = match read(a, fresh_c, 200) {
            403 => 403,
            200 if a.role == Some(Role::Guest) => 403,
            s => s,
        };
        m.check("POST /channels/{id}/join public", a, join, &r);
        let r = call(host, Method::POST, &format!("/api/v1/channels/{}/join", f.secret), t, None).await;
        m.check("POST /channels/{id}/join #secret", a, anon_or(a, || if a.in_secret { 200 } else { 404 }), &r);
        let r = call(host, Method::POST, &format!("/api/v1/channels/{fresh}/leave"), t, None).await;
        let leave = read(a, fresh_c, 204);
        m.check("POST /channels/{id}/leave public", a, leave, &r);
        let r = call(
            host,
            Method::PATCH,
            &format!("/api/v1/channels/{fresh}"),
            t,
            Some(json!({ "name": format!("f{n}") })),
        )
        .await;
        let steward = |ok: u16| match read(a, fresh_c, ok) {
            s if s == ok && !(a.is_admin() || a.name == "owner") => 403,
            s => s,
        };
        m.check("PATCH /channels/{id} rename", a, steward(200), &r);
        let r = call(host, Method::POST, &format!("/api/v1/channels/{fresh}/archive"), t, None).await;
        m.check("POST /channels/{id}/archive", a, steward(200), &r);
        if r.status != 200 {
            host.post_empty(&format!("/api/v1/channels/{fresh}/archive"), Some(&owner.access))
                .await
                .expect_status(200, "owner archives");
        }
        let r = call(host, Method::POST, &format!("/api/v1/channels/{fresh}/unarchive"), t, None).await;
        m.check("POST /channels/{id}/unarchive", a, steward(200), &r);
        // Removing a member of a private channel: its creator, or an admin who is in it.
        n += 1;
        let private = host.create_channel(&owner.access, ws, &format!("p{n}"), "private").await;
        let mut members = vec![f.tia.user_id.clone()];
        if let Some(s) = &a.session
            && a.role.is_some()
            && a.name != "owner"
        {
            members.push(s.user_id.clone());
        }
        host.post(&format!("/api/v1/channels/{private}/members"), Some(&owner.access), json!({ "user_ids": members }))
            .await
            .expect_status(200, "owner fills a private channel");
        let r =
            call(host, Method::DELETE, &format!("/api/v1/channels/{private}/members/{}", f.tia.user_id), t, None).await;
        let expect = anon_or(a, || match a.role {
            None => 404,
            Some(Role::Guest) | Some(Role::Member) => 403,
            Some(_) => 204,
        });
        m.check("DELETE /channels/{id}/members/{u} private", a, expect, &r);

        // ----- messages ---------------------------------------------------------------
        for (label, msg, c) in [("#general", &f.msg_general, general), ("#secret", &f.msg_secret, secret)] {
            let author = a.name == "member";
            let r = call(host, Method::PATCH, &format!("/api/v1/messages/{msg}"), t, Some(json!({ "text": "edited" })))
                .await;
            let edit = match read(a, c, 200) {
                200 if !author => 403,
                s => s,
            };
            m.check(&format!("PATCH /messages/{{id}} {label}"), a, edit, &r);
            let r = call(host, Method::GET, &format!("/api/v1/messages/{msg}/thread"), t, None).await;
            m.check(&format!("GET /messages/{{id}}/thread {label}"), a, read(a, c, 200), &r);
            for method in [Method::PUT, Method::DELETE] {
                let r = call(host, method.clone(), &format!("/api/v1/messages/{msg}/follow"), t, None).await;
                m.check(&format!("{method} /messages/{{id}}/follow {label}"), a, read(a, c, 200), &r);
            }
            let r = call(
                host,
                Method::POST,
                &format!("/api/v1/messages/{msg}/reactions"),
                t,
                Some(json!({ "emoji": ":ok:" })),
            )
            .await;
            m.check(&format!("POST /messages/{{id}}/reactions {label}"), a, post(a, c, 201), &r);
            let r = call(host, Method::DELETE, &format!("/api/v1/messages/{msg}/reactions/%3Aok%3A"), t, None).await;
            m.check(&format!("DELETE /messages/{{id}}/reactions/{{e}} {label}"), a, post(a, c, 204), &r);
            let r = call(host, Method::POST, &format!("/api/v1/messages/{msg}/pin"), t, None).await;
            m.check(&format!("POST /messages/{{id}}/pin {label}"), a, post(a, c, 201), &r);
            if r.status != 201 {
                host.post_empty(&format!("/api/v1/messages/{msg}/pin"), Some(&owner.access))
                    .await
                    .expect_status(201, "owner pins");
            }
            let r = call(host, Method::DELETE, &format!("/api/v1/messages/{msg}/pin"), t, None).await;
            m.check(&format!("DELETE /messages/{{id}}/pin {label}"), a, post(a, c, 204), &r);
            if r.status != 204 {
                call(host, Method::DELETE, &format!("/api/v1/messages/{msg}/pin"), Some(&owner.access), None)
                    .await
                    .expect_status(204, "owner unpins");
            }
            // Deleting: a fresh message of the member's per cell; author or admin who can see.
            let fresh_msg = host
                .post(
                    &format!("/api/v1/channels/{}/messages", c.id),
                    Some(&f.mia.access),
                    json!({ "text": "delete me" }),
                )
                .await
                .str_at("/message/id");
            let r = call(host, Method::DELETE, &format!("/api/v1/messages/{fresh_msg}"), t, None).await;
            let del = match read(a, c, 204) {
                204 if !(author || a.is_admin()) => 403,
                s => s,
            };
            m.check(&format!("DELETE /messages/{{id}} {label}"), a, del, &r);
        }
    }
    m.finish();
}

/// Accepting an invite changes who is in the workspace, so it runs on its own host state:
/// members are told they are members, the removed and deactivated cannot come back through
/// an invite, an outsider joins.
async fn accepting_invites_for_every_caller(host: &Host) {
    let f = fixture(host).await;
    let mut m = Matrix { rows: Vec::new(), failures: Vec::new() };
    for a in &f.actors {
        let code = host.create_invite(&f.owner.access, &f.ws).await;
        let r = call(host, Method::POST, &format!("/api/v1/invites/{code}/accept"), a.token(), None).await;
        let expect = match a.name {
            "anonymous" => 401,
            "removed" | "deactivated" => 403,
            _ => 200,
        };
        m.check("POST /invites/{code}/accept", a, expect, &r);
    }
    m.finish();
}

/// WebSocket actions: the channels a socket is subscribed to are exactly the caller's, and
/// typing into a channel one cannot see is refused.
async fn sockets_subscribe_to_exactly_the_callers_channels(host: &Host) {
    let f = fixture(host).await;
    for a in &f.actors {
        let Some(s) = &a.session else { continue };
        let (mut ws, subs) = Ws::connect(host, &s.access, false).await;
        let mine: std::collections::BTreeSet<String> = subs.iter().map(|s| s.channel_id.to_string()).collect();
        for (id, member) in
            [(&f.general, a.in_general), (&f.random, a.in_random), (&f.secret, a.in_secret), (&f.dm, a.in_dm)]
        {
            assert_eq!(mine.contains(id.as_str()), member, "{}: subscribed to {id}? hello listed {mine:?}", a.name);
        }
        // A member's typing is accepted silently; the pong marks the end of the replies.
        ws.send_frame(&ClientFrame::Typing { channel_id: f.secret.parse().unwrap() }).await;
        ws.send_frame(&ClientFrame::Ping { nonce: Some(1) }).await;
        let mut error = None;
        loop {
            match ws.next_frame().await {
                ServerFrame::Error { code, .. } => error = Some(code),
                ServerFrame::Pong { .. } => break,
                _ => {}
            }
        }
        assert_eq!(error.is_some(), !a.in_secret, "{}: typing into #secret refused? {error:?}", a.name);
        ws.close().await;
    }
}

// ----- regressions modelled on known bugs in other chat servers --------------------------

/// A removed member must not list channels through a membership row that removal left
/// behind (soft deletion), nor read posts; a deactivated member's rows are kept on purpose
/// (for reactivation) and must grant nothing either.
async fn regression_removed_and_deactivated_members_see_nothing_through_old_memberships(host: &Host) {
    let f = fixture(host).await;
    for name in ["removed", "deactivated"] {
        let a = f.actors.iter().find(|a| a.name == name).unwrap();
        let t = a.token();
        assert!(
            host.workspaces(t.unwrap()).await.iter().all(|w| w["id"] != json!(f.ws)),
            "{name} still lists the workspace"
        );
        call(host, Method::GET, &format!("/api/v1/workspaces/{}/channels", f.ws), t, None).await.expect_error(
            404,
            "not_found",
            &format!("{name} listing channels"),
        );
        for ch in [&f.general, &f.secret] {
            for path in [format!("/api/v1/channels/{ch}/messages"), format!("/api/v1/channels/{ch}/events?after=0")] {
                call(host, Method::GET, &path, t, None).await.expect_error(
                    404,
                    "not_found",
                    &format!("{name} reading {path}"),
                );
            }
        }
        call(host, Method::GET, &format!("/api/v1/messages/{}/thread", f.msg_secret), t, None).await.expect_error(
            404,
            "not_found",
            &format!("{name} reading a post through its thread"),
        );
    }
}

/// An admin is not a member of every private channel: no posting, reading or joining there.
async fn regression_an_admin_cannot_post_into_a_private_channel_they_are_not_in(host: &Host) {
    let f = fixture(host).await;
    let admin = f.actors.iter().find(|a| a.name == "admin").unwrap().token();
    let before = host.event_count(&f.owner.access, &f.secret).await;
    call(host, Method::POST, &format!("/api/v1/channels/{}/messages", f.secret), admin, Some(json!({ "text": "hi" })))
        .await
        .expect_error(404, "not_found", "admin posting into #secret");
    call(host, Method::POST, &format!("/api/v1/channels/{}/join", f.secret), admin, None).await.expect_error(
        404,
        "not_found",
        "admin joining #secret",
    );
    call(
        host,
        Method::POST,
        &format!("/api/v1/messages/{}/reactions", f.msg_secret),
        admin,
        Some(json!({ "emoji": ":x:" })),
    )
    .await
    .expect_error(404, "not_found", "admin reacting in #secret");
    assert_eq!(host.event_count(&f.owner.access, &f.secret).await, before);
}

/// Editing is posting: someone who may no longer post somewhere (removed from the channel,
/// or the channel archived) cannot rewrite their old messages there.
async fn regression_editing_cannot_bypass_the_post_permission(host: &Host) {
    let f = fixture(host).await;
    let owner = &f.owner;
    let mia = &f.mia;
    let edit = |id: String| {
        let token = mia.access.clone();
        let host = &host;
        async move {
            call(
                host,
                Method::PATCH,
                &format!("/api/v1/messages/{id}"),
                Some(&token),
                Some(json!({ "text": "rewritten" })),
            )
            .await
        }
    };
    // Removed from a public channel: still readable (preview), no longer postable.
    let ch = host.create_channel(&owner.access, &f.ws, "ops", "public").await;
    host.join_channel(&mia.access, &ch).await;
    let id = host
        .post(&format!("/api/v1/channels/{ch}/messages"), Some(&mia.access), json!({ "text": "v1" }))
        .await
        .str_at("/message/id");
    call(host, Method::DELETE, &format!("/api/v1/channels/{ch}/members/{}", mia.user_id), Some(&owner.access), None)
        .await
        .expect_status(204, "owner removes mia from #ops");
    edit(id.clone()).await.expect_error(403, "forbidden", "editing after removal from the channel");
    // Archived channel.
    let ch2 = host.create_channel(&owner.access, &f.ws, "frozen", "public").await;
    host.join_channel(&mia.access, &ch2).await;
    let id2 = host
        .post(&format!("/api/v1/channels/{ch2}/messages"), Some(&mia.access), json!({ "text": "v1" }))
        .await
        .str_at("/message/id");
    host.post_empty(&format!("/api/v1/channels/{ch2}/archive"), Some(&owner.access))
        .await
        .expect_status(200, "archive");
    edit(id2.clone()).await.expect_error(403, "forbidden", "editing in an archived channel");
    // Nothing was rewritten.
    for (c, i) in [(&ch, &id), (&ch2, &id2)] {
        let history = host.history(&owner.access, c).await;
        let m = history.iter().find(|m| m["id"] == json!(i)).expect("message still there");
        assert_eq!(m["text"], "v1");
    }
}

/// A reaction flood from one account stops at the per-person cap and leaves no extra events.
async fn regression_a_reaction_flood_is_capped(host: &Host) {
    let f = fixture(host).await;
    let path = format!("/api/v1/messages/{}/reactions", f.msg_general);
    let mut statuses = Vec::new();
    for i in 0..30 {
        statuses.push(host.post(&path, Some(&f.mia.access), json!({ "emoji": format!(":f{i}:") })).await.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 20, "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
}

crate::common::both_targets!(
    every_endpoint_against_every_caller,
    accepting_invites_for_every_caller,
    sockets_subscribe_to_exactly_the_callers_channels,
    regression_removed_and_deactivated_members_see_nothing_through_old_memberships,
    regression_an_admin_cannot_post_into_a_private_channel_they_are_not_in,
    regression_editing_cannot_bypass_the_post_permission,
    regression_a_reaction_flood_is_capped,
);
