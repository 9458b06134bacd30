//! Files end to end on every target (the host with its embedded store; Spin and the edge
//! signing for a store of their own): an upload is started, PUT to the
//! presigned URL (signed length and type enforced by the store), completed (size checked,
//! type sniffed), sent in a message, listed and downloaded by another member through a
//! presigned GET, and deleted with its object; outsiders see none of it; lies about a
//! file's size or type are refused and leave nothing behind. A photo gets a thumbnail that
//! is upright and carries no GPS position.

use crate::common::{Host, Reply, Session};
use reqwest::Method;
use serde_json::{Value, json};

/// A real 4x3 PNG (red), as a browser would decode it.
const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00\x03\x08\x02\x00\x00\x00\x3b\x96\x39\x91\x00\x00\x00\x10\x49\x44\x41\x54\x78\x9c\x63\x38\x21\x27\x07\x47\x0c\x38\x39\x00\xf5\xc7\x0c\x31\x07\xeb\xad\x99\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// A client that shows redirects instead of following them.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("an HTTP client")
}

async fn start(host: &Host, token: &str, channel: &str, name: &str, content_type: &str, size: usize) -> Reply {
    host.post(
        &format!("/api/v1/channels/{channel}/files"),
        Some(token),
        json!({ "name": name, "content_type": content_type, "size": size }),
    )
    .await
}

/// PUTs `body` as the upload says, with `content_type` (or the signed one) and its length.
async fn put(upload: &Value, body: &[u8], content_type: Option<&str>) -> u16 {
    let mut req = raw_client().put(upload["url"].as_str().expect("an upload URL")).body(body.to_vec());
    let ct =
        content_type.map(str::to_owned).unwrap_or_else(|| upload["headers"]["content-type"].as_str().unwrap().into());
    req = req.header("content-type", ct);
    req.send().await.expect("PUT to the store").status().as_u16()
}

async fn complete(host: &Host, token: &str, id: &str) -> Reply {
    host.post_empty(&format!("/api/v1/files/{id}/complete"), Some(token)).await
}

/// Uploads and completes a file; its JSON.
async fn upload(host: &Host, s: &Session, channel: &str, name: &str, content_type: &str, body: &[u8]) -> Value {
    let r = start(host, &s.access, channel, name, content_type, body.len()).await;
    r.expect_status(201, "start an upload");
    assert_eq!(put(&r.body["upload"], body, None).await, 200, "PUT {name}");
    let done = complete(host, &s.access, &r.str_at("/file/id")).await;
    done.expect_status(200, "complete");
    done.body["file"].clone()
}

