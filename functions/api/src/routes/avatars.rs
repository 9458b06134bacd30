//! Profile pictures: uploaded to our own storage (a presigned PUT, like files), re-encoded
//! as a thumbnail, and served from our own origin. A profile can no longer point colleagues'
//! browsers at a host of its choosing, and what is served is never the uploaded bytes.

use ocomms_core::event::WorkspaceChange;
use ocomms_core::{ApiError, ErrorCode, files};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{BlobGet, BlobPut, Blobs as _, Env as _, Ports};
use crate::repo::{avatars as repo, users, workspaces};

/// Largest picture accepted: a phone photo fits; it is read whole to make the thumbnail.
pub const MAX_BYTES: i64 = 10 * 1024 * 1024;
const UPLOAD_TTL_SECS: u32 = 15 * 60;
/// How long the redirect's signed URL is valid; browsers may cache the redirect for less.
const SERVE_TTL_SECS: u32 = 60 * 60;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    content_type: String,
    size: i64,
}

fn storage<P: Ports>(api: &Api<P>) -> Result<&P::Blobs> {
    api.blobs.as_ref().ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "file storage is not configured").into())
}

/// `POST /me/avatar {content_type, size}`: signs the upload of a new picture.
pub async fn start<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: StartBody = req.json()?;
    if !files::previewable(&body.content_type) {
        return Err(ApiError::validation("content_type must be image/png, image/jpeg or image/webp").into());
    }
    let size = files::size(body.size, MAX_BYTES)?;
    users::by_id(&api.sql, caller.user_id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    let blobs = storage(api)?;
    let id = Uuid::from_bytes(api.env.random_array());
    let key = format!("avatars/{}/{id}", caller.user_id);
    repo::start(&api.sql, id, caller.user_id, &key).await?;
    let now = api.env.now_ms();
    let put = BlobPut {
        key: &key,
        content_type: &body.content_type,
        size,
        now_ms: now,
        ttl_secs: UPLOAD_TTL_SECS,
        origin: &req.origin(),
    };
    let upload = blobs.presign_put(&put).await?;
    Ok(Response::created(json!({
        "avatar_id": id,
        "upload": {
            "method": upload.method,
            "url": upload.url,
            "headers": upload.headers,
            "expires_at_ms": now + i64::from(UPLOAD_TTL_SECS) * 1000,
        },
    })))
}

/// `POST /me/avatar/{id}/complete`: the upload is done. The picture is checked by its bytes,
/// re-encoded as a thumbnail, and becomes the caller's avatar; the upload itself is removed.
pub async fn complete<P: Ports>(api: &Api<P>, req: &Request, id: &str) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let not_found = || ApiError::not_found("avatar upload");
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let key = repo::pending(&api.sql, id, caller.user_id).await?.ok_or_else(not_found)?;
    let blobs = storage(api)?;
    let now = api.env.now_ms();
    let Some(meta) = blobs.head(&key, now).await? else {
        return Err(
            ApiError::new(ErrorCode::Conflict, "nothing was uploaded yet: PUT it to the upload URL first").into()
        );
    };
    if !(1..=MAX_BYTES).contains(&meta.size) {
        return refuse(api, blobs, &key, id, format!("a picture must be 1 to {MAX_BYTES} bytes")).await;
    }
    let whole = blobs.read_start(&key, meta.size.unsigned_abs(), now).await?;
    if !files::sniff(&whole).is_some_and(files::previewable) {
        return refuse(api, blobs, &key, id, "the upload is not a PNG, JPEG or WebP picture".into()).await;
    }
    let thumb = match ocomms_thumbs::preview(&whole) {
        Ok(p) => p.thumbnail,
        Err(e) => return refuse(api, blobs, &key, id, format!("the picture cannot be read: {e}")).await,
    };
    drop(whole);
    let thumb_key = files::thumb_key(&key, thumb.content_type);
    blobs.put(&thumb_key, thumb.content_type, thumb.bytes, api.env.now_ms()).await?;
    if let Err(e) = blobs.delete(&key, api.env.now_ms()).await {
        api.env.log_error(&format!("remove avatar upload {key}: {e}"));
    }
    let Some(old) = repo::finish(&api.sql, id, caller.user_id, &thumb_key).await? else {
        return Err(ApiError::new(ErrorCode::Conflict, "this upload is already complete").into());
    };
    remove_all(api, blobs, &old).await;
    changed(api, caller.user_id).await
}

/// `DELETE /me/avatar`: back to no picture.
pub async fn clear<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    forget(api, caller.user_id).await?;
    changed(api, caller.user_id).await
}

/// Removes the user's picture and its stored thumbnails.
pub(crate) async fn forget<P: Ports>(api: &Api<P>, user: ocomms_core::ids::UserId) -> Result<()> {
    let old = repo::clear(&api.sql, user).await?;
    if let Some(blobs) = api.blobs.as_ref() {
        remove_all(api, blobs, &old).await;
    }
    Ok(())
}

/// `GET /avatars/{id}`: a redirect to the picture. No token: an `<img>` cannot send one, and
/// the id is unguessable and only shown to those who see the profile.
pub async fn serve<P: Ports>(api: &Api<P>, req: &Request, id: &str) -> Result<Response> {
    let not_found = || ApiError::not_found("avatar");
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    // Without file storage no picture was ever stored.
    let blobs = api.blobs.as_ref().ok_or_else(not_found)?;
    let key = repo::served(&api.sql, id).await?.ok_or_else(not_found)?;
    let content_type = files::thumb_type(&key);
    let get = BlobGet {
        key: &key,
        content_type,
        disposition: "inline",
        now_ms: api.env.now_ms(),
        ttl_secs: SERVE_TTL_SECS,
        origin: &req.origin(),
    };
    let url = blobs.presign_get(&get).await?;
    Ok(Response { status: 302, headers: Vec::new(), body: Vec::new() }
        .with_header("location", &url)
        .with_header("cache-control", "private, max-age=600")
        .with_header("referrer-policy", "no-referrer")
        .with_header("x-content-type-options", "nosniff"))
}

/// A refused upload: its object and row are removed, and the caller told why.
async fn refuse<P: Ports>(api: &Api<P>, blobs: &P::Blobs, key: &str, id: Uuid, message: String) -> Result<Response> {
    if let Err(e) = blobs.delete(key, api.env.now_ms()).await {
        api.env.log_error(&format!("remove refused avatar upload {key}: {e}"));
    }
    if let Err(e) = repo::discard(&api.sql, id).await {
        api.env.log_error(&format!("discard avatar {id}: {e}"));
    }
    Err(ApiError::validation(message).into())
}

async fn remove_all<P: Ports>(api: &Api<P>, blobs: &P::Blobs, keys: &[String]) {
    for k in keys {
        if let Err(e) = blobs.delete(k, api.env.now_ms()).await {
            api.env.log_error(&format!("remove old avatar {k}: {e}"));
        }
    }
}

/// The caller's profile after a change, told to everyone who shows it.
async fn changed<P: Ports>(api: &Api<P>, user: ocomms_core::ids::UserId) -> Result<Response> {
    let me = users::by_id(&api.sql, user).await?.ok_or_else(|| ApiError::not_found("user"))?;
    for ws in workspaces::list_for(&api.sql, user).await? {
        api.notify_workspace(ws.id, WorkspaceChange::Members).await;
    }
    Ok(Response::ok(json!({ "user": me })))
}
