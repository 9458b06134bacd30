//! Fault injection against the real host: while senders post a known sequence of messages
//! (each with a `client_msg_id`, retried with the same key after an error or no answer) and
//! WebSocket clients read the channel, (a) the host is killed with SIGKILL and started again
//! on the same data directory (its managed PostgreSQL is left running, as after a crash), and
//! (b) the managed PostgreSQL is stopped under the running host and started again.
//!
//! Afterwards: every acknowledged message is stored exactly once, with the seq and id its
//! acknowledgement named; an abandoned message (an error or no answer, never retried) is
//! stored at most once; the channel's log is dense; and every client, after resuming
//! (reconnect, then `GET /channels/{id}/events?after=<last seq>`), holds the whole log in
//! order, with no gap and no duplicate. Each test prints its counts. A third test sends a
//! hostile frame that once crashed the host (found by the `client_frame` fuzz target).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::{Host, Incoming, Target, WAIT, Ws, assert_contiguous};
use futures::{SinkExt as _, StreamExt as _};
use ocomms_core::event::{ChannelEvent, ClientFrame, MSGPACK_SUBPROTOCOL, ServerFrame, kind};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Messages each sender posts.
const PER_SENDER: usize = 120;
/// Pause between two messages of one sender, so the run spans the fault.
const PACE: Duration = Duration::from_millis(15);
/// Pause before retrying after an error or no answer.
const RETRY_AFTER: Duration = Duration::from_millis(100);
/// How long one request may go unanswered before the client counts it as lost.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on a whole scenario, faults and recovery included.
pub(crate) const SCENARIO_LIMIT: Duration = Duration::from_secs(240);
/// How often scenario (a) kills the host.
const CRASHES: usize = 2;
/// How long PostgreSQL stays down in scenario (b).
const PG_DOWN_FOR: Duration = Duration::from_secs(3);
/// While PostgreSQL is down, the host must still answer within this.
const FAST_FAILURE: Duration = Duration::from_secs(3);

/// What senders and readers need of the host; the address survives a restart.
#[derive(Clone)]
pub(crate) struct Endpoint {
    base: String,
    ws_url: String,
    http: reqwest::Client,
}

impl Endpoint {
    pub(crate) fn of(host: &Host) -> Endpoint {
        Endpoint::at(&host.base)
    }

    /// `base` (`http://host:port`), e.g. a load balancer.
    pub(crate) fn at(base: &str) -> Endpoint {
        let http = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().unwrap();
        let ws_url = format!("{}/api/v1/ws", base.replacen("http", "ws", 1));
        Endpoint { base: base.to_owned(), ws_url, http }
    }

    /// One page of the channel's log after `after`, or `None` on any failure (the caller
    /// retries: the host or its database may be down).
    async fn events_after(&self, token: &str, channel: &str, after: i64) -> Option<(Vec<ChannelEvent>, bool)> {
        let url = format!("{}/api/v1/channels/{channel}/events?after={after}&limit=200", self.base);
        let resp = self.http.get(url).bearer_auth(token).send().await.ok()?;
        if resp.status() != 200 {
            return None;
        }
        let body: Value = resp.json().await.ok()?;
        let events = serde_json::from_value(body["events"].clone()).ok()?;
        Some((events, body["has_more"].as_bool()?))
    }
}

// ---------------------------------------------------------------------------------------
// Senders
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Acked {
    text: String,
    key: String,
    seq: i64,
    id: String,
}

#[derive(Debug, Default)]
struct SenderReport {
    /// Distinct messages this sender tried to post.
    sent: usize,
    acked: Vec<Acked>,
    /// Messages (text, key) given up after an error or no answer: stored once or not at all.
    abandoned: Vec<(String, String)>,
    /// Attempts that got a 5xx.
    error_replies: usize,
    /// Attempts that got no answer (connection refused or reset, or timed out).
    no_answer: usize,
    /// Messages that needed more than one attempt.
    retried: usize,
    /// Acknowledgements that were `200` (the key was already stored): a retry whose earlier
    /// attempt had committed.
    replayed: usize,
    /// The slowest attempt that did not succeed.
    slowest_failure: Duration,
    statuses: BTreeMap<u16, usize>,
}

