//! Rate limits (functions/core/src/limits.rs) on the real targets, set tight here: login per
//! account and per address, signup per address, posting per user (people and bots), with
//! 429 and `Retry-After`, buckets shared by every request of one subject and by nobody else,
//! and the client's address taken from a proxy's header only when configured.

use serde_json::{Value, json};

use crate::common::{Host, HostOptions, PASSWORD};

const TIGHT: &str = "login_account=4/300,login_address=1000/1,signup_address=3/600,refresh_address=1000/1,\
                     post_user=5/60,invite_user=1000/1,command_user=1000/1";

fn tight() -> HostOptions {
    HostOptions { variables: vec![("RATE_LIMITS", TIGHT.to_owned())], ..HostOptions::default() }
}

async fn login(host: &Host, email: &str, password: &str) -> crate::common::Reply {
    host.post("/api/v1/auth/login", None, json!({ "email": email, "password": password })).await
}

fn retry_after(r: &crate::common::Reply) -> u64 {
    let v = r.headers.get("retry-after").and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("Retry-After: {r:?}"));
    v.parse().unwrap_or_else(|_| panic!("Retry-After is seconds: {v}"))
}

async fn guessing_and_flooding_meet_429s(host: &Host) {
    // Two of the three signups this address may make.
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;

    // Guessing Ann's password: four tries, then 429 for her account, even with the right
    // password; Bob's account is untouched.
    for i in 0..4 {
        login(host, "ann@example.com", &format!("guess {i}")).await.expect_error(401, "invalid_credentials", "a guess");
    }
    let r = login(host, "ann@example.com", "guess 5").await;
    r.expect_error(429, "rate_limited", "the fifth guess");
    assert!((1..=75).contains(&retry_after(&r)), "a retry after about a refill: {r:?}");
    login(host, "ANN@example.com", PASSWORD).await.expect_error(429, "rate_limited", "Ann herself, meanwhile");
    login(host, "bob@example.com", PASSWORD).await.expect_status(200, "Bob logs in");

    // Signups from one address: the third passes, the fourth waits.
    host.signup("cat@example.com").await;
    let r = host
        .post(
            "/api/v1/auth/signup",
            None,
            json!({ "email": "dan@example.com", "password": PASSWORD, "display_name": "Dan" }),
        )
        .await;
    r.expect_error(429, "rate_limited", "a fourth signup");
    assert!(retry_after(&r) >= 1);

    // Posting: five, then 429; resending a stored post (its client_msg_id) is not counted.
    let path = format!("/api/v1/channels/{general}/messages");
    for i in 0..5 {
        let r = host
            .post(&path, Some(&bob.access), json!({ "text": format!("m{i}"), "client_msg_id": format!("k{i}") }))
            .await;
        r.expect_status(201, "a post within the limit");
    }
    let r = host.post(&path, Some(&bob.access), json!({ "text": "one too many" })).await;
    r.expect_error(429, "rate_limited", "a sixth post");
    assert!(retry_after(&r) >= 1);
    let r = host.post(&path, Some(&bob.access), json!({ "text": "m0", "client_msg_id": "k0" })).await;
    r.expect_status(200, "a resent post is answered, not limited");
    host.post(&path, Some(&ann.access), json!({ "text": "Ann's own bucket" })).await.expect_status(201, "Ann posts");
    let history = host.history(&ann.access, &general).await;
    assert!(!history.iter().any(|m| m["text"] == "one too many"), "a refused post left nothing");

    // Bots post under the same limit, answered as Slack answers it.
    let app = host.post(&format!("/api/v1/workspaces/{ws}/apps"), Some(&ann.access), json!({ "name": "Flood" })).await;
    app.expect_status(201, "an app");
    let token = host
        .post(
            &format!("/api/v1/workspaces/{ws}/apps/{}/tokens", app.str_at("/app/id")),
            Some(&ann.access),
            json!({ "scopes": ["chat:write", "channels:join"] }),
        )
        .await
        .str_at("/secret");
    let web = |method: &'static str, form: Vec<(&'static str, String)>| {
        host.http().post(host.url(&format!("/api/{method}"))).bearer_auth(&token).form(&form).send()
    };
    let joined: Value =
        web("conversations.join", vec![("channel", general.clone())]).await.unwrap().json().await.unwrap();
    assert_eq!(joined["ok"], true, "{joined}");
    let mut last = None;
    for i in 0..6 {
        let r =
            web("chat.postMessage", vec![("channel", general.clone()), ("text", format!("bot {i}"))]).await.unwrap();
        last = Some((r.status().as_u16(), r.headers().get("retry-after").is_some(), r.json::<Value>().await.unwrap()));
    }
    let (status, has_retry_after, body) = last.unwrap();
    assert_eq!((status, has_retry_after, body["error"].as_str()), (429, true, Some("ratelimited")), "{body}");
}

