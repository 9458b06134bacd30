//! The `SearchEngine` port over Meilisearch: `meilisearch-sdk` with its HTTP sent through
//! the component's outgoing `wasi:http` (so Spin's `allowed_outbound_hosts` applies to it).
//!
//! The search itself ([`MeiliEngine`]) is the SDK's; only [`WasiHttp`], the SDK's transport,
//! is ours. Both exist only when built for wasm32: natively the SDK's futures must be `Send`,
//! and the component's are not.

#[cfg(target_arch = "wasm32")]
pub use wasm::{MeiliEngine, WasiHttp};

/// The index the host's indexer fills (wasm-host's `search_index::INDEX`).
pub const INDEX: &str = "messages";

#[cfg(target_arch = "wasm32")]
mod wasm {
    use async_trait::async_trait;
    use futures_util::AsyncReadExt as _;
    use meilisearch_sdk::client::Client;
    use meilisearch_sdk::errors::Error;
    use meilisearch_sdk::request::{HttpClient, Method, parse_response};
    use meilisearch_sdk::search::{MatchingStrategies, Selectors};
    use ocomms_api::ports::{SearchEngine, SearchError};
    use ocomms_core::search::EngineQuery;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    /// Meilisearch's HTTP over `wasi:http`, with the API key as a bearer token.
    #[derive(Clone)]
    pub struct WasiHttp {
        key: Option<String>,
    }

    fn other(e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Other(Box::new(e))
    }

    #[async_trait(?Send)]
    impl HttpClient for WasiHttp {
        async fn stream_request<
            Query: Serialize + Send + Sync,
            Body: futures_io::AsyncRead + Send + Sync + 'static,
            Output: DeserializeOwned + 'static,
        >(
            &self,
            url: &str,
            method: Method<Query, Body>,
            content_type: &str,
            expected_status_code: u16,
        ) -> Result<Output, Error> {
            use spin_sdk::http::Method as M;
            let query = yaup::to_string(method.query())?;
            let url = format!("{url}{query}");
            let verb = match &method {
                Method::Get { .. } => M::Get,
                Method::Post { .. } => M::Post,
                Method::Put { .. } => M::Put,
                Method::Patch { .. } => M::Patch,
                Method::Delete { .. } => M::Delete,
            };
            let mut body = Vec::new();
            if let Some(reader) = method.into_body() {
                std::pin::pin!(reader).read_to_end(&mut body).await.map_err(other)?;
            }
            let mut req = spin_sdk::http::Request::builder();
            req.method(verb).uri(url.as_str()).header("content-type", content_type);
            if let Some(key) = &self.key {
                req.header("authorization", format!("Bearer {key}"));
            }
            let resp: spin_sdk::http::Response = spin_sdk::http::send(req.body(body).build()).await.map_err(other)?;
            let status = *resp.status();
            let text = String::from_utf8_lossy(resp.body());
            let text = if text.is_empty() { "null" } else { &text };
            parse_response(status, expected_status_code, text, url)
        }
    }

    /// Searches the `messages` index of one Meilisearch.
    pub struct MeiliEngine {
        client: Client<WasiHttp>,
    }

    impl MeiliEngine {
        pub fn new(url: &str, key: Option<String>) -> Self {
            Self { client: Client::new_with_client(url, key.clone(), WasiHttp { key }) }
        }
    }

    #[derive(serde::Deserialize)]
    struct Id {
        id: uuid::Uuid,
    }

    impl SearchEngine for MeiliEngine {
        async fn search(&self, q: &EngineQuery) -> Result<Vec<uuid::Uuid>, SearchError> {
            let index = self.client.index(super::INDEX);
            let sort = [EngineQuery::NEWEST_FIRST];
            let mut search = index.search();
            search
                .with_query(&q.q)
                .with_filter(&q.filter)
                .with_matching_strategy(MatchingStrategies::ALL)
                .with_attributes_to_retrieve(Selectors::Some(&["id"]))
                .with_offset(q.offset as usize)
                .with_limit(q.limit as usize);
            if q.newest_first {
                search.with_sort(&sort);
            }
            let found = search.execute::<Id>().await.map_err(|e| SearchError(e.to_string()))?;
            Ok(found.hits.into_iter().map(|h| h.result.id).collect())
        }
    }
}
