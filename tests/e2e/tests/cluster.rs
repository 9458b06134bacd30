//! Several real hosts as one cluster: one PostgreSQL, one relay (Debian's `redis-server`),
//! every host started at the same moment (so their migrations race for the advisory lock).
//! What one host's components commit reaches the sockets on the others exactly once and in
//! order, in JSON and MessagePack; presence and typing cross hosts; a host killed with
//! SIGKILL takes its users' presence with it within the documented bound; and a relay
//! restart loses nothing: the hosts' sockets are told to resync and the log fills the gap
//! (what a host queued meanwhile may still arrive late; clients drop it by seq).
//!
//! Each scenario runs twice: with the hosts on PostgreSQL directly, and through a real
//! PgBouncer in transaction pooling mode (`--database-pool-mode transaction`).

use std::time::{Duration, Instant};

use crate::common::{Haproxy, Host, HostOptions, PgBouncer, RelayServer, Target, WAIT, Ws, WsAuth};
use crate::faults::{Endpoint, SCENARIO_LIMIT, run_with_fault};
use ocomms_core::event::{ClientFrame, Presence, ServerFrame, Subscription};
use ocomms_core::ids::{ChannelId, UserId};
use ocomms_testsupport::TestDb;

/// The hosts' `--presence-ttl`: short, so the SIGKILL scenario is quick.
const PRESENCE_TTL_SECS: u64 = 3;
/// The bound on a dead host's users going offline elsewhere: the time to live, plus the
/// once-a-second sweep that finds it has passed.
const OFFLINE_BOUND: Duration = Duration::from_secs(PRESENCE_TTL_SECS + 1);

/// How the hosts reach PostgreSQL.
#[derive(Debug, Clone, Copy)]
enum Via {
    Direct,
    PgBouncer,
}

struct Cluster {
    hosts: Vec<Host>,
    relay: RelayServer,
    _bouncer: Option<PgBouncer>,
    _db: TestDb,
}

/// `n` hosts sharing one database, one relay and the secrets that tokens and the internal
/// routes are signed with; returns once each reports its relay up.
async fn cluster(n: usize, via: Via) -> Cluster {
    let db = ocomms_testsupport::fresh_db().await.expect("a test database");
    let relay = RelayServer::start().await;
    let (database_url, bouncer, pool_args) = match via {
        Via::Direct => (db.url.clone(), None, vec![]),
        Via::PgBouncer => {
            let bouncer = PgBouncer::start(db.port).await;
            let url = bouncer.url(&db.name);
            (url, Some(bouncer), vec!["--database-pool-mode".to_owned(), "transaction".to_owned()])
        }
    };
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    let opts = HostOptions {
        database_url: Some(database_url),
        variables: vec![
            ("JWT_SECRET", format!("cluster-jwt-{nonce}")),
            ("ROOMS_SECRET", format!("cluster-rooms-{nonce}")),
        ],
        host_args: ["--relay-url".into(), relay.url(), "--presence-ttl".into(), PRESENCE_TTL_SECS.to_string()]
            .into_iter()
            .chain(pool_args)
            .collect(),
        ..HostOptions::default()
    };
    let hosts = futures::future::join_all((0..n).map(|_| Target::Host.start_with(opts.clone()))).await;
    for h in &hosts {
        wait_relay(h, "up").await;
    }
    Cluster { hosts, relay, _bouncer: bouncer, _db: db }
}

