//! Publishing to rooms over HTTP: `POST {rooms_url}/internal/rooms/{channel}/events`.
//! Inside `wasm-host` that URL is answered in-process; on Spin it reaches a rooms service.

use ocomms_api::ports::{PublishError, RoomPublisher};
use ocomms_core::event::ChannelEvent;

pub struct HttpRooms {
    pub base_url: String,
    pub secret: String,
}

impl RoomPublisher for HttpRooms {
    async fn publish(&self, event: &ChannelEvent) -> Result<(), PublishError> {
        #[cfg(target_arch = "wasm32")]
        {
            let url = format!("{}/internal/rooms/{}/events", self.base_url.trim_end_matches('/'), event.channel_id);
            let body = serde_json::to_vec(event).map_err(|e| PublishError(e.to_string()))?;
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
            let _ = (&self.base_url, &self.secret, event);
            Err(PublishError("the Spin component publishes only when built for wasm32".into()))
        }
    }
}
