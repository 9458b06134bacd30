//! Integrations end to end: admins make an app (a bot user) and an incoming webhook for a
//! channel; the hook takes what Slack's takes (JSON or a `payload=` form, mrkdwn, blocks,
//! attachments, name and icon overrides, `thread_ts`) and answers as Slack's does, including
//! its errors and its rate limit. Slack's own SDKs post through it: Python `slack-sdk`
//! (`WebhookClient`) and Node `@slack/webhook`, unmodified but for the URL.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Host, Session, workspace_root};

/// What a hook answered: status, `Retry-After` and the plain-text body.
struct HookReply {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

async fn hook_post(host: &Host, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> HookReply {
    let resp = host
        .http()
        .post(host.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST to the hook");
    let status = resp.status().as_u16();
    let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    HookReply { status, retry_after, body: resp.text().await.unwrap_or_default() }
}

async fn hook_json(host: &Host, path: &str, payload: Value) -> HookReply {
    hook_post(host, path, "application/json", payload.to_string()).await
}

/// An app of the workspace: its id and its bot's user id.
pub(crate) async fn make_app(host: &Host, admin: &Session, ws: &str, name: &str) -> (String, String) {
    let r = host.post(&format!("/api/v1/workspaces/{ws}/apps"), Some(&admin.access), json!({ "name": name })).await;
    r.expect_status(201, "create an app");
    (r.str_at("/app/id"), r.str_at("/app/bot_user_id"))
}

/// A hook of the app for the channel: its id and the path of its URL.
async fn make_hook(host: &Host, admin: &Session, ws: &str, app: &str, channel: &str) -> (String, String) {
    let r = host
        .post(
            &format!("/api/v1/workspaces/{ws}/apps/{app}/hooks"),
            Some(&admin.access),
            json!({ "channel_id": channel }),
        )
        .await;
    r.expect_status(201, "create a hook");
    let url = r.str_at("/url");
    let path = url.find("/hooks/").map(|i| url[i..].to_owned()).unwrap_or_else(|| panic!("a hook URL: {url}"));
    (r.str_at("/hook/id"), path)
}

async fn incoming_webhooks_post_as_their_app(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    let (eve_ws, _) = host.create_workspace(&eve.access, "Elsewhere").await;

    // Only admins make apps; names are unique among a workspace's apps.
    let r = host.post(&format!("/api/v1/workspaces/{ws}/apps"), Some(&bob.access), json!({ "name": "Mine" })).await;
    r.expect_error(403, "forbidden", "a member makes an app");
    let (app, bot) = make_app(host, &ann, &ws, "CI").await;
    let r = host.post(&format!("/api/v1/workspaces/{ws}/apps"), Some(&ann.access), json!({ "name": "ci" })).await;
    r.expect_error(409, "conflict", "a second app named CI");
    let r = host
        .post(
            &format!("/api/v1/workspaces/{eve_ws}/apps/{app}/hooks"),
            Some(&eve.access),
            json!({ "channel_id": general }),
        )
        .await;
    r.expect_error(404, "not_found", "Eve hooks Ann's app from her workspace");
    let (hook, path) = make_hook(host, &ann, &ws, &app, &general).await;
    let listed = host.get(&format!("/api/v1/workspaces/{ws}/apps"), Some(&ann.access)).await;
    listed.expect_status(200, "list apps");
    assert_eq!(listed.body["apps"][0]["hooks"][0]["id"], hook.as_str());
    assert!(!listed.text.contains(path.trim_start_matches("/hooks/")), "the secret is shown once, never listed");

    // JSON with mrkdwn: stored as our markdown, by the bot, under the app's name.
    let r =
        hook_json(host, &path, json!({ "text": "*deploy* of <https://ci.example/42|build 42> done <!here>" })).await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    // A form with `payload=`, and the name and icon overrides.
    let form = format!(
        "payload={}",
        json!({ "text": "_from a form_", "username": "Deployer", "icon_emoji": ":rocket:" })
            .to_string()
            .replace('%', "%25")
            .replace('&', "%26")
            .replace('+', "%2B")
            .replace('=', "%3D")
            .replace(' ', "+")
    );
    let r = hook_post(host, &path, "application/x-www-form-urlencoded", form).await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok"), "a payload= form");
    let history = host.history(&bob.access, &general).await;
    let posted: Vec<&Value> = history.iter().filter(|m| m["author_id"] == bot.as_str()).collect();
    assert_eq!(posted.len(), 2, "{history:?}");
    assert_eq!(posted[0]["text"], "**deploy** of [build 42](https://ci.example/42) done @here");
    assert_eq!(posted[0]["mentions_here"], true);
    assert_eq!(posted[0]["bot"], json!({ "app_id": app, "name": "CI" }));
    assert_eq!(posted[1]["text"], "_from a form_");
    assert_eq!(posted[1]["bot"], json!({ "app_id": app, "name": "Deployer", "icon_emoji": ":rocket:" }));
    // Slack timestamps: seconds.micros, increasing in the channel.
    let ts: Vec<&str> = posted.iter().map(|m| m["ts"].as_str().expect("a ts")).collect();
    assert!(ts.iter().all(|t| t.len() > 7 && t.as_bytes()[t.len() - 7] == b'.'), "{ts:?}");
    assert!(ts[0] < ts[1], "{ts:?}");

    // thread_ts replies in the thread of that message, even when it names a reply.
    let r = hook_json(host, &path, json!({ "text": "first reply", "thread_ts": ts[0] })).await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    let root_id = posted[0]["id"].as_str().unwrap().to_owned();
    let thread = host.get(&format!("/api/v1/messages/{root_id}/thread"), Some(&bob.access)).await;
    thread.expect_status(200, "the thread");
    let reply_ts = thread.body["replies"][0]["ts"].as_str().expect("the reply's ts").to_owned();
    let r =
        hook_json(host, &path, json!({ "text": "second reply", "thread_ts": reply_ts, "reply_broadcast": true })).await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    let thread = host.get(&format!("/api/v1/messages/{root_id}/thread"), Some(&bob.access)).await;
    let replies: Vec<&str> =
        thread.body["replies"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(replies, ["first reply", "second reply"]);
    assert_eq!(thread.body["replies"][1]["also_to_channel"], true);

    // Blocks show instead of the text; their text is what notifications and search use.
    let r = hook_json(
        host,
        &path,
        json!({ "blocks": [
            { "type": "header", "text": { "type": "plain_text", "text": "Release 1.2" } },
            { "type": "section", "text": { "type": "mrkdwn", "text": "*3* fixes" },
              "fields": [{ "type": "mrkdwn", "text": "*Env*\nprod" }] },
            { "type": "divider" },
            { "type": "context", "elements": [{ "type": "mrkdwn", "text": "by <@U123|ci>" }] },
        ], "attachments": [{ "color": "good", "title": "Changelog", "text": "see _notes_" }] }),
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok"), "blocks and attachments");
    let last = host.history(&bob.access, &general).await.last().cloned().unwrap();
    assert_eq!(last["blocks"].as_array().map(Vec::len), Some(4));
    assert_eq!(last["blocks"][1]["text"]["text"], "**3** fixes");
    assert_eq!(last["attachments"][0]["color"], "#2eb67d");
    assert!(last["text"].as_str().unwrap().contains("Release 1.2"), "{last}");

    // Slack's refusals, in Slack's words; none of them posts anything.
    let before = host.history(&bob.access, &general).await.len();
    for (what, reply, status, code) in [
        ("not JSON", hook_post(host, &path, "application/json", "{nope").await, 400, "invalid_payload"),
        (
            "a form without payload",
            hook_post(host, &path, "application/x-www-form-urlencoded", "text=hi").await,
            400,
            "invalid_payload",
        ),
        ("no text", hook_json(host, &path, json!({ "username": "x" })).await, 400, "no_text"),
        (
            "a bad block",
            hook_json(host, &path, json!({ "blocks": [{ "type": "video" }] })).await,
            400,
            "invalid_blocks",
        ),
        (
            "an unknown thread",
            hook_json(host, &path, json!({ "text": "x", "thread_ts": "1.000001" })).await,
            404,
            "thread_not_found",
        ),
        (
            "a malformed thread_ts",
            hook_json(host, &path, json!({ "text": "x", "thread_ts": "soon" })).await,
            400,
            "invalid_thread_ts",
        ),
        ("an unknown hook", hook_json(host, "/hooks/not-a-secret", json!({ "text": "x" })).await, 404, "no_service"),
    ] {
        assert_eq!((reply.status, reply.body.as_str()), (status, code), "{what}");
    }
    assert_eq!(host.history(&bob.access, &general).await.len(), before, "refused posts left nothing");

    // The bot removed from the channel may not post there; archived, the channel is gone.
    let chan = host.create_channel(&ann.access, &ws, "deploys", "public").await;
    let (_, deploys) = make_hook(host, &ann, &ws, &app, &chan).await;
    assert_eq!(hook_json(host, &deploys, json!({ "text": "x" })).await.status, 200);
    let r = host
        .send(host.request(Method::DELETE, &format!("/api/v1/channels/{chan}/members/{bot}"), Some(&ann.access)))
        .await;
    r.expect_status(204, "remove the bot from #deploys");
    let r = hook_json(host, &deploys, json!({ "text": "x" })).await;
    assert_eq!((r.status, r.body.as_str()), (403, "action_prohibited"));
    let archived = host.create_channel(&ann.access, &ws, "old", "public").await;
    let (_, old) = make_hook(host, &ann, &ws, &app, &archived).await;
    host.post_empty(&format!("/api/v1/channels/{archived}/archive"), Some(&ann.access))
        .await
        .expect_status(200, "archive");
    let r = hook_json(host, &old, json!({ "text": "x" })).await;
    assert_eq!((r.status, r.body.as_str()), (410, "channel_is_archived"));

    // A burst passes, then 429 with Retry-After. Posting until the first refusal (the
    // bucket refills at one a second, so any faster poster meets it) keeps this free of
    // timing: how long each post takes does not matter.
    let rl = host.create_channel(&ann.access, &ws, "burst", "public").await;
    let (_, burst) = make_hook(host, &ann, &ws, &app, &rl).await;
    let mut statuses = Vec::new();
    let mut retry = None;
    for i in 0..200 {
        let r = hook_json(host, &burst, json!({ "text": format!("burst {i}") })).await;
        statuses.push(r.status);
        if r.status == 429 {
            assert_eq!(r.body, "rate_limited");
            retry = r.retry_after;
            break;
        }
    }
    assert!(statuses.len() > 20 && statuses[..20].iter().all(|s| *s == 200), "a burst of 20 passes: {statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "then the hook is limited: {statuses:?}");
    assert_eq!(retry.as_deref(), Some("1"));

    // Revoked, the URL answers no_service; so do the hooks of a revoked app.
    let r = host
        .send(host.request(Method::DELETE, &format!("/api/v1/workspaces/{ws}/hooks/{hook}"), Some(&ann.access)))
        .await;
    r.expect_status(204, "revoke the hook");
    assert_eq!(hook_json(host, &path, json!({ "text": "x" })).await.body, "no_service");
    let r = host
        .send(host.request(Method::DELETE, &format!("/api/v1/workspaces/{ws}/apps/{app}"), Some(&ann.access)))
        .await;
    r.expect_status(204, "revoke the app");
    assert_eq!(hook_json(host, &burst, json!({ "text": "x" })).await.body, "no_service");
    // A bot never logs in.
    let r =
        host.post("/api/v1/auth/login", None, json!({ "email": format!("{bot}@bots.invalid"), "password": "" })).await;
    assert!(r.status == 401 || r.status == 422, "{r:?}");
}

pub(crate) fn slack_python() -> PathBuf {
    let python = std::env::var_os("OCOMMS_SLACK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/slack/venv/bin/python"));
    assert!(
        python.is_file(),
        "no Python with slack-sdk at {}: run the tests with `cargo xtask test`",
        python.display()
    );
    python
}

fn slack_node() -> PathBuf {
    let dir = std::env::var_os("OCOMMS_SLACK_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("tests/slack"));
    assert!(
        dir.join("node_modules/@slack/webhook").is_dir(),
        "no @slack/webhook under {}: run the tests with `cargo xtask test`",
        dir.display()
    );
    dir
}

/// Runs one of the SDK clients in tests/slack; its stdout.
async fn run_client(program: PathBuf, script: &str, args: &[&str]) -> String {
    let out = tokio::process::Command::new(program)
        .arg(workspace_root().join("tests/slack").join(script))
        .args(args)
        .current_dir(workspace_root().join("tests/slack"))
        .output()
        .await
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

async fn slacks_own_sdks_post_through_a_hook(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    let (app, bot) = make_app(host, &ann, &ws, "SDKs").await;
    let (_, path) = make_hook(host, &ann, &ws, &app, &general).await;
    let url = host.url(&path);
    run_client(slack_python(), "webhook_client.py", &[&url]).await;
    slack_node();
    run_client(PathBuf::from("node"), "webhook.mjs", &[&url]).await;
    let history = host.history(&ann.access, &general).await;
    let texts: Vec<&str> =
        history.iter().filter(|m| m["author_id"] == bot.as_str()).map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        ["**python** says [hello](https://example.com)", "a section from Python", "_node_ says **hello**",],
        "{history:?}"
    );
    let node = history.iter().find(|m| m["text"] == "_node_ says **hello**").unwrap();
    assert_eq!(node["bot"]["name"], "Node CI");
    assert_eq!(node["bot"]["icon_emoji"], ":rocket:");
}

/// A bot token of the app with these scopes; the token itself.
async fn make_token(host: &Host, admin: &Session, ws: &str, app: &str, scopes: &[&str]) -> String {
    let r = host
        .post(&format!("/api/v1/workspaces/{ws}/apps/{app}/tokens"), Some(&admin.access), json!({ "scopes": scopes }))
        .await;
    r.expect_status(201, "create a token");
    let secret = r.str_at("/secret");
    assert!(secret.starts_with("xoxb-"), "{secret}");
    secret
}

/// A Web API call with a bearer token and a form body, as Slack's SDKs send them.
async fn web_api(host: &Host, method: &str, token: Option<&str>, form: &[(&str, &str)]) -> Value {
    let mut req = host.http().post(host.url(&format!("/api/{method}"))).form(form);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("a Web API call");
    assert_eq!(resp.status().as_u16(), 200, "Slack answers 200 whatever the outcome");
    resp.json().await.expect("a JSON answer")
}

async fn bots_use_the_web_api_with_their_tokens(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    let secret = host.create_channel(&ann.access, &ws, "secret", "private").await;
    let (eve_ws, eve_general) = host.create_workspace(&eve.access, "Elsewhere").await;
    let (app, bot) = make_app(host, &ann, &ws, "Helper").await;

    // Tokens: admins only, known scopes only, shown once.
    let r = host
        .post(
            &format!("/api/v1/workspaces/{ws}/apps/{app}/tokens"),
            Some(&bob.access),
            json!({ "scopes": ["chat:write"] }),
        )
        .await;
    r.expect_error(403, "forbidden", "a member makes a token");
    for bad in [json!({ "scopes": [] }), json!({ "scopes": ["admin"] }), json!({ "scopes": "chat:write" })] {
        let r = host.post(&format!("/api/v1/workspaces/{ws}/apps/{app}/tokens"), Some(&ann.access), bad.clone()).await;
        assert_eq!(r.status, 422, "{bad}: {r:?}");
    }
    let r = host
        .post(
            &format!("/api/v1/workspaces/{eve_ws}/apps/{app}/tokens"),
            Some(&eve.access),
            json!({ "scopes": ["chat:write"] }),
        )
        .await;
    r.expect_error(404, "not_found", "Eve makes a token for Ann's app");
    let token = make_token(host, &ann, &ws, &app, ocomms_core::slack::scopes::ALL).await;
    let narrow = make_token(host, &ann, &ws, &app, &["chat:write"]).await;
    let listed = host.get(&format!("/api/v1/workspaces/{ws}/apps"), Some(&ann.access)).await;
    assert_eq!(listed.body["apps"][0]["tokens"].as_array().map(Vec::len), Some(2));
    assert!(!listed.text.contains(&token), "a token is shown once, never listed");

    // Who the token is.
    let me = web_api(host, "auth.test", Some(&token), &[]).await;
    assert_eq!(
        (me["ok"].as_bool(), me["user_id"].as_str(), me["team_id"].as_str(), me["team"].as_str()),
        (Some(true), Some(bot.as_str()), Some(ws.as_str()), Some("Acme"))
    );
    for (token, error) in [(None, "not_authed"), (Some("xoxb-forged"), "invalid_auth")] {
        let r = web_api(host, "auth.test", token, &[]).await;
        assert_eq!((r["ok"].as_bool(), r["error"].as_str()), (Some(false), Some(error)));
    }
    let r = web_api(host, "chat.fly", Some(&token), &[]).await;
    assert_eq!(r["error"], "unknown_method");

    // A bot posts where it is a member: it joins public channels itself.
    let r = web_api(host, "chat.postMessage", Some(&token), &[("channel", &general), ("text", "x")]).await;
    assert_eq!(r["error"], "not_in_channel");
    let r = web_api(host, "conversations.join", Some(&narrow), &[("channel", &general)]).await;
    assert_eq!(r["needed"], "channels:join");
    let r = web_api(host, "conversations.join", Some(&token), &[("channel", &general)]).await;
    assert_eq!((r["ok"].as_bool(), r["channel"]["is_member"].as_bool()), (Some(true), Some(true)), "{r}");
    let r = web_api(host, "conversations.join", Some(&token), &[("channel", &secret)]).await;
    assert_eq!(r["error"], "channel_not_found", "a private channel is joined by invitation only");

    // Posting: mrkdwn in, mrkdwn back; the message is the bot's, under the app's name.
    let posted =
        web_api(host, "chat.postMessage", Some(&token), &[("channel", &general), ("text", "*bold* <!here>")]).await;
    assert_eq!(posted["ok"], true, "{posted}");
    assert_eq!(posted["message"]["text"], "*bold* <!here>");
    let history = host.history(&bob.access, &general).await;
    let stored = history.iter().find(|m| m["ts"] == posted["ts"]).expect("the posted message");
    assert_eq!((stored["author_id"].as_str(), stored["text"].as_str()), (Some(bot.as_str()), Some("**bold** @here")));
    assert_eq!(stored["bot"]["name"], "Helper");

    // Its own messages it updates and deletes; others' it may not. It reacts, pins and
    // replies where it may post.
    let ts = posted["ts"].as_str().unwrap().to_owned();
    let r =
        web_api(host, "chat.update", Some(&token), &[("channel", &general), ("ts", &ts), ("text", "*edited*")]).await;
    assert_eq!(
        (r["ok"].as_bool(), r["text"].as_str(), r["ts"].as_str()),
        (Some(true), Some("*edited*"), Some(ts.as_str())),
        "{r}"
    );
    let edited = history_message(host, &bob, &general, &ts).await;
    assert_eq!(edited["text"], "**edited**");
    assert!(edited["edited_at_ms"].is_number());
    // Blocks and attachments are replaced when given, kept when not.
    let blocks = json!([{ "type": "section", "text": { "type": "mrkdwn", "text": "*status*: green" } }]).to_string();
    let attachments = json!([{ "color": "good", "text": "all clear" }]).to_string();
    let r = web_api(
        host,
        "chat.update",
        Some(&token),
        &[("channel", &general), ("ts", &ts), ("text", "status"), ("blocks", &blocks), ("attachments", &attachments)],
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["message"]["blocks"][0]["text"]["text"], "*status*: green", "{r}");
    let edited = history_message(host, &bob, &general, &ts).await;
    assert_eq!(edited["blocks"][0]["text"]["text"], "**status**: green");
    assert_eq!(edited["attachments"][0]["text"], "all clear");
    let r =
        web_api(host, "chat.update", Some(&token), &[("channel", &general), ("ts", &ts), ("text", "*edited*")]).await;
    assert_eq!(r["ok"], true, "{r}");
    let edited = history_message(host, &bob, &general, &ts).await;
    assert_eq!((edited["text"].as_str(), edited["blocks"].as_array().map(Vec::len)), (Some("**edited**"), Some(1)));
    let bad = json!([{ "type": "video" }]).to_string();
    let r = web_api(host, "chat.update", Some(&token), &[("channel", &general), ("ts", &ts), ("blocks", &bad)]).await;
    assert_eq!(r["error"], "invalid_blocks");
    let human =
        host.post(&format!("/api/v1/channels/{general}/messages"), Some(&ann.access), json!({ "text": "human" })).await;
    let human_ts = human.str_at("/message/ts");
    let r =
        web_api(host, "chat.update", Some(&token), &[("channel", &general), ("ts", &human_ts), ("text", "mine now")])
            .await;
    assert_eq!(r["error"], "cant_update_message");
    let r = web_api(host, "chat.delete", Some(&token), &[("channel", &general), ("ts", &human_ts)]).await;
    assert_eq!(r["error"], "cant_delete_message");
    for (method, args, error) in [
        ("reactions.add", vec![("name", "tada")], None),
        ("reactions.add", vec![("name", "tada")], Some("already_reacted")),
        ("reactions.add", vec![("name", "no such!")], Some("invalid_name")),
        ("pins.add", vec![], None),
        ("pins.add", vec![], Some("already_pinned")),
    ] {
        let mut form = vec![("channel", general.as_str()), ("timestamp", human_ts.as_str())];
        form.extend(args);
        let r = web_api(host, method, Some(&token), &form).await;
        assert_eq!(r["error"].as_str(), error, "{method}: {r}");
    }
    let seen = history_message(host, &bob, &general, &human_ts).await;
    assert_eq!(seen["reactions"][0]["emoji"], ":tada:");
    assert_eq!(seen["reactions"][0]["user_ids"], json!([bot]));
    assert_eq!(seen["pinned"], true);
    let r = web_api(
        host,
        "reactions.remove",
        Some(&token),
        &[("channel", &general), ("timestamp", &human_ts), ("name", "tada")],
    )
    .await;
    assert_eq!(r["ok"], true);
    let r = web_api(
        host,
        "reactions.remove",
        Some(&token),
        &[("channel", &general), ("timestamp", &human_ts), ("name", "tada")],
    )
    .await;
    assert_eq!(r["error"], "no_reaction");
    let r = web_api(
        host,
        "chat.postMessage",
        Some(&token),
        &[("channel", &general), ("text", "in the thread"), ("thread_ts", &human_ts)],
    )
    .await;
    assert_eq!(r["message"]["thread_ts"], human_ts.as_str());
    let r = web_api(host, "conversations.replies", Some(&token), &[("channel", &general), ("ts", &human_ts)]).await;
    let texts: Vec<&str> = r["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["human", "in the thread"]);
    assert_eq!(r["messages"][1]["thread_ts"], human_ts.as_str());
    let r = web_api(host, "conversations.members", Some(&token), &[("channel", &general)]).await;
    let mut members: Vec<String> =
        r["members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_owned()).collect();
    members.sort();
    let mut expected = vec![ann.user_id.clone(), bob.user_id.clone(), bot.clone()];
    expected.sort();
    assert_eq!(members, expected);
    let r = web_api(host, "chat.delete", Some(&token), &[("channel", &general), ("ts", &ts)]).await;
    assert_eq!((r["ok"].as_bool(), r["ts"].as_str()), (Some(true), Some(ts.as_str())));
    assert!(host.history(&bob.access, &general).await.iter().all(|m| m["ts"] != ts.as_str() || m["deleted"] == true));

    // An ephemeral message reaches only its user's windows, and is not stored.
    let (mut bob_ws, _) = crate::common::Ws::connect(host, &bob.access, false).await;
    let (mut ann_ws, _) = crate::common::Ws::connect(host, &ann.access, true).await;
    let r = web_api(
        host,
        "chat.postEphemeral",
        Some(&token),
        &[("channel", &general), ("user", &bob.user_id), ("text", "only *you*")],
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    let note = loop {
        if let ocomms_core::event::ServerFrame::Ephemeral { message } = bob_ws.next_significant().await {
            break message;
        }
    };
    assert_eq!(
        (note["text"].as_str(), note["ephemeral"].as_bool(), note["ts"].as_str()),
        (Some("only **you**"), Some(true), r["message_ts"].as_str())
    );
    assert_eq!(note["bot"]["name"], "Helper");
    let heard = ann_ws.ping(7).await;
    assert!(
        !heard.iter().any(|f| matches!(f, ocomms_core::event::ServerFrame::Ephemeral { .. })),
        "Ann heard: {heard:?}"
    );
    assert!(host.history(&bob.access, &general).await.iter().all(|m| m["text"] != "only **you**"), "never stored");
    let r = web_api(
        host,
        "chat.postEphemeral",
        Some(&token),
        &[("channel", &general), ("user", &eve.user_id), ("text", "x")],
    )
    .await;
    assert_eq!(r["error"], "user_not_in_channel");

    // What the bot may not see is not found; scopes are enforced per method.
    for (what, channel) in [
        ("a private channel it is not in", secret.as_str()),
        ("another workspace", eve_general.as_str()),
        ("no channel", "C123"),
    ] {
        for method in ["chat.postMessage", "conversations.history", "conversations.info"] {
            let r = web_api(host, method, Some(&token), &[("channel", channel), ("text", "x")]).await;
            assert_eq!(r["error"], "channel_not_found", "{method} in {what}: {r}");
        }
    }
    let r = web_api(host, "conversations.history", Some(&narrow), &[("channel", &general)]).await;
    assert_eq!(
        (r["error"].as_str(), r["needed"].as_str(), r["provided"].as_str()),
        (Some("missing_scope"), Some("channels:history"), Some("chat:write"))
    );
    let r = web_api(host, "users.list", Some(&narrow), &[]).await;
    assert_eq!(r["needed"], "users:read");
    // Once added to the private channel, the bot reads it (with groups:history).
    let r =
        host.post(&format!("/api/v1/channels/{secret}/members"), Some(&ann.access), json!({ "user_ids": [bot] })).await;
    r.expect_status(200, "add the bot to #secret");
    let r = web_api(host, "conversations.history", Some(&token), &[("channel", &secret)]).await;
    assert_eq!(r["ok"], true, "{r}");

    // Slack's own SDKs, Python then Node.
    let api_url = host.url("/api/");
    let out = run_client(slack_python(), "web_client.py", &[&api_url, &token, &narrow, &general]).await;
    let py: Value = serde_json::from_str(out.trim()).expect("the Python client's report");
    assert_eq!(py["channels"], json!(["general", "secret"]), "public and the private one the bot is in");
    assert_eq!(
        py["errors"],
        json!({ "unknown channel": "channel_not_found", "no text": "no_text", "missing scope": "missing_scope", "bad token": "invalid_auth" })
    );
    let thread_root = history_message(host, &bob, &general, py["ts"].as_str().unwrap()).await;
    assert_eq!(thread_root["reply_count"], 1);
    slack_node();
    run_client(PathBuf::from("node"), "web_api.mjs", &[&api_url, &token, &general]).await;

    // GET and POST only, as Slack.
    let r = host.http().put(host.url("/api/auth.test")).bearer_auth(&token).send().await.expect("PUT a method");
    let body: Value = r.json().await.expect("a JSON answer");
    assert_eq!((body["ok"].as_bool(), body["error"].as_str()), (Some(false), Some("invalid_method")));

    // A revoked token stops at once.
    let token_id = listed.body["apps"][0]["tokens"][0]["id"].as_str().unwrap().to_owned();
    let r = host
        .send(host.request(Method::DELETE, &format!("/api/v1/workspaces/{ws}/tokens/{token_id}"), Some(&ann.access)))
        .await;
    r.expect_status(204, "revoke the token");
    assert_eq!(web_api(host, "auth.test", Some(&token), &[]).await["error"], "invalid_auth");
}

/// The message with this `ts` in the channel's history, as Bob reads it.
async fn history_message(host: &Host, reader: &Session, channel: &str, ts: &str) -> Value {
    let history = host.history(&reader.access, channel).await;
    history.into_iter().find(|m| m["ts"] == ts).unwrap_or_else(|| panic!("no message with ts {ts}"))
}

crate::common::both_targets!(
    incoming_webhooks_post_as_their_app,
    slacks_own_sdks_post_through_a_hook,
    bots_use_the_web_api_with_their_tokens
);
