//! Notification preferences on every target: per-channel levels and do not disturb are
//! stored per user, reach every socket of that user (another device) and nobody else's, and
//! bad input changes nothing. A host-only case shows a timed do not disturb running out.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::{Host, HostOptions, Reply, Target, Ws};
use ocomms_core::event::ServerFrame;
use reqwest::Method;
use serde_json::{Value, json};

async fn settings(host: &Host, token: &str) -> Value {
    let r = host.get("/api/v1/me/notifications", Some(token)).await;
    r.expect_status(200, "notification settings");
    r.body["notifications"].clone()
}

async fn set_dnd(host: &Host, token: &str, body: Value) -> Reply {
    host.send(host.request(Method::PATCH, "/api/v1/me/notifications", Some(token)).json(&body)).await
}

async fn set_level(host: &Host, token: &str, channel: &str, level: &str) -> Reply {
    let path = format!("/api/v1/channels/{channel}/notifications");
    host.send(host.request(Method::PUT, &path, Some(token)).json(&json!({ "level": level }))).await
}

/// `(channel, level)` pairs of the settings' `channels`, in the order given.
fn levels(settings: &Value) -> Vec<(String, String)> {
    settings["channels"]
        .as_array()
        .expect("channels is an array")
        .iter()
        .map(|c| (c["channel_id"].as_str().unwrap().to_owned(), c["level"].as_str().unwrap().to_owned()))
        .collect()
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

async fn preferences_follow_the_user_to_every_device(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    let launch = host.create_channel(&ann.access, &ws, "launch", "public").await;
    let dms = format!("/api/v1/workspaces/{ws}/dms");
    let r = host.post(&dms, Some(&ann.access), json!({ "user_ids": [bob.user_id] })).await;
    let dm = r.expect_status(201, "open a DM").str_at("/channel/id");

    let fresh = settings(host, &ann.access).await;
    assert_eq!(fresh, json!({ "do_not_disturb": false, "dnd_until_ms": null, "channels": [] }), "defaults");

    // Ann on a second device: a second session with its own socket; Bob listens too.
    let laptop = host.login("ann@example.com").await;
    let (mut phone_ws, _) = Ws::connect(host, &ann.access, false).await;
    let (mut laptop_ws, _) = Ws::connect(host, &laptop.access, true).await;
    let (mut bob_ws, _) = Ws::connect(host, &bob.access, false).await;

    let r = set_level(host, &ann.access, &launch, "nothing").await;
    r.expect_status(200, "mute #launch");
    assert_eq!(r.body, json!({ "channel_id": launch, "level": "nothing" }));
    phone_ws.next_notifications_changed().await;
    laptop_ws.next_notifications_changed().await;
    assert_eq!(levels(&settings(host, &laptop.access).await), [(launch.clone(), "nothing".into())], "seen elsewhere");

    set_level(host, &ann.access, &dm, "mentions").await.expect_status(200, "a DM's level");
    set_level(host, &laptop.access, &general, "all").await.expect_status(200, "#general from the laptop");
    let mut expected =
        vec![(launch.clone(), "nothing".to_owned()), (dm.clone(), "mentions".into()), (general.clone(), "all".into())];
    expected.sort();
    assert_eq!(levels(&settings(host, &ann.access).await), expected, "one level per channel, by id");
    for s in settings(host, &ann.access).await["channels"].as_array().unwrap() {
        assert_eq!(s["workspace_id"], ws.as_str());
    }

    // Back to the default: the channel leaves the list.
    let r = set_level(host, &ann.access, &launch, "default").await;
    r.expect_status(200, "back to the default");
    assert_eq!(r.body["level"], "default");
    expected.retain(|(c, _)| *c != launch);
    assert_eq!(levels(&settings(host, &ann.access).await), expected);

    // Leaving forgets the level; joining again starts from the default.
    set_level(host, &ann.access, &launch, "all").await.expect_status(200, "all of #launch");
    host.post_empty(&format!("/api/v1/channels/{launch}/leave"), Some(&ann.access)).await.expect_status(204, "leave");
    assert_eq!(levels(&settings(host, &ann.access).await), expected, "left: forgotten");
    host.join_channel(&ann.access, &launch).await.expect_status(200, "join again");
    assert_eq!(levels(&settings(host, &ann.access).await), expected, "joined again: the default");

    // Do not disturb: for a while, until turned off, off.
    let before = now_ms();
    let r = set_dnd(host, &laptop.access, json!({ "do_not_disturb": true, "minutes": 60 })).await;
    r.expect_status(200, "an hour of quiet");
    let until = r.body["notifications"]["dnd_until_ms"].as_i64().expect("a timed do not disturb has an end");
    assert_eq!(r.body["notifications"]["do_not_disturb"], true);
    assert!((before + 59 * 60_000..=now_ms() + 61 * 60_000).contains(&until), "ends in an hour: {until} vs {before}");
    phone_ws.next_notifications_changed().await;
    assert_eq!(settings(host, &ann.access).await["do_not_disturb"], true, "the phone sees it too");
    let r = set_dnd(host, &ann.access, json!({ "do_not_disturb": true })).await;
    r.expect_status(200, "quiet until turned off");
    assert_eq!(r.body["notifications"]["do_not_disturb"], true);
    assert_eq!(r.body["notifications"]["dnd_until_ms"], Value::Null);
    let r = set_dnd(host, &ann.access, json!({ "do_not_disturb": false })).await;
    r.expect_status(200, "off");
    assert_eq!(
        (r.body["notifications"]["do_not_disturb"].clone(), r.body["notifications"]["dnd_until_ms"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(levels(&r.body["notifications"]).len(), expected.len(), "levels untouched by do not disturb");

    // Nothing of Ann's reached Bob, whose own settings are untouched.
    let heard = bob_ws.ping(1).await;
    assert!(!heard.iter().any(|f| matches!(f, ServerFrame::NotificationsChanged {})), "Bob heard: {heard:?}");
    assert_eq!(settings(host, &bob.access).await, fresh, "Bob's are his own");

    // A removed member's levels in that workspace stop being listed.
    set_level(host, &bob.access, &general, "nothing").await.expect_status(200, "Bob mutes #general");
    assert_eq!(levels(&settings(host, &bob.access).await).len(), 1);
    let r = host
        .send(host.request(
            Method::DELETE,
            &format!("/api/v1/workspaces/{ws}/members/{}", bob.user_id),
            Some(&ann.access),
        ))
        .await;
    r.expect_status(204, "remove Bob");
    let bob = host.login("bob@example.com").await;
    assert_eq!(settings(host, &bob.access).await, fresh, "no levels from a workspace Bob is not in");
    for ws in [phone_ws, laptop_ws, bob_ws] {
        ws.close().await;
    }
}

async fn bad_preferences_are_refused_and_change_nothing(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    let random = host.create_channel(&ann.access, &ws, "random", "public").await;
    let bob = host.signup("bob@example.com").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    set_level(host, &ann.access, &general, "mentions").await.expect_status(200, "a level to keep");
    set_dnd(host, &ann.access, json!({ "do_not_disturb": true })).await.expect_status(200, "dnd on");
    let before = settings(host, &ann.access).await;

    for (what, body) in [
        ("an unknown level", json!({ "level": "loud" })),
        ("a level in capitals", json!({ "level": "All" })),
        ("a number", json!({ "level": 3 })),
        ("no level", json!({})),
        ("an unknown field", json!({ "level": "all", "sound": "ding" })),
    ] {
        let path = format!("/api/v1/channels/{general}/notifications");
        let r = host.send(host.request(Method::PUT, &path, Some(&ann.access)).json(&body)).await;
        r.expect_error(422, "validation_failed", what);
    }
    for (what, body) in [
        ("zero minutes", json!({ "do_not_disturb": true, "minutes": 0 })),
        ("over a week", json!({ "do_not_disturb": true, "minutes": 10081 })),
        ("negative minutes", json!({ "do_not_disturb": true, "minutes": -1 })),
        ("minutes while turning it off", json!({ "do_not_disturb": false, "minutes": 5 })),
        ("no switch", json!({ "minutes": 5 })),
        ("a string switch", json!({ "do_not_disturb": "yes" })),
        ("an unknown field", json!({ "do_not_disturb": false, "until": 5 })),
    ] {
        set_dnd(host, &ann.access, body).await.expect_error(422, "validation_failed", what);
    }
    let r = host
        .send(
            host.request(Method::PUT, &format!("/api/v1/channels/{general}/notifications"), Some(&ann.access))
                .body("level=all"),
        )
        .await;
    assert_eq!(r.status, 415, "not JSON: {r:?}");
    // Not a member of #random (Ann left it), a channel that does not exist, a malformed id.
    host.post_empty(&format!("/api/v1/channels/{random}/leave"), Some(&ann.access)).await.expect_status(204, "leave");
    set_level(host, &ann.access, &random, "all").await.expect_error(403, "forbidden", "not a member");
    let nowhere = "5b8a3f7e-2f0c-4c61-9a43-0d6f2b9e7c10";
    set_level(host, &ann.access, nowhere, "all").await.expect_error(404, "not_found", "no such channel");
    set_level(host, &ann.access, "not-a-uuid", "all").await.expect_error(404, "not_found", "a malformed id");
    assert_eq!(settings(host, &ann.access).await, before, "nothing changed");
    assert_eq!(settings(host, &bob.access).await["channels"], json!([]), "nor for anyone else");
}

crate::common::both_targets!(
    preferences_follow_the_user_to_every_device,
    bad_preferences_are_refused_and_change_nothing
);

/// A timed do not disturb ends by itself: its end is moved into the past in the database
/// (waiting out the shortest, a minute, would only slow the suite down).
#[tokio::test(flavor = "multi_thread")]
async fn a_timed_do_not_disturb_runs_out() {
    let db = ocomms_testsupport::fresh_db().await.expect("a test database");
    let host =
        Target::Host.start_with(HostOptions { database_url: Some(db.url.clone()), ..HostOptions::default() }).await;
    let ann = host.signup("ann@example.com").await;
    set_dnd(&host, &ann.access, json!({ "do_not_disturb": true, "minutes": 5 }))
        .await
        .expect_status(200, "on for 5 minutes");
    assert_eq!(settings(&host, &ann.access).await["do_not_disturb"], true);
    let pg = db.connect().await.expect("connect to the test database");
    let moved = pg
        .execute("UPDATE users SET dnd_until = now() - interval '1 second' WHERE email = 'ann@example.com'", &[])
        .await
        .expect("move the end into the past");
    assert_eq!(moved, 1);
    let after = settings(&host, &ann.access).await;
    assert_eq!(
        (after["do_not_disturb"].clone(), after["dnd_until_ms"].clone()),
        (json!(false), Value::Null),
        "ran out"
    );
}
