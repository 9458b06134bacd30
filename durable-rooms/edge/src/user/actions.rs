//! Carrying out what the user core decides: the core is rebuilt from the sockets' attachments
//! and storage, and its changes and actions are written back and carried out.

use super::*;

impl UserSockets {
    /// The user core as the sockets' attachments and storage have it now.
    pub(super) fn core(&self, user: UserId) -> Core<u32> {
        let inner = self.inner.borrow();
        let sockets =
            self.sockets().into_iter().map(|(_, t)| (t.id, Socket { session: t.session, active_ms: t.active_ms }));
        Core::restore(user, sockets, inner.channels.iter().copied(), inner.away)
    }

    /// Keeps what the core changed (channels, away, activity) and carries out its actions:
    /// first on the sockets here, then in the rooms. Returns the rooms' subscription replies.
    pub(super) async fn apply(&self, core: &Core<u32>, actions: Vec<UserAction<u32>>) -> Vec<SubscribeReply> {
        self.save(core).await;
        let user = core.user();
        let (mut subscribe, mut unsubscribe, mut away) = (Vec::new(), Vec::new(), Vec::new());
        for action in actions {
            match action {
                UserAction::Send { to, frames } => {
                    for (ws, tag) in self.sockets().into_iter().filter(|(_, t)| to.contains(&t.id)) {
                        self.send_all(&ws, &tag, &frames);
                    }
                }
                UserAction::End { conn, reason } => {
                    for (ws, tag) in self.sockets().into_iter().filter(|(_, t)| t.id == conn) {
                        if tag.ready {
                            frames::send(&ws, tag.msgpack, &ServerFrame::SessionEnded { reason: reason.clone() });
                        }
                        self.close(&ws, tag, socket::CLOSE_SESSION_ENDED, "session ended");
                    }
                }
                UserAction::Subscribe { channel, stored_seq, away } => {
                    subscribe.push((channel, SubscribeReq { user_id: user, db_seq: stored_seq, away }));
                }
                UserAction::Unsubscribe { channel } => unsubscribe.push(channel),
                UserAction::SetAway { channels, away: to } => {
                    away.extend(channels.into_iter().map(|c| (c, PresenceReq { user_id: user, away: to })));
                }
            }
        }
        let unsubscribed = join_all(unsubscribe.iter().map(|channel| async move {
            let req = UserReq { user_id: user };
            (*channel, self.call_room::<_, serde_json::Value>(*channel, wire::room::UNSUBSCRIBE, &req).await)
        }));
        let presence = join_all(away.iter().map(|(channel, req)| async move {
            (*channel, self.call_room::<_, serde_json::Value>(*channel, wire::room::PRESENCE, req).await)
        }));
        let subscribed = join_all(subscribe.iter().map(|(channel, req)| async move {
            (*channel, self.call_room::<_, SubscribeReply>(*channel, wire::room::SUBSCRIBE, req).await)
        }));
        let (unsubscribed, presence, subscribed) = futures::join!(unsubscribed, presence, subscribed);
        for (channel, r) in unsubscribed.into_iter().chain(presence) {
            if let Err(e) = r {
                worker::console_error!("user {user}: tell room {channel}: {e}");
            }
        }
        subscribed
            .into_iter()
            .filter_map(|(channel, r)| {
                r.map_err(|e| worker::console_error!("user {user}: subscribe to {channel}: {e}")).ok()
            })
            .collect()
    }

    /// Stores the core's channel set and away state if they changed, and each socket's
    /// activity in its attachment.
    pub(super) async fn save(&self, core: &Core<u32>) {
        self.save_sockets(core);
        let (channels, away) = {
            let mut inner = self.inner.borrow_mut();
            let channels = (inner.channels != *core.channels()).then(|| core.channels().clone());
            let away = (inner.away != core.away()).then(|| core.away());
            if let Some(c) = &channels {
                inner.channels = c.clone();
            }
            if let Some(a) = away {
                inner.away = a;
            }
            (channels, away)
        };
        let storage = self.state.storage();
        if let Some(channels) = channels
            && let Err(e) = storage.put(CHANNELS_KEY, channels.into_iter().collect::<Vec<_>>()).await
        {
            worker::console_error!("user {}: store channels: {e}", core.user());
        }
        if let Some(away) = away
            && let Err(e) = storage.put(AWAY_KEY, away).await
        {
            worker::console_error!("user {}: store away: {e}", core.user());
        }
    }

    pub(super) fn save_sockets(&self, core: &Core<u32>) {
        for (ws, tag) in self.sockets() {
            if let Some(s) = core.socket(tag.id)
                && s.active_ms != tag.active_ms
            {
                let _ = ws.serialize_attachment(Tag { active_ms: s.active_ms, ..tag });
            }
        }
    }

    /// Room frames for every socket; returns how many sockets there are. Frames of a channel
    /// the user no longer listens to are dropped (and count as no socket, so the channel
    /// forgets the user).
    pub(super) fn push(&self, user: UserId, frames: &[ServerFrame]) -> u32 {
        let core = self.core(user);
        let Some(UserAction::Send { to, frames }) = core.deliver(frames) else { return 0 };
        for (ws, tag) in self.sockets().into_iter().filter(|(_, t)| to.contains(&t.id)) {
            self.send_all(&ws, &tag, &frames);
        }
        u32::try_from(to.len()).unwrap_or(u32::MAX)
    }

    /// The user joined a channel: open sockets subscribe to it.
    pub(super) async fn joined(&self, user: UserId, m: JoinedReq) -> JoinedReply {
        let mut core = self.core(user);
        let away = core.away().away;
        match core.joined(m.subscription) {
            Some(actions) => {
                self.apply(&core, actions).await;
                JoinedReply { online: true, away }
            }
            None => JoinedReply { online: false, away },
        }
    }

    /// Closes a socket for a protocol error; the user core lets go of it.
    pub(super) async fn drop_socket(&self, ws: &WebSocket, tag: Tag, code: u16, reason: &str) {
        let mut core = self.core(tag.user);
        let actions = core.disconnect(tag.id);
        self.close(ws, tag, code, reason);
        self.apply(&core, actions).await;
    }

    /// A socket closed (or failed): forget it; the last one takes the user out of every room.
    pub(super) async fn gone(&self, ws: &WebSocket, code: u16) {
        let Some(tag) = tag_of(ws) else { return };
        if tag.closing {
            // We closed it, and the core let go of it then.
            self.inner.borrow_mut().pending.remove(&tag.id);
            return;
        }
        if let Err(e) = self.load().await {
            worker::console_error!("user {}: {}", tag.user, ocomms_api::error::chain(&e));
        }
        // Complete the closing handshake (newer runtimes do it themselves).
        self.drop_socket(ws, tag, code, "closed").await;
    }

    pub(super) fn stub(&self, channel: ChannelId) -> std::result::Result<Rc<Stub>, CallError> {
        if let Some(stub) = self.inner.borrow().stubs.get(&channel) {
            return Ok(stub.clone());
        }
        let stub = Rc::new(call::room_stub(&self.env, channel)?);
        self.inner.borrow_mut().stubs.insert(channel, stub.clone());
        Ok(stub)
    }

    pub(super) async fn call_room<B: Serialize, R: DeserializeOwned>(
        &self,
        channel: ChannelId,
        route: &str,
        body: &B,
    ) -> std::result::Result<R, CallError> {
        let stub = self.stub(channel)?;
        call::call(&stub, &wire::room_url(channel, route), body).await
    }
}
