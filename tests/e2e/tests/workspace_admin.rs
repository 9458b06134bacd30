//! Workspace administration against the real host: settings, profiles, roles and the
//! last-owner rule, invites (use limits, revocation, expiry), removal (sockets closed at
//! once, nothing readable afterwards) and deactivation/reactivation.

use std::time::{Duration, Instant};

use crate::common::{Host, Reply, Session, Ws, assert_contiguous};
use ocomms_core::event::{ServerFrame, WorkspaceChange, kind};
use ocomms_core::policy::Role;
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

async fn patch(host: &Host, path: &str, token: &str, body: Value) -> Reply {
    host.send(host.request(Method::PATCH, path, Some(token)).json(&body)).await
}

async fn delete(host: &Host, path: &str, token: &str) -> Reply {
    host.send(host.request(Method::DELETE, path, Some(token))).await
}

async fn workspace(host: &Host, token: &str, ws: &str) -> Value {
    let r = host.get(&format!("/api/v1/workspaces/{ws}"), Some(token)).await;
    r.expect_status(200, "get workspace");
    r.body["workspace"].clone()
}

/// Members as the caller sees them, keyed by nothing: in the server's order.
async fn members(host: &Host, token: &str, ws: &str) -> Vec<Value> {
    let r = host.get(&format!("/api/v1/workspaces/{ws}/members"), Some(token)).await;
    r.expect_status(200, "list members");
    assert!(r.body["next_after"].is_null(), "one page holds every member: {r:?}");
    r.body["members"].as_array().cloned().unwrap()
}

fn member<'a>(list: &'a [Value], user: &Session) -> Option<&'a Value> {
    list.iter().find(|m| m["user_id"] == user.user_id.as_str())
}

