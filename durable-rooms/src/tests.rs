use super::*;
use uuid::Uuid;

const CH: ChannelId = ChannelId(Uuid::from_u128(1));
const ANN: UserId = UserId(Uuid::from_u128(10));
const BOB: UserId = UserId(Uuid::from_u128(11));

fn ev(seq: i64) -> ChannelEvent {
    ChannelEvent { channel_id: CH, seq, kind: "message.posted".into(), data: serde_json::json!({}), at_ms: 0 }
}

fn room() -> Room<u32> {
    Room::new(CH, 0, RoomLimits { backlog: 4, max_subscribers: 3, ..RoomLimits::default() })
}

#[test]
fn fan_out_reaches_every_subscriber_once() {
    let mut r = room();
    r.subscribe(1, ANN).unwrap();
    r.subscribe(2, BOB).unwrap();
    match r.publish(ev(1)) {
        Published::Fresh { delivery, gap } => {
            assert_eq!(delivery.to, vec![1, 2]);
            assert!(!gap);
        }
        Published::Duplicate => panic!("fresh event reported duplicate"),
    }
    assert_eq!(r.publish(ev(1)), Published::Duplicate);
    assert_eq!(r.last_seq(), 1);
}

#[test]
fn gaps_and_out_of_order_events() {
    let mut r = room();
    r.subscribe(1, ANN).unwrap();
    assert!(matches!(r.publish(ev(2)), Published::Fresh { gap: true, .. }));
    assert!(matches!(r.publish(ev(1)), Published::Fresh { gap: false, .. }));
    assert_eq!(r.last_seq(), 2);
    assert_eq!(r.backlog_after(0).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn backlog_is_bounded_and_knows_when_it_cannot_answer() {
    let mut r = room();
    for s in 1..=6 {
        r.publish(ev(s));
    }
    assert_eq!(r.backlog_after(2).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4, 5, 6]);
    assert_eq!(r.backlog_after(1), None, "seq 2 fell out of the backlog");
    assert_eq!(r.backlog_after(6).unwrap(), vec![]);
    let mut fresh = Room::<u32>::new(CH, 10, RoomLimits::default());
    assert_eq!(fresh.backlog_after(3), None, "a room seeded from the database has no backlog");
    fresh.publish(ev(11));
    assert_eq!(fresh.backlog_after(10).unwrap().len(), 1);
}

#[test]
fn subscriber_cap() {
    let mut r = room();
    for c in 1..=3 {
        r.subscribe(c, ANN).unwrap();
    }
    assert_eq!(r.subscribe(4, BOB).unwrap_err(), RoomError::Full(3));
    r.unsubscribe(1);
    assert!(r.subscribe(4, BOB).is_ok());
}

#[test]
fn presence_follows_first_and_last_connection() {
    let mut r = room();
    assert_eq!(r.subscribe(1, ANN).unwrap().1, None, "nobody to tell");
    let (_, p) = r.subscribe(2, BOB).unwrap();
    assert_eq!(
        p.unwrap(),
        Delivery { to: vec![1], frame: ServerFrame::Presence { user_id: BOB, status: Presence::Online } }
    );
    assert_eq!(r.subscribe(3, BOB).unwrap().1, None, "second tab is not news");
    assert_eq!(r.unsubscribe(2), None);
    let off = r.unsubscribe(3).unwrap();
    assert_eq!(off.frame, ServerFrame::Presence { user_id: BOB, status: Presence::Offline });
    assert_eq!(off.to, vec![1]);
    assert_eq!(r.online_users(), vec![ANN]);
    assert_eq!(r.unsubscribe(3), None);
}

#[test]
fn leaving_the_channel_is_not_going_offline() {
    let mut r = room();
    r.subscribe(1, ANN).unwrap();
    r.subscribe(2, BOB).unwrap();
    r.leave(2);
    assert_eq!(r.online_users(), vec![ANN], "Bob is no longer in this room");
    assert_eq!(r.unsubscribe(2), None, "and nothing is left to announce");
    // Coming back later is news again.
    let (_, p) = r.subscribe(3, BOB).unwrap();
    assert_eq!(p.unwrap().frame, ServerFrame::Presence { user_id: BOB, status: Presence::Online });
}

#[test]
fn typing_is_throttled_and_expires() {
    let mut r = room();
    r.subscribe(1, ANN).unwrap();
    r.subscribe(2, BOB).unwrap();
    let d = r.typing(1, 1_000).unwrap().unwrap();
    assert_eq!(d.to, vec![2]);
    assert_eq!(r.typing(1, 1_500).unwrap(), None, "throttled");
    assert!(r.typing(1, 3_100).unwrap().is_some());
    assert_eq!(r.typing_users(3_200), vec![ANN]);
    assert_eq!(r.typing_users(10_000), vec![]);
    assert_eq!(r.typing(9, 0).unwrap_err(), RoomError::NotSubscribed);
}

#[test]
fn typing_from_another_host_reaches_the_others_here_with_the_same_interval() {
    let mut r = room();
    r.subscribe(1, ANN).unwrap();
    // Alone here: nobody to tell locally, but the signal still counts for other hosts.
    let lone = r.typing_broadcast(1, 1_000).unwrap().expect("passed the interval");
    assert!(lone.to.is_empty());
    assert_eq!(r.typing(1, 1_000).unwrap(), None);
    assert_eq!(r.typing_broadcast(1, 1_500).unwrap(), None, "throttled");
    r.subscribe(2, BOB).unwrap();
    let carol = UserId(Uuid::from_u128(12));
    let d = r.typing_elsewhere(carol, 2_000).expect("told here");
    assert_eq!(d.to, vec![1, 2]);
    assert!(matches!(d.frame, ServerFrame::Typing { user_id, .. } if user_id == carol));
    assert_eq!(r.typing_elsewhere(carol, 2_500), None, "throttled like a local signal");
    assert_eq!(r.typing_elsewhere(BOB, 2_500).unwrap().to, vec![1], "not to the typist's own connections");
}

#[test]
fn posting_clears_typing() {
    let mut r = room();
    r.subscribe(1, ANN).unwrap();
    r.typing(1, 0).unwrap();
    let mut e = ev(1);
    e.data = serde_json::json!({ "author_id": ANN.to_string() });
    r.publish(e);
    assert_eq!(r.typing_users(1), vec![]);
}

#[test]
fn events_from_before_the_room_existed_are_retries() {
    let mut r = Room::<u32>::new(CH, 5, RoomLimits::default());
    assert_eq!(r.publish(ev(5)), Published::Duplicate);
    assert!(matches!(r.publish(ev(7)), Published::Fresh { gap: true, .. }));
    assert!(matches!(r.publish(ev(6)), Published::Fresh { gap: false, .. }));
}

#[test]
fn away_and_back_are_told_once_to_the_others() {
    let mut r = room();
    r.subscribe(1, ANN).unwrap();
    r.subscribe(2, ANN).unwrap();
    r.subscribe(3, BOB).unwrap();
    let d = r.set_away(ANN, true).expect("bob hears ann is away");
    assert_eq!(d.to, vec![3]);
    assert_eq!(d.frame, ServerFrame::Presence { user_id: ANN, status: Presence::Away });
    assert!(r.set_away(ANN, true).is_none(), "no repeat");
    assert_eq!(r.presence_of_others(BOB), vec![(ANN, Presence::Away)]);
    let d = r.set_away(ANN, false).expect("back online");
    assert_eq!(d.frame, ServerFrame::Presence { user_id: ANN, status: Presence::Online });
    assert!(r.set_away(UserId(Uuid::from_u128(99)), true).is_none(), "not connected here");
    r.unsubscribe(1);
    r.unsubscribe(2);
    assert_eq!(r.presence_of_others(BOB), vec![]);
}
