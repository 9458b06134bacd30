//! The OComms API as a Spin HTTP component (WASI 0.2, `wasm32-wasip2`).
//!
//! # Layout
//! - this file: the `#[http_component]` entry; converts Spin's request/response to the API's.
//! - [`pg`]: the `Sql` port over `spin:postgres@4.0.0`; [`one_row`]: why every query
//!   returns at least one row.
//! - [`rooms`]: the `RoomPublisher` port: one authenticated POST to the rooms service.
//! - [`search`]: the `SearchEngine` port over Meilisearch, when `search_backend` says so.
//! - [`blobs`]: the `Blobs` port: S3 presigning, the component's own requests over wasi:http.
//! - [`env`]: clock, randomness and logs from WASI.
//!
//! Configuration comes from Spin variables: `jwt_secret`, `rooms_url`, `rooms_secret`,
//! `db_url`, `public_url`, `search_backend`, `meilisearch_url`, `meilisearch_key`, the
//! `s3_*` storage settings and the file limits. The same bytes run on Spin and inside
//! `wasm-host`.

pub mod blobs;
pub mod env;
pub mod one_row;
#[cfg(target_arch = "wasm32")]
pub mod outbound;
pub mod pg;
pub mod rooms;
pub mod search;

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, reason = "#[http_component] generates the component export glue")]
mod entry {
    use ocomms_api::{Api, Config, Method, Request, Response};
    use ocomms_core::{ApiError, ErrorCode};
    use ocomms_s3::S3Store;
    use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
    use spin_sdk::http_component;
    use spin_sdk::variables;

    use crate::{
        blobs::WasiHttp, env::WasiEnv, outbound::WasiOutbound, pg::SpinPg, rooms::HttpRooms, search::MeiliEngine,
    };
    use ocomms_core::limits::Limits;
    use ocomms_core::outbound::{AllowList, RetrySchedule};

    /// Takes wasi:http's request and response as they are: the spin-sdk's `Request` and
    /// `Response` would rebuild the URI and put the headers through hash maps both ways.
    /// Profiled on a 404: those conversions were a third of the component's own time.
    #[http_component]
    async fn handle(req: IncomingRequest, out: ResponseOutparam) {
        let resp = match read(req).await {
            Ok(req) => answer(req).await,
            Err(e) => {
                eprintln!("reading the request body: {e}");
                Response::error(&ApiError::validation("the request body could not be read"))
            }
        };
        send(out, resp).await;
    }

    async fn answer(req: Request) -> Response {
        let public_url = variables::get("public_url").unwrap_or_default();
        let client_address_header = variables::get("client_address_header").ok();
        // Unknown paths need none of the rest of the configuration: an instance serves one
        // request, so building it is paid on every one (profiled: 6 % of a 404).
        if let Some(refusal) = ocomms_api::refuse_unrouted(&req, &public_url, client_address_header.as_deref()) {
            return refusal;
        }
        match build(public_url, client_address_header) {
            Ok(api) => api.handle(req).await,
            Err(e) => {
                eprintln!("ocomms component misconfigured: {e}");
                Response::error(&ApiError::new(ErrorCode::Unavailable, "service misconfigured"))
            }
        }
    }