async fn role_in(host: &Host, token: &str, ws: &str, user: &Session) -> String {
    let list = members(host, token, ws).await;
    member(&list, user).unwrap_or_else(|| panic!("{} is not listed: {list:?}", user.user_id))["role"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn set_role(host: &Host, actor: &Session, ws: &str, target: &Session, role: &str) -> Reply {
    patch(host, &format!("/api/v1/workspaces/{ws}/members/{}", target.user_id), &actor.access, json!({ "role": role }))
        .await
}

async fn invites(host: &Host, token: &str, ws: &str) -> Vec<Value> {
    let r = host.get(&format!("/api/v1/workspaces/{ws}/invites"), Some(token)).await;
    r.expect_status(200, "list invites");
    r.body["invites"].as_array().cloned().unwrap()
}

async fn invite_row(host: &Host, token: &str, ws: &str, code: &str) -> Value {
    invites(host, token, ws).await.into_iter().find(|i| i["code"] == code).unwrap_or_else(|| panic!("{code} listed"))
}

async fn create_invite(host: &Host, token: &str, ws: &str, body: Value) -> Reply {
    host.post(&format!("/api/v1/workspaces/{ws}/invites"), Some(token), body).await
}

fn ids(list: &[Value]) -> Vec<String> {
    list.iter().map(|w| w["id"].as_str().unwrap().to_string()).collect()
}

/// Reads frames until `session_ended`; what came before may only be the removal's own
/// `member.left` events and unsubscriptions (and presence). Then the close must be 4003.
async fn expect_session_ended(ws: &mut Ws, user: &str) {
    let started = Instant::now();
    loop {
        match ws.next_frame().await {
            ServerFrame::SessionEnded { reason } => {
                assert!(!reason.is_empty());
                break;
            }
            ServerFrame::Event { event } => {
                assert_eq!(event.kind, kind::MEMBER_LEFT, "only the removal's events come first: {event:?}");
                assert_eq!(event.data["user_id"], user);
            }
            ServerFrame::Unsubscribed { .. } | ServerFrame::Presence { .. } => {}
            other => panic!("unexpected frame before session_ended: {other:?}"),
        }
    }
    let close = ws.expect_close().await;
    assert_eq!(close.map(|c| c.0), Some(4003), "the socket closes with 4003");
    assert!(started.elapsed() < Duration::from_secs(3), "closed promptly, not after {:?}", started.elapsed());
}

/// Nothing of the workspace is visible to `token` any more.
async fn assert_workspace_invisible(host: &Host, token: &str, ws: &str, channels: &[&str], what: &str) {
    assert!(!ids(&host.workspaces(token).await).contains(&ws.to_string()), "{what}: the workspace is listed");
    for path in [
        format!("/api/v1/workspaces/{ws}"),
        format!("/api/v1/workspaces/{ws}/channels"),
        format!("/api/v1/workspaces/{ws}/members"),
    ] {
        host.get(&path, Some(token)).await.expect_error(404, "not_found", &format!("{what}: GET {path}"));
    }
    for ch in channels {
        for path in [
            format!("/api/v1/channels/{ch}"),
            format!("/api/v1/channels/{ch}/messages"),
            format!("/api/v1/channels/{ch}/events?after=0"),
        ] {
            host.get(&path, Some(token)).await.expect_error(404, "not_found", &format!("{what}: GET {path}"));
        }
        host.post(&format!("/api/v1/channels/{ch}/messages"), Some(token), json!({ "text": "still here?" }))
            .await
            .expect_error(404, "not_found", &format!("{what}: post to {ch}"));
        host.post_empty(&format!("/api/v1/channels/{ch}/join"), Some(token)).await.expect_error(
            404,
            "not_found",
            &format!("{what}: join {ch}"),
        );
    }
    host.post(&format!("/api/v1/workspaces/{ws}/channels"), Some(token), json!({ "name": "sneaky" }))
        .await
        .expect_error(404, "not_found", &format!("{what}: create a channel"));
}

// ---------------------------------------------------------------------------------------
// Settings and profiles
// ---------------------------------------------------------------------------------------

async fn settings_and_profiles(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let dave = host.signup("dave@example.com").await;
    let gus = host.signup("gus@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws, _) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    host.add_to_workspace(&ann, &dave, &ws).await;
    set_role(host, &ann, &ws, &dave, "admin").await.expect_status(200, "make dave admin");
    let code = create_invite(host, &ann.access, &ws, json!({ "role": "guest" })).await.str_at("/invite/code");
    host.accept_invite(&gus.access, &code).await.expect_status(200, "guest joins");

    // GET: every active member, guests included; the caller's own role; active members counted.
    let w = workspace(host, &ann.access, &ws).await;
    assert_eq!(w["id"], ws.as_str());
    assert_eq!(w["name"], "Acme");
    assert_eq!(w["description"], "");
    assert_eq!(w["members_can_invite"], false);
    assert_eq!(w["members_can_create_channels"], true);
    assert_eq!(w["role"], "owner");
    assert_eq!(w["member_count"], 4);
    assert!(w["created_at_ms"].as_i64().unwrap() > 0);
    assert_eq!(workspace(host, &gus.access, &ws).await["role"], "guest");
    assert_eq!(workspace(host, &dave.access, &ws).await["role"], "admin");
    let eve_tok = Some(eve.access.as_str());
    host.get(&format!("/api/v1/workspaces/{ws}"), eve_tok).await.expect_error(404, "not_found", "outsider reads");
    host.get("/api/v1/workspaces/not-a-uuid", Some(&ann.access)).await.expect_error(404, "not_found", "bad id");
    host.get(&format!("/api/v1/workspaces/{ws}"), None).await.expect_error(401, "unauthenticated", "no token");
    host.send(host.request(Method::PUT, &format!("/api/v1/workspaces/{ws}"), Some(&ann.access))).await.expect_error(
        405,
        "method_not_allowed",
        "PUT a workspace",
    );

    // PATCH: admins and owners, any subset.
    let path = format!("/api/v1/workspaces/{ws}");
    let r = patch(host, &path, &dave.access, json!({ "name": " Acme Corp ", "description": "We ship.\nDaily." })).await;
    r.expect_status(200, "admin renames");
    assert_eq!(r.body["workspace"]["name"], "Acme Corp");
    assert_eq!(r.body["workspace"]["description"], "We ship.\nDaily.");
    assert_eq!(r.body["workspace"]["role"], "admin");
    assert_eq!(r.body["workspace"]["member_count"], 4);
    assert_eq!(host.workspaces(&bob.access).await[0]["name"], "Acme Corp", "the list shows the new name");
    let before = workspace(host, &ann.access, &ws).await;
    for (who, token, status, code) in [
        ("member", &bob.access, 403, "forbidden"),
        ("guest", &gus.access, 403, "forbidden"),
        ("outsider", &eve.access, 404, "not_found"),
    ] {
        patch(host, &path, token, json!({ "name": "Hijacked" })).await.expect_error(status, code, who);
    }
    for (what, body) in [
        ("empty patch", json!({})),
        ("null only", json!({ "name": null })),
        ("blank name", json!({ "name": "  " })),
        ("long name", json!({ "name": "n".repeat(81) })),
        ("long description", json!({ "description": "d".repeat(251) })),
        ("control characters", json!({ "description": "bell\u{7}" })),
        ("unknown field", json!({ "name": "X", "owner": "me" })),
        ("wrong type", json!({ "members_can_invite": "yes" })),
    ] {
        patch(host, &path, &ann.access, body).await.expect_error(422, "validation_failed", what);
    }
    assert_eq!(workspace(host, &ann.access, &ws).await, before, "refused patches changed nothing");
    let r = patch(host, &path, &ann.access, json!({ "description": "d".repeat(250) })).await;
    r.expect_status(200, "250 characters of description");

    // members_can_create_channels: admins always, members when on, guests never.
    let channels = format!("/api/v1/workspaces/{ws}/channels");
    patch(host, &path, &ann.access, json!({ "members_can_create_channels": false })).await.expect_status(200, "off");
    host.post(&channels, Some(&bob.access), json!({ "name": "bobs" })).await.expect_error(
        403,
        "forbidden",
        "member creates a channel while it is off",
    );
    assert!(host.channels(&ann.access, &ws).await.iter().all(|c| c["name"] != "bobs"), "nothing was created");
    host.create_channel(&dave.access, &ws, "admins-can", "public").await;
    patch(host, &path, &dave.access, json!({ "members_can_create_channels": true })).await.expect_status(200, "on");
    host.create_channel(&bob.access, &ws, "bobs", "public").await;
    host.post(&channels, Some(&gus.access), json!({ "name": "guests" })).await.expect_error(
        403,
        "forbidden",
        "guest creates a channel",
    );

    // Profiles: GET /me shows the defaults; PATCH changes any subset.
    let me = host.get("/api/v1/me", Some(&bob.access)).await;
    me.expect_status(200, "me");
    assert_eq!(me.body["user"]["display_name"], "bob");
    assert_eq!(me.body["user"]["email"], "bob@example.com");
    assert_eq!(me.body["user"]["avatar_url"], "");
    assert_eq!(me.body["user"]["status_text"], "");
    assert_eq!(me.body["user"]["time_zone"], "UTC");
    let profile = json!({
        "display_name": "Bob B.",
        "avatar_url": "",
        "status_text": "In a meeting",
        "time_zone": "America/Argentina/Buenos_Aires",
    });
    let r = patch(host, "/api/v1/me", &bob.access, profile.clone()).await;
    r.expect_status(200, "update profile");
    for field in ["display_name", "avatar_url", "status_text", "time_zone"] {
        assert_eq!(r.body["user"][field], profile[field], "{field}");
    }
    let r = patch(host, "/api/v1/me", &bob.access, json!({ "status_text": "" })).await;
    r.expect_status(200, "clear the status");
    assert_eq!(r.body["user"]["status_text"], "");
    assert_eq!(r.body["user"]["time_zone"], "America/Argentina/Buenos_Aires", "other fields kept");
    let me_before = host.get("/api/v1/me", Some(&bob.access)).await.body;
    for (what, body) in [
        ("empty patch", json!({})),
        // Pictures are uploaded (files.rs); a profile never names another host's.
        ("an avatar on another host", json!({ "avatar_url": "https://cdn.example.com/bob.png" })),
        ("an avatar on loopback", json!({ "avatar_url": "http://127.0.0.1:8080/a.png" })),
        ("javascript avatar", json!({ "avatar_url": "javascript:alert(1)" })),
        ("relative avatar", json!({ "avatar_url": "/bob.png" })),
        ("long status", json!({ "status_text": "s".repeat(101) })),
        ("two-line status", json!({ "status_text": "a\nb" })),
        ("bad zone", json!({ "time_zone": "Mars/Olympus Mons" })),
        ("path-like zone", json!({ "time_zone": "../etc/passwd" })),
        ("blank name", json!({ "display_name": " " })),
        ("unknown field", json!({ "email": "new@example.com" })),
        // One bad field spoils the whole patch.
        ("one bad field", json!({ "display_name": "Robert", "time_zone": "nowhere/" })),
    ] {
        patch(host, "/api/v1/me", &bob.access, body).await.expect_error(422, "validation_failed", what);
    }
    assert_eq!(host.get("/api/v1/me", Some(&bob.access)).await.body, me_before, "refused patches changed nothing");
    patch(host, "/api/v1/me", &bob.access, json!({ "avatar_url": "" })).await.expect_status(200, "remove avatar");

    // Profiles of others: only people sharing an active workspace.
    let r = host.get(&format!("/api/v1/users/{}", bob.user_id), Some(&gus.access)).await;
    r.expect_status(200, "a colleague's profile");
    assert_eq!(r.body["user"]["display_name"], "Bob B.");
    assert_eq!(r.body["user"]["time_zone"], "America/Argentina/Buenos_Aires");
    assert!(r.body["user"].get("email").is_none(), "no email for colleagues: {r:?}");
    host.get(&format!("/api/v1/users/{}", bob.user_id), eve_tok).await.expect_error(404, "not_found", "stranger");
    host.get(&format!("/api/v1/users/{}", eve.user_id), Some(&bob.access)).await.expect_error(
        404,
        "not_found",
        "a stranger's profile",
    );
    host.get(&format!("/api/v1/users/{}", eve.user_id), eve_tok).await.expect_status(200, "one's own profile");
    host.get("/api/v1/users/00000000-0000-0000-0000-000000000000", Some(&bob.access)).await.expect_error(
        404,
        "not_found",
        "unknown user",
    );
    host.get("/api/v1/users/bob", Some(&bob.access)).await.expect_error(404, "not_found", "malformed id");

    // The members list shows profiles and roles to everyone active, guests included.
    let list = members(host, &gus.access, &ws).await;
    assert_eq!(list.len(), 4);
    let b = member(&list, &bob).unwrap();
    assert_eq!(b["display_name"], "Bob B.");
    assert_eq!(b["status_text"], "");
    assert_eq!(b["avatar_url"], "");
    assert_eq!(b["time_zone"], "America/Argentina/Buenos_Aires");
    assert_eq!(b["role"], "member");
    assert_eq!(b["deactivated"], false);
    assert!(b["joined_at_ms"].as_i64().unwrap() > 0);
    assert_eq!(member(&list, &gus).unwrap()["role"], "guest");
    assert_eq!(member(&list, &ann).unwrap()["role"], "owner");
    host.get(&format!("/api/v1/workspaces/{ws}/members"), eve_tok).await.expect_error(404, "not_found", "outsider");
    // Paging: one member per page walks the same list in order.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let q = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
        let r = host.get(&format!("/api/v1/workspaces/{ws}/members?limit=1{q}"), Some(&ann.access)).await;
        r.expect_status(200, "a page of members");
        paged.extend(r.body["members"].as_array().cloned().unwrap());
        match r.body["next_after"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
        assert!(paged.len() <= 4, "paging does not end");
    }
    assert_eq!(paged, members(host, &ann.access, &ws).await);
    for (q, status, code) in [("limit=0", 422, "validation_failed"), ("limit=1001", 422, "validation_failed")] {
        host.get(&format!("/api/v1/workspaces/{ws}/members?{q}"), Some(&ann.access))
            .await
            .expect_error(status, code, q);
    }
    host.get(&format!("/api/v1/workspaces/{ws}/members?after=bob"), Some(&ann.access)).await.expect_error(
        400,
        "bad_request",
        "a malformed cursor",
    );
}

// ---------------------------------------------------------------------------------------
// Roles and the last-owner rule
// ---------------------------------------------------------------------------------------

async fn roles_and_the_last_owner(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let cat = host.signup("cat@example.com").await;
    let dave = host.signup("dave@example.com").await;
    let erin = host.signup("erin@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws, _) = host.create_workspace(&ann.access, "Acme").await;
    for s in [&bob, &cat, &dave, &erin] {
        host.add_to_workspace(&ann, s, &ws).await;
    }

    // Owners set any role; the member's open sockets hear of it at once.
    let (mut dave_ws, _) = Ws::connect(host, &dave.access, false).await;
    let r = set_role(host, &ann, &ws, &dave, "admin").await;
    r.expect_status(200, "owner makes an admin");
    assert_eq!(r.body["member"]["user_id"], dave.user_id.as_str());
    assert_eq!(r.body["member"]["role"], "admin");
    match dave_ws.next_significant().await {
        ServerFrame::RoleChanged { workspace_id, role } => {
            assert_eq!((workspace_id.to_string(), role), (ws.clone(), Role::Admin));
        }
        other => panic!("expected role_changed, got {other:?}"),
    }
    set_role(host, &ann, &ws, &erin, "admin").await.expect_status(200, "a second admin");
    assert_eq!(workspace(host, &dave.access, &ws).await["role"], "admin");

    // Admins move members and guests between member and guest, nothing else.
    set_role(host, &dave, &ws, &bob, "guest").await.expect_status(200, "admin makes a guest");
    assert_eq!(role_in(host, &ann.access, &ws, &bob).await, "guest");
    set_role(host, &dave, &ws, &bob, "member").await.expect_status(200, "admin makes the guest a member");
    let r = set_role(host, &dave, &ws, &bob, "member").await;
    r.expect_status(200, "setting the current role is a no-op");
    assert_eq!(r.body["member"]["role"], "member");
    set_role(host, &ann, &ws, &dave, "admin").await.expect_status(200, "a no-op on Dave");
    let between = dave_ws.ping(1).await;
    assert!(!between.iter().any(|f| matches!(f, ServerFrame::RoleChanged { .. })), "a no-op tells nobody: {between:?}");
    dave_ws.close().await;
    let snapshot = members(host, &ann.access, &ws).await;
    for (what, actor, target, role, status, code) in [
        ("admin grants admin", &dave, &bob, "admin", 403, "forbidden"),
        ("admin grants owner", &dave, &bob, "owner", 403, "forbidden"),
        ("admin demotes an admin", &dave, &erin, "member", 403, "forbidden"),
        ("admin demotes the owner", &dave, &ann, "member", 403, "forbidden"),
        ("admin demotes themself", &dave, &dave, "member", 403, "forbidden"),
        ("member demotes a member", &bob, &cat, "guest", 403, "forbidden"),
        ("member promotes themself", &bob, &bob, "admin", 403, "forbidden"),
        ("outsider", &eve, &bob, "guest", 404, "not_found"),
        ("unknown role", &ann, &bob, "root", 422, "validation_failed"),
        ("not a member", &ann, &eve, "member", 404, "not_found"),
    ] {
        set_role(host, actor, &ws, target, role).await.expect_error(status, code, what);
    }
    let m = format!("/api/v1/workspaces/{ws}/members/{}", bob.user_id);
    patch(host, &m, &ann.access, json!({})).await.expect_error(422, "validation_failed", "no role");
    patch(host, &m, &ann.access, json!({ "role": "guest", "x": 1 })).await.expect_error(
        422,
        "validation_failed",
        "unknown field",
    );
    patch(host, &format!("/api/v1/workspaces/{ws}/members/nobody"), &ann.access, json!({ "role": "guest" }))
        .await
        .expect_error(404, "not_found", "malformed user id");
    assert_eq!(members(host, &ann.access, &ws).await, snapshot, "refused changes changed nothing");

    // The last owner can never step down; with a second owner, one may.
    set_role(host, &ann, &ws, &ann, "admin").await.expect_error(409, "conflict", "the last owner steps down");
    assert_eq!(workspace(host, &ann.access, &ws).await["role"], "owner");
    let r = set_role(host, &ann, &ws, &ann, "owner").await;
    r.expect_status(200, "the owner 'sets' owner: a no-op");
    set_role(host, &ann, &ws, &dave, "owner").await.expect_status(200, "a second owner");
    set_role(host, &ann, &ws, &ann, "member").await.expect_status(200, "an owner steps down beside another");
    assert_eq!(role_in(host, &dave.access, &ws, &ann).await, "member");
    set_role(host, &ann, &ws, &bob, "guest").await.expect_error(403, "forbidden", "the former owner acts");
    set_role(host, &dave, &ws, &dave, "admin").await.expect_error(409, "conflict", "the new last owner");
    // The last owner can neither leave nor be removed.
    delete(host, &format!("/api/v1/workspaces/{ws}/members/{}", dave.user_id), &dave.access).await.expect_error(
        409,
        "conflict",
        "the last owner leaves",
    );
    delete(host, &format!("/api/v1/workspaces/{ws}/members/{}", dave.user_id), &erin.access).await.expect_error(
        403,
        "forbidden",
        "an admin removes the owner",
    );
    assert_eq!(role_in(host, &erin.access, &ws, &dave).await, "owner");
    assert_eq!(workspace(host, &dave.access, &ws).await["member_count"], 5, "nobody left");

    // Owners demote other owners.
    set_role(host, &dave, &ws, &ann, "owner").await.expect_status(200, "ann is owner again");
    set_role(host, &ann, &ws, &dave, "admin").await.expect_status(200, "an owner demotes another owner");
    let roles: Vec<(String, String)> = members(host, &cat.access, &ws)
        .await
        .iter()
        .map(|m| (m["user_id"].as_str().unwrap().to_string(), m["role"].as_str().unwrap().to_string()))
        .collect();
    let expect = |s: &Session, role: &str| (s.user_id.clone(), role.to_string());
    for want in [expect(&ann, "owner"), expect(&bob, "member"), expect(&cat, "member"), expect(&dave, "admin")] {
        assert!(roles.contains(&want), "{want:?} in {roles:?}");
    }
    assert!(roles.contains(&expect(&erin, "admin")));

    // Two owners stepping down at the same moment: exactly one succeeds, every time.
    let (mut owner, mut other) = (&ann, &dave);
    for round in 0..6 {
        set_role(host, owner, &ws, other, "owner").await.expect_status(200, "a second owner for the race");
        let (a, b) =
            tokio::join!(set_role(host, owner, &ws, owner, "admin"), set_role(host, other, &ws, other, "admin"));
        let still_owner = match (a.status, b.status) {
            (200, 409) => other,
            (409, 200) => owner,
            _ => panic!("round {round}: one must win and one be refused: {a:?} / {b:?}"),
        };
        let owners: Vec<Value> =
            members(host, &erin.access, &ws).await.into_iter().filter(|m| m["role"] == "owner").collect();
        assert_eq!(owners.len(), 1, "round {round}: exactly one owner remains: {owners:?}");
        assert_eq!(owners[0]["user_id"], still_owner.user_id.as_str());
        (owner, other) = if still_owner.user_id == ann.user_id { (&ann, &dave) } else { (&dave, &ann) };
    }
}

// ---------------------------------------------------------------------------------------
// Invites
// ---------------------------------------------------------------------------------------

async fn invites_with_limits_revocation_and_expiry(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let dave = host.signup("dave@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws, _) = host.create_workspace(&ann.access, "Acme").await;
    let (other_ws, _) = host.create_workspace(&eve.access, "Elsewhere").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    host.add_to_workspace(&ann, &dave, &ws).await;
    set_role(host, &ann, &ws, &dave, "admin").await.expect_status(200, "dave is admin");
    let mut newcomers = Vec::new();
    for i in 0..8 {
        newcomers.push(host.signup(&format!("new{i}@example.com")).await);
    }

    // A single-use invite: the second acceptance is refused and nothing changes.
    let r = create_invite(host, &ann.access, &ws, json!({ "max_uses": 1 })).await;
    r.expect_status(201, "single-use invite");
    let once = r.str_at("/invite/code");
    assert_eq!(r.body["invite"]["uses"], 0);
    assert_eq!(r.body["invite"]["max_uses"], 1);
    assert_eq!(r.body["invite"]["valid"], true);
    assert_eq!(r.body["invite"]["revoked"], false);
    assert_eq!(r.body["invite"]["created_by"], ann.user_id.as_str());
    assert!(r.str_at("/url").ends_with(&format!("/invite/{once}")));
    let preview = host.get(&format!("/api/v1/invites/{once}"), Some(&newcomers[0].access)).await;
    preview.expect_status(200, "preview");
    assert_eq!(
        preview.body["invite"],
        json!({ "workspace_id": ws, "workspace_name": "Acme", "role": "member", "valid": true, "already_member": false })
    );
    host.accept_invite(&newcomers[0].access, &once).await.expect_status(200, "first use");
    host.accept_invite(&newcomers[0].access, &once).await.expect_status(200, "accepting again: already a member");
    host.accept_invite(&newcomers[1].access, &once).await.expect_error(410, "gone", "used up");
    assert!(host.workspaces(&newcomers[1].access).await.is_empty(), "the refused user joined nothing");
    let row = invite_row(host, &ann.access, &ws, &once).await;
    assert_eq!((row["uses"].as_i64(), row["max_uses"].as_i64(), &row["valid"]), (Some(1), Some(1), &json!(false)));
    let p = host.get(&format!("/api/v1/invites/{once}"), Some(&newcomers[1].access)).await;
    assert_eq!(p.body["invite"]["valid"], false);
    let p = host.get(&format!("/api/v1/invites/{once}"), Some(&newcomers[0].access)).await;
    assert_eq!(p.body["invite"]["already_member"], true);

    // Racing for the last uses: exactly max_uses of them get in.
    let code = create_invite(host, &ann.access, &ws, json!({ "max_uses": 2 })).await.str_at("/invite/code");
    let racers = &newcomers[2..7];
    let replies = futures::future::join_all(racers.iter().map(|s| host.accept_invite(&s.access, &code))).await;
    let won = replies.iter().filter(|r| r.status == 200).count();
    let gone = replies.iter().filter(|r| r.status == 410).count();
    assert_eq!((won, gone), (2, 3), "{replies:?}");
    assert_eq!(invite_row(host, &ann.access, &ws, &code).await["uses"], 2, "uses never pass max_uses");
    let joined = futures::future::join_all(racers.iter().map(|s| host.workspaces(&s.access))).await;
    assert_eq!(joined.iter().filter(|w| !w.is_empty()).count(), 2);

    // Revocation: 410 from then on; revoking twice is fine; unknown or foreign codes are 404.
    let code = create_invite(host, &dave.access, &ws, json!({})).await.str_at("/invite/code");
    let eves = create_invite(host, &eve.access, &other_ws, json!({})).await.str_at("/invite/code");
    let revoke = |c: &str| format!("/api/v1/workspaces/{ws}/invites/{c}");
    delete(host, &revoke(&code), &bob.access).await.expect_error(403, "forbidden", "a member revokes");
    delete(host, &revoke(&code), &eve.access).await.expect_error(404, "not_found", "an outsider revokes");
    assert_eq!(invite_row(host, &ann.access, &ws, &code).await["revoked"], false);
    let r = delete(host, &revoke(&code), &dave.access).await;
    r.expect_status(204, "an admin revokes");
    assert!(r.text.is_empty());
    delete(host, &revoke(&code), &ann.access).await.expect_status(204, "revoking again");
    delete(host, &revoke("no-such-code"), &ann.access).await.expect_error(404, "not_found", "unknown code");
    delete(host, &revoke(&eves), &ann.access).await.expect_error(404, "not_found", "another workspace's code");
    let p = host.get(&format!("/api/v1/invites/{eves}"), Some(&ann.access)).await;
    assert_eq!(p.body["invite"]["valid"], true, "the foreign invite was not touched");
    host.accept_invite(&newcomers[7].access, &code).await.expect_error(410, "gone", "a revoked invite");
    let row = invite_row(host, &ann.access, &ws, &code).await;
    assert_eq!((&row["revoked"], &row["valid"], &row["uses"]), (&json!(true), &json!(false), &json!(0)));
    assert_eq!(row["created_by"], dave.user_id.as_str());

    // Expiry, for real: the shortest allowed lifetime is one second.
    let r = create_invite(host, &ann.access, &ws, json!({ "expires_in_secs": 1 })).await;
    r.expect_status(201, "short-lived invite");
    let short = r.str_at("/invite/code");
    let expires = r.body["invite"]["expires_at_ms"].as_i64().unwrap();
    assert!(expires > r.body["invite"]["created_at_ms"].as_i64().unwrap());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let p = host.get(&format!("/api/v1/invites/{short}"), Some(&newcomers[7].access)).await;
    assert_eq!(p.body["invite"]["valid"], false, "expired");
    host.accept_invite(&newcomers[7].access, &short).await.expect_error(410, "gone", "an expired invite");
    assert_eq!(invite_row(host, &ann.access, &ws, &short).await["uses"], 0);
    assert!(host.workspaces(&newcomers[7].access).await.is_empty());

    // Creation limits and who may invite whom.
    let before = invites(host, &ann.access, &ws).await.len();
    for (what, body) in [
        ("zero uses", json!({ "max_uses": 0 })),
        ("too many uses", json!({ "max_uses": 10_001 })),
        ("zero lifetime", json!({ "expires_in_secs": 0 })),
        ("too long a lifetime", json!({ "expires_in_secs": 90 * 24 * 3600 + 1 })),
        ("owner role", json!({ "role": "owner" })),
        ("unknown role", json!({ "role": "boss" })),
        ("unknown field", json!({ "uses": 3 })),
    ] {
        create_invite(host, &ann.access, &ws, body).await.expect_error(422, "validation_failed", what);
    }
    create_invite(host, &dave.access, &ws, json!({ "role": "admin" })).await.expect_error(
        403,
        "forbidden",
        "an admin invites an admin",
    );
    create_invite(host, &bob.access, &ws, json!({})).await.expect_error(403, "forbidden", "a member, setting off");
    assert_eq!(invites(host, &ann.access, &ws).await.len(), before, "refused invites were not created");
    let r = create_invite(host, &ann.access, &ws, json!({ "role": "admin" })).await;
    r.expect_status(201, "the owner invites an admin");
    assert_eq!(r.body["invite"]["role"], "admin");
    patch(host, &format!("/api/v1/workspaces/{ws}"), &ann.access, json!({ "members_can_invite": true }))
        .await
        .expect_status(200, "members may invite");
    create_invite(host, &bob.access, &ws, json!({})).await.expect_status(201, "a member invites a member");
    let guest_code = create_invite(host, &bob.access, &ws, json!({ "role": "guest" })).await;
    guest_code.expect_status(201, "a member invites a guest");
    create_invite(host, &bob.access, &ws, json!({ "role": "admin" })).await.expect_error(
        403,
        "forbidden",
        "a member invites an admin",
    );
    let gus = host.signup("gus@example.com").await;
    let r = host.accept_invite(&gus.access, &guest_code.str_at("/invite/code")).await;
    r.expect_status(200, "a guest joins");
    assert_eq!(r.body["workspace"]["role"], "guest");
    assert!(host.channels(&gus.access, &ws).await.is_empty(), "guests join no channel on their own");
    create_invite(host, &gus.access, &ws, json!({ "role": "guest" })).await.expect_error(
        403,
        "forbidden",
        "guests never invite",
    );

    // Invites follow the workspace's current policy: switching member invites off ends the
    // invites members made, not the admins'; switching it back on revives the unexpired.
    let bobs = create_invite(host, &bob.access, &ws, json!({})).await.str_at("/invite/code");
    let anns = create_invite(host, &ann.access, &ws, json!({})).await.str_at("/invite/code");
    patch(host, &format!("/api/v1/workspaces/{ws}"), &ann.access, json!({ "members_can_invite": false }))
        .await
        .expect_status(200, "members may no longer invite");
    let hal = host.signup("hal@example.com").await;
    let preview = host.get(&format!("/api/v1/invites/{bobs}"), Some(&hal.access)).await;
    assert_eq!(preview.body["invite"]["valid"], false, "{}", preview.text);
    host.accept_invite(&hal.access, &bobs).await.expect_error(410, "gone", "a member's invite, member invites off");
    assert!(host.workspaces(&hal.access).await.is_empty());
    host.accept_invite(&hal.access, &anns).await.expect_status(200, "the owner's invite still works");

    // Listing is for admins and owners.
    host.get(&format!("/api/v1/workspaces/{ws}/invites"), Some(&bob.access)).await.expect_error(
        403,
        "forbidden",
        "a member lists invites",
    );
    host.get(&format!("/api/v1/workspaces/{ws}/invites"), Some(&eve.access)).await.expect_error(
        404,
        "not_found",
        "an outsider lists invites",
    );
    assert!(invites(host, &dave.access, &ws).await.iter().all(|i| i["workspace_id"] == ws.as_str()));
    host.get("/api/v1/invites/no-such-code", Some(&ann.access)).await.expect_error(404, "not_found", "unknown");
    host.get(&format!("/api/v1/invites/{once}"), None).await.expect_error(401, "unauthenticated", "no token");
}

// ---------------------------------------------------------------------------------------
// Removal
// ---------------------------------------------------------------------------------------

async fn removal_closes_sockets_at_once_and_leaves_no_trace(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let cat = host.signup("cat@example.com").await;
    let dave = host.signup("dave@example.com").await;
    let erin = host.signup("erin@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    for s in [&bob, &cat, &dave, &erin] {
        host.add_to_workspace(&ann, s, &ws).await;
    }
    set_role(host, &ann, &ws, &dave, "admin").await.expect_status(200, "dave is admin");
    set_role(host, &ann, &ws, &erin, "admin").await.expect_status(200, "erin is admin");
    let dev = host.create_channel(&ann.access, &ws, "dev", "public").await;
    host.join_channel(&bob.access, &dev).await;
    host.post_message(&bob.access, &dev, "bob was here").await;
    // Bob is also in another workspace, which his removal must not touch.
    let (bobs_ws, bobs_general) = host.create_workspace(&bob.access, "Bob's").await;

    let (mut bob_ws, bob_subs) = Ws::connect(host, &bob.access, false).await;
    assert_eq!(bob_subs.len(), 3, "general, dev and his own general");
    let (mut cat_ws, _) = Ws::connect(host, &cat.access, false).await;
    let general_seq = host.events_page(&ann.access, &general, 0, Some(200)).await.last_seq;
    let dev_seq = host.events_page(&ann.access, &dev, 0, Some(200)).await.last_seq;

    // Refusals first, and they change nothing.
    let remove = |s: &Session| format!("/api/v1/workspaces/{ws}/members/{}", s.user_id);
    for (what, actor, target, status, code) in [
        ("a member removes a member", &cat, &bob, 403, "forbidden"),
        ("a member removes the owner", &cat, &ann, 403, "forbidden"),
        ("an admin removes an admin", &dave, &erin, 403, "forbidden"),
        ("an admin removes the owner", &dave, &ann, 403, "forbidden"),
        ("the last owner leaves", &ann, &ann, 409, "conflict"),
    ] {
        delete(host, &remove(target), &actor.access).await.expect_error(status, code, what);
    }
    delete(host, &format!("/api/v1/workspaces/{ws}/members/00000000-0000-0000-0000-000000000000"), &ann.access)
        .await
        .expect_error(404, "not_found", "not a member");
    assert_eq!(workspace(host, &ann.access, &ws).await["member_count"], 5);
    assert_eq!(host.events_page(&ann.access, &general, 0, Some(200)).await.last_seq, general_seq, "no events");

    // An admin removes Bob.
    let r = delete(host, &remove(&bob), &dave.access).await;
    r.expect_status(204, "an admin removes a member");
    assert!(r.text.is_empty());

    // Bob's socket hears that his session ended and is closed at once; Cat's stays open.
    expect_session_ended(&mut bob_ws, &bob.user_id).await;
    let ev = cat_ws.next_event().await;
    assert_eq!(ev.channel_id.to_string(), general);
    assert_eq!(ev.kind, kind::MEMBER_LEFT);
    assert_eq!(ev.seq, general_seq + 1);
    assert_eq!(ev.data, json!({ "user_id": bob.user_id, "by": dave.user_id, "reason": "removed" }));
    cat_ws.ping(7).await;
    let seq = host.post_message(&ann.access, &general, "after bob").await;
    let ev = cat_ws.next_event().await;
    assert_eq!((ev.kind.as_str(), ev.seq), (kind::MESSAGE_POSTED, seq), "Cat's socket still works");

    // The stored logs: one member.left per channel Bob was in, each under the next seq.
    for (ch, last) in [(&general, general_seq), (&dev, dev_seq)] {
        let log = host.all_events_after(&ann.access, ch, 0, 200).await;
        assert_contiguous(&log.iter().map(|e| e.seq).collect::<Vec<_>>(), 1, log.len() as i64, "log");
        let left = log.iter().find(|e| e.seq == last + 1).unwrap();
        assert_eq!(left.kind, kind::MEMBER_LEFT);
        assert_eq!(left.data, json!({ "user_id": bob.user_id, "by": dave.user_id, "reason": "removed" }));
    }
    // His messages stay, attributed to him.
    assert_eq!(host.history(&ann.access, &dev).await[0]["author_id"], bob.user_id.as_str());

    // Every session of Bob ended; a fresh login sees no trace of the workspace.
    host.get("/api/v1/me", Some(&bob.access)).await.expect_error(401, "unauthenticated", "the old token");
    host.post("/api/v1/auth/refresh", None, json!({ "refresh_token": bob.refresh })).await.expect_error(
        401,
        "unauthenticated",
        "the old refresh token",
    );
    let bob2 = host.login("bob@example.com").await;
    assert_eq!(ids(&host.workspaces(&bob2.access).await), [bobs_ws.as_str()]);
    assert_workspace_invisible(host, &bob2.access, &ws, &[&general, &dev], "removed").await;
    host.get(&format!("/api/v1/users/{}", ann.user_id), Some(&bob2.access)).await.expect_error(
        404,
        "not_found",
        "a former colleague's profile",
    );
    host.get(&format!("/api/v1/users/{}", bob.user_id), Some(&ann.access)).await.expect_error(
        404,
        "not_found",
        "the removed member's profile",
    );
    let (bob_ws2, subs) = Ws::connect(host, &bob2.access, false).await;
    assert_eq!(subs.iter().map(|s| s.channel_id.to_string()).collect::<Vec<_>>(), [bobs_general]);
    bob_ws2.close().await;
    assert!(member(&members(host, &ann.access, &ws).await, &bob).is_none(), "removed members are never listed");
    assert_eq!(workspace(host, &ann.access, &ws).await["member_count"], 4);

    // No way back through an invite, and the invite is not spent.
    let code = host.create_invite(&ann.access, &ws).await;
    host.accept_invite(&bob2.access, &code).await.expect_error(403, "forbidden", "a removed member accepts");
    assert_eq!(invite_row(host, &ann.access, &ws, &code).await["uses"], 0);
    // Removing him again finds nobody.
    delete(host, &remove(&bob), &ann.access).await.expect_error(404, "not_found", "removed twice");

    // Owners remove admins.
    delete(host, &remove(&erin), &ann.access).await.expect_status(204, "the owner removes an admin");
    let ev = cat_ws.next_event().await;
    assert_eq!(ev.kind, kind::MEMBER_LEFT);
    assert_eq!(ev.data, json!({ "user_id": erin.user_id, "by": ann.user_id, "reason": "removed" }));

    // Leaving: the session goes on, only the workspace's channels fall silent.
    let cat_general_seq = host.events_page(&ann.access, &general, 0, Some(200)).await.last_seq;
    delete(host, &remove(&cat), &cat.access).await.expect_status(204, "a member leaves");
    let ev = cat_ws.next_event().await;
    assert_eq!((ev.kind.as_str(), ev.seq), (kind::MEMBER_LEFT, cat_general_seq + 1));
    assert_eq!(ev.data, json!({ "user_id": cat.user_id, "by": cat.user_id, "reason": "left" }));
    cat_ws.ping(8).await;
    host.post_message(&ann.access, &general, "cat is gone").await;
    cat_ws.expect_no_event(Duration::from_millis(500)).await;
    host.get("/api/v1/me", Some(&cat.access)).await.expect_status(200, "still logged in after leaving");
    assert_workspace_invisible(host, &cat.access, &ws, &[&general], "left").await;

    // Unlike a removal, leaving can be undone: an invite brings Cat back as a newcomer
    // (the invite's role, the default channels, one use taken); a second accept is a no-op.
    let code = host.create_invite(&ann.access, &ws).await;
    let r = host.accept_invite(&cat.access, &code).await;
    r.expect_status(200, "someone who left accepts an invite");
    assert_eq!(r.body["workspace"]["id"], ws.as_str());
    let ev = cat_ws.next_event().await;
    assert_eq!(ev.channel_id.to_string(), general, "Cat's open socket hears #general again");
    assert_eq!((ev.kind.as_str(), ev.data["user_id"].as_str()), (kind::MEMBER_JOINED, Some(cat.user_id.as_str())));
    assert_eq!(member(&members(host, &ann.access, &ws).await, &cat).map(|m| m["role"].clone()), Some(json!("member")));
    host.accept_invite(&cat.access, &code).await.expect_status(200, "accepting again");
    assert_eq!(invite_row(host, &ann.access, &ws, &code).await["uses"], 1);
    host.post_message(&cat.access, &general, "cat is back").await;
    cat_ws.close().await;
}

// ---------------------------------------------------------------------------------------
// Deactivation
// ---------------------------------------------------------------------------------------

async fn deactivation_hides_the_workspace_and_reactivation_restores_it(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let cat = host.signup("cat@example.com").await;
    let dave = host.signup("dave@example.com").await;
    let erin = host.signup("erin@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    for s in [&bob, &cat, &dave, &erin] {
        host.add_to_workspace(&ann, s, &ws).await;
    }
    set_role(host, &ann, &ws, &dave, "admin").await.expect_status(200, "dave is admin");
    set_role(host, &ann, &ws, &erin, "admin").await.expect_status(200, "erin is admin");
    let dev = host.create_channel(&ann.access, &ws, "dev", "public").await;
    host.join_channel(&bob.access, &dev).await;
    let (mut bob_ws, _) = Ws::connect(host, &bob.access, false).await;
    let (mut cat_ws, _) = Ws::connect(host, &cat.access, false).await;
    let general_seq = host.events_page(&ann.access, &general, 0, Some(200)).await.last_seq;

    let act = |s: &Session, what: &str| format!("/api/v1/workspaces/{ws}/members/{}/{what}", s.user_id);
    for (what, actor, target, status, code) in [
        ("a member deactivates a member", &cat, &bob, 403, "forbidden"),
        ("an admin deactivates an admin", &dave, &erin, 403, "forbidden"),
        ("an admin deactivates the owner", &dave, &ann, 403, "forbidden"),
        ("an admin deactivates themself", &dave, &dave, 403, "forbidden"),
        ("the owner deactivates themself", &ann, &ann, 403, "forbidden"),
    ] {
        host.post_empty(&act(target, "deactivate"), Some(&actor.access)).await.expect_error(status, code, what);
    }
    host.post_empty(&format!("/api/v1/workspaces/{ws}/members/{}/deactivate", "0".repeat(8)), Some(&ann.access))
        .await
        .expect_error(404, "not_found", "a malformed user id");
    host.send(host.request(Method::GET, &act(&bob, "deactivate"), Some(&ann.access))).await.expect_error(
        405,
        "method_not_allowed",
        "GET deactivate",
    );
    assert_eq!(workspace(host, &ann.access, &ws).await["member_count"], 5, "nobody was deactivated");

    // An admin deactivates Bob: his sockets close at once, Cat's do not.
    let r = host.post_empty(&act(&bob, "deactivate"), Some(&dave.access)).await;
    r.expect_status(200, "an admin deactivates a member");
    assert_eq!(r.body["member"]["deactivated"], true);
    assert_eq!(r.body["member"]["role"], "member");
    expect_session_ended(&mut bob_ws, &bob.user_id).await;
    cat_ws.ping(1).await;
    host.get("/api/v1/me", Some(&bob.access)).await.expect_error(401, "unauthenticated", "the old token");
    // Deactivation emits no channel events: the memberships are kept.
    assert_eq!(host.events_page(&ann.access, &general, 0, Some(200)).await.last_seq, general_seq);
    host.post_empty(&act(&bob, "deactivate"), Some(&ann.access)).await.expect_status(200, "again: a no-op");

    // Login works; the workspace is invisible, live and stored.
    let bob2 = host.login("bob@example.com").await;
    assert!(host.workspaces(&bob2.access).await.is_empty());
    // ...but he is told where he was deactivated, so a client can say why it shows nothing.
    let listed = host.get("/api/v1/workspaces", Some(&bob2.access)).await;
    let gone = listed.body["deactivated_in"].as_array().cloned().unwrap_or_default();
    assert_eq!(gone.len(), 1, "deactivated in one workspace: {}", listed.body);
    assert_eq!((gone[0]["id"].as_str(), gone[0]["name"].as_str()), (Some(ws.as_str()), Some("Acme")));
    assert!(gone[0]["deactivated_at_ms"].as_i64().is_some_and(|ms| ms > 0));
    let cats = host.get("/api/v1/workspaces", Some(&cat.access)).await;
    assert_eq!(cats.body["deactivated_in"], json!([]), "Cat is active; Bob's state is not hers");
    assert_workspace_invisible(host, &bob2.access, &ws, &[&general, &dev], "deactivated").await;
    let (mut bob_ws2, subs) = Ws::connect(host, &bob2.access, false).await;
    assert!(subs.is_empty(), "no subscriptions into the workspace: {subs:?}");
    host.post_message(&ann.access, &general, "bob cannot hear this").await;
    bob_ws2.expect_no_event(Duration::from_millis(500)).await;
    bob_ws2.close().await;
    let code = host.create_invite(&ann.access, &ws).await;
    host.accept_invite(&bob2.access, &code).await.expect_error(403, "forbidden", "a deactivated member accepts");

    // Admins see him, flagged; members do not; he is not counted.
    let listed = members(host, &dave.access, &ws).await;
    assert_eq!(member(&listed, &bob).unwrap()["deactivated"], true);
    assert!(listed.iter().filter(|m| m["user_id"] != bob.user_id.as_str()).all(|m| m["deactivated"] == false));
    assert!(member(&members(host, &cat.access, &ws).await, &bob).is_none(), "members do not see him");
    assert_eq!(workspace(host, &cat.access, &ws).await["member_count"], 4);
    host.get(&format!("/api/v1/users/{}", bob.user_id), Some(&cat.access)).await.expect_error(
        404,
        "not_found",
        "a deactivated member's profile",
    );

    // Reactivation: a member may not; an admin may; then everything is back.
    host.post_empty(&act(&bob, "reactivate"), Some(&cat.access)).await.expect_error(
        403,
        "forbidden",
        "a member reactivates",
    );
    let r = host.post_empty(&act(&bob, "reactivate"), Some(&erin.access)).await;
    r.expect_status(200, "an admin reactivates");
    assert_eq!(r.body["member"]["deactivated"], false);
    host.post_empty(&act(&bob, "reactivate"), Some(&erin.access)).await.expect_status(200, "again: a no-op");
    host.get("/api/v1/me", Some(&bob2.access)).await.expect_status(200, "the new session survives reactivation");
    assert_eq!(ids(&host.workspaces(&bob2.access).await), [ws.as_str()]);
    let listed = host.get("/api/v1/workspaces", Some(&bob2.access)).await;
    assert_eq!(listed.body["deactivated_in"], json!([]), "reactivated: nothing to explain");
    let chans = host.channels(&bob2.access, &ws).await;
    for ch in [&general, &dev] {
        let row = chans.iter().find(|c| c["id"] == ch.as_str()).unwrap();
        assert_eq!(row["is_member"], true, "membership of {ch} kept");
    }
    let (mut bob_ws3, subs) = Ws::connect(host, &bob2.access, false).await;
    assert_eq!(subs.len(), 2, "subscribed to general and dev again");
    let seq = host.post_message(&bob2.access, &dev, "back").await;
    let ev = bob_ws3.next_event().await;
    assert_eq!((ev.kind.as_str(), ev.seq), (kind::MESSAGE_POSTED, seq));
    assert_eq!(member(&members(host, &cat.access, &ws).await, &bob).unwrap()["deactivated"], false);
    assert_eq!(workspace(host, &cat.access, &ws).await["member_count"], 5);
    bob_ws3.close().await;

    // Owners deactivate admins; a deactivated admin cannot act.
    host.post_empty(&act(&dave, "deactivate"), Some(&ann.access)).await.expect_status(200, "the owner deactivates");
    set_role(host, &dave, &ws, &cat, "guest").await.expect_error(401, "unauthenticated", "old session ended");
    let dave2 = host.login("dave@example.com").await;
    set_role(host, &dave2, &ws, &cat, "guest").await.expect_error(404, "not_found", "a deactivated admin acts");
    assert_eq!(role_in(host, &ann.access, &ws, &cat).await, "member");
    cat_ws.close().await;
}

// ---------------------------------------------------------------------------------------
// Live workspace changes
// ---------------------------------------------------------------------------------------

/// What another member can see changing reaches their open sockets as a hint to fetch again:
/// public channels (they list them even when not in them), settings, people.
async fn workspace_changes_reach_every_member_live(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let cat = host.signup("cat@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws, _) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    host.add_to_workspace(&ann, &cat, &ws).await;
    host.create_workspace(&eve.access, "Elsewhere").await;
    let (mut cat_ws, _) = Ws::connect(host, &cat.access, false).await;
    let (mut eve_ws, _) = Ws::connect(host, &eve.access, false).await;
    let changes = [WorkspaceChange::Channels, WorkspaceChange::Members, WorkspaceChange::Settings];

    // Each request is told before it answers, so Cat hears them in the order they were made;
    // a private channel tells nobody else (nobody else may see it).
    let launch = host.create_channel(&ann.access, &ws, "launch", "public").await;
    assert_eq!(cat_ws.next_workspace_change().await, (ws.clone(), changes[0]), "a public channel");
    host.create_channel(&ann.access, &ws, "secret", "private").await;
    patch(host, &format!("/api/v1/channels/{launch}"), &ann.access, json!({ "name": "liftoff" }))
        .await
        .expect_status(200, "rename");
    assert_eq!(cat_ws.next_workspace_change().await, (ws.clone(), changes[0]), "renamed, not the private one");
    host.post_empty(&format!("/api/v1/channels/{launch}/archive"), Some(&ann.access))
        .await
        .expect_status(200, "archive");
    assert_eq!(cat_ws.next_workspace_change().await, (ws.clone(), changes[0]), "archived");

    patch(host, &format!("/api/v1/workspaces/{ws}"), &ann.access, json!({ "name": "Acme Corp" }))
        .await
        .expect_status(200, "settings");
    assert_eq!(cat_ws.next_workspace_change().await, (ws.clone(), changes[2]), "settings");
    patch(host, "/api/v1/me", &bob.access, json!({ "display_name": "Bobby", "status_text": "On call" }))
        .await
        .expect_status(200, "profile");
    assert_eq!(cat_ws.next_workspace_change().await, (ws.clone(), changes[1]), "a profile");
    set_role(host, &ann, &ws, &bob, "admin").await.expect_status(200, "role");
    assert_eq!(cat_ws.next_workspace_change().await, (ws.clone(), changes[1]), "a role");
    host.post_empty(&format!("/api/v1/workspaces/{ws}/members/{}/deactivate", bob.user_id), Some(&ann.access))
        .await
        .expect_status(200, "deactivate");
    assert_eq!(cat_ws.next_workspace_change().await, (ws.clone(), changes[1]), "a deactivation");
    host.post_empty(&format!("/api/v1/workspaces/{ws}/members/{}/reactivate", bob.user_id), Some(&ann.access))
        .await
        .expect_status(200, "reactivate");
    assert_eq!(cat_ws.next_workspace_change().await, (ws.clone(), changes[1]), "a reactivation");
    let dan = host.signup("dan@example.com").await;
    host.add_to_workspace(&ann, &dan, &ws).await;
    assert_eq!(cat_ws.next_workspace_change().await, (ws.clone(), changes[1]), "someone joined");

    // A no-op tells nobody, and nobody outside the workspace hears anything.
    set_role(host, &ann, &ws, &bob, "admin").await.expect_status(200, "the same role again");
    let quiet = cat_ws.ping(1).await;
    assert!(!quiet.iter().any(|f| matches!(f, ServerFrame::WorkspaceChanged { .. })), "no-op: {quiet:?}");
    let outside = eve_ws.ping(2).await;
    assert!(!outside.iter().any(|f| matches!(f, ServerFrame::WorkspaceChanged { .. })), "Eve: {outside:?}");
    cat_ws.close().await;
    eve_ws.close().await;
}

crate::common::both_targets!(
    workspace_changes_reach_every_member_live,
    settings_and_profiles,
    roles_and_the_last_owner,
    invites_with_limits_revocation_and_expiry,
    removal_closes_sockets_at_once_and_leaves_no_trace,
    deactivation_hides_the_workspace_and_reactivation_restores_it,
);
