//! Files: start an upload (a presigned PUT), complete it (the stored object is checked and
//! a picture gets its thumbnail), list a channel's files, download (a redirect to a
//! presigned GET) and delete. Uploaded and downloaded bytes never pass through here; only
//! a picture is read once, to make its thumbnail. A file is visible to whoever may read its channel once it is
//! in a message, and only to its uploader before.

use ocomms_core::event::ChannelEvent;
use ocomms_core::ids::{ChannelId, FileId};
use ocomms_core::policy::Role;
use ocomms_core::{ApiError, ErrorCode, files, policy, validate};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{BlobGet, BlobPut, Blobs as _, Env as _, Ports};
use crate::repo::channels;
use crate::repo::files::{self as repo, Completed, NewFile, Started, Stored};

/// How long an upload URL is valid.
const UPLOAD_TTL_SECS: u32 = 15 * 60;
/// How long a download URL is valid: long enough to start, short enough not to be shared.
const DOWNLOAD_TTL_SECS: u32 = 5 * 60;
/// Deleted and abandoned files handled per request that collects garbage.
const GARBAGE_PER_CALL: i64 = 5;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    name: String,
    content_type: String,
    size: i64,
}

fn storage<P: Ports>(api: &Api<P>) -> Result<&P::Blobs> {
    api.blobs.as_ref().ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "file storage is not configured").into())
}

/// `POST /channels/{id}/files`: records a pending upload and signs its PUT.
pub async fn start<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: StartBody = req.json()?;
    let name = files::name(&body.name)?;
    let content_type = files::content_type(&body.content_type)?;
    let size = files::size(body.size, api.config.file_max_bytes)?;
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_post(&access)?;
    let blobs = storage(api)?;
    let new = NewFile {
        id: FileId::from_bytes(api.env.random_array()),
        channel: ch,
        uploader: caller.user_id,
        name: &name,
        content_type: &content_type,
        size,
    };
    let stored = match repo::start(&api.sql, &new, api.config.workspace_quota_bytes).await? {
        Started::Pending(s) => s,
        Started::OverQuota => {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the workspace's files would pass its quota of {} bytes", api.config.workspace_quota_bytes),
            )
            .into());
        }
    };
    let now = api.env.now_ms();
    let put = BlobPut {
        key: &stored.storage_key,
        content_type: &content_type,
        size,
        now_ms: now,
        ttl_secs: UPLOAD_TTL_SECS,
        origin: &req.origin(),
    };
    let upload = blobs.presign_put(&put).await?;
    collect_garbage(api).await;
    Ok(Response::created(json!({
        "file": stored.file,
        "upload": {
            "method": upload.method,
            "url": upload.url,
            "headers": upload.headers,
            "expires_at_ms": now + i64::from(UPLOAD_TTL_SECS) * 1000,
        },
    })))
}

/// `POST /files/{id}/complete`: the uploader says the PUT is done. The stored object must
/// be there with the declared size; its first bytes decide its type (and an image's size).
/// A mismatch removes the object and the file. A picture gets its thumbnail here, once,
/// rather than on every view.
pub async fn complete<P: Ports>(api: &Api<P>, req: &Request, id: FileId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let stored = visible(api, caller.user_id, id).await?;
    if stored.file.uploader_id != caller.user_id {
        return Err(ApiError::forbidden("only the uploader completes an upload").into());
    }
    if stored.file.state != "pending" {
        return Err(ApiError::new(ErrorCode::Conflict, "this upload is already complete").into());
    }
    let blobs = storage(api)?;
    let now = api.env.now_ms();
    let key = &stored.storage_key;
    let Some(meta) = blobs.head(key, now).await? else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "nothing was uploaded for this file yet: PUT it to the upload URL first",
        )
        .into());
    };
    if meta.size != stored.file.size {
        discard(api, id).await;
        return Err(ApiError::validation(format!(
            "the upload has {} bytes, not the {} declared: the file was removed",
            meta.size, stored.file.size
        ))
        .into());
    }
    let head = blobs.read_start(key, files::SNIFF_BYTES, now).await?;
    let content_type = match files::settle_type(&stored.file.content_type, files::sniff(&head)) {
        Ok(t) => t,
        Err(e) => {
            discard(api, id).await;
            return Err(e.into());
        }
    };
    let picture = if content_type.starts_with("image/") {
        picture(api, blobs, &stored, &content_type, &head).await
    } else {
        Picture::default()
    };
    let completed =
        Completed { content_type: &content_type, dims: picture.dims, thumb_key: picture.thumb_key.as_deref() };
    let Some(done) = repo::complete(&api.sql, id, &completed).await? else {
        // Completed by a concurrent call, or deleted meanwhile: this call's thumbnail is not
        // recorded, so it must not stay behind.
        if let Some(k) = &picture.thumb_key
            && let Err(e) = blobs.delete(k, api.env.now_ms()).await
        {
            api.env.log_error(&format!("remove unrecorded thumbnail {k}: {e}"));
        }
        return Err(ApiError::new(ErrorCode::Conflict, "this upload is already complete").into());
    };
    Ok(Response::ok(json!({ "file": done.file })))
}