    /// The request as the API takes it: header names in lower case, in the order received
    /// (repeated headers kept), values that are not UTF-8 left out, the whole body.
    async fn read(req: IncomingRequest) -> Result<Request, String> {
        let mut out =
            Request::new(Method::parse(&req.method().to_string()), &req.path_with_query().unwrap_or_default());
        out.headers = req
            .headers()
            .entries()
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), String::from_utf8(v).ok()?)))
            .collect();
        // The runtime's own header (Spin and wasm-host replace any a client sends).
        out.client_addr = out.header("spin-client-addr").map(str::to_string);
        out.body = req.into_body().await.map_err(|e| e.to_debug_string())?;
        Ok(out)
    }

    async fn send(out: ResponseOutparam, resp: Response) {
        let headers: Vec<(String, Vec<u8>)> = resp.headers.into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
        let (fields, status, body) = match Fields::from_list(&headers) {
            Ok(fields) => (fields, resp.status, resp.body),
            // A header wasi:http refuses is a bug here; the client still gets an answer.
            Err(e) => {
                eprintln!("response headers refused: {e:?}");
                let body = ApiError::new(ErrorCode::Internal, "internal error").to_json().to_string().into_bytes();
                (Fields::new(), 500, body)
            }
        };
        let response = OutgoingResponse::new(fields);
        if response.set_status_code(status).is_err() {
            eprintln!("response status {status} refused");
        }
        if let Err(e) = out.set_with_body(response, body).await {
            eprintln!("sending the response: {e:?}");
        }
    }

    type Ports = (SpinPg, HttpRooms, WasiEnv, MeiliEngine, S3Store<WasiHttp>, WasiOutbound);

    fn build(public_url: String, client_address_header: Option<String>) -> anyhow::Result<Api<Ports>> {
        let secret = variables::get("jwt_secret")?;
        anyhow::ensure!(secret.len() >= 32, "jwt_secret must be at least 32 bytes");
        let rooms_secret = variables::get("rooms_secret")?;
        // Absent variables (an older manifest) mean the defaults: no internal apps, Slack's
        // retry schedule.
        let allow = AllowList::parse(&variables::get("outbound_allow").unwrap_or_default())?;
        let retry = match variables::get("delivery_retry_secs").unwrap_or_default().trim() {
            "" => RetrySchedule::default(),
            v => RetrySchedule::parse(v)
                .ok_or_else(|| anyhow::anyhow!("delivery_retry_secs must be seconds, comma-separated, not {v:?}"))?,
        };
        let api = Api::new(
            SpinPg::new(variables::get("db_url")?),
            HttpRooms { base_url: variables::get("rooms_url")?, secret: rooms_secret.clone() },
            WasiEnv,
            Config::new(secret.into_bytes(), public_url)
                .with_file_limits(limit("file_max_bytes")?, limit("workspace_quota_bytes")?)
                .with_outbound(allow, retry)
                .with_internal_secret(rooms_secret)
                .with_limits(Limits::parse(&variables::get("rate_limits").unwrap_or_default())?, client_address_header)
                .with_accounts(
                    &variables::get("email_verification").unwrap_or_default(),
                    &variables::get("install_admins").unwrap_or_default(),
                )?
                .with_oidc(
                    &variables::get("oidc_issuer").unwrap_or_default(),
                    &variables::get("oidc_client_id").unwrap_or_default(),
                    &variables::get("oidc_client_secret").unwrap_or_default(),
                    &variables::get("oidc_name").unwrap_or_default(),
                )?,
        );
        // Absent variables (an older manifest) mean the default: PostgreSQL.
        let engine = match variables::get("search_backend").unwrap_or_default().as_str() {
            "" | "postgres" => None,
            "meilisearch" => {
                let key = variables::get("meilisearch_key").ok().filter(|k| !k.is_empty());
                Some(MeiliEngine::new(&variables::get("meilisearch_url")?, key))
            }
            other => anyhow::bail!("search_backend must be postgres or meilisearch, not {other:?}"),
        };
        let blobs = crate::blobs::from_variables(|name| variables::get(name).ok());
        Ok(api.with_search(engine).with_blobs(blobs).with_outbound(Some(WasiOutbound)))
    }

    /// A byte limit from a variable; absent (an older manifest) means the default.
    fn limit(name: &str) -> anyhow::Result<Option<i64>> {
        match variables::get(name).unwrap_or_default().trim() {
            "" => Ok(None),
            v => v.parse().map(Some).map_err(|_| anyhow::anyhow!("{name} must be a number of bytes, not {v:?}")),
        }
    }
}
