//! Our objects in Slack's shapes, as Slack's SDKs and the bots built on them read them:
//! messages with `ts` and mrkdwn text, conversations with their `is_*` flags, users with a
//! profile. Pure functions of what the repositories return.

use ocomms_core::ids::WorkspaceId;
use ocomms_core::policy::{ChannelKind, Role};
use ocomms_core::slack::to_mrkdwn;
use serde_json::{Value, json};

use crate::repo::channels::Channel;
use crate::repo::members::Member;

/// A message (our JSON, with reactions when read) as Slack's `message` object; `root_ts` is
/// the ts of its thread's root when it is a reply.
pub fn message(m: &Value, root_ts: Option<&str>) -> Value {
    let mut out = json!({
        "type": "message",
        "user": m["author_id"],
        "text": to_mrkdwn(m["text"].as_str().unwrap_or("")),
        "ts": m["ts"],
    });
    if let Some(bot) = m["bot"].as_object() {
        out["bot_id"] = bot.get("app_id").cloned().unwrap_or(Value::Null);
        out["app_id"] = out["bot_id"].clone();
        out["username"] = bot.get("name").cloned().unwrap_or(Value::Null);
    }
    if let Some(root) = root_ts {
        out["thread_ts"] = json!(root);
    } else if m["reply_count"].as_i64().unwrap_or(0) > 0 {
        out["thread_ts"] = m["ts"].clone();
        out["reply_count"] = m["reply_count"].clone();
    }
    if let Some(at) = m["edited_at_ms"].as_i64() {
        out["edited"] = json!({ "user": m["author_id"], "ts": ocomms_core::slack::ts(at * 1000) });
    }
    if let Some(list) = m["reactions"].as_array().filter(|l| !l.is_empty()) {
        out["reactions"] = list
            .iter()
            .map(|r| {
                let emoji = r["emoji"].as_str().unwrap_or("");
                json!({ "name": emoji.trim_matches(':'), "count": r["count"], "users": r["user_ids"] })
            })
            .collect();
    }
    for key in ["blocks", "attachments"] {
        if let Some(list) = m[key].as_array().filter(|l| !l.is_empty()) {
            let mut list = Value::Array(list.clone());
            back_to_mrkdwn(&mut list);
            out[key] = list;
        }
    }
    if let Some(files) = m["files"].as_array().filter(|l| !l.is_empty()) {
        out["files"] = files
            .iter()
            .map(|f| json!({ "id": f["id"], "name": f["name"], "mimetype": f["content_type"], "size": f["size"] }))
            .collect();
    }
    out
}

/// Stored blocks and attachments hold markdown where Slack wrote mrkdwn: give mrkdwn back.
fn back_to_mrkdwn(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(back_to_mrkdwn),
        Value::Object(o) => {
            let is_mrkdwn_object = o.get("type").and_then(Value::as_str) == Some("mrkdwn");
            for (k, val) in o.iter_mut() {
                match val {
                    Value::String(s) if (k == "text" && is_mrkdwn_object) || k == "pretext" || k == "value" => {
                        *s = to_mrkdwn(s);
                    }
                    Value::String(_) => {}
                    other => back_to_mrkdwn(other),
                }
            }
            // An attachment's text (no `type`) is mrkdwn too.
            if !o.contains_key("type")
                && let Some(Value::String(s)) = o.get_mut("text")
            {
                *s = to_mrkdwn(s);
            }
        }
        _ => {}
    }
}

/// A channel as Slack's `conversation` object.
pub fn conversation(c: &Channel) -> Value {
    let mut out = json!({
        "id": c.id,
        "name": if c.kind == ChannelKind::Dm { Value::Null } else { json!(c.name) },
        "is_channel": c.kind == ChannelKind::Public,
        "is_group": c.kind == ChannelKind::Private,
        "is_im": c.kind == ChannelKind::Dm,
        "is_mpim": false,
        "is_private": c.kind != ChannelKind::Public,
        "is_archived": c.archived,
        "is_general": c.is_default,
        "is_member": c.is_member,
        "created": c.created_at_ms / 1000,
        "creator": c.created_by,
        "context_team_id": c.workspace_id,
        "topic": { "value": c.topic, "creator": "", "last_set": 0 },
        "purpose": { "value": c.purpose, "creator": "", "last_set": 0 },
    });
    if let Some(n) = c.member_count {
        out["num_members"] = json!(n);
    }
    out
}

/// A workspace member as Slack's `user` object.
pub fn user(m: &Member, ws: WorkspaceId) -> Value {
    json!({
        "id": m.user_id,
        "team_id": ws,
        "name": m.display_name,
        "real_name": m.display_name,
        "deleted": m.deactivated,
        "is_bot": m.bot,
        "is_app_user": false,
        "is_admin": matches!(m.role, Role::Owner | Role::Admin),
        "is_owner": m.role == Role::Owner,
        "is_restricted": m.role == Role::Guest,
        "tz": m.time_zone,
        "profile": {
            "display_name": m.display_name,
            "real_name": m.display_name,
            "status_text": m.status_text,
            "image_72": m.avatar_url,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_reads_back_in_slack_terms() {
        let ours = json!({
            "id": "m1", "author_id": "u1", "text": "**bold** and [a link](https://x.example)", "ts": "1.000002",
            "reply_count": 2, "edited_at_ms": 1500, "bot": { "app_id": "a1", "name": "CI" },
            "reactions": [{ "emoji": ":tada:", "count": 1, "user_ids": ["u2"] }],
            "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": "**3** fixes" } }],
            "attachments": [{ "title": "T", "text": "_x_ **y**" }],
            "files": [],
        });
        let m = message(&ours, None);
        assert_eq!(m["text"], "*bold* and <https://x.example|a link>");
        assert_eq!(
            (m["ts"].as_str(), m["thread_ts"].as_str(), m["reply_count"].as_i64()),
            (Some("1.000002"), Some("1.000002"), Some(2))
        );
        assert_eq!((m["bot_id"].as_str(), m["username"].as_str()), (Some("a1"), Some("CI")));
        assert_eq!(m["edited"]["ts"], "1.500000");
        assert_eq!(m["reactions"][0], json!({ "name": "tada", "count": 1, "users": ["u2"] }));
        assert_eq!(m["blocks"][0]["text"]["text"], "*3* fixes");
        assert_eq!(m["attachments"][0]["text"], "_x_ *y*");
        assert_eq!(m["attachments"][0]["title"], "T");
        assert!(m.get("files").is_none());
        let reply =
            message(&json!({ "author_id": "u1", "text": "r", "ts": "2.000000", "reply_count": 0 }), Some("1.000002"));
        assert_eq!(reply["thread_ts"], "1.000002");
    }
}
