//! What apps receive, end to end, checked by a Slack app written with Python's slack-sdk
//! (tests/slack/app_server.py), whose `SignatureVerifier` checks every request we sign:
//! slash commands with their acknowledgement and `response_url`, event subscriptions with
//! the `url_verification` handshake, retries, the dead-letter state and the delivery log,
//! outgoing webhooks, the refusal of private addresses, and a host killed mid-delivery.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;

use crate::common::{Host, HostOptions, Session, WAIT, workspace_root};
use crate::integrations::{make_app, slack_python};

/// The app at 127.0.0.1 is an internal app: the operator allows it; every other loopback,
/// private or link-local address stays refused. Retries come after a second, not minutes.
fn options() -> HostOptions {
    HostOptions {
        variables: vec![("OUTBOUND_ALLOW", "127.0.0.1".to_owned()), ("DELIVERY_RETRY_SECS", "1,1,1".to_owned())],
        ..HostOptions::default()
    }
}

/// The Python app, running until dropped.
struct AppServer {
    base: String,
    _child: tokio::process::Child,
}

impl AppServer {
    async fn start(signing_secret: &str) -> AppServer {
        let mut child = tokio::process::Command::new(slack_python())
            .arg(workspace_root().join("tests/slack/app_server.py"))
            .arg(signing_secret)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the Python app");
        let stdout = child.stdout.take().expect("its stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("the app prints its address in time")
            .expect("read its stdout")
            .expect("a line");
        let base = line.strip_prefix("listening on ").expect("its address line").to_owned();
        AppServer { base, _child: child }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn log(&self) -> Vec<Value> {
        let r = reqwest::get(self.url("/log")).await.expect("the app's log");
        r.json().await.expect("its log is JSON")
    }

    /// Requests to `path` so far.
    async fn got(&self, path: &str) -> Vec<Value> {
        self.log().await.into_iter().filter(|e| e["path"] == path).collect()
    }

    /// Waits until `done` holds of the requests to `path`, and returns them.
    async fn wait_for(&self, path: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let got = self.got(path).await;
            if done(&got) {
                return got;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "{what}: the app got {got:#?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn control(&self, knobs: Value) {
        let r = reqwest::Client::new().post(self.url("/control")).json(&knobs).send().await.expect("control");
        assert!(r.status().is_success());
    }
}

async fn signing_secret(host: &Host, admin: &Session, ws: &str, app: &str) -> String {
    let listed = host.get(&format!("/api/v1/workspaces/{ws}/apps"), Some(&admin.access)).await;
    listed.expect_status(200, "list apps");
    let found = listed.body["apps"].as_array().unwrap().iter().find(|a| a["id"] == app).cloned();
    let secret = found.expect("the app")["signing_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32, "{secret}");
    secret
}

async fn put(host: &Host, path: &str, token: &str, body: Value) -> crate::common::Reply {
    host.send(host.request(Method::PUT, path, Some(token)).json(&body)).await
}

async fn invoke(host: &Host, who: &Session, channel: &str, command: &str, text: &str) -> crate::common::Reply {
    host.post(
        &format!("/api/v1/channels/{channel}/commands"),
        Some(&who.access),
        json!({ "command": command, "text": text }),
    )
    .await
}

/// The bot's messages in the channel, as the reader sees them.
async fn bot_texts(host: &Host, reader: &Session, channel: &str, bot: &str) -> Vec<String> {
    let history = host.history(&reader.access, channel).await;
    history.iter().filter(|m| m["author_id"] == bot).map(|m| m["text"].as_str().unwrap().to_owned()).collect()
}

async fn slash_commands_reach_the_app_signed(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    let (app, bot) = make_app(host, &ann, &ws, "Deployer").await;
    let secret = signing_secret(host, &ann, &ws, &app).await;
    let server = AppServer::start(&secret).await;

    // Admins add commands; the URL must be http(s), and not private unless allowed.
    let path = format!("/api/v1/workspaces/{ws}/apps/{app}/commands");
    let body =
        |name: &str, url: &str| json!({ "name": name, "url": url, "description": "Ships it", "usage_hint": "[env]" });
    host.post(&path, Some(&bob.access), body("/deploy", &server.url("/commands"))).await.expect_error(
        403,
        "forbidden",
        "a member adds a command",
    );
    for (name, url, what) in [
        ("/deploy", "http://10.0.0.8/commands", "a private address"),
        ("/deploy", "http://169.254.169.254/latest", "the metadata address"),
        ("/deploy", "http://localhost:9/x", "localhost"),
        ("/deploy", "http://0x7f000002:9/x", "loopback written in hexadecimal"),
        ("/deploy", "ftp://example.com/x", "not http"),
        ("/no way", &server.url("/commands"), "a bad name"),
    ] {
        host.post(&path, Some(&ann.access), body(name, url)).await.expect_error(422, "validation_failed", what);
    }
    let r = host.post(&path, Some(&ann.access), body("/Deploy", &server.url("/commands"))).await;
    r.expect_status(201, "add /deploy");
    assert_eq!(r.body["command"]["name"], "deploy");
    host.post(&path, Some(&ann.access), body("deploy", &server.url("/commands"))).await.expect_error(
        409,
        "conflict",
        "a second /deploy",
    );
    // Every member sees the commands (the composer completes them); other workspaces do not.
    let listed = host.get(&format!("/api/v1/workspaces/{ws}/commands"), Some(&bob.access)).await;
    listed.expect_status(200, "list commands");
    assert_eq!(
        listed.body["commands"],
        json!([{ "name": "deploy", "description": "Ships it", "usage_hint": "[env]", "app_name": "Deployer" }])
    );
    host.get(&format!("/api/v1/workspaces/{ws}/commands"), Some(&eve.access)).await.expect_error(
        404,
        "not_found",
        "Eve lists Acme's commands",
    );

    // The default answer is for the invoking user alone.
    let r = invoke(host, &bob, &general, "/deploy", "prod").await;
    if r.status != 200 {
        panic!("{}: the app got {:#?}", r.text, server.log().await);
    }
    assert_eq!(r.body["response_type"], "ephemeral");
    assert_eq!(r.body["message"]["text"], "you said prod");
    assert_eq!(r.body["message"]["ephemeral"], true);
    let got = server.got("/commands").await;
    assert_eq!(got.len(), 1);
    let form = &got[0]["body"];
    assert_eq!(got[0]["verified"], true, "slack-sdk's SignatureVerifier accepts our signature: {got:?}");
    assert_eq!(form["command"], "/deploy");
    assert_eq!(form["text"], "prod");
    assert_eq!(form["user_id"], bob.user_id.as_str());
    assert_eq!(form["user_name"], "bob");
    assert_eq!(form["channel_id"], general.as_str());
    assert_eq!(form["channel_name"], "general");
    assert_eq!(form["team_id"], ws.as_str());
    assert_eq!(form["api_app_id"], app.as_str());
    assert!(form["trigger_id"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(form["response_url"].as_str().unwrap().contains("/hooks/response/"), "{form}");
    assert!(bot_texts(host, &ann, &general, &bot).await.is_empty(), "an ephemeral answer is not stored");

    // in_channel: the channel sees the invocation, then the answer, from the app's bot.
    let r = invoke(host, &bob, &general, "/deploy", "in_channel shipped").await;
    r.expect_status(200, "/deploy in_channel");
    assert_eq!(r.body["response_type"], "in_channel");
    let history = host.history(&ann.access, &general).await;
    let texts: Vec<&str> = history.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts[texts.len() - 2..], ["/deploy in_channel shipped", "done: shipped"]);
    assert_eq!(history.last().unwrap()["bot"]["name"], "Deployer");

    // Later answers through the response_url: to the user, and to the channel.
    let r = invoke(host, &bob, &general, "/deploy", "later build 7").await;
    r.expect_status(200, "/deploy later");
    assert_eq!(r.body["response_type"], Value::Null, "an empty acknowledgement shows nothing");
    let got = server
        .wait_for("/commands", "the later answers", |g| g.last().is_some_and(|e| e["response_url_answers"].is_array()))
        .await;
    assert_eq!(got.last().unwrap()["response_url_answers"], json!([[200, "ok"], [200, "ok"]]));
    assert_eq!(bot_texts(host, &ann, &general, &bot).await.last().map(String::as_str), Some("everyone: build 7"));
    // Five answers, as Slack allows; the sixth is refused.
    invoke(host, &bob, &general, "/deploy", "spam").await.expect_status(200, "/deploy spam");
    let got = server
        .wait_for("/commands", "the spam answers", |g| g.last().is_some_and(|e| e["response_url_answers"].is_array()))
        .await;
    let statuses: Vec<i64> = got.last().unwrap()["response_url_answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a[0].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    assert_eq!(got.last().unwrap()["response_url_answers"][5][1], "used_url");
    let r = host.http().post(host.url("/hooks/response/not-a-token")).body("{\"text\":\"x\"}").send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.text().await.unwrap()), (404, "no_service".to_owned()));

    // An app that does not answer within three seconds fails the command, clearly.
    let r = invoke(host, &bob, &general, "/deploy", "slow").await;
    r.expect_error(503, "unavailable", "a slow app");
    assert!(r.text.contains("operation_timeout"), "{}", r.text);
    // An answer past 1 MiB is not read.
    let r = invoke(host, &bob, &general, "/deploy", "huge").await;
    r.expect_error(503, "unavailable", "a huge answer");
    assert!(r.text.contains("over the size limit"), "{}", r.text);
    // Unknown commands, and channels the caller cannot post in.
    invoke(host, &bob, &general, "/nope", "").await.expect_error(404, "not_found", "an unknown command");
    invoke(host, &eve, &general, "/deploy", "x").await.expect_error(404, "not_found", "Eve in Acme's #general");
    invoke(host, &bob, &general, "/de ploy", "x").await.expect_error(422, "validation_failed", "a bad name");

    // A removed command is gone; so are the commands of a revoked app.
    let id = host.get(&format!("/api/v1/workspaces/{ws}/apps"), Some(&ann.access)).await.body["apps"][0]["commands"][0]
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = host
        .send(host.request(Method::DELETE, &format!("/api/v1/workspaces/{ws}/commands/{id}"), Some(&ann.access)))
        .await;
    r.expect_status(204, "remove /deploy");
    invoke(host, &bob, &general, "/deploy", "x").await.expect_error(404, "not_found", "a removed command");
}

async fn events_reach_subscribed_apps_in_order(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    let (app, bot) = make_app(host, &ann, &ws, "Watcher").await;
    let secret = signing_secret(host, &ann, &ws, &app).await;
    let server = AppServer::start(&secret).await;
    let events_path = format!("/api/v1/workspaces/{ws}/apps/{app}/events");
    let all = ["message.channels", "app_mention", "reaction_added", "member_joined_channel"];

    // The URL must pass Slack's url_verification handshake before it is kept.
    put(host, &events_path, &ann.access, json!({ "url": server.url("/wrong"), "events": all })).await.expect_error(
        422,
        "validation_failed",
        "a URL that is not the app",
    );
    put(host, &events_path, &ann.access, json!({ "url": server.url("/events"), "events": ["message"] }))
        .await
        .expect_error(422, "validation_failed", "an unknown event");
    put(host, &events_path, &bob.access, json!({ "url": server.url("/events"), "events": all })).await.expect_error(
        403,
        "forbidden",
        "a member subscribes the app",
    );
    let r = put(host, &events_path, &ann.access, json!({ "url": server.url("/events"), "events": all })).await;
    r.expect_status(200, "subscribe");
    assert_eq!(r.body["app"]["events_url"], server.url("/events"));
    assert_eq!(server.got("/wrong").await.len(), 1, "the wrong URL was tried");
    let handshake = server.got("/events").await;
    assert_eq!(handshake.len(), 1, "{handshake:?}");
    assert_eq!(handshake[0]["body"]["type"], "url_verification");
    assert_eq!(handshake[0]["verified"], true);

    // Nothing yet: the bot is in no channel. It joins #general, then hears what happens there.
    let quiet = host.create_channel(&ann.access, &ws, "quiet", "public").await;
    host.join_channel(&bob.access, &quiet).await.expect_status(200, "Bob joins #quiet");
    host.post_message(&bob.access, &quiet, "before the bot joined anywhere").await;
    let r = host
        .post(&format!("/api/v1/channels/{general}/members"), Some(&ann.access), json!({ "user_ids": [bot] }))
        .await;
    r.expect_status(200, "add the bot to #general");
    host.post_message(&bob.access, &general, &format!("hello <@{bot}> please deploy")).await;
    let history = host.history(&bob.access, &general).await;
    let hello = history.last().unwrap()["id"].as_str().unwrap().to_owned();
    let r = host
        .post(&format!("/api/v1/messages/{hello}/reactions"), Some(&ann.access), json!({ "emoji": ":tada:" }))
        .await;
    r.expect_status(201, "react");
    host.post_message(&bob.access, &quiet, "the bot is not here").await;
    host.post_message(&bob.access, &general, "last").await;

    let got = server.wait_for("/events", "five events", |g| g.len() >= 6).await; // the handshake, then five
    let events: Vec<&Value> = got[1..].iter().map(|e| &e["body"]).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"]["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["member_joined_channel", "message", "app_mention", "reaction_added", "message"], "{events:#?}");
    assert!(got[1..].iter().all(|e| e["verified"] == true && e["retry_num"].is_null()), "{got:#?}");
    for e in &events {
        assert_eq!(e["type"], "event_callback");
        assert_eq!(e["team_id"], ws.as_str());
        assert_eq!(e["api_app_id"], app.as_str());
        assert_eq!(e["authorizations"][0]["user_id"], bot.as_str());
        assert_eq!(e["event"]["channel"].as_str().or(e["event"]["item"]["channel"].as_str()), Some(general.as_str()));
    }
    let ids: std::collections::BTreeSet<&str> = events.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5, "distinct event ids");
    assert_eq!(events[0]["event"]["user"], bot.as_str());
    assert_eq!(events[1]["event"]["text"], format!("hello <@{bot}> please deploy"));
    assert_eq!(events[1]["event"]["channel_type"], "channel");
    assert_eq!(events[1]["event"]["user"], bob.user_id.as_str());
    assert_eq!(events[2]["event"]["ts"], events[1]["event"]["ts"]);
    assert_eq!(events[3]["event"]["reaction"], "tada");
    assert_eq!(events[3]["event"]["item_user"], bob.user_id.as_str());
    assert_eq!(events[3]["event"]["item"]["ts"], events[1]["event"]["ts"]);
    assert_eq!(events[4]["event"]["text"], "last");

    // A failing app is retried with Slack's headers, then succeeds.
    server.control(json!({ "fail_events": 2 })).await;
    host.post_message(&bob.access, &general, "retried").await;
    let got = server.wait_for("/events", "a retried event", |g| g.len() >= 6 + 3).await;
    let tries = &got[6..9];
    assert!(tries.iter().all(|t| t["body"]["event"]["text"] == "retried"), "{tries:#?}");
    assert_eq!(tries[0]["body"]["event_id"], tries[2]["body"]["event_id"], "a retry is the same event");
    let retry: Vec<(&Value, &Value)> = tries.iter().map(|t| (&t["retry_num"], &t["retry_reason"])).collect();
    assert_eq!(
        retry,
        [(&Value::Null, &Value::Null), (&json!("1"), &json!("http_error")), (&json!("2"), &json!("http_error"))]
    );

    // One that keeps failing ends in the dead-letter state, and later events wait their turn.
    server.control(json!({ "fail_events": 4 })).await;
    host.post_message(&bob.access, &general, "doomed").await;
    host.post_message(&bob.access, &general, "after the doomed one").await;
    let got = server.wait_for("/events", "four tries, then the next event", |g| g.len() >= 9 + 5).await;
    let texts: Vec<&str> = got[9..14].iter().map(|t| t["body"]["event"]["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["doomed", "doomed", "doomed", "doomed", "after the doomed one"]);
    let log_path = format!("/api/v1/workspaces/{ws}/apps/{app}/deliveries");
    host.get(&log_path, Some(&bob.access)).await.expect_error(403, "forbidden", "a member reads the delivery log");
    let log = host.get(&log_path, Some(&ann.access)).await;
    log.expect_status(200, "the delivery log");
    let doomed = log.body["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["state"] == "failed")
        .cloned()
        .unwrap_or_else(|| panic!("a failed delivery in {}", log.text));
    assert_eq!((doomed["attempts"].as_i64(), doomed["last_status"].as_i64()), (Some(4), Some(500)), "{doomed}");
    assert_eq!(doomed["what"], "message");
    assert!(doomed["last_error"].as_str().unwrap().starts_with("http_error"), "{doomed}");
    assert!(log.body["deliveries"].as_array().unwrap().iter().filter(|d| d["state"] == "delivered").count() >= 7);
    // An admin sends it again.
    let r =
        host.post_empty(&format!("/api/v1/workspaces/{ws}/deliveries/{}/retry", doomed["id"]), Some(&ann.access)).await;
    r.expect_status(204, "retry the dead letter");
    let got = server.wait_for("/events", "the dead letter sent again", |g| g.len() >= 15).await;
    assert_eq!(got[14]["body"]["event"]["text"], "doomed");
    let r =
        host.post_empty(&format!("/api/v1/workspaces/{ws}/deliveries/{}/retry", doomed["id"]), Some(&ann.access)).await;
    r.expect_error(404, "not_found", "a delivered one is not retried");

    // Unsubscribed, the app hears nothing more.
    put(host, &events_path, &ann.access, json!({ "url": null, "events": [] })).await.expect_status(200, "unsubscribe");
    host.post_message(&bob.access, &general, "unheard").await;
    // Outgoing webhooks share the queue: once this one arrives, "unheard" would have too.
    let r = host
        .post(
            &format!("/api/v1/workspaces/{ws}/apps/{app}/outgoing-hooks"),
            Some(&ann.access),
            json!({ "trigger_words": ["!ping"], "url": server.url("/outgoing") }),
        )
        .await;
    r.expect_status(201, "an outgoing webhook");
    let token = r.str_at("/outgoing_hook/token");
    host.post_message(&bob.access, &quiet, "!ping from quiet").await;
    let hooked = server.wait_for("/outgoing", "the outgoing webhook", |g| !g.is_empty()).await;
    assert_eq!(hooked[0]["verified"], true);
    let form = &hooked[0]["body"];
    assert_eq!((form["token"].as_str(), form["trigger_word"].as_str()), (Some(token.as_str()), Some("!ping")));
    assert_eq!((form["channel_name"].as_str(), form["user_name"].as_str()), (Some("quiet"), Some("bob")));
    assert_eq!(form["text"], "!ping from quiet");
    assert_eq!(server.got("/events").await.len(), 15, "nothing after unsubscribing");
    // The app's answer is posted by its bot, and does not trigger the hook again.
    let started = Instant::now();
    while bot_texts(host, &bob, &quiet, &bot).await.is_empty() {
        assert!(started.elapsed() < WAIT, "the outgoing webhook's answer was not posted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(bot_texts(host, &bob, &quiet, &bot).await, ["pong: !ping from quiet"]);
    host.post_message(&bob.access, &quiet, "no trigger word here").await;
    host.post_message(&bob.access, &quiet, "!PING again").await;
    let hooked = server.wait_for("/outgoing", "the second trigger", |g| g.len() >= 2).await;
    assert_eq!(hooked.len(), 2, "{hooked:#?}");
}

/// A host killed while an app holds a delivery sends it again after restart: at least once.
async fn a_host_killed_mid_delivery_delivers_after_restart(host: &mut Host) {
    let ann = host.signup("ann@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    let (app, bot) = make_app(host, &ann, &ws, "Patient").await;
    let secret = signing_secret(host, &ann, &ws, &app).await;
    let server = AppServer::start(&secret).await;
    let events_path = format!("/api/v1/workspaces/{ws}/apps/{app}/events");
    let r =
        put(host, &events_path, &ann.access, json!({ "url": server.url("/events"), "events": ["message.channels"] }))
            .await;
    r.expect_status(200, "subscribe");
    let r = host
        .post(&format!("/api/v1/channels/{general}/members"), Some(&ann.access), json!({ "user_ids": [bot] }))
        .await;
    r.expect_status(200, "add the bot");
    // The app takes two seconds to answer; the host dies before it does.
    server.control(json!({ "hold_events_ms": 2000 })).await;
    host.post_message(&ann.access, &general, "survives a crash").await;
    server
        .wait_for("/events", "the first try", |g| g.iter().any(|e| e["body"]["event"]["text"] == "survives a crash"))
        .await;
    host.kill().await;
    server.control(json!({ "hold_events_ms": 0 })).await;
    host.restart().await;
    let got = server
        .wait_for("/events", "the same event again", |g| {
            g.iter().filter(|e| e["body"]["event"]["text"] == "survives a crash").count() >= 2
        })
        .await;
    let tries: Vec<&Value> = got.iter().filter(|e| e["body"]["event"]["text"] == "survives a crash").collect();
    assert_eq!(tries[0]["body"]["event_id"], tries[1]["body"]["event_id"]);
    assert_eq!(tries[1]["retry_num"], "1");
    // Delivered now, and only once more.
    let log = host.get(&format!("/api/v1/workspaces/{ws}/apps/{app}/deliveries"), Some(&ann.access)).await;
    let started = Instant::now();
    let mut log = log;
    while log.body["deliveries"][0]["state"] != "delivered" {
        assert!(started.elapsed() < WAIT, "not marked delivered: {}", log.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
        log = host.get(&format!("/api/v1/workspaces/{ws}/apps/{app}/deliveries"), Some(&ann.access)).await;
    }
    assert_eq!(log.body["deliveries"][0]["attempts"], 2);
}

/// At the edge, a retry due later than the requests' follow-up rounds is sent by the Cron
/// Trigger (run here on demand through `wrangler dev --test-scheduled`).
async fn the_cron_trigger_sends_later_retries(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    let (app, bot) = make_app(host, &ann, &ws, "Later").await;
    let secret = signing_secret(host, &ann, &ws, &app).await;
    let server = AppServer::start(&secret).await;
    let events_path = format!("/api/v1/workspaces/{ws}/apps/{app}/events");
    let r =
        put(host, &events_path, &ann.access, json!({ "url": server.url("/events"), "events": ["message.channels"] }))
            .await;
    r.expect_status(200, "subscribe");
    let r = host
        .post(&format!("/api/v1/channels/{general}/members"), Some(&ann.access), json!({ "user_ids": [bot] }))
        .await;
    r.expect_status(200, "add the bot");
    server.control(json!({ "fail_events": 1 })).await;
    host.post_message(&ann.access, &general, "eventually").await;
    server.wait_for("/events", "the first try", |g| g.len() >= 2).await;
    // The retry falls due after 21 s, past the 20 s the request's rounds follow.
    tokio::time::sleep(Duration::from_secs(22)).await;
    assert_eq!(server.got("/events").await.len(), 2, "nothing but the cron sends the retry");
    let r = host.http().get(host.url("/cdn-cgi/handler/scheduled?cron=*+*+*+*+*")).send().await.expect("run the cron");
    assert!(r.status().is_success(), "{r:?}");
    let got = server.wait_for("/events", "the retry", |g| g.len() >= 3).await;
    assert_eq!(
        (got[2]["body"]["event"]["text"].as_str(), got[2]["retry_num"].as_str()),
        (Some("eventually"), Some("1"))
    );
}

mod host {
    use std::time::Duration;

    /// With nothing queued the host runs no rounds of app deliveries (each is a component
    /// instance and queries) or of mail: an empty queue is "nothing due", not "due now".
    #[tokio::test(flavor = "multi_thread")]
    async fn empty_queues_run_no_rounds() {
        const COUNTERS: [&str; 2] = ["ocomms_component_instantiations_total ", "ocomms_mail_rounds_total "];
        let host = crate::common::Target::Host.start_with(super::options()).await;
        // The round each runner makes when it starts listening.
        tokio::time::sleep(Duration::from_millis(500)).await;
        for name in COUNTERS {
            let before = crate::deadline::metric(&host, name).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = crate::deadline::metric(&host, name).await;
            assert!(after - before <= 1, "{name}went from {before} to {after} in 2 s with nothing queued");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn slash_commands_reach_the_app_signed() {
        let host = crate::common::Target::Host.start_with(super::options()).await;
        super::slash_commands_reach_the_app_signed(&host).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn events_reach_subscribed_apps_in_order() {
        let host = crate::common::Target::Host.start_with(super::options()).await;
        super::events_reach_subscribed_apps_in_order(&host).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_host_killed_mid_delivery_delivers_after_restart() {
        let mut host = crate::common::Target::Host.start_with(super::options()).await;
        super::a_host_killed_mid_delivery_delivers_after_restart(&mut host).await;
    }
}

mod edge {
    #[tokio::test(flavor = "multi_thread")]
    async fn the_cron_trigger_sends_later_retries() {
        let options = crate::common::HostOptions {
            variables: vec![("OUTBOUND_ALLOW", "127.0.0.1".to_owned()), ("DELIVERY_RETRY_SECS", "21".to_owned())],
            ..crate::common::HostOptions::default()
        };
        let host = crate::common::Target::Edge.start_with(options).await;
        super::the_cron_trigger_sends_later_retries(&host).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn slash_commands_reach_the_app_signed() {
        let host = crate::common::Target::Edge.start_with(super::options()).await;
        super::slash_commands_reach_the_app_signed(&host).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn events_reach_subscribed_apps_in_order() {
        let host = crate::common::Target::Edge.start_with(super::options()).await;
        super::events_reach_subscribed_apps_in_order(&host).await;
    }
}

mod spin {
    #[tokio::test(flavor = "multi_thread")]
    async fn slash_commands_reach_the_app_signed() {
        if !crate::common::spin_available("app_delivery::spin::slash_commands_reach_the_app_signed") {
            return;
        }
        let host = crate::common::Target::Spin.start_with(super::options()).await;
        super::slash_commands_reach_the_app_signed(&host).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn events_reach_subscribed_apps_in_order() {
        if !crate::common::spin_available("app_delivery::spin::events_reach_subscribed_apps_in_order") {
            return;
        }
        let host = crate::common::Target::Spin.start_with(super::options()).await;
        super::events_reach_subscribed_apps_in_order(&host).await;
    }
}