/// What completing an upload learnt of a picture.
#[derive(Default)]
struct Picture {
    /// Width and height in pixels as shown.
    dims: Option<(i64, i64)>,
    /// Where its thumbnail was stored.
    thumb_key: Option<String>,
}

/// Sizes a picture and stores its thumbnail. A picture that cannot be previewed (too
/// large, damaged, a GIF) is still shared: without a thumbnail, sized by its headers.
async fn picture<P: Ports>(
    api: &Api<P>,
    blobs: &P::Blobs,
    stored: &Stored,
    content_type: &str,
    head: &[u8],
) -> Picture {
    let from_headers = ocomms_thumbs::shape(head)
        .map(|s| (i64::from(s.width), i64::from(s.height)))
        .ok()
        .or_else(|| imagesize::blob_size(head).ok().map(|s| (s.width as i64, s.height as i64)));
    let headers_only = Picture { dims: from_headers, thumb_key: None };
    let size = stored.file.size;
    if !files::previewable(content_type) || size > files::PREVIEW_SOURCE_MAX_BYTES {
        return headers_only;
    }
    let whole = match blobs.read_start(&stored.storage_key, size.unsigned_abs(), api.env.now_ms()).await {
        Ok(b) => b,
        Err(e) => {
            api.env.log_error(&format!("read {} for its thumbnail: {e}", stored.file.id));
            return headers_only;
        }
    };
    let preview = match ocomms_thumbs::preview(&whole) {
        Ok(p) => p,
        Err(e) => {
            api.env.log_error(&format!("no thumbnail for {}: {e}", stored.file.id));
            return headers_only;
        }
    };
    drop(whole);
    let dims = Some((i64::from(preview.shape.width), i64::from(preview.shape.height)));
    let thumb = preview.thumbnail;
    let key = files::thumb_key(&stored.storage_key, thumb.content_type);
    match blobs.put(&key, thumb.content_type, thumb.bytes, api.env.now_ms()).await {
        Ok(()) => Picture { dims, thumb_key: Some(key) },
        Err(e) => {
            api.env.log_error(&format!("store the thumbnail of {}: {e}", stored.file.id));
            Picture { dims, thumb_key: None }
        }
    }
}

/// `GET /channels/{id}/files`: the files sent in a channel, newest first.
pub async fn list<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let before = req.query_num::<i64>("before_ms")?;
    let limit = validate::page_limit(req.query_num("limit")?)?;
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_read_channel(&access)?;
    let list = repo::list(&api.sql, ch, before, limit).await?;
    Ok(Response::ok(json!({ "files": list })))
}

/// `GET /files/{id}`: a redirect to a short-lived download URL, served with the recorded
/// type and as an attachment unless it is an image a browser can safely show.
pub async fn download<P: Ports>(api: &Api<P>, req: &Request, id: FileId) -> Result<Response> {
    let stored = downloadable(api, req, id).await?;
    Ok(redirect(&signed_url(api, req, &stored).await?))
}

/// `GET /files/{id}/thumbnail`: a redirect to the picture's thumbnail (404 when it has none).
pub async fn thumbnail<P: Ports>(api: &Api<P>, req: &Request, id: FileId) -> Result<Response> {
    let stored = downloadable(api, req, id).await?;
    let url = signed_thumbnail(api, req, &stored).await?.ok_or_else(|| ApiError::not_found("thumbnail"))?;
    Ok(redirect(&url))
}

/// `GET /files/{id}/url`: the download URL (and the thumbnail's) as JSON, for a page that
/// shows the file: an `<img>` cannot send the bearer token a redirect would need.
pub async fn url<P: Ports>(api: &Api<P>, req: &Request, id: FileId) -> Result<Response> {
    let stored = downloadable(api, req, id).await?;
    let url = signed_url(api, req, &stored).await?;
    let thumbnail_url = signed_thumbnail(api, req, &stored).await?;
    let expires_at_ms = api.env.now_ms() + i64::from(DOWNLOAD_TTL_SECS) * 1000;
    Ok(Response::ok(json!({ "url": url, "thumbnail_url": thumbnail_url, "expires_at_ms": expires_at_ms }))
        .with_header("cache-control", "private, no-store"))
}

fn redirect(url: &str) -> Response {
    Response { status: 302, headers: Vec::new(), body: Vec::new() }
        .with_header("location", url)
        .with_header("cache-control", "private, no-store")
        .with_header("referrer-policy", "no-referrer")
        .with_header("x-content-type-options", "nosniff")
}

