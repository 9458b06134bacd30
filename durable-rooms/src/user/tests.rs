use super::*;
use ocomms_core::event::WorkspaceChange;
use ocomms_core::ids::WorkspaceId;
use ocomms_core::policy::Role;
use uuid::Uuid;

const CH: ChannelId = ChannelId(Uuid::from_u128(1));
const CH2: ChannelId = ChannelId(Uuid::from_u128(2));
const ANN: UserId = UserId(Uuid::from_u128(10));
const S1: Uuid = Uuid::from_u128(100);
const S2: Uuid = Uuid::from_u128(200);

fn sub(channel_id: ChannelId, last_seq: i64) -> Subscription {
    Subscription { channel_id, last_seq }
}

fn socket(session: Uuid, active_ms: i64) -> Socket {
    Socket { session, active_ms }
}

fn ann() -> UserSockets<u32> {
    UserSockets::new(ANN)
}

fn ev(kind: &str, data: serde_json::Value) -> ChannelEvent {
    ChannelEvent { channel_id: CH, seq: 3, kind: kind.into(), data, at_ms: 0 }
}

#[test]
fn the_first_socket_subscribes_its_channels_and_later_ones_add_to_them() {
    let mut u = ann();
    let actions = u.connect(1, socket(S1, 0), &[sub(CH, 4)]);
    assert_eq!(actions, vec![UserAction::Subscribe { channel: CH, stored_seq: 4, away: false }]);
    u.connect(2, socket(S1, 0), &[sub(CH2, 9)]);
    assert_eq!(u.channels().iter().copied().collect::<Vec<_>>(), vec![CH, CH2]);
    // Every socket gone, then a new one: PostgreSQL's answer replaces the old set.
    u.disconnect(1);
    u.disconnect(2);
    u.connect(3, socket(S1, 0), &[sub(CH2, 9)]);
    assert_eq!(u.channels().iter().copied().collect::<Vec<_>>(), vec![CH2]);
}

#[test]
fn the_last_socket_takes_the_user_out_of_every_room_and_forgets_away() {
    let mut u = ann();
    u.connect(1, socket(S1, 0), &[sub(CH, 0), sub(CH2, 0)]);
    u.connect(2, socket(S1, 0), &[sub(CH, 0), sub(CH2, 0)]);
    u.set_presence(1, Presence::Away, 5).unwrap();
    assert!(u.disconnect(1).is_empty(), "another socket is still open");
    assert!(u.disconnect(1).is_empty(), "closing twice is harmless");
    assert_eq!(
        u.disconnect(2),
        vec![UserAction::Unsubscribe { channel: CH }, UserAction::Unsubscribe { channel: CH2 }]
    );
    assert_eq!(u.away(), Away::default());
    assert!(!u.is_connected() && u.channels().is_empty());
}

#[test]
fn someone_away_who_opens_another_socket_stays_away_in_its_rooms() {
    let mut u = ann();
    u.connect(1, socket(S1, 0), &[sub(CH, 0)]);
    u.set_presence(1, Presence::Away, 1).unwrap();
    assert_eq!(
        u.connect(2, socket(S1, 2), &[sub(CH, 0)]),
        vec![UserAction::Subscribe { channel: CH, stored_seq: 0, away: true }]
    );
}

#[test]
fn idle_users_go_away_once_and_activity_brings_them_back_unless_away_by_choice() {
    let mut u = ann();
    u.connect(1, socket(S1, 0), &[sub(CH, 0)]);
    u.connect(2, socket(S1, 50_000), &[sub(CH, 0)]);
    assert_eq!(u.idle_check(60_000, 60_000), IdleCheck::CheckAt(110_000), "the newest socket counts");
    assert_eq!(u.tick(60_000, 60_000), (vec![], Some(110_000)));
    let away = UserAction::SetAway { channels: vec![CH], away: true };
    assert_eq!(u.tick(110_000, 60_000), (vec![away.clone()], None));
    assert_eq!(u.idle_check(200_000, 60_000), IdleCheck::Nothing, "away is told once");
    let back = UserAction::SetAway { channels: vec![CH], away: false };
    assert_eq!(u.activity(2, 111_000), vec![back.clone()]);
    assert!(u.activity(2, 111_500).is_empty());
    assert_eq!(u.set_presence(1, Presence::Away, 112_000).unwrap(), vec![away.clone()]);
    assert!(u.activity(1, 113_000).is_empty(), "typing does not override a chosen away");
    assert!(u.tick(999_000, 60_000).0.is_empty(), "nor does idleness");
    assert_eq!(u.set_presence(1, Presence::Online, 114_000).unwrap(), vec![back]);
    assert_eq!(u.set_presence(1, Presence::Offline, 115_000), Err(OfflineIsNotAChoice));
    assert!(u.set_presence(9, Presence::Away, 0).unwrap().is_empty(), "an unknown socket changes nothing");
    assert_eq!(ann().idle_check(0, 1), IdleCheck::Nothing, "no socket, nothing to watch");
}

