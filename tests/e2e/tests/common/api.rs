//! The HTTP helpers the scenarios call on a [`Host`]: raw requests, and the API calls they
//! share (sign-up, workspaces, channels, messages, the event log).

use ocomms_core::event::ChannelEvent;
use serde_json::{Value, json};

use super::{EventsPage, Host, PASSWORD, Reply, Session};

impl Host {
    // ----- raw HTTP --------------------------------------------------------------------

    /// Sends a request and reads the whole reply.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.unwrap_or_else(|e| {
            // reqwest's Display stops at "error sending request": the causes say whether the
            // connection was refused, reset or closed before the reply.
            let causes: Vec<String> =
                std::iter::successors(std::error::Error::source(&e), |c| c.source()).map(|c| c.to_string()).collect();
            panic!("HTTP request failed: {e} ({})\nhost output:\n{}", causes.join(": "), self.log_text())
        });
        Reply::read(resp).await
    }

    pub fn request(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let mut rb = self.http.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(self.request(reqwest::Method::GET, path, token)).await
    }

    /// POST with a JSON body (and `Content-Type: application/json`).
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(self.request(reqwest::Method::POST, path, token).json(&body)).await
    }

    /// POST without a body.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(self.request(reqwest::Method::DELETE, path, token)).await
    }

    pub async fn post_empty(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(self.request(reqwest::Method::POST, path, token)).await
    }

    // ----- the API ---------------------------------------------------------------------

    pub async fn signup(&self, email: &str) -> Session {
        let name = email.split('@').next().unwrap_or(email);
        let r = self
            .post("/api/v1/auth/signup", None, json!({ "email": email, "password": PASSWORD, "display_name": name }))
            .await;
        r.expect_status(201, "signup");
        Session::from_reply(&r)
    }

    pub async fn login(&self, email: &str) -> Session {
        let r = self.post("/api/v1/auth/login", None, json!({ "email": email, "password": PASSWORD })).await;
        r.expect_status(200, "login");
        Session::from_reply(&r)
    }

    /// Creates a workspace; returns its id and its #general channel's id.
    pub async fn create_workspace(&self, token: &str, name: &str) -> (String, String) {
        let r = self.post("/api/v1/workspaces", Some(token), json!({ "name": name })).await;
        r.expect_status(201, "create workspace");
        (r.str_at("/workspace/id"), r.str_at("/default_channel_id"))
    }

    pub async fn create_invite(&self, token: &str, workspace: &str) -> String {
        let r = self.post_empty(&format!("/api/v1/workspaces/{workspace}/invites"), Some(token)).await;
        r.expect_status(201, "create invite");
        r.str_at("/invite/code")
    }

    pub async fn accept_invite(&self, token: &str, code: &str) -> Reply {
        self.post_empty(&format!("/api/v1/invites/{code}/accept"), Some(token)).await
    }

    /// `owner` invites `member`, who accepts (and so joins the default channels).
    pub async fn add_to_workspace(&self, owner: &Session, member: &Session, workspace: &str) {
        let code = self.create_invite(&owner.access, workspace).await;
        let r = self.accept_invite(&member.access, &code).await;
        r.expect_status(200, "accept invite");
        assert_eq!(r.str_at("/workspace/id"), workspace, "accepted the invite into another workspace: {r:?}");
    }

    pub async fn create_channel(&self, token: &str, workspace: &str, name: &str, kind: &str) -> String {
        let r = self
            .post(
                &format!("/api/v1/workspaces/{workspace}/channels"),
                Some(token),
                json!({ "name": name, "kind": kind }),
            )
            .await;
        r.expect_status(201, "create channel");
        r.str_at("/channel/id")
    }

    pub async fn join_channel(&self, token: &str, channel: &str) -> Reply {
        let r = self.post_empty(&format!("/api/v1/channels/{channel}/join"), Some(token)).await;
        r.expect_status(200, "join channel");
        r
    }

    /// Posts a message; returns its seq.
    pub async fn post_message(&self, token: &str, channel: &str, text: &str) -> i64 {
        let r = self.post(&format!("/api/v1/channels/{channel}/messages"), Some(token), json!({ "text": text })).await;
        r.expect_status(201, "post message");
        assert_eq!(r.body["message"]["text"], text, "the stored text differs: {r:?}");
        r.body["message"]["seq"].as_i64().unwrap_or_else(|| panic!("post reply without message.seq: {r:?}"))
    }

    /// The newest page of history (oldest first).
    pub async fn history(&self, token: &str, channel: &str) -> Vec<Value> {
        let r = self.get(&format!("/api/v1/channels/{channel}/messages?limit=200"), Some(token)).await;
        r.expect_status(200, "history");
        r.body["messages"].as_array().cloned().unwrap_or_else(|| panic!("history without messages: {r:?}"))
    }

    /// One page of `/events?after=`.
    pub async fn events_page(&self, token: &str, channel: &str, after: i64, limit: Option<u32>) -> EventsPage {
        let mut path = format!("/api/v1/channels/{channel}/events?after={after}");
        if let Some(l) = limit {
            path.push_str(&format!("&limit={l}"));
        }
        let r = self.get(&path, Some(token)).await;
        r.expect_status(200, "events");
        let events: Vec<ChannelEvent> = serde_json::from_value(r.body["events"].clone())
            .unwrap_or_else(|e| panic!("events do not decode as ChannelEvent ({e}): {r:?}"));
        EventsPage {
            events,
            has_more: r.body["has_more"].as_bool().unwrap_or_else(|| panic!("events without has_more: {r:?}")),
            last_seq: r.body["last_seq"].as_i64().unwrap_or_else(|| panic!("events without last_seq: {r:?}")),
        }
    }

    /// Every event after `after`, following `has_more` with pages of `page` events.
    pub async fn all_events_after(&self, token: &str, channel: &str, after: i64, page: u32) -> Vec<ChannelEvent> {
        let mut out: Vec<ChannelEvent> = Vec::new();
        let mut cursor = after;
        for _ in 0..10_000 {
            let p = self.events_page(token, channel, cursor, Some(page)).await;
            assert!(p.events.len() <= page as usize, "a page holds more than the limit");
            if let Some(last) = p.events.last() {
                cursor = last.seq;
            }
            let done = !p.has_more;
            out.extend(p.events);
            if done {
                return out;
            }
        }
        panic!("events paging never ended");
    }

    /// The number of stored events of a channel (its full event log).
    pub async fn event_count(&self, token: &str, channel: &str) -> usize {
        self.all_events_after(token, channel, 0, 200).await.len()
    }

    pub async fn workspaces(&self, token: &str) -> Vec<Value> {
        let r = self.get("/api/v1/workspaces", Some(token)).await;
        r.expect_status(200, "list workspaces");
        r.body["workspaces"].as_array().cloned().unwrap_or_default()
    }

    pub async fn channels(&self, token: &str, workspace: &str) -> Vec<Value> {
        let r = self.get(&format!("/api/v1/workspaces/{workspace}/channels"), Some(token)).await;
        r.expect_status(200, "list channels");
        r.body["channels"].as_array().cloned().unwrap_or_default()
    }
}
