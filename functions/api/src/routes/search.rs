//! `GET /workspaces/{id}/search?q=...&sort=relevance|newest&limit=N&cursor=C`: messages of
//! the workspace the caller can read right now, in Slack's query syntax
//! (`ocomms_core::search`), each hit with a snippet whose matches are marked.

use ocomms_core::ApiError;
use ocomms_core::ids::WorkspaceId;
use ocomms_core::policy;
use ocomms_core::search::{Query, snippet};
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env, RoomPublisher, Sql};
use crate::repo::search::{self, Sort};
use crate::repo::workspaces;

/// Hits per page unless `limit` says otherwise, and at most.
pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// How deep pages go: past this many hits, narrow the query (Meilisearch's default bound).
pub const MAX_OFFSET: u32 = 1000;
/// Characters of message text around the first match.
pub const SNIPPET_CHARS: usize = 240;

pub async fn search<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    ws: WorkspaceId,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    policy::can_view_workspace(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    let query = Query::parse(&req.query_param("q").unwrap_or_default())?;
    let sort = match req.query_param("sort").as_deref() {
        None | Some("relevance") => Sort::Relevance,
        Some("newest") => Sort::Newest,
        Some(_) => return Err(ApiError::validation("sort must be relevance or newest").into()),
    };
    let limit = match req.query_num::<u32>("limit")? {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => return Err(ApiError::validation(format!("limit must be between 1 and {MAX_LIMIT}")).into()),
    };
    // The cursor is the next page's offset, opaque to clients.
    let offset = match req.query_param("cursor") {
        None => 0,
        Some(c) => Some(c)
            .filter(|c| (1..=3).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|c| c.parse::<u32>().ok())
            .filter(|o| *o < MAX_OFFSET)
            .ok_or_else(|| ApiError::validation("cursor is not one this API gave out"))?,
    };
    let limit = limit.min(MAX_OFFSET - offset);
    let (hits, more) = search::search(&api.sql, ws, caller.user_id, &query, sort, offset, limit).await?;
    let next = offset + limit;
    let hits: Vec<_> = hits
        .into_iter()
        .map(|h| {
            let fragments = snippet(&h.text, &query, SNIPPET_CHARS);
            let mut v = serde_json::to_value(&h).unwrap_or_default();
            v["snippet"] = json!(fragments);
            v
        })
        .collect();
    Ok(Response::ok(json!({
        "hits": hits,
        "next_cursor": (more && next < MAX_OFFSET).then(|| next.to_string()),
    })))
}
