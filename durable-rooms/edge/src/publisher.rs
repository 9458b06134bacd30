//! The API's `RoomPublisher` port at the edge: committed events go to the channel's object,
//! notices to the user's object.

use ocomms_api::ports::{PublishError, RoomPublisher};
use ocomms_core::event::{ChannelEvent, UserNotice};
use ocomms_core::ids::UserId;

use crate::{call, wire};

pub struct EdgeRooms {
    pub env: worker::Env,
}

impl RoomPublisher for EdgeRooms {
    /// Waits until the channel's object has fanned the event out, so that one client's
    /// successive requests are delivered in order.
    async fn publish(&self, event: &ChannelEvent) -> Result<(), PublishError> {
        call::room::<_, serde_json::Value>(&self.env, event.channel_id, wire::room::EVENTS, event)
            .await
            .map(drop)
            .map_err(|e| PublishError(e.to_string()))
    }

    async fn notify_user(&self, user: UserId, notice: &UserNotice) -> Result<(), PublishError> {
        call::user::<_, serde_json::Value>(&self.env, user, wire::user::NOTICES, notice)
            .await
            .map(drop)
            .map_err(|e| PublishError(e.to_string()))
    }
}
