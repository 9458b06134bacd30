//! WebSocket frames as the host sends them: JSON text, or MessagePack binary with the
//! `ocomms.msgpack` subprotocol. Clients may send either kind; the subprotocol decides what
//! the server sends.

use ocomms_core::event::{ClientFrame, Encoding, FrameError, MSGPACK_SUBPROTOCOL, ServerFrame};

/// Asking for it selects JSON explicitly (the default without any subprotocol).
pub const JSON_SUBPROTOCOL: &str = "ocomms.json";

/// The subprotocol to answer with, given the client's `Sec-WebSocket-Protocol`: MessagePack
/// if offered, else JSON if offered, else none (the host's preference order).
pub fn negotiate(offered: Option<&str>) -> Option<&'static str> {
    let offered: Vec<&str> = offered.unwrap_or("").split(',').map(str::trim).collect();
    [MSGPACK_SUBPROTOCOL, JSON_SUBPROTOCOL].into_iter().find(|p| offered.contains(p))
}

pub fn is_msgpack(protocol: Option<&str>) -> bool {
    protocol == Some(MSGPACK_SUBPROTOCOL)
}

/// One WebSocket message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Text(String),
    Binary(Vec<u8>),
}

pub fn encode(msgpack: bool, frame: &ServerFrame) -> Option<Message> {
    if msgpack {
        Encoding::MsgPack.encode(frame).ok().map(Message::Binary)
    } else {
        Encoding::Json.encode(frame).ok().and_then(|b| String::from_utf8(b).ok()).map(Message::Text)
    }
}

/// A client frame: text frames are JSON, binary frames MessagePack.
/// Over the client frame limit: the socket is closed with 1009, not answered.
pub fn too_large(msg: &Message) -> bool {
    let len = match msg {
        Message::Text(t) => t.len(),
        Message::Binary(b) => b.len(),
    };
    len > ocomms_core::event::MAX_CLIENT_FRAME_BYTES
}

pub fn decode(msg: &Message) -> Result<ClientFrame, FrameError> {
    match msg {
        Message::Text(t) => Encoding::Json.decode_client(t.as_bytes()),
        Message::Binary(b) => Encoding::MsgPack.decode_client(b),
    }
}

/// Sends a frame in the socket's encoding. A socket that is closing refuses; the caller
/// treats that like a closed socket.
pub fn send(ws: &worker::WebSocket, msgpack: bool, frame: &ServerFrame) -> bool {
    match encode(msgpack, frame) {
        Some(Message::Text(t)) => ws.send_with_str(t).is_ok(),
        Some(Message::Binary(b)) => ws.send_with_bytes(b).is_ok(),
        None => false,
    }
}

/// A close code that may go on the wire: the reserved ones (no status, abnormal closure,
/// TLS failure) and out-of-range values become 1000.
pub fn sendable_close_code(code: u16) -> u16 {
    match code {
        1005 | 1006 | 1015 => 1000,
        1000..=4999 => code,
        _ => 1000,
    }
}

/// Closes a socket with `code` and `reason`, or plainly if the runtime refuses them.
pub fn close(ws: &worker::WebSocket, code: u16, reason: &str) {
    if ws.close(Some(sendable_close_code(code)), Some(reason)).is_err() {
        let _ = ws.close(Some(1000), None::<&str>);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn frames_over_the_limit_are_too_large() {
        let max = ocomms_core::event::MAX_CLIENT_FRAME_BYTES;
        assert!(!too_large(&Message::Text(" ".repeat(max))));
        assert!(too_large(&Message::Text(" ".repeat(max + 1))));
        assert!(too_large(&Message::Binary(vec![0; max + 1])));
    }

    #[test]
    fn msgpack_wins_when_offered() {
        assert_eq!(negotiate(None), None);
        assert_eq!(negotiate(Some("chat, superchat")), None);
        assert_eq!(negotiate(Some("ocomms.json")), Some(JSON_SUBPROTOCOL));
        assert_eq!(negotiate(Some("ocomms.json, ocomms.msgpack")), Some(MSGPACK_SUBPROTOCOL));
        assert!(is_msgpack(negotiate(Some("ocomms.msgpack"))));
    }

    #[test]
    fn frames_round_trip_in_both_encodings() {
        let f = ServerFrame::Pong { nonce: Some(3) };
        assert_eq!(encode(false, &f), Some(Message::Text(r#"{"type":"pong","nonce":3}"#.into())));
        let Some(Message::Binary(b)) = encode(true, &f) else { panic!("msgpack is binary") };
        assert_eq!(rmp_serde::from_slice::<ServerFrame>(&b).unwrap(), f);
        let ping = ClientFrame::Ping { nonce: Some(1) };
        assert_eq!(decode(&Message::Text(r#"{"type":"ping","nonce":1}"#.into())).unwrap(), ping);
        assert_eq!(decode(&Message::Binary(rmp_serde::to_vec_named(&ping).unwrap())).unwrap(), ping);
        assert!(decode(&Message::Text("{".into())).is_err());
    }

    #[test]
    fn only_sendable_close_codes_leave() {
        assert_eq!(sendable_close_code(4003), 4003);
        assert_eq!(sendable_close_code(1000), 1000);
        assert_eq!(sendable_close_code(1005), 1000);
        assert_eq!(sendable_close_code(1011), 1011);
        assert_eq!(sendable_close_code(999), 1000);
    }
}