/// Waits until the host's `/readyz` names the relay `state` ("up" or "down").
async fn wait_relay(host: &Host, state: &str) {
    let started = Instant::now();
    loop {
        let r = host.get("/readyz", None).await;
        r.expect_status(200, "readyz");
        if r.text.contains(&format!("relay: {state}")) {
            return;
        }
        assert!(started.elapsed() < WAIT, "relay not {state} after {WAIT:?}: {}", r.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn last_seq_of(subs: &[Subscription], channel: &str) -> i64 {
    subs.iter().find(|s| s.channel_id.to_string() == channel).map(|s| s.last_seq).expect("subscribed")
}

/// The next presence frame about `user`, skipping everything else; panics after `within`.
async fn presence_of(ws: &mut Ws, user: &str, within: Duration) -> Presence {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ws.recv_within(left).await {
            crate::common::Incoming::Frame(ServerFrame::Presence { user_id, status })
                if user_id.to_string() == user =>
            {
                return status;
            }
            crate::common::Incoming::Frame(_) => {}
            crate::common::Incoming::Closed(c) => panic!("the socket closed: {c:?}"),
        }
    }
}

async fn messages_cross_hosts_exactly_once_and_in_order(via: Via) {
    let c = cluster(3, via).await;
    let [a, b, c3] = [&c.hosts[0], &c.hosts[1], &c.hosts[2]];
    let ann = a.signup("ann@example.com").await;
    let bob = b.signup("bob@example.com").await;
    let (ws_id, general) = a.create_workspace(&ann.access, "Acme").await;
    let code = b.create_invite(&ann.access, &ws_id).await;
    c3.accept_invite(&bob.access, &code).await.expect_status(200, "accept the invite on another host");

    let mut sockets = vec![
        ("Ann on A (JSON)", Ws::open(a, false, WsAuth::Header(&ann.access)).await),
        ("Bob on B (JSON)", Ws::open(b, false, WsAuth::Header(&bob.access)).await),
        ("Bob on C (MessagePack)", Ws::open(c3, true, WsAuth::Header(&bob.access)).await),
        ("Ann on C (MessagePack)", Ws::open(c3, true, WsAuth::Frame(&ann.access)).await),
    ];
    let mut start = None;
    for (name, ws) in &mut sockets {
        let (_, subs) = ws.hello().await;
        let at = last_seq_of(&subs, &general);
        assert_eq!(*start.get_or_insert(at), at, "{name} starts where the others do");
    }
    // Two people take turns through the three hosts.
    let mut posted = Vec::new();
    for i in 0..30 {
        let via = &c.hosts[i % 3];
        let who = if i % 2 == 0 { &ann } else { &bob };
        posted.push(via.post_message(&who.access, &general, &format!("message {i}")).await);
    }
    let start = start.unwrap();
    assert_eq!(posted, ((start + 1)..=(start + 30)).collect::<Vec<_>>());
    for (name, ws) in &mut sockets {
        for (i, seq) in posted.iter().enumerate() {
            let ev = ws.next_event().await;
            assert_eq!((ev.channel_id.to_string(), ev.seq), (general.clone(), *seq), "{name}: once, in order");
            assert_eq!(ev.data["text"], format!("message {i}"), "{name}");
        }
        ws.expect_no_event(Duration::from_millis(300)).await;
    }
    // The log every host serves is the one the sockets saw.
    for h in &c.hosts {
        let log = h.all_events_after(&bob.access, &general, start, 100).await;
        assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), posted);
    }
    // Read markers of one device reach the user's devices on other hosts.
    let read = b
        .post(&format!("/api/v1/channels/{general}/read"), Some(&bob.access), serde_json::json!({ "seq": start + 30 }))
        .await;
    assert!(read.status < 300, "mark read: {read:?}");
    let bob_on_c = &mut sockets[2].1;
    loop {
        if let ServerFrame::ReadMarker { last_read_seq, .. } = bob_on_c.next_frame().await {
            assert_eq!(last_read_seq, start + 30);
            break;
        }
    }
    // Joining a channel through host A subscribes Bob's sockets on B and C, which then get
    // what is posted there through yet another host.
    let random = a.create_channel(&ann.access, &ws_id, "random", "public").await;
    a.join_channel(&bob.access, &random).await;
    let said = c3.post_message(&ann.access, &random, "welcome").await;
    for i in [1, 2] {
        let (name, ws) = &mut sockets[i];
        loop {
            match ws.next_significant().await {
                ServerFrame::Subscribed { subscription } => {
                    assert_eq!(subscription.channel_id.to_string(), random, "{name}");
                    break;
                }
                // Bob's own read marker, set above, reached every socket of his.
                ServerFrame::ReadMarker { .. } => {}
                other => panic!("{name}: expected `subscribed` for #random, got {other:?}"),
            }
        }
        let joined = ws.next_event().await;
        assert_eq!((joined.channel_id.to_string(), joined.kind.as_str()), (random.clone(), "member.joined"), "{name}");
        let ev = ws.next_event().await;
        assert_eq!((ev.channel_id.to_string(), ev.seq), (random.clone(), said), "{name}");
    }
    for (_, ws) in sockets {
        ws.close().await;
    }
}

