//! `GET /workspaces/{id}/search?q=...&sort=relevance|newest&limit=N&cursor=C`: messages of
//! the workspace the caller can read right now, in Slack's query syntax
//! (`ocomms_core::search`), each hit with a snippet whose matches are marked.

use ocomms_core::ApiError;
use ocomms_core::ids::{UserId, WorkspaceId};
use ocomms_core::policy;
use ocomms_core::search::{Query, engine_query, snippet};
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env as _, Ports, SearchEngine as _};
use crate::repo::search::{self, Hit, Sort};
use crate::repo::workspaces;

/// Hits per page unless `limit` says otherwise, and at most.
pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// How deep pages go: past this many hits, narrow the query (Meilisearch's default bound).
pub const MAX_OFFSET: u32 = 1000;
// PostgreSQL ranks enough matches for every page a client can reach.
const _: () = assert!(search::RANKED_MATCHES >= MAX_OFFSET + MAX_LIMIT);

/// Characters of message text around the first match.
pub const SNIPPET_CHARS: usize = 240;

pub async fn search<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
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
    let (engine, (hits, more)) = match engine_page(api, ws, caller.user_id, &query, sort, offset, limit).await? {
        Some(page) => (ENGINE_MEILISEARCH, page),
        None => (ENGINE_POSTGRES, search::search(&api.sql, ws, caller.user_id, &query, sort, offset, limit).await?),
    };
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
    }))
    .with_header(ENGINE_HEADER, engine))
}

/// Which backend answered, for operators and tests: `meilisearch` or `postgres`.
pub const ENGINE_HEADER: &str = "x-search-engine";
const ENGINE_MEILISEARCH: &str = "meilisearch";
const ENGINE_POSTGRES: &str = "postgres";

/// The page from the search engine, or `None` when PostgreSQL should answer: no engine is
/// configured, its index is not ready yet, or it failed (logged). Falling back keeps search
/// working through an engine outage; PostgreSQL holds every message, so nothing is missing,
/// only slower.
async fn engine_page<P: Ports>(
    api: &Api<P>,
    ws: WorkspaceId,
    caller: UserId,
    query: &Query,
    sort: Sort,
    offset: u32,
    limit: u32,
) -> Result<Option<(Vec<Hit>, bool)>> {
    let Some(engine) = &api.search else { return Ok(None) };
    let (ready, scope) = search::engine_scope(&api.sql, ws, caller, query).await?;
    if !ready {
        return Ok(None);
    }
    // One more than the page, to know whether another follows.
    let Some(request) = engine_query(query, &scope, sort == Sort::Newest, offset, limit + 1) else {
        return Ok(Some((Vec::new(), false)));
    };
    let ids = match engine.search(&request).await {
        Ok(ids) => ids,
        Err(e) => {
            api.env.log_error(&format!("{e}; PostgreSQL answers instead"));
            return Ok(None);
        }
    };
    let more = ids.len() > limit as usize;
    let ids = &ids[..ids.len().min(limit as usize)];
    Ok(Some((search::hits_by_id(&api.sql, ws, caller, ids).await?, more)))
}
