//! The user's WebSockets: accepting and opening one, sending to them, closing them.

use super::*;

impl UserSockets {
    /// Open sockets (not being closed by us) with their tags.
    pub(super) fn sockets(&self) -> Vec<(WebSocket, Tag)> {
        self.state
            .get_websockets()
            .into_iter()
            .filter_map(|ws| tag_of(&ws).filter(|t| !t.closing).map(|t| (ws, t)))
            .collect()
    }

    /// Sends to a ready socket, or queues for one that has not had its `hello` yet.
    pub(super) fn send_to(&self, ws: &WebSocket, frame: &ServerFrame) {
        if let Some(tag) = tag_of(ws).filter(|t| !t.closing) {
            self.send_all(ws, &tag, std::slice::from_ref(frame));
        }
    }

    pub(super) fn send_all(&self, ws: &WebSocket, tag: &Tag, frames: &[ServerFrame]) {
        if tag.ready {
            for f in frames {
                frames::send(ws, tag.msgpack, f);
            }
        } else if let Some(q) = self.inner.borrow_mut().pending.get_mut(&tag.id) {
            q.extend(frames.iter().cloned());
        }
    }

    /// Marks a socket closed by us (it hears nothing more) and closes it.
    pub(super) fn close(&self, ws: &WebSocket, tag: Tag, code: u16, reason: &str) {
        self.inner.borrow_mut().pending.remove(&tag.id);
        let _ = ws.serialize_attachment(Tag { closing: true, ..tag });
        frames::close(ws, code, reason);
    }

    /// The Worker hands over a verified upgrade: accept it, then connect it like the host.
    pub(super) async fn accept_socket(&self, req: &Request, user: UserId) -> Result<Response> {
        let session =
            req.headers().get(wire::headers::SESSION).ok().flatten().and_then(|s| s.parse::<uuid::Uuid>().ok());
        let Some(session) = session else {
            return reply::status(400, "missing session");
        };
        let offered = req.headers().get("sec-websocket-protocol").ok().flatten();
        let protocol = frames::negotiate(offered.as_deref());
        let pair = WebSocketPair::new()?;
        let ws = pair.server;
        // Binary client frames (MessagePack) as ArrayBuffer, not the standard Blob.
        AsRef::<worker::web_sys::WebSocket>::as_ref(&ws).set_binary_type(worker::web_sys::BinaryType::Arraybuffer);
        self.state.accept_web_socket(&ws);
        let tag = Tag {
            id: self.new_id(),
            user,
            session,
            msgpack: frames::is_msgpack(protocol),
            ready: false,
            closing: false,
            active_ms: now_ms(),
        };
        ws.serialize_attachment(&tag)?;
        self.inner.borrow_mut().pending.insert(tag.id, Vec::new());
        if let Err(refusal) = self.open(&ws, tag.clone()).await {
            if refusal == socket::Refusal::Server {
                worker::console_error!("user socket: cannot load the channels");
            }
            self.close(&ws, tag, refusal.close_code(), &refusal.to_string());
        }
        let mut resp = Response::from_websocket(pair.client)?;
        if let Some(p) = protocol {
            resp.headers_mut().set("sec-websocket-protocol", p)?;
        }
        Ok(resp)
    }

    /// `MAX_SOCKETS_PER_USER` (the host's `--max-sockets-per-user`), or the core's default.
    fn max_sockets(&self) -> usize {
        crate::setting(&self.env, MAX_SOCKETS_SETTING)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(ocomms_rooms::user::MAX_SOCKETS_PER_USER)
    }

    pub(super) fn new_id(&self) -> u32 {
        let taken: BTreeSet<u32> = self.state.get_websockets().iter().filter_map(tag_of).map(|t| t.id).collect();
        loop {
            let mut b = [0u8; 4];
            let _ = getrandom::fill(&mut b);
            let id = u32::from_le_bytes(b);
            if !taken.contains(&id) {
                return id;
            }
        }
    }

    /// Checks the session, subscribes the channels, sends `hello`, presence and what queued.
    pub(super) async fn open(&self, ws: &WebSocket, mut tag: Tag) -> std::result::Result<(), socket::Refusal> {
        let caller = Caller { user_id: tag.user, session_id: tag.session };
        // The same cap as the host's, before any database work.
        self.core(caller.user_id).admit(tag.id, self.max_sockets()).map_err(|_| socket::Refusal::TooManyForUser)?;
        let db = EdgePg::from_env(&self.env).map_err(|e| {
            worker::console_error!("user socket: {}", ocomms_api::error::chain(&e));
            socket::Refusal::Server
        })?;
        let channels = socket::start(&db, caller).await?;
        drop(db);
        // The channel set grows before the rooms answer: their frames may arrive before the
        // replies, and queue until `hello` has gone out.
        let mut core = self.core(caller.user_id);
        let actions = core.connect(tag.id, Socket { session: tag.session, active_ms: tag.active_ms }, &channels);
        let replies = self.apply(&core, actions).await;
        if tag_of(ws).is_none_or(|t| t.closing) {
            return Ok(()); // its session ended meanwhile; it is already closed
        }
        let mut subscriptions = Vec::with_capacity(replies.len());
        let mut presence: BTreeMap<UserId, Presence> = BTreeMap::new();
        for reply in replies {
            subscriptions.push(reply.subscription);
            presence.extend(reply.presence);
        }
        let queued = self.inner.borrow_mut().pending.remove(&tag.id).unwrap_or_default();
        let hello = ServerFrame::Hello { user_id: caller.user_id, subscriptions };
        let presence = presence
            .into_iter()
            .filter(|(u, _)| *u != caller.user_id)
            .map(|(user_id, status)| ServerFrame::Presence { user_id, status });
        for frame in std::iter::once(hello).chain(presence).chain(queued) {
            frames::send(ws, tag.msgpack, &frame);
        }
        tag.ready = true;
        let _ = ws.serialize_attachment(&tag);
        self.arm_idle_alarm(&core).await;
        Ok(())
    }
}
