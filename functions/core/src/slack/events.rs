//! What apps receive, in Slack's shapes: Events API envelopes (`event_callback`, the
//! `url_verification` challenge) and outgoing-webhook forms. Built from the facts a delivery
//! row holds (written by PostgreSQL triggers when the change commits), the same bytes on
//! every attempt.

use serde_json::{Value, json};

use super::{to_mrkdwn, ts};

/// The event subscriptions an app may have, Slack's names. Messages are subscribed per
/// channel kind, as in Slack; every event comes only from channels the app's bot is in.
pub const SUBSCRIPTIONS: &[&str] =
    &["message.channels", "message.groups", "message.im", "app_mention", "reaction_added", "member_joined_channel"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventsError {
    #[error("unknown event {0:?}; known: {known}", known = SUBSCRIPTIONS.join(", "))]
    Unknown(String),
    #[error("the delivery's facts lack {0}")]
    Missing(&'static str),
}

/// Checks and de-duplicates subscriptions, in [`SUBSCRIPTIONS`] order.
pub fn parse_subscriptions(requested: &[String]) -> Result<Vec<String>, EventsError> {
    for r in requested {
        if !SUBSCRIPTIONS.contains(&r.trim()) {
            return Err(EventsError::Unknown(r.trim().to_string()));
        }
    }
    Ok(SUBSCRIPTIONS.iter().filter(|s| requested.iter().any(|r| r.trim() == **s)).map(|s| s.to_string()).collect())
}

/// The body of Slack's `url_verification` request: the app answers with the challenge.
pub fn url_verification(challenge: &str) -> Value {
    json!({ "token": "", "challenge": challenge, "type": "url_verification" })
}

/// Who an envelope is for.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub app_id: &'a str,
    pub bot_user_id: &'a str,
}

/// The `event_callback` envelope for delivery `delivery_id` of `facts`.
pub fn envelope(to: Recipient<'_>, delivery_id: i64, facts: &Value) -> Result<Value, EventsError> {
    let (event, at_ms) = event(facts)?;
    let team = facts["team"].as_str().ok_or(EventsError::Missing("team"))?;
    Ok(json!({
        "team_id": team,
        "api_app_id": to.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id(delivery_id),
        "event_time": at_ms.div_euclid(1000),
        "authorizations": [{
            "enterprise_id": null,
            "team_id": team,
            "user_id": to.bot_user_id,
            "is_bot": true,
            "is_enterprise_install": false,
        }],
        "is_ext_shared_channel": false,
    }))
}

/// Slack's event ids start with `Ev`; ours name the delivery, unique in the deployment.
pub fn event_id(delivery_id: i64) -> String {
    format!("Ev{delivery_id:010}")
}

fn text<'a>(facts: &'a Value, key: &'static str) -> Result<&'a str, EventsError> {
    facts[key].as_str().ok_or(EventsError::Missing(key))
}

fn int(facts: &Value, key: &'static str) -> Result<i64, EventsError> {
    facts[key].as_i64().ok_or(EventsError::Missing(key))
}

/// Slack's `channel_type` of a message event.
fn message_channel_type(kind: &str) -> &'static str {
    match kind {
        "public" => "channel",
        "private" => "group",
        _ => "im",
    }
}

/// The `event` object and when it happened (Unix ms).
fn event(facts: &Value) -> Result<(Value, i64), EventsError> {
    let at_ms = int(facts, "at_ms")?;
    let event_ts = ts(at_ms * 1000);
    let kind = text(facts, "type")?;
    let event = match kind {
        "message" | "app_mention" => {
            let message_ts = ts(int(facts, "ts_us")?);
            let mut e = json!({
                "type": kind,
                "channel": text(facts, "channel")?,
                "user": text(facts, "user")?,
                "text": to_mrkdwn(text(facts, "text")?),
                "ts": message_ts,
                "event_ts": message_ts,
            });
            if kind == "message" {
                e["channel_type"] = json!(message_channel_type(text(facts, "channel_kind")?));
            }
            if let Some(root) = facts["thread_ts_us"].as_i64() {
                e["thread_ts"] = json!(ts(root));
            }
            if let Some(app) = facts["bot"]["app_id"].as_str() {
                e["bot_id"] = json!(app);
                e["app_id"] = json!(app);
            }
            e
        }
        "reaction_added" => json!({
            "type": kind,
            "user": text(facts, "user")?,
            "reaction": text(facts, "reaction")?.trim_matches(':'),
            "item_user": text(facts, "item_user")?,
            "item": { "type": "message", "channel": text(facts, "channel")?, "ts": ts(int(facts, "item_ts_us")?) },
            "event_ts": event_ts,
        }),
        "member_joined_channel" => json!({
            "type": kind,
            "user": text(facts, "user")?,
            "channel": text(facts, "channel")?,
            "channel_type": if text(facts, "channel_kind")? == "private" { "G" } else { "C" },
            "team": text(facts, "team")?,
            "event_ts": event_ts,
        }),
        _ => return Err(EventsError::Missing("a known type")),
    };
    Ok((event, at_ms))
}

