//! Publishing to rooms over HTTP: `POST {rooms_url}/internal/rooms/{channel}/events` for
//! channel events and `POST {rooms_url}/internal/users/{user}/notices` for one user's sockets.
//! Inside `wasm-host` that URL is answered in-process; on Spin it reaches a rooms service.

use ocomms_api::ports::{PublishError, RoomPublisher};
use ocomms_core::event::{ChannelEvent, UserNotice};
use ocomms_core::ids::UserId;

pub struct HttpRooms {
    pub base_url: String,
    pub secret: String,
}

impl HttpRooms {
    async fn post(&self, path: &str, body: Vec<u8>) -> Result<(), PublishError> {
        #[cfg(target_arch = "wasm32")]
        {
            let url = format!("{}{path}", self.base_url.trim_end_matches('/'));
            let req = spin_sdk::http::Request::builder()
                .method(spin_sdk::http::Method::Post)
                .uri(url)
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {}", self.secret))
                .body(body)
                .build();
            let resp: spin_sdk::http::Response =
                spin_sdk::http::send(req).await.map_err(|e| PublishError(e.to_string()))?;
            if !(200..300).contains(resp.status()) {
                return Err(PublishError(format!("rooms answered {}", resp.status())));
            }
            Ok(())
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = (&self.base_url, &self.secret, path, body);
            Err(PublishError("the Spin component publishes only when built for wasm32".into()))
        }
    }
}

impl RoomPublisher for HttpRooms {
    async fn publish(&self, event: &ChannelEvent) -> Result<(), PublishError> {
        let body = serde_json::to_vec(event).map_err(|e| PublishError(e.to_string()))?;
        self.post(&format!("/internal/rooms/{}/events", event.channel_id), body).await
    }

    async fn notify_user(&self, user: UserId, notice: &UserNotice) -> Result<(), PublishError> {
        let body = serde_json::to_vec(notice).map_err(|e| PublishError(e.to_string()))?;
        self.post(&format!("/internal/users/{user}/notices"), body).await
    }
}