/// Posts `PER_SENDER` messages in order. A failed attempt is retried with the same
/// `client_msg_id` until acknowledged; when `abandon_odd` is set, odd-numbered messages are
/// given up after their first failed attempt instead.
async fn sender(
    t: Endpoint,
    token: String,
    channel: String,
    name: &'static str,
    abandon_odd: bool,
    progress: Arc<AtomicUsize>,
) -> SenderReport {
    let mut r = SenderReport::default();
    let url = format!("{}/api/v1/channels/{channel}/messages", t.base);
    for n in 0..PER_SENDER {
        let text = format!("{name} message {n}");
        let key = format!("{name}-{n}");
        r.sent += 1;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let started = Instant::now();
            let sent =
                t.http.post(&url).bearer_auth(&token).json(&json!({ "text": text, "client_msg_id": key })).send();
            let outcome = match sent.await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    *r.statuses.entry(status).or_default() += 1;
                    let body: Value = resp.json().await.unwrap_or(Value::Null);
                    Some((status, body))
                }
                Err(_) => None,
            };
            match outcome {
                Some((status @ (200 | 201), body)) => {
                    let m = &body["message"];
                    assert_eq!(m["text"], text.as_str(), "{name}: the acknowledged message differs: {body}");
                    assert_eq!(m["client_msg_id"], key.as_str(), "{name}: the acknowledgement has another key: {body}");
                    r.acked.push(Acked {
                        text: text.clone(),
                        key: key.clone(),
                        seq: m["seq"].as_i64().unwrap_or_else(|| panic!("no seq in {body}")),
                        id: m["id"].as_str().unwrap_or_else(|| panic!("no id in {body}")).to_string(),
                    });
                    if status == 200 {
                        r.replayed += 1;
                    }
                    progress.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Some((status, body)) => {
                    // A fault surfaces only as "unavailable, retry": never as a client error,
                    // nor as an internal error.
                    assert_eq!(status, 503, "{name}: a fault gave HTTP {status}: {body}");
                    assert_eq!(body["error"]["code"], "unavailable", "{name}: {body}");
                    r.error_replies += 1;
                }
                None => r.no_answer += 1,
            }
            r.slowest_failure = r.slowest_failure.max(started.elapsed());
            if abandon_odd && n % 2 == 1 {
                r.abandoned.push((text.clone(), key.clone()));
                break;
            }
            tokio::time::sleep(RETRY_AFTER).await;
        }
        if attempts > 1 {
            r.retried += 1;
        }
        tokio::time::sleep(PACE).await;
    }
    r
}

// ---------------------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct ReaderReport {
    events: Vec<ChannelEvent>,
    /// Events taken from a socket.
    live: usize,
    /// Events taken from `/events?after=` (on connect, or after a gap or a resync).
    backfilled: usize,
    /// Sockets that were open and then ended.
    reconnects: usize,
    /// Events a socket delivered that a backfill had already given.
    overlaps: usize,
}

enum Read {
    Frame(ServerFrame),
    Closed,
    Idle,
}

struct ReaderSocket {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    msgpack: bool,
}

