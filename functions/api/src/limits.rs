//! Applying the rate limits of [`ocomms_core::limits`]: a bucket per limit and subject in
//! PostgreSQL, so that every runtime and every host counts together.

use ocomms_core::ApiError;
use ocomms_core::limits::{Limit, address_from_header};

use crate::Api;
use crate::error::Result;
use crate::http::Request;
use crate::ports::Ports;
use crate::repo::limits as repo;

/// Takes one of `subject`'s requests under `limit`, or refuses with 429 and when to retry.
pub(crate) async fn check<P: Ports>(api: &Api<P>, limit: Limit, subject: &str) -> Result<()> {
    let rate = api.config.limits.rate(limit);
    match repo::take(&api.sql, &limit.key(subject), f64::from(rate.burst), rate.per_sec()).await? {
        None => Ok(()),
        Some(left) => Err(ApiError::rate_limited(
            format!("too many requests ({}); try again later", limit.name()),
            rate.retry_after_secs(left),
        )
        .into()),
    }
}

/// Who the client is, as far as addresses go: the configured proxy header when there is
/// one (and only then: anyone can send such a header), else what the runtime saw. All
/// clients whose address is unknown share one bucket.
pub(crate) fn client_address<P: Ports>(api: &Api<P>, req: &Request) -> String {
    let from_proxy =
        api.config.client_address_header.as_deref().and_then(|h| req.last_header(h)).and_then(address_from_header);
    from_proxy
        .or_else(|| req.client_addr.as_deref().and_then(address_from_header))
        .unwrap_or_else(|| "unknown".to_string())
}
