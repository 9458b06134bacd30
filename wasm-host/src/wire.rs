//! A server frame on its way to many sockets, serialised at most once per encoding.
//!
//! One event in a channel of 10,000 sockets used to be serialised 10,000 times, on the
//! socket tasks; now the first socket task of each encoding does it and the others send the
//! same bytes (a WebSocket message's payload is reference-counted, so a clone is a pointer
//! copy). The work stays on the socket tasks, which the runtime spreads over every core,
//! rather than on the thread that publishes while holding the hub's lock.

use std::sync::OnceLock;

use axum::extract::ws::{Message, Utf8Bytes};
use ocomms_core::event::{Encoding, ServerFrame};

/// A frame and its encodings, made when a socket first needs them.
pub struct SharedFrame {
    frame: ServerFrame,
    json: OnceLock<Option<Message>>,
    msgpack: OnceLock<Option<Message>>,
}

impl SharedFrame {
    pub fn new(frame: ServerFrame) -> Self {
        Self { frame, json: OnceLock::new(), msgpack: OnceLock::new() }
    }

    pub fn frame(&self) -> &ServerFrame {
        &self.frame
    }

    /// The frame as a WebSocket message in `encoding`: serialised by the first caller for
    /// that encoding, shared by the rest. `None` if it cannot be encoded (never expected of
    /// our own frames; the socket skips it).
    pub fn message(&self, encoding: Encoding) -> Option<Message> {
        let cell = match encoding {
            Encoding::Json => &self.json,
            Encoding::MsgPack => &self.msgpack,
        };
        cell.get_or_init(|| encode(encoding, &self.frame)).clone()
    }
}

/// One frame as a WebSocket message: text for JSON, binary for MessagePack.
pub fn encode(encoding: Encoding, frame: &ServerFrame) -> Option<Message> {
    let bytes = encoding.encode(frame).ok()?;
    Some(match encoding {
        Encoding::Json => Message::Text(Utf8Bytes::try_from(bytes).ok()?),
        Encoding::MsgPack => Message::Binary(bytes.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocomms_core::ids::UserId;

    fn payload(m: &Message) -> &[u8] {
        match m {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
            other => panic!("not a data message: {other:?}"),
        }
    }

    #[test]
    fn each_encoding_is_made_once_and_shared() {
        let frame = ServerFrame::Presence {
            user_id: UserId(uuid::Uuid::from_u128(7)),
            status: ocomms_core::event::Presence::Online,
        };
        let shared = SharedFrame::new(frame.clone());
        let (j1, j2) = (shared.message(Encoding::Json).unwrap(), shared.message(Encoding::Json).unwrap());
        let (m1, m2) = (shared.message(Encoding::MsgPack).unwrap(), shared.message(Encoding::MsgPack).unwrap());
        // The same allocation, not equal copies.
        assert_eq!(payload(&j1).as_ptr(), payload(&j2).as_ptr());
        assert_eq!(payload(&m1).as_ptr(), payload(&m2).as_ptr());
        assert!(matches!(j1, Message::Text(_)) && matches!(m1, Message::Binary(_)));
        // And the bytes are what encoding the frame alone gives.
        assert_eq!(payload(&j1), Encoding::Json.encode(&frame).unwrap());
        assert_eq!(payload(&m1), Encoding::MsgPack.encode(&frame).unwrap());
    }
}