/// Behind a proxy, the client's address is the configured header's (its last entry);
/// without that setting the header is the client's to write and changes nothing.
async fn client_addresses_come_from_the_trusted_header_only(host: &Host) {
    let signup = |email: String, forwarded: &'static str| {
        host.http()
            .post(host.url("/api/v1/auth/signup"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({ "email": email, "password": PASSWORD, "display_name": "x" }))
            .send()
    };
    let statuses = |n: usize, forwarded: &'static str, tag: &'static str| async move {
        let mut out = Vec::new();
        for i in 0..n {
            out.push(signup(format!("{tag}{i}@example.com"), forwarded).await.unwrap().status().as_u16());
        }
        out
    };
    if host.opts_variables().iter().any(|(k, _)| *k == "CLIENT_ADDRESS_HEADER") {
        // Two clients behind the proxy: three signups each.
        assert_eq!(statuses(4, "198.51.100.1, 203.0.113.1", "a").await, [201, 201, 201, 429]);
        assert_eq!(statuses(4, "198.51.100.1, 203.0.113.2", "b").await, [201, 201, 201, 429]);
    } else {
        // A forged header does not buy a fresh bucket.
        assert_eq!(statuses(2, "203.0.113.1", "a").await, [201, 201]);
        assert_eq!(statuses(2, "203.0.113.2", "b").await, [201, 429]);
    }
}

fn behind_a_proxy() -> HostOptions {
    HostOptions {
        variables: vec![("RATE_LIMITS", TIGHT.to_owned()), ("CLIENT_ADDRESS_HEADER", "X-Forwarded-For".to_owned())],
        ..HostOptions::default()
    }
}

crate::common::both_targets!(
    guessing_and_flooding_meet_429s with tight,
    client_addresses_come_from_the_trusted_header_only with tight,
);

/// Sixteen logins at once take turns at hashing (half the cores at a time), and a read
/// made meanwhile is answered: the flood queues behind itself.
async fn a_login_flood_takes_turns(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let (_, general) = host.create_workspace(&ann.access, "Acme").await;
    let logins: Vec<_> = (0..16).map(|_| login(host, "ann@example.com", PASSWORD)).collect();
    let (logins, read) = tokio::join!(futures::future::join_all(logins), async {
        host.get(&format!("/api/v1/channels/{general}/messages"), Some(&ann.access)).await
    });
    assert!(logins.iter().all(|r| r.status == 200), "{:?}", logins.iter().map(|r| r.status).collect::<Vec<_>>());
    read.expect_status(200, "a read during the flood");
    let metrics = host.http().get(host.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let max: usize = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ocomms_password_requests_running_max "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("the gauge in {metrics}"));
    let permits = std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1));
    assert!((1..=permits).contains(&max), "at most {permits} at once, saw {max}");
}

mod host_only {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_login_flood_takes_turns() {
        let host = crate::common::Target::Host.start_with(crate::common::HostOptions::default()).await;
        super::a_login_flood_takes_turns(&host).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn client_addresses_come_from_the_trusted_header_only() {
        let host = crate::common::Target::Host.start_with(super::behind_a_proxy()).await;
        super::client_addresses_come_from_the_trusted_header_only(&host).await;
    }
}