/// `GET /files/{id}` as `token`: the status, and the Location when it redirects.
async fn download(host: &Host, token: Option<&str>, id: &str) -> (u16, Option<String>) {
    let mut req = raw_client().get(host.url(&format!("/api/v1/files/{id}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("GET the file");
    let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (resp.status().as_u16(), location)
}

async fn fetch(url: &str) -> reqwest::Response {
    raw_client().get(url).send().await.expect("GET from the store")
}

async fn files_are_shared_downloaded_and_deleted(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    host.create_workspace(&eve.access, "Elsewhere").await;

    // An image: its type and size in pixels come from its bytes.
    let image = upload(host, &ann, &general, "red square.png", "image/png", PNG).await;
    assert_eq!(image["state"], "ready");
    assert_eq!(
        (image["content_type"].as_str(), image["width"].as_i64(), image["height"].as_i64()),
        (Some("image/png"), Some(4), Some(3))
    );
    let image_id = image["id"].as_str().unwrap().to_owned();
    // Unsent, it is the uploader's alone.
    assert_eq!(download(host, Some(&bob.access), &image_id).await.0, 404, "Bob cannot see an unsent file");
    assert_eq!(download(host, Some(&ann.access), &image_id).await.0, 302, "Ann can");
    let pdf = upload(host, &ann, &general, "Q3 report.pdf", "application/pdf", PDF).await;
    let pdf_id = pdf["id"].as_str().unwrap().to_owned();

    // Sent with a message (no text needed), in the order given.
    let r = host
        .post(
            &format!("/api/v1/channels/{general}/messages"),
            Some(&ann.access),
            json!({ "file_ids": [pdf_id, image_id] }),
        )
        .await;
    r.expect_status(201, "post the files");
    let files = r.body["message"]["files"].as_array().expect("the message's files").clone();
    assert_eq!(
        files.iter().map(|f| f["name"].as_str().unwrap()).collect::<Vec<_>>(),
        ["Q3 report.pdf", "red square.png"]
    );
    assert_eq!(files[1]["width"], 4);
    let message_id = r.str_at("/message/id");
    // Sent files cannot be sent again.
    let again = host
        .post(
            &format!("/api/v1/channels/{general}/messages"),
            Some(&ann.access),
            json!({ "text": "again", "file_ids": [pdf_id] }),
        )
        .await;
    again.expect_error(404, "not_found", "a file sent twice");

    // Bob sees them in the history and the channel's file list, and downloads them.
    let history = host.history(&bob.access, &general).await;
    assert!(history.iter().any(|m| m["files"].as_array().is_some_and(|f| f.len() == 2)), "{history:?}");
    let listed = host.get(&format!("/api/v1/channels/{general}/files"), Some(&bob.access)).await;
    listed.expect_status(200, "list files");
    assert_eq!(listed.body["files"].as_array().map(Vec::len), Some(2));
    let (status, location) = download(host, Some(&bob.access), &image_id).await;
    assert_eq!(status, 302);
    let got = fetch(&location.expect("a download URL")).await;
    assert_eq!(got.status().as_u16(), 200);
    let header =
        |r: &reqwest::Response, n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(header(&got, "content-type"), "image/png");
    assert!(header(&got, "content-disposition").starts_with("inline;"), "{}", header(&got, "content-disposition"));
    if host.store_checks_signatures() {
        // The embedded store also tells browsers not to guess types, and an upload opened
        // directly runs no script.
        assert_eq!(header(&got, "x-content-type-options"), "nosniff");
        assert_eq!(header(&got, "content-security-policy"), "default-src 'none'; sandbox");
    }
    assert_eq!(got.bytes().await.unwrap().as_ref(), PNG);
    let (_, pdf_url) = download(host, Some(&bob.access), &pdf_id).await;
    let pdf_url = pdf_url.expect("a download URL");
    let got = fetch(&pdf_url).await;
    assert_eq!(header(&got, "content-type"), "application/pdf");
    assert_eq!(
        header(&got, "content-disposition"),
        "attachment; filename=\"Q3 report.pdf\"; filename*=UTF-8''Q3%20report.pdf"
    );
    assert_eq!(got.bytes().await.unwrap().as_ref(), PDF);

    // Outsiders and strangers: nothing, not even whether the file exists.
    for (who, token) in [("Eve", Some(eve.access.as_str())), ("nobody", None)] {
        let expect = if token.is_some() { 404 } else { 401 };
        assert_eq!(download(host, token, &pdf_id).await.0, expect, "{who}");
        let r = host.get(&format!("/api/v1/channels/{general}/files"), token).await;
        assert_eq!(r.status, expect, "{who} lists");
    }
    // A store URL without its signature, or with the signature of another key, is refused
    // (by a store that checks signatures; moto does not).
    if host.store_checks_signatures() {
        let unsigned = pdf_url.split('?').next().unwrap().to_owned();
        assert_eq!(fetch(&unsigned).await.status().as_u16(), 403, "no signature");
        let other_key = pdf_url.replace(&pdf_id, &image_id);
        assert_eq!(fetch(&other_key).await.status().as_u16(), 403, "a signature for another object");
    }

    // Only the uploader (or an admin) deletes; the message follows, and the object is gone.
    let r = host.send(host.request(Method::DELETE, &format!("/api/v1/files/{pdf_id}"), Some(&bob.access))).await;
    r.expect_error(403, "forbidden", "Bob deletes Ann's file");
    let r = host.send(host.request(Method::DELETE, &format!("/api/v1/files/{pdf_id}"), Some(&ann.access))).await;
    r.expect_status(204, "Ann deletes her file");
    assert_eq!(download(host, Some(&bob.access), &pdf_id).await.0, 404);
    // Gone from the store: 404, or 403 from stores that hide whether a key exists (as S3
    // does without list rights; moto too).
    let gone = fetch(&pdf_url).await;
    let status = gone.status().as_u16();
    let text = gone.text().await.unwrap_or_default();
    assert!(
        status == 404 || (status == 403 && !host.store_checks_signatures()),
        "the object left the store: {status} {text}"
    );
    let history = host.history(&bob.access, &general).await;
    let m = history.iter().find(|m| m["id"] == message_id.as_str()).expect("the message");
    assert_eq!(
        m["files"].as_array().map(|f| f.iter().map(|x| x["id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(image_id)])
    );
    // Deleting the message deletes its files.
    let r = host.send(host.request(Method::DELETE, &format!("/api/v1/messages/{message_id}"), Some(&ann.access))).await;
    r.expect_status(204, "delete the message");
    assert_eq!(download(host, Some(&ann.access), &image_id).await.0, 404);
}

async fn lies_about_files_are_refused_and_leave_nothing(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    let secret = host.create_channel(&ann.access, &ws, "secret", "private").await;
    let bob = host.signup("bob@example.com").await;
    host.add_to_workspace(&ann, &bob, &ws).await;

    // Names are labels, not paths; types are media types; sizes are bounded.
    for (what, body) in [
        ("a path", json!({ "name": "../../etc/passwd", "content_type": "text/plain", "size": 5 })),
        (
            "a hidden extension",
            json!({ "name": "invoice\u{202e}fdp.exe", "content_type": "application/pdf", "size": 5 }),
        ),
        ("an empty name", json!({ "name": " ", "content_type": "text/plain", "size": 5 })),
        ("not a media type", json!({ "name": "a.txt", "content_type": "text", "size": 5 })),
        ("no bytes", json!({ "name": "a.txt", "content_type": "text/plain", "size": 0 })),
        (
            "too big",
            json!({ "name": "a.bin", "content_type": "application/octet-stream", "size": 100 * 1024 * 1024 + 1 }),
        ),
        ("an unknown field", json!({ "name": "a.txt", "content_type": "text/plain", "size": 5, "path": "/tmp" })),
    ] {
        let r = host.post(&format!("/api/v1/channels/{general}/files"), Some(&ann.access), body).await;
        r.expect_error(422, "validation_failed", what);
    }
    // Bob may not upload into a private channel he is not in (it does not exist for him).
    start(host, &bob.access, &secret, "a.txt", "text/plain", 5).await.expect_error(
        404,
        "not_found",
        "a hidden channel",
    );

    // The store holds the uploader to the signed length and type; a store that does not
    // (moto) takes the lie, and completing finds it out and removes the file.
    let mut r = start(host, &ann.access, &general, "notes.txt", "text/plain", 5).await;
    r.expect_status(201, "start");
    let mut id = r.str_at("/file/id");
    if host.store_checks_signatures() {
        assert_eq!(put(&r.body["upload"], b"longer than five", None).await, 403, "another length");
        assert_eq!(put(&r.body["upload"], b"hello", Some("text/html")).await, 403, "another type");
        complete(host, &ann.access, &id).await.expect_error(409, "conflict", "nothing was stored");
    } else {
        complete(host, &ann.access, &id).await.expect_error(409, "conflict", "nothing was stored");
        assert_eq!(put(&r.body["upload"], b"longer than five", None).await, 200, "moto takes another length");
        let lie = complete(host, &ann.access, &id).await;
        lie.expect_error(422, "validation_failed", "another length than declared");
        assert!(lie.text.contains("16 bytes, not the 5 declared"), "{}", lie.text);
        assert_eq!(download(host, Some(&ann.access), &id).await.0, 404, "the lie is gone");
        r = start(host, &ann.access, &general, "notes.txt", "text/plain", 5).await;
        id = r.str_at("/file/id");
    }
    assert_eq!(put(&r.body["upload"], b"hello", None).await, 200, "as signed");
    let done = complete(host, &ann.access, &id).await;
    done.expect_status(200, "now complete");
    assert_eq!(done.body["file"]["content_type"], "text/plain");
    complete(host, &ann.access, &id).await.expect_error(409, "conflict", "completed twice");
    complete(host, &bob.access, &id).await.expect_error(404, "not_found", "someone else's unsent file");

    // A claimed image that is not one is removed; markup claimed as an image is recorded as
    // what it is (and so downloaded, never shown).
    let fake = b"hello, not a picture";
    let r = start(host, &ann.access, &general, "fake.png", "image/png", fake.len()).await;
    let fake_id = r.str_at("/file/id");
    assert_eq!(put(&r.body["upload"], fake, None).await, 200);
    complete(host, &ann.access, &fake_id).await.expect_error(422, "validation_failed", "not an image");
    assert_eq!(download(host, Some(&ann.access), &fake_id).await.0, 404, "the refused file is gone");
    let html = b"<!doctype html><script>alert(1)</script>";
    let r = start(host, &ann.access, &general, "cute.png", "image/png", html.len()).await;
    assert_eq!(put(&r.body["upload"], html, None).await, 200);
    let done = complete(host, &ann.access, &r.str_at("/file/id")).await;
    done.expect_status(200, "markup is recorded as markup");
    assert_eq!(done.body["file"]["content_type"], "text/html");
    let (_, url) = download(host, Some(&ann.access), &r.str_at("/file/id")).await;
    let got = fetch(&url.expect("a URL")).await;
    assert_eq!(got.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/html"));
    assert!(
        got.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or("").starts_with("attachment;"),
        "markup is never shown inline"
    );

    // A message may carry only the author's own completed files of that channel.
    let bobs = upload(host, &bob, &general, "bob.txt", "text/plain", b"bob's").await;
    for (what, ids, status, code) in [
        ("someone else's file", json!([bobs["id"]]), 404, "not_found"),
        ("an unknown id", json!(["5b8a3f7e-2f0c-4c61-9a43-0d6f2b9e7c10"]), 404, "not_found"),
        ("a repeated file", json!([id, id]), 422, "validation_failed"),
        ("eleven files", json!(vec![id.clone(); 11]), 422, "validation_failed"),
    ] {
        let r = host
            .post(&format!("/api/v1/channels/{general}/messages"), Some(&ann.access), json!({ "file_ids": ids }))
            .await;
        r.expect_error(status, code, what);
    }
    let r = host.post(&format!("/api/v1/channels/{general}/messages"), Some(&ann.access), json!({ "text": "" })).await;
    r.expect_error(422, "validation_failed", "no text and no files");
    assert_eq!(
        host.history(&ann.access, &general)
            .await
            .iter()
            .filter(|m| m["files"].as_array().is_some_and(|f| !f.is_empty()))
            .count(),
        0
    );
}

async fn pictures_get_upright_thumbnails_without_their_position(host: &Host) {
    use ocomms_thumbs::fixtures::{corners, holds_latitude, photo, transparent_png};
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;

    // A 12-megapixel phone photo stored sideways (EXIF orientation 6) with a GPS position:
    // its size is given as shown, upright.
    let original = photo(4032, 3024, Some(6), true);
    let shot = upload(host, &ann, &general, "IMG_0042.jpg", "image/jpeg", &original).await;
    assert_eq!(
        (shot["width"].as_i64(), shot["height"].as_i64(), shot["thumbnail"].as_bool()),
        (Some(3024), Some(4032), Some(true))
    );
    // A 4K screenshot with transparency: the largest picture decoded whole (32 MiB).
    let clear = upload(host, &ann, &general, "overlay.png", "image/png", &transparent_png(3840, 2160)).await;
    assert_eq!(clear["thumbnail"], true);
    let pdf = upload(host, &ann, &general, "plan.pdf", "application/pdf", PDF).await;
    assert_eq!((pdf["thumbnail"].as_bool(), pdf["width"].as_i64()), (Some(false), None));
    // A JPEG that is damaged after its first bytes is still shared, without a thumbnail.
    let mut damaged = photo(800, 600, None, false)[..400].to_vec();
    damaged.extend(std::iter::repeat_n(0xA5, 4000));
    let broken = upload(host, &ann, &general, "broken.jpg", "image/jpeg", &damaged).await;
    assert_eq!((broken["content_type"].as_str(), broken["thumbnail"].as_bool()), (Some("image/jpeg"), Some(false)));
    let ids: Vec<String> =
        [&shot, &clear, &pdf, &broken].iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect();
    let r =
        host.post(&format!("/api/v1/channels/{general}/messages"), Some(&ann.access), json!({ "file_ids": ids })).await;
    r.expect_status(201, "send the files");
    let sent = &r.body["message"]["files"];
    assert_eq!(
        (0..4).map(|i| sent[i]["thumbnail"].as_bool()).collect::<Vec<_>>(),
        [Some(true), Some(true), Some(false), Some(false)]
    );
    assert_eq!((sent[0]["width"].as_i64(), sent[0]["height"].as_i64()), (Some(3024), Some(4032)));

    // Bob loads the thumbnail as the web client does: upright, 720 pixels tall, no position.
    let urls = host.get(&format!("/api/v1/files/{}/url", ids[0]), Some(&bob.access)).await;
    urls.expect_status(200, "the file's URLs");
    let thumb = fetch(urls.body["thumbnail_url"].as_str().expect("a thumbnail URL")).await;
    assert_eq!(thumb.status().as_u16(), 200);
    let header =
        |r: &reqwest::Response, n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(header(&thumb, "content-type"), "image/jpeg");
    assert!(header(&thumb, "content-disposition").starts_with("inline;"));
    let small = thumb.bytes().await.unwrap().to_vec();
    let shape = ocomms_thumbs::shape(&small).expect("the thumbnail is a picture");
    assert_eq!((shape.width, shape.height), (540, 720));
    assert_eq!(corners(&small), ['.', 'R', '.', 'G'], "turned a quarter clockwise, as the photo asks");
    assert!(!holds_latitude(&small), "the thumbnail has no GPS position");
    assert!(!small.windows(6).any(|w| w == b"Exif\0\0"), "nor any EXIF block");
    // The original is the uploader's file, byte for byte.
    let full = fetch(urls.body["url"].as_str().expect("a download URL")).await;
    assert_eq!(full.bytes().await.unwrap().as_ref(), original.as_slice());
    // `GET /files/{id}/thumbnail` redirects to it too; transparency stays a PNG.
    let mut req = raw_client().get(host.url(&format!("/api/v1/files/{}/thumbnail", ids[1])));
    req = req.bearer_auth(&bob.access);
    let resp = req.send().await.expect("GET the thumbnail");
    assert_eq!(resp.status().as_u16(), 302);
    let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).expect("a Location").to_owned();
    let png = fetch(&location).await;
    assert_eq!(header(&png, "content-type"), "image/png");
    let shape = ocomms_thumbs::shape(&png.bytes().await.unwrap()).expect("a PNG");
    assert_eq!((shape.width, shape.height), (720, 405));
    // No thumbnail: 404 and a null URL; outsiders learn nothing.
    let r = host.get(&format!("/api/v1/files/{}/thumbnail", ids[2]), Some(&bob.access)).await;
    r.expect_error(404, "not_found", "a PDF's thumbnail");
    let r = host.get(&format!("/api/v1/files/{}/url", ids[3]), Some(&bob.access)).await;
    assert_eq!(r.body["thumbnail_url"], Value::Null);
    let r = host.get(&format!("/api/v1/files/{}/thumbnail", ids[0]), Some(&eve.access)).await;
    r.expect_error(404, "not_found", "Eve asks for a thumbnail in another workspace");

    // Deleting the photo removes its thumbnail from the store too.
    let thumb_url = urls.body["thumbnail_url"].as_str().unwrap().to_owned();
    let r = host.send(host.request(Method::DELETE, &format!("/api/v1/files/{}", ids[0]), Some(&ann.access))).await;
    r.expect_status(204, "Ann deletes the photo");
    let status = fetch(&thumb_url).await.status().as_u16();
    assert!(
        status == 404 || (status == 403 && !host.store_checks_signatures()),
        "the thumbnail left the store: {status}"
    );
}

/// A profile picture: uploaded to our storage, checked, re-encoded, served from our origin
/// to colleagues' `<img>` (no token), replaced and removed with its stored pictures.
async fn profile_pictures_come_from_our_own_storage(host: &Host) {
    use ocomms_thumbs::fixtures::photo;
    let ann = host.signup("ann@pics.test").await;
    let start = |token: String, content_type: &'static str, size: usize| async move {
        host.post("/api/v1/me/avatar", Some(&token), json!({ "content_type": content_type, "size": size })).await
    };
    // Only pictures we can re-encode, of a sane size.
    start(ann.access.clone(), "image/svg+xml", 10).await.expect_error(422, "validation_failed", "SVG");
    start(ann.access.clone(), "image/png", 11 * 1024 * 1024).await.expect_error(422, "validation_failed", "too big");
    // A file that is not what it claims is refused and removed.
    let r = start(ann.access.clone(), "image/png", PDF.len()).await;
    r.expect_status(201, "start");
    assert_eq!(put(&r.body["upload"], PDF, None).await, 200);
    let fake = r.str_at("/avatar_id");
    let path = format!("/api/v1/me/avatar/{fake}/complete");
    host.post_empty(&path, Some(&ann.access)).await.expect_error(422, "validation_failed", "a PDF");
    host.post_empty(&path, Some(&ann.access)).await.expect_error(404, "not_found", "the refused upload is gone");

    // A real photo.
    let jpeg = photo(640, 480, Some(6), true);
    assert!(ocomms_thumbs::fixtures::holds_latitude(&jpeg), "the fixture carries a position");
    let r = start(ann.access.clone(), "image/jpeg", jpeg.len()).await;
    r.expect_status(201, "start");
    let id = r.str_at("/avatar_id");
    let path = format!("/api/v1/me/avatar/{id}/complete");
    host.post_empty(&path, Some(&ann.access)).await.expect_error(409, "conflict", "nothing uploaded yet");
    assert_eq!(put(&r.body["upload"], &jpeg, None).await, 200);
    let bob = host.signup("bob@pics.test").await;
    host.post_empty(&path, Some(&bob.access)).await.expect_error(404, "not_found", "someone else's upload");
    let done = host.post_empty(&path, Some(&ann.access)).await;
    done.expect_status(200, "complete");
    let url = done.str_at("/user/avatar_url");
    assert_eq!(url, format!("/api/v1/avatars/{id}"), "served from our own origin");
    // Anyone's <img> follows the redirect to a re-encoded picture, not the uploaded bytes.
    let resp = raw_client().get(host.url(&url)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let got = reqwest::get(&location).await.unwrap();
    assert_eq!(got.status().as_u16(), 200);
    let served = got.bytes().await.unwrap();
    assert_ne!(served.as_ref(), jpeg.as_slice(), "the upload itself is never served");
    assert!(ocomms_thumbs::shape(&served).is_ok(), "a picture");
    assert!(!ocomms_thumbs::fixtures::holds_latitude(&served), "no GPS position");

    // A new picture replaces the old, whose URL stops working; removing leaves none.
    let r = start(ann.access.clone(), "image/png", PNG.len()).await;
    assert_eq!(put(&r.body["upload"], PNG, None).await, 200);
    let second =
        host.post_empty(&format!("/api/v1/me/avatar/{}/complete", r.str_at("/avatar_id")), Some(&ann.access)).await;
    second.expect_status(200, "replace");
    assert_eq!(raw_client().get(host.url(&url)).send().await.unwrap().status().as_u16(), 404, "the old one is gone");
    let newer = second.str_at("/user/avatar_url");
    let r = host.delete("/api/v1/me/avatar", Some(&ann.access)).await;
    r.expect_status(200, "remove");
    assert_eq!(r.body["user"]["avatar_url"], "");
    assert_eq!(raw_client().get(host.url(&newer)).send().await.unwrap().status().as_u16(), 404);
    host.get("/api/v1/avatars/not-a-uuid", None).await.expect_error(404, "not_found", "a malformed id");
}

crate::common::both_targets!(
    profile_pictures_come_from_our_own_storage,
    files_are_shared_downloaded_and_deleted,
    lies_about_files_are_refused_and_leave_nothing,
    pictures_get_upright_thumbnails_without_their_position
);

/// The same suite with files in moto, an S3 server that is not ours, on every target.
mod moto {
    use crate::common::{HostOptions, Moto, Target};

    macro_rules! on_moto {
        ($($target:ident: $name:ident => $scenario:ident),+ $(,)?) => {$(
            #[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                if Target::$target == Target::Spin && !crate::common::spin_available(stringify!($name)) {
                    return;
                }
                let moto = Moto::start().await;
                let host = Target::$target.start_with(HostOptions { s3: Some(moto.s3()), ..HostOptions::default() }).await;
                super::$scenario(&host).await;
            }
        )+};
    }

    on_moto!(
        Host: host_shares_files => files_are_shared_downloaded_and_deleted,
        Host: host_refuses_lies => lies_about_files_are_refused_and_leave_nothing,
        Host: host_makes_thumbnails => pictures_get_upright_thumbnails_without_their_position,
        Edge: edge_shares_files => files_are_shared_downloaded_and_deleted,
        Edge: edge_refuses_lies => lies_about_files_are_refused_and_leave_nothing,
        Edge: edge_makes_thumbnails => pictures_get_upright_thumbnails_without_their_position,
        Spin: spin_shares_files => files_are_shared_downloaded_and_deleted,
        Spin: spin_refuses_lies => lies_about_files_are_refused_and_leave_nothing,
        Spin: spin_makes_thumbnails => pictures_get_upright_thumbnails_without_their_position,
    );
}

/// The store refuses an upload URL once it has expired. It is signed here with the host's
/// own key as of fifteen minutes and five seconds ago; the same request signed now is
/// accepted, so the refusal is the expiry's. (The embedded store on every target is this
/// same code; moto checks no signatures.)
#[tokio::test(flavor = "multi_thread")]
async fn an_expired_upload_url_is_refused() {
    use ocomms_api::ports::{BlobPut, Blobs as _};
    use ocomms_s3::{HttpReply, HttpSend, PublicEndpoint, S3Settings, S3Store};

    /// Presigning sends nothing.
    struct Unsent;
    impl HttpSend for Unsent {
        async fn send(&self, _: &str, _: &str, _: &[(String, String)], _: Vec<u8>) -> Result<HttpReply, String> {
            Err("presigning sends nothing".into())
        }
    }

    let host = crate::common::Target::Host.start().await;
    let ann = host.signup("ann@example.com").await;
    let (_, general) = host.create_workspace(&ann.access, "Acme").await;
    let r = start(&host, &ann.access, &general, "late.txt", "text/plain", 5).await;
    r.expect_status(201, "start an upload");
    let id = r.str_at("/file/id");
    // http://HOST/BUCKET/KEY?X-Amz-Credential=ACCESS%2FDATE%2FREGION%2Fs3%2Faws4_request&...
    let url = r.str_at("/upload/url");
    let (path, query) = url.split_once('?').expect("a presigned URL");
    let (scheme, rest) = path.split_once("://").expect("an absolute URL");
    let mut parts = rest.splitn(3, '/');
    let (authority, bucket, key) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let credential = query.split('&').find_map(|p| p.strip_prefix("X-Amz-Credential=")).expect("a credential");
    let scope: Vec<&str> = credential.split("%2F").collect();
    let secret = std::fs::read_to_string(host.data_dir.join("files-secret")).expect("the store's key");
    let store = S3Store::new(
        S3Settings {
            endpoint: format!("{scheme}://{authority}"),
            public_endpoint: PublicEndpoint::Same,
            region: scope[2].to_owned(),
            bucket: bucket.to_owned(),
            access_key: scope[0].to_owned(),
            secret_key: secret.trim().to_owned(),
            path_style: true,
        },
        Unsent,
    );
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let signed_at =
        |now_ms: i64| BlobPut { key, content_type: "text/plain", size: 5, now_ms, ttl_secs: 15 * 60, origin: "" };
    let late = store.presign_put(&signed_at(now - (15 * 60 + 5) * 1000)).await.expect("presign");
    let upload = json!({ "url": late.url, "headers": late.headers });
    assert_eq!(put(&upload, b"hello", None).await, 403, "an expired URL");
    complete(&host, &ann.access, &id).await.expect_error(409, "conflict", "nothing was stored");
    let fresh = store.presign_put(&signed_at(now)).await.expect("presign");
    let upload = json!({ "url": fresh.url, "headers": fresh.headers });
    assert_eq!(put(&upload, b"hello", None).await, 200, "the same request signed now");
    complete(&host, &ann.access, &id).await.expect_status(200, "complete");
}