impl ReaderSocket {
    /// Connects and authenticates; `None` while the host is down or not ready.
    async fn open(t: &Endpoint, token: &str, msgpack: bool) -> Option<ReaderSocket> {
        let mut req = t.ws_url.as_str().into_client_request().ok()?;
        if msgpack {
            req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static(MSGPACK_SUBPROTOCOL));
        }
        let (stream, _) =
            tokio::time::timeout(REQUEST_TIMEOUT, tokio_tungstenite::connect_async(req)).await.ok()?.ok()?;
        let mut s = ReaderSocket { stream, msgpack };
        let auth = ClientFrame::Auth { token: token.to_string() };
        let msg = if msgpack {
            Message::binary(rmp_serde::to_vec_named(&auth).unwrap())
        } else {
            Message::text(serde_json::to_string(&auth).unwrap())
        };
        tokio::time::timeout(REQUEST_TIMEOUT, s.stream.send(msg)).await.ok()?.ok()?;
        match s.read(REQUEST_TIMEOUT).await {
            Read::Frame(ServerFrame::Hello { .. }) => Some(s),
            _ => None,
        }
    }

    async fn read(&mut self, within: Duration) -> Read {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let next = match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Read::Idle,
                Ok(None | Some(Err(_))) => return Read::Closed,
                Ok(Some(Ok(m))) => m,
            };
            let frame = match next {
                Message::Text(t) => {
                    assert!(!self.msgpack, "a MessagePack socket got a text frame: {t}");
                    serde_json::from_str(&t).unwrap_or_else(|e| panic!("undecodable JSON frame ({e}): {t}"))
                }
                Message::Binary(b) => {
                    assert!(self.msgpack, "a JSON socket got a binary frame");
                    rmp_serde::from_slice(&b).unwrap_or_else(|e| panic!("undecodable MessagePack frame ({e})"))
                }
                Message::Close(_) => return Read::Closed,
                _ => continue,
            };
            return Read::Frame(frame);
        }
    }
}

/// Appends `/events?after=<last>` pages until the log is exhausted; retries failures until it
/// succeeds (the host or its database may be down). Returns how many events it added.
async fn backfill(t: &Endpoint, token: &str, channel: &str, log: &mut Vec<ChannelEvent>) -> usize {
    let mut added = 0;
    loop {
        let last = log.last().map_or(0, |e| e.seq);
        let Some((events, has_more)) = t.events_after(token, channel, last).await else {
            tokio::time::sleep(RETRY_AFTER).await;
            continue;
        };
        for e in events {
            assert_eq!(e.seq, log.last().map_or(0, |l| l.seq) + 1, "the backfill skipped or repeated a seq");
            log.push(e);
            added += 1;
        }
        if !has_more {
            return added;
        }
    }
}

