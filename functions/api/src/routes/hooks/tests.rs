use super::*;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("an object"),
    }
}

#[test]
fn json_and_form_bodies_carry_the_payload() {
    let json = payload(Some("application/json"), br#"{"text":"hi"}"#).unwrap();
    assert_eq!(json["text"], "hi");
    // What `curl -d payload=...` sends, percent-encoded, `+` for spaces.
    let form =
        payload(Some("application/x-www-form-urlencoded"), b"payload=%7B%22text%22%3A%22build+passed%22%7D").unwrap();
    assert_eq!(form["text"], "build passed");
    // Slack accepts a JSON body whatever its declared type (curl defaults to a form type
    // only with -d; scripts often send none).
    assert_eq!(payload(None, br#"{"text":"x"}"#).unwrap()["text"], "x");
    for (ct, body) in [
        (Some("application/json"), &b"not json"[..]),
        (Some("application/json"), b"[1,2]"),
        (Some("application/json"), b"\"text\""),
        (Some("application/x-www-form-urlencoded"), b"text=hi"),
        (Some("application/x-www-form-urlencoded"), b"payload=%ZZ"),
        (Some("application/json"), b"\xff\xfe"),
    ] {
        assert_eq!(payload(ct, body), Err(refuse(400, "invalid_payload")), "{:?}", String::from_utf8_lossy(body));
    }
}

#[test]
fn text_is_mrkdwn_turned_into_markdown() {
    let p = parse(&obj(json!({ "text": "*deploy* of <https://ci.example/42|build 42> done <!here>" }))).unwrap();
    assert_eq!(p.text, "**deploy** of [build 42](https://ci.example/42) done @here");
}

#[test]
fn a_post_needs_text_blocks_or_attachments() {
    assert_eq!(parse(&obj(json!({}))), Err(refuse(400, "no_text")));
    assert_eq!(parse(&obj(json!({ "text": "   " }))), Err(refuse(400, "no_text")));
    assert_eq!(parse(&obj(json!({ "text": 5 }))), Err(refuse(400, "invalid_payload")));
    let blocks =
        parse(&obj(json!({ "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": "*hi*" } }] })))
            .unwrap();
    assert_eq!(blocks.blocks.len(), 1);
    assert!(blocks.text.contains("hi"), "blocks give the text notifications use: {:?}", blocks.text);
    let attached = parse(&obj(json!({ "attachments": [{ "fallback": "f", "text": "t" }] }))).unwrap();
    assert_eq!((attached.text.as_str(), attached.attachments.len()), ("", 1));
    assert_eq!(parse(&obj(json!({ "blocks": [{ "type": "nope" }] }))).unwrap_err().code, "invalid_blocks");
    assert_eq!(parse(&obj(json!({ "attachments": "nope" }))).unwrap_err().code, "invalid_attachments");
}

#[test]
fn overrides_and_threads_are_checked() {
    let p = parse(&obj(json!({
        "text": "x", "username": " CI ", "icon_emoji": ":rocket:", "icon_url": "https://x.example/i.png",
        "thread_ts": "1733456789.000123", "reply_broadcast": true,
    })))
    .unwrap();
    assert_eq!(p.username.as_deref(), Some("CI"));
    assert_eq!(p.icon_emoji.as_deref(), Some(":rocket:"));
    assert_eq!(p.icon_url.as_deref(), Some("https://x.example/i.png"));
    assert_eq!(p.thread_ts, Some(1_733_456_789_000_123));
    assert!(p.reply_broadcast);
    // Bad icons fall back to the app's; a bad thread_ts is refused.
    let p =
        parse(&obj(json!({ "text": "x", "icon_emoji": "rocket<script>", "icon_url": "javascript:alert(1)" }))).unwrap();
    assert_eq!((p.icon_emoji, p.icon_url), (None, None));
    assert_eq!(parse(&obj(json!({ "text": "x", "thread_ts": "yesterday" }))).unwrap_err().code, "invalid_thread_ts");
    assert_eq!(parse(&obj(json!({ "text": "x", "username": "a".repeat(81) }))).unwrap_err().code, "invalid_payload");
    assert_eq!(parse(&obj(json!({ "text": "x".repeat(20_000) }))).unwrap_err().code, "msg_too_long");
}
