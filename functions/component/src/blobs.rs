//! File storage for the component: [`ocomms_s3::S3Store`] sending its own requests through
//! the component's outgoing `wasi:http` (so `allowed_outbound_hosts` applies to them).

use ocomms_s3::{HttpReply, HttpSend, PublicEndpoint, S3Settings, S3Store};

pub struct WasiHttp;

impl HttpSend for WasiHttp {
    async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<HttpReply, String> {
        use spin_sdk::http::Method as M;
        let verb = match method {
            "GET" => M::Get,
            "HEAD" => M::Head,
            "PUT" => M::Put,
            "DELETE" => M::Delete,
            other => return Err(format!("unexpected method {other}")),
        };
        let mut req = spin_sdk::http::Request::builder();
        req.method(verb).uri(url);
        for (k, v) in headers {
            req.header(k.as_str(), v.as_str());
        }
        req.body(body);
        let resp: spin_sdk::http::Response = spin_sdk::http::send(req.build()).await.map_err(|e| e.to_string())?;
        Ok(HttpReply {
            status: *resp.status(),
            headers: resp
                .headers()
                .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_string())))
                .collect(),
            body: resp.into_body(),
        })
    }
}

/// The store the variables describe; `None` without credentials (file routes answer 503).
pub fn from_variables(get: impl Fn(&str) -> Option<String>) -> Option<S3Store<WasiHttp>> {
    let access_key = get("s3_access_key").filter(|k| !k.is_empty())?;
    let settings = S3Settings {
        endpoint: get("s3_endpoint")?.trim_end_matches('/').to_string(),
        public_endpoint: PublicEndpoint::parse(&get("s3_public_endpoint").unwrap_or_default()),
        region: get("s3_region").filter(|r| !r.is_empty()).unwrap_or_else(|| "us-east-1".into()),
        bucket: get("s3_bucket")?,
        access_key,
        secret_key: get("s3_secret_key").unwrap_or_default(),
        path_style: get("s3_path_style").is_none_or(|v| v != "false"),
    };
    Some(S3Store::new(settings, WasiHttp))
}