/// Follows the channel like a client: a socket for live events, a backfill after every
/// (re)connect, gap or resync; stops once it holds the log up to the seq sent on `done`.
async fn reader(
    t: Endpoint,
    token: String,
    channel: String,
    msgpack: bool,
    mut done: watch::Receiver<Option<i64>>,
) -> ReaderReport {
    let mut r = ReaderReport::default();
    let caught_up = |r: &ReaderReport, done: &watch::Receiver<Option<i64>>| {
        done.borrow().is_some_and(|last| r.events.last().map_or(0, |e| e.seq) >= last)
    };
    'connect: loop {
        if caught_up(&r, &done) {
            return r;
        }
        let Some(mut socket) = ReaderSocket::open(&t, &token, msgpack).await else {
            tokio::time::sleep(RETRY_AFTER).await;
            continue;
        };
        // Subscribed from the hello on: whatever commits later also arrives live.
        r.backfilled += backfill(&t, &token, &channel, &mut r.events).await;
        loop {
            if caught_up(&r, &done) {
                socket.stream.close(None).await.ok();
                return r;
            }
            let read = tokio::select! {
                read = socket.read(Duration::from_secs(1)) => read,
                _ = done.changed() => continue,
            };
            match read {
                Read::Frame(ServerFrame::Event { event }) if event.channel_id.to_string() == channel => {
                    let last = r.events.last().map_or(0, |e| e.seq);
                    if event.seq <= last {
                        assert_eq!(r.events[(event.seq - 1) as usize], event, "a redelivered event differs");
                        r.overlaps += 1;
                    } else if event.seq == last + 1 {
                        r.events.push(event);
                        r.live += 1;
                    } else {
                        r.backfilled += backfill(&t, &token, &channel, &mut r.events).await;
                    }
                }
                Read::Frame(ServerFrame::Resync { .. }) => {
                    r.backfilled += backfill(&t, &token, &channel, &mut r.events).await;
                }
                Read::Frame(ServerFrame::Error { code, message }) => panic!("the socket reported {code}: {message}"),
                Read::Frame(_) | Read::Idle => {}
                Read::Closed => {
                    r.reconnects += 1;
                    continue 'connect;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------

/// A workspace with a fresh public channel; two senders and two readers (JSON, MessagePack)
/// in it.
struct Cast {
    senders: [(String, &'static str, bool); 2],
    readers: [(String, bool); 2],
    owner: String,
    channel: String,
}

async fn cast(host: &Host) -> Cast {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let cat = host.signup("cat@example.com").await;
    let dan = host.signup("dan@example.com").await;
    let (ws, _) = host.create_workspace(&ann.access, "Faults").await;
    for s in [&bob, &cat, &dan] {
        host.add_to_workspace(&ann, s, &ws).await;
    }
    let channel = host.create_channel(&ann.access, &ws, "faults", "public").await;
    for s in [&bob, &cat, &dan] {
        host.join_channel(&s.access, &channel).await;
    }
    Cast {
        // Ann retries every message until it is acknowledged; Bob gives up on odd ones.
        senders: [(ann.access.clone(), "ann", false), (bob.access.clone(), "bob", true)],
        readers: [(cat.access.clone(), false), (dan.access.clone(), true)],
        owner: ann.access,
        channel,
    }
}

/// Runs senders and readers while `fault` runs (it starts once a third of the messages are
/// acknowledged), then checks and prints the outcome. Senders and readers go through `t`
/// (one host, or a load balancer in front of several); setting up and checking go to the
/// host `api` picks, which the fault leaves standing.
pub(crate) async fn run_with_fault<S, F>(
    system: &mut S,
    api: fn(&S) -> &Host,
    t: Endpoint,
    label: &str,
    expect_failures: bool,
    fault: F,
) where
    F: AsyncFnOnce(&mut S),
{
    let cast = cast(api(system)).await;
    let progress = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = watch::channel(None);

    let readers: Vec<_> = cast
        .readers
        .iter()
        .map(|(token, msgpack)| {
            tokio::spawn(reader(t.clone(), token.clone(), cast.channel.clone(), *msgpack, done_rx.clone()))
        })
        .collect();
    let senders: Vec<_> = cast
        .senders
        .iter()
        .map(|(token, name, abandon)| {
            tokio::spawn(sender(t.clone(), token.clone(), cast.channel.clone(), name, *abandon, progress.clone()))
        })
        .collect();

    let total = PER_SENDER * cast.senders.len();
    while progress.load(Ordering::Relaxed) < total / 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fault_started = Instant::now();
    fault(system).await;
    let host = api(system);
    let fault_took = fault_started.elapsed();
    let acked_at_recovery = progress.load(Ordering::Relaxed);

    let mut reports = Vec::new();
    for s in senders {
        reports.push(s.await.unwrap());
    }

    // What the faults left behind.
    let log = host.all_events_after(&cast.owner, &cast.channel, 0, 200).await;
    let stored = stored_messages(&log);
    let duplicates: usize = stored.values().map(|v| v.len() - 1).sum();
    let acked: Vec<&Acked> = reports.iter().flat_map(|r| &r.acked).collect();
    let lost = acked.iter().filter(|a| !stored.contains_key(&a.text)).count();
    for a in &acked {
        if let Some([(seq, id)]) = stored.get(&a.text).map(Vec::as_slice) {
            assert_eq!(
                (*seq, id.as_str()),
                (a.seq, a.id.as_str()),
                "{label}: {:?} is stored as another message",
                a.text
            );
        }
    }
    let abandoned: Vec<&(String, String)> = reports.iter().flat_map(|r| &r.abandoned).collect();
    let abandoned_stored = abandoned.iter().filter(|(text, _)| stored.contains_key(text)).count();
    let sum = |f: fn(&SenderReport) -> usize| reports.iter().map(f).sum::<usize>();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for (status, n) in reports.iter().flat_map(|r| &r.statuses) {
        *statuses.entry(*status).or_default() += n;
    }
    let slowest_failure = reports.iter().map(|r| r.slowest_failure).max().unwrap_or_default();
    println!(
        "{label}: sent {}, acknowledged {} ({} replayed by key), errors {} (5xx {}, no answer {}), retried {}, \
         abandoned {} ({abandoned_stored} of them stored), stored {}, duplicates {duplicates}, lost {lost}; \
         statuses {statuses:?}; slowest failed attempt {slowest_failure:?}; fault took {fault_took:?}, \
         {acked_at_recovery} acknowledged by then",
        sum(|r| r.sent),
        acked.len(),
        sum(|r| r.replayed),
        sum(|r| r.error_replies + r.no_answer),
        sum(|r| r.error_replies),
        sum(|r| r.no_answer),
        sum(|r| r.retried),
        abandoned.len(),
        stored.len(),
    );
    assert_eq!(duplicates, 0, "{label}: duplicated messages");
    assert_eq!(lost, 0, "{label}: acknowledged messages are missing");
    assert_eq!(acked.len() + abandoned.len(), sum(|r| r.sent), "{label}: every message is acknowledged or abandoned");
    assert_eq!(stored.len(), acked.len() + abandoned_stored, "{label}: stored messages nobody sent");
    if expect_failures {
        assert!(sum(|r| r.error_replies + r.no_answer) > 0, "{label}: the fault caused no failed request");
    }
    assert!(slowest_failure < FAST_FAILURE, "{label}: a failure took {slowest_failure:?} to surface");

    // Every sender now retries every message with its key, as a client that restarted would:
    // a stored message comes back as it is (200), an abandoned one that never got in is
    // stored now (201), and nothing is stored twice.
    let mut replays = (0, 0);
    for (i, report) in reports.iter().enumerate() {
        let token = &cast.senders[i].0;
        let all = report.acked.iter().map(|a| (&a.text, &a.key)).chain(report.abandoned.iter().map(|(t, k)| (t, k)));
        for (text, key) in all {
            let r = host
                .post(
                    &format!("/api/v1/channels/{}/messages", cast.channel),
                    Some(token),
                    json!({ "text": text, "client_msg_id": key }),
                )
                .await;
            match stored.get(text).map(Vec::as_slice) {
                Some([(seq, id)]) => {
                    r.expect_status(200, "a retry of a stored message");
                    assert_eq!((r.body["message"]["seq"].as_i64(), r.str_at("/message/id")), (Some(*seq), id.clone()));
                    replays.0 += 1;
                }
                _ => {
                    r.expect_status(201, "a retry of a message that never got in");
                    replays.1 += 1;
                }
            }
        }
    }
    let log = host.all_events_after(&cast.owner, &cast.channel, 0, 200).await;
    let last = log.last().map_or(0, |e| e.seq);
    assert_contiguous(&log.iter().map(|e| e.seq).collect::<Vec<_>>(), 1, last, &format!("{label}: the channel log"));
    let after = stored_messages(&log);
    assert_eq!(after.len(), sum(|r| r.sent), "{label}: after the replay every message is stored");
    assert!(after.values().all(|v| v.len() == 1), "{label}: the replay duplicated a message");
    println!("{label}: replay by key: {} returned as stored, {} stored now, 0 duplicated", replays.0, replays.1);

    done_tx.send(Some(last)).unwrap();
    for (i, r) in readers.into_iter().enumerate() {
        let r = r.await.unwrap();
        println!(
            "{label}: reader {i} ({}): {} events, {} live, {} backfilled, {} overlaps, {} reconnects",
            if cast.readers[i].1 { "msgpack" } else { "json" },
            r.events.len(),
            r.live,
            r.backfilled,
            r.overlaps,
            r.reconnects
        );
        assert_eq!(r.events, log, "{label}: reader {i} ends with another log");
        assert!(r.live > 0, "{label}: reader {i} got nothing live");
    }
}

/// The `message.posted` events of a log by text: (seq, message id) of each copy.
fn stored_messages(log: &[ChannelEvent]) -> HashMap<String, Vec<(i64, String)>> {
    let mut stored: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for e in log.iter().filter(|e| e.kind == kind::MESSAGE_POSTED) {
        let text = e.data["text"].as_str().unwrap().to_string();
        stored.entry(text).or_default().push((e.seq, e.data["id"].as_str().unwrap().to_string()));
    }
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn host_killed_with_sigkill_and_restarted_loses_and_duplicates_nothing() {
    let mut host = Target::Host.start().await;
    let t = Endpoint::of(&host);
    let scenario = run_with_fault(
        &mut host,
        |h| h,
        t,
        "sigkill",
        true,
        async |host: &mut Host| {
            for crash in 0..CRASHES {
                if crash > 0 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                host.kill().await;
                // The killed host left its PostgreSQL running: the new one must take over the
                // data directory all the same.
                assert!(host.managed_pg_dir().join("postmaster.pid").exists(), "PostgreSQL stopped with the host");
                host.restart().await;
                host.get("/readyz", None).await.expect_status(200, "readyz after the restart");
            }
        },
    );
    tokio::time::timeout(SCENARIO_LIMIT, scenario).await.expect("the scenario took too long");
    let takeovers = host.log_text().matches("stopped a PostgreSQL left running").count();
    assert_eq!(takeovers, CRASHES, "each restart stops the PostgreSQL its killed predecessor left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_under_the_host_loses_and_duplicates_nothing() {
    let mut host = Target::Host.start().await;
    let t = Endpoint::of(&host);
    let scenario = run_with_fault(
        &mut host,
        |h| h,
        t,
        "postgres restart",
        true,
        async |host: &mut Host| {
            host.stop_managed_pg().await;
            let down = Instant::now();
            // While the database is down the host answers at once: not ready, 503.
            while down.elapsed() < PG_DOWN_FOR {
                let asked = Instant::now();
                let r = host.get("/readyz", None).await;
                r.expect_error(503, "unavailable", "readyz without PostgreSQL");
                assert!(asked.elapsed() < FAST_FAILURE, "readyz took {:?} without PostgreSQL", asked.elapsed());
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            host.start_managed_pg().await;
            let up = Instant::now();
            loop {
                let r = host.get("/readyz", None).await;
                if r.status == 200 {
                    break;
                }
                assert!(up.elapsed() < Duration::from_secs(30), "the host never became ready again: {r:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        },
    );
    tokio::time::timeout(SCENARIO_LIMIT, scenario).await.expect("the scenario took too long");
}

/// Hostile input as a fault: a 4 KiB MessagePack frame of nested arrays once recursed deep
/// enough to overflow a worker thread's stack, which aborts the whole host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deeply_nested_frame_does_not_take_the_host_down() {
    let host = Target::Host.start().await;
    let ann = host.signup("ann@example.com").await;
    let (mut ws, _) = Ws::connect(&host, &ann.access, true).await;
    let mut frame = rmp_serde::to_vec_named(&ClientFrame::Ping { nonce: None }).unwrap();
    frame.pop(); // the nil nonce
    frame.extend(std::iter::repeat_n(0x91, 4000));
    frame.push(0xc0);
    ws.send_raw(Message::binary(frame)).await;
    match ws.recv_within(WAIT).await {
        Incoming::Frame(ServerFrame::Error { code, .. }) => assert_eq!(code, "bad_frame"),
        other => panic!("expected an error frame, got {other:?}"),
    }
    assert_eq!(ws.ping(7).await, Vec::<ServerFrame>::new(), "the socket still works");
    host.get("/healthz", None).await.expect_status(200, "the host is alive");
}