/// The form an outgoing webhook posts: Slack's fields, with `text` in mrkdwn.
pub fn outgoing_webhook_form(facts: &Value) -> Result<String, EventsError> {
    let ts_us = int(facts, "ts_us")?;
    Ok(form_encode(&[
        ("token", text(facts, "token")?),
        ("team_id", text(facts, "team")?),
        ("team_domain", facts["team_domain"].as_str().unwrap_or("")),
        ("channel_id", text(facts, "channel")?),
        ("channel_name", text(facts, "channel_name")?),
        ("timestamp", &ts(ts_us)),
        ("user_id", text(facts, "user")?),
        ("user_name", facts["user_name"].as_str().unwrap_or("")),
        ("text", &to_mrkdwn(text(facts, "text")?)),
        ("trigger_word", facts["trigger_word"].as_str().unwrap_or("")),
    ]))
}

/// `application/x-www-form-urlencoded`, as browsers and Slack write it.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_into(&mut out, k);
        out.push('=');
        encode_into(&mut out, v);
    }
    out
}

fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_facts() -> Value {
        json!({
            "type": "message", "team": "T1", "channel": "C1", "channel_kind": "private", "user": "U1",
            "text": "**ship** it", "ts_us": 1_700_000_000_123_456_i64, "thread_ts_us": 1_700_000_000_000_001_i64,
            "bot": null, "at_ms": 1_700_000_000_123_i64,
        })
    }

    #[test]
    fn a_message_event_in_slacks_envelope() {
        let env = envelope(Recipient { app_id: "A1", bot_user_id: "B1" }, 7, &message_facts()).expect("envelope");
        assert_eq!(env["type"], "event_callback");
        assert_eq!(env["event_id"], "Ev0000000007");
        assert_eq!(env["event_time"], 1_700_000_000);
        assert_eq!(env["api_app_id"], "A1");
        assert_eq!(env["authorizations"][0]["user_id"], "B1");
        let e = &env["event"];
        assert_eq!(e["text"], "*ship* it");
        assert_eq!(e["ts"], "1700000000.123456");
        assert_eq!(e["thread_ts"], "1700000000.000001");
        assert_eq!(e["channel_type"], "group");
        assert!(e.get("bot_id").is_none());
    }

    #[test]
    fn reactions_and_joins() {
        let facts = json!({"type": "reaction_added", "team": "T", "channel": "C", "user": "U", "reaction": ":tada:",
                           "item_user": "V", "item_ts_us": 5_000_001_i64, "at_ms": 9000});
        let env = envelope(Recipient { app_id: "A", bot_user_id: "B" }, 1, &facts).expect("envelope");
        assert_eq!(env["event"]["reaction"], "tada");
        assert_eq!(env["event"]["item"], json!({"type": "message", "channel": "C", "ts": "5.000001"}));
        assert_eq!(env["event"]["event_ts"], "9.000000");
        let facts = json!({"type": "member_joined_channel", "team": "T", "channel": "C", "channel_kind": "public",
                           "user": "U", "at_ms": 1});
        let env = envelope(Recipient { app_id: "A", bot_user_id: "B" }, 2, &facts).expect("envelope");
        assert_eq!(env["event"]["channel_type"], "C");
    }

    #[test]
    fn broken_facts_are_an_error_not_a_panic() {
        let r = Recipient { app_id: "A", bot_user_id: "B" };
        assert_eq!(envelope(r, 1, &json!({})), Err(EventsError::Missing("at_ms")));
        assert_eq!(envelope(r, 1, &json!({"type": "nope", "at_ms": 1})), Err(EventsError::Missing("a known type")));
    }

    #[test]
    fn subscriptions_are_checked() {
        let s = |v: &[&str]| parse_subscriptions(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            s(&["app_mention", "message.channels", "app_mention"]).expect("ok"),
            ["message.channels", "app_mention"]
        );
        assert_eq!(s(&["message"]), Err(EventsError::Unknown("message".into())));
        assert_eq!(s(&[]).expect("ok"), Vec::<String>::new());
    }

    #[test]
    fn forms_encode_like_browsers() {
        assert_eq!(form_encode(&[("text", "a b&c=/é"), ("x", "")]), "text=a+b%26c%3D%2F%C3%A9&x=");
        let facts = json!({"token": "t", "team": "T", "channel": "C", "channel_name": "general", "ts_us": 1_000_000,
                           "user": "U", "user_name": "ann", "text": "deploy _now_", "trigger_word": "deploy"});
        let form = outgoing_webhook_form(&facts).expect("form");
        assert!(form.contains("&timestamp=1.000000&"), "{form}");
        assert!(form.ends_with("&text=deploy+_now_&trigger_word=deploy"), "{form}");
    }
}