/// The file, if the caller may download it (it is visible and uploaded).
async fn downloadable<P: Ports>(api: &Api<P>, req: &Request, id: FileId) -> Result<Stored> {
    let caller = authenticate(api, req).await?;
    let stored = visible(api, caller.user_id, id).await?;
    if stored.file.state == "pending" {
        return Err(ApiError::new(ErrorCode::Conflict, "this upload is not complete yet").into());
    }
    Ok(stored)
}

async fn signed_url<P: Ports>(api: &Api<P>, req: &Request, stored: &Stored) -> Result<String> {
    let disposition = files::disposition(&stored.file.name, &stored.file.content_type);
    let get = BlobGet {
        key: &stored.storage_key,
        content_type: &stored.file.content_type,
        disposition: &disposition,
        now_ms: api.env.now_ms(),
        ttl_secs: DOWNLOAD_TTL_SECS,
        origin: &req.origin(),
    };
    Ok(storage(api)?.presign_get(&get).await?)
}

async fn signed_thumbnail<P: Ports>(api: &Api<P>, req: &Request, stored: &Stored) -> Result<Option<String>> {
    let Some(key) = &stored.thumb_key else { return Ok(None) };
    let content_type = files::thumb_type(key);
    let get = BlobGet {
        key,
        content_type,
        disposition: &files::disposition(&stored.file.name, content_type),
        now_ms: api.env.now_ms(),
        ttl_secs: DOWNLOAD_TTL_SECS,
        origin: &req.origin(),
    };
    Ok(Some(storage(api)?.presign_get(&get).await?))
}

/// `DELETE /files/{id}`: by its uploader, or a workspace admin or owner once it is in a
/// message. An attached file leaves its message (`message.edited`).
pub async fn delete<P: Ports>(api: &Api<P>, req: &Request, id: FileId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let stored = visible(api, caller.user_id, id).await?;
    if stored.file.uploader_id != caller.user_id {
        let (_, access) = channels::access(&api.sql, stored.file.channel_id, caller.user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("file"))?;
        if !matches!(access.role, Some(Role::Owner | Role::Admin)) {
            return Err(ApiError::forbidden("only the uploader or a workspace admin deletes a file").into());
        }
    }
    let event: Option<ChannelEvent> = repo::delete(&api.sql, id).await?.ok_or_else(|| ApiError::not_found("file"))?;
    if let Some(e) = event {
        api.publish(&e).await;
    }
    collect_garbage(api).await;
    Ok(Response::no_content())
}

/// The file, if the caller may see it: its uploader before it is sent (while still in the
/// workspace), whoever may read its channel after. Anyone else gets 404, as for a missing
/// file, so ids cannot be probed.
async fn visible<P: Ports>(api: &Api<P>, user: ocomms_core::ids::UserId, id: FileId) -> Result<Stored> {
    let hidden = || ApiError::not_found("file");
    let stored = repo::get(&api.sql, id).await?.ok_or_else(hidden)?;
    let (_, access) = channels::access(&api.sql, stored.file.channel_id, user).await?.ok_or_else(hidden)?;
    policy::can_read_channel(&access).map_err(|_| hidden())?;
    if stored.file.state != "attached" && stored.file.uploader_id != user {
        return Err(hidden().into());
    }
    Ok(stored)
}

/// A refused upload: the file is deleted and its object removed.
async fn discard<P: Ports>(api: &Api<P>, id: FileId) {
    if let Err(e) = repo::delete(&api.sql, id).await {
        api.env.log_error(&format!("discard file {id}: {e}"));
    }
    collect_garbage(api).await;
}

/// Expires abandoned uploads and removes the objects of deleted files, a few per call. Runs
/// on the requests that make garbage, so every runtime collects it without a scheduler.
/// Best effort: what fails now is tried again by a later call.
pub async fn collect_garbage<P: Ports>(api: &Api<P>) {
    let Some(blobs) = api.blobs.as_ref() else { return };
    if let Err(e) = repo::expire_abandoned(&api.sql, GARBAGE_PER_CALL).await {
        return api.env.log_error(&format!("expire abandoned uploads: {e}"));
    }
    let doomed = match repo::unpurged(&api.sql, GARBAGE_PER_CALL).await {
        Ok(d) => d,
        Err(e) => return api.env.log_error(&format!("deleted files to purge: {e}")),
    };
    for (id, keys) in doomed {
        let mut ok = true;
        for key in &keys {
            if let Err(e) = blobs.delete(key, api.env.now_ms()).await {
                api.env.log_error(&format!("remove {key}: {e}"));
                ok = false;
            }
        }
        if ok && let Err(e) = repo::mark_purged(&api.sql, id).await {
            api.env.log_error(&format!("mark file {id} purged: {e}"));
        }
    }
}