async fn presence_and_typing_cross_hosts_and_a_killed_host_takes_its_users_offline(via: Via) {
    let mut c = cluster(2, via).await;
    let (ann, bob, carol, general) = {
        let [a, b] = [&c.hosts[0], &c.hosts[1]];
        let ann = a.signup("ann@example.com").await;
        let bob = b.signup("bob@example.com").await;
        let carol = a.signup("carol@example.com").await;
        let (ws_id, general) = a.create_workspace(&ann.access, "Acme").await;
        for who in [&bob, &carol] {
            let code = a.create_invite(&ann.access, &ws_id).await;
            b.accept_invite(&who.access, &code).await.expect_status(200, "accept");
        }
        (ann, bob, carol, general)
    };
    let channel: ChannelId = general.parse().unwrap();
    let mut bob_ws = Ws::open(&c.hosts[1], false, WsAuth::Header(&bob.access)).await;
    bob_ws.hello().await;

    // Ann connects on A: Bob, on B, sees her come online.
    let mut ann_ws = Ws::open(&c.hosts[0], true, WsAuth::Header(&ann.access)).await;
    ann_ws.hello().await;
    assert_eq!(presence_of(&mut bob_ws, &ann.user_id, WAIT).await, Presence::Online);
    // A new socket on B is told at once, with the presence that follows its hello.
    let mut bob_again = Ws::open(&c.hosts[1], false, WsAuth::Header(&bob.access)).await;
    bob_again.hello().await;
    assert_eq!(presence_of(&mut bob_again, &ann.user_id, WAIT).await, Presence::Online);
    bob_again.close().await;

    // Ann types on A; Bob hears it on B.
    ann_ws.send_frame(&ClientFrame::Typing { channel_id: channel }).await;
    loop {
        if let ServerFrame::Typing { user_id, channel_id, .. } = bob_ws.next_frame().await {
            assert_eq!((user_id.to_string(), channel_id), (ann.user_id.clone(), channel));
            break;
        }
    }
    // Ann says she is away, then leaves: Bob sees both.
    ann_ws.send_frame(&ClientFrame::SetPresence { status: Presence::Away }).await;
    assert_eq!(presence_of(&mut bob_ws, &ann.user_id, WAIT).await, Presence::Away);
    ann_ws.close().await;
    assert_eq!(presence_of(&mut bob_ws, &ann.user_id, WAIT).await, Presence::Offline);

    // Carol is on A when it is killed: no goodbye, so her presence ends by expiry.
    let mut carol_ws = Ws::open(&c.hosts[0], false, WsAuth::Header(&carol.access)).await;
    let (carol_id, _) = carol_ws.hello().await;
    assert_eq!(carol_id, carol.user_id.parse::<UserId>().unwrap());
    assert_eq!(presence_of(&mut bob_ws, &carol.user_id, WAIT).await, Presence::Online);
    let killed = Instant::now();
    c.hosts[0].kill().await;
    assert_eq!(
        presence_of(&mut bob_ws, &carol.user_id, OFFLINE_BOUND + Duration::from_secs(1)).await,
        Presence::Offline
    );
    println!("a killed host's user went offline elsewhere after {:?} (bound {OFFLINE_BOUND:?})", killed.elapsed());
    drop(carol_ws);
    bob_ws.close().await;
}