#[test]
fn an_ended_session_closes_its_sockets_only_and_the_last_one_leaves_the_rooms() {
    let mut u = ann();
    u.connect(1, socket(S1, 0), &[sub(CH, 0)]);
    u.connect(2, socket(S2, 0), &[sub(CH, 0)]);
    let logout = UserNotice::SessionsEnded { session_id: Some(S1), reason: "logged out".into() };
    assert_eq!(u.notice(logout.clone()), vec![UserAction::End { conn: 1, reason: "logged out".into() }]);
    assert!(u.notice(logout).is_empty(), "an ended session has no socket left");
    assert_eq!(u.conns().collect::<Vec<_>>(), vec![2]);
    let removed = UserNotice::SessionsEnded { session_id: None, reason: "removed".into() };
    assert_eq!(
        u.notice(removed),
        vec![UserAction::End { conn: 2, reason: "removed".into() }, UserAction::Unsubscribe { channel: CH }]
    );
}

#[test]
fn notices_reach_every_socket() {
    let mut u = ann();
    let marker = UserNotice::ReadMarker { channel_id: CH, last_read_seq: 9 };
    assert!(u.notice(marker.clone()).is_empty(), "nobody to tell");
    u.connect(1, socket(S1, 0), &[]);
    u.connect(2, socket(S2, 0), &[]);
    assert_eq!(
        u.notice(marker),
        vec![UserAction::Send {
            to: vec![1, 2],
            frames: vec![ServerFrame::ReadMarker { channel_id: CH, last_read_seq: 9 }]
        }]
    );
    let ws = WorkspaceId(Uuid::from_u128(7));
    assert_eq!(
        u.notice(UserNotice::RoleChanged { workspace_id: ws, role: Role::Admin }),
        vec![UserAction::Send {
            to: vec![1, 2],
            frames: vec![ServerFrame::RoleChanged { workspace_id: ws, role: Role::Admin }]
        }]
    );
    let changed = UserNotice::WorkspaceChanged { workspace_id: ws, what: WorkspaceChange::Channels };
    assert_eq!(
        u.notice(changed),
        vec![UserAction::Send {
            to: vec![1, 2],
            frames: vec![ServerFrame::WorkspaceChanged { workspace_id: ws, what: WorkspaceChange::Channels }]
        }]
    );
    assert_eq!(
        u.notice(UserNotice::NotificationsChanged {}),
        vec![UserAction::Send { to: vec![1, 2], frames: vec![ServerFrame::NotificationsChanged {}] }]
    );
}

#[test]
fn joining_and_leaving_change_what_the_sockets_hear() {
    let mut u = ann();
    assert_eq!(u.joined(sub(CH, 2)), None, "offline users are not subscribed");
    u.connect(1, socket(S1, 0), &[]);
    let frame =
        |seq| ServerFrame::Event { event: ChannelEvent { seq, ..ev(kind::MESSAGE_POSTED, serde_json::json!({})) } };
    assert_eq!(u.deliver(&[frame(1)]), None, "not listening yet");
    assert_eq!(
        u.joined(sub(CH, 2)),
        Some(vec![UserAction::Send {
            to: vec![1],
            frames: vec![ServerFrame::Subscribed { subscription: sub(CH, 2) }]
        }])
    );
    let pong = ServerFrame::Pong { nonce: None };
    assert_eq!(
        u.deliver(&[frame(3), pong.clone()]),
        Some(UserAction::Send { to: vec![1], frames: vec![frame(3), pong.clone()] })
    );
    assert_eq!(
        u.left(CH),
        vec![UserAction::Send { to: vec![1], frames: vec![ServerFrame::Unsubscribed { channel_id: CH }] }]
    );
    assert!(u.left(CH).is_empty(), "leaving twice tells nobody");
    assert_eq!(u.deliver(&[frame(4), pong.clone()]), Some(UserAction::Send { to: vec![1], frames: vec![pong] }));
}

#[test]
fn membership_changes_name_the_member() {
    let data = serde_json::json!({ "user_id": ANN.to_string() });
    assert_eq!(membership_change(&ev(kind::MEMBER_JOINED, data.clone())), Some(Membership::Joined(ANN)));
    assert_eq!(membership_change(&ev(kind::MEMBER_LEFT, data.clone())), Some(Membership::Left(ANN)));
    assert_eq!(membership_change(&ev(kind::MESSAGE_POSTED, data)), None);
    assert_eq!(membership_change(&ev(kind::MEMBER_JOINED, serde_json::json!({ "user_id": 5 }))), None);
}

#[test]
fn restored_state_behaves_like_the_original() {
    let mut u = ann();
    u.connect(1, socket(S1, 0), &[sub(CH, 0)]);
    u.set_presence(1, Presence::Away, 1).unwrap();
    let mut back = UserSockets::restore(ANN, [(1, *u.socket(1).unwrap())], u.channels().iter().copied(), u.away());
    assert_eq!(back.disconnect(1), u.disconnect(1));
}

#[test]
fn a_user_holds_at_most_the_limit_of_sockets() {
    let mut u = ann();
    for conn in 0..3 {
        assert_eq!(u.admit(conn, 3), Ok(()));
        u.connect(conn, socket(S1, 0), &[]);
    }
    assert_eq!(u.admit(3, 3), Err(TooManySockets { limit: 3 }));
    // A socket already counted (the edge rebuilds the core with it) is not counted twice.
    assert_eq!(u.admit(2, 3), Ok(()));
    u.disconnect(0);
    assert_eq!(u.admit(3, 3), Ok(()));
}