async fn a_relay_restart_loses_nothing(via: Via) {
    let mut c = cluster(2, via).await;
    let [a, b] = [&c.hosts[0], &c.hosts[1]];
    let ann = a.signup("ann@example.com").await;
    let bob = b.signup("bob@example.com").await;
    let (ws_id, general) = a.create_workspace(&ann.access, "Acme").await;
    let code = a.create_invite(&ann.access, &ws_id).await;
    b.accept_invite(&bob.access, &code).await.expect_status(200, "accept");
    let mut bob_ws = Ws::open(b, true, WsAuth::Header(&bob.access)).await;
    let (_, subs) = bob_ws.hello().await;
    let start = last_seq_of(&subs, &general);
    let first = a.post_message(&ann.access, &general, "before").await;
    assert_eq!(bob_ws.next_event().await.seq, first);

    // The relay goes away: posting on A still works, B's socket hears nothing live.
    c.relay.stop();
    wait_relay(a, "down").await;
    wait_relay(b, "down").await;
    let mut during = Vec::new();
    for i in 0..5 {
        during.push(a.post_message(&ann.access, &general, &format!("during {i}")).await);
    }
    // Back: B's socket is told to resync, and the log has everything, once, in order.
    c.relay.start_again().await;
    wait_relay(a, "up").await;
    wait_relay(b, "up").await;
    let last = loop {
        match bob_ws.next_frame().await {
            ServerFrame::Resync { .. } => break first,
            ServerFrame::Event { event } => {
                panic!("no live event should cross while the relay is down: {event:?}")
            }
            _ => {}
        }
    };
    let missed = b.all_events_after(&bob.access, &general, last, 100).await;
    assert_eq!(missed.iter().map(|e| e.seq).collect::<Vec<_>>(), during);
    // And live delivery is back. What A queued while the relay was away may still arrive,
    // late: a client drops what it already has by seq, as after any resync.
    let after = a.post_message(&ann.access, &general, "after").await;
    let have = *during.last().unwrap();
    let mut late = 0;
    loop {
        let ev = bob_ws.next_event().await;
        if ev.seq <= have {
            late += 1;
            continue;
        }
        assert_eq!(ev.seq, after, "the next new event is the one posted after the restart");
        break;
    }
    println!("relay restart: {} posted while it was down, {late} of them arrived late after the resync", during.len());
    assert!(after > start);
    bob_ws.close().await;
}

/// Three hosts behind HAProxy while two people post (retrying with their `client_msg_id`)
/// and two clients read (reconnecting and backfilling, as the web client does); one host
/// is killed with SIGKILL a third of the way through. Every acknowledged message is stored
/// once, and every reader ends with the whole log, in order, nothing lost or repeated.
async fn a_host_killed_behind_the_balancer_loses_and_duplicates_nothing(via: Via) {
    let mut c = cluster(3, via).await;
    let proxy = Haproxy::start(&c.hosts.iter().map(|h| h.addr).collect::<Vec<_>>()).await;
    let t = Endpoint::at(&proxy.base());
    let label = format!("{via:?}: a host killed behind the balancer");
    let scenario = run_with_fault(
        &mut c,
        |c| &c.hosts[1],
        t,
        &label,
        false,
        async |c: &mut Cluster| {
            c.hosts[0].kill().await;
        },
    );
    tokio::time::timeout(SCENARIO_LIMIT, scenario).await.expect("the scenario took too long");
    drop(proxy);
}

/// Each scenario as `direct::name` and `pgbouncer::name`.
macro_rules! both_ways {
    ($($name:ident),* $(,)?) => {
        mod direct {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                super::$name(super::Via::Direct).await;
            })*
        }
        mod pgbouncer {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                super::$name(super::Via::PgBouncer).await;
            })*
        }
    };
}

both_ways!(
    messages_cross_hosts_exactly_once_and_in_order,
    presence_and_typing_cross_hosts_and_a_killed_host_takes_its_users_offline,
    a_relay_restart_loses_nothing,
    a_host_killed_behind_the_balancer_loses_and_duplicates_nothing,
);
