//! Where the embedded file store (s3s-fs under `<data-dir>/files`) keeps an object: the
//! object's bytes at `<bucket>/<key>`, and beside the bucket two sidecars named after the
//! base64url of bucket and key: `.metadata.json` (the object's content type and other
//! attributes, which HEAD and GET answer with) and `.internal.json` (its checksums). A
//! restore puts all three back, byte for byte, so the store serves the object as before.
//! Pure; a test in this module stores an object through s3s-fs to keep these names honest
//! when that crate changes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::blobstore::BUCKET;

/// What the store keeps for `key`, as paths relative to its root: the object, then the
/// sidecars (each may be absent: s3s-fs writes them when it has something to say).
pub fn object_paths(key: &str) -> [String; 3] {
    let sidecar = |kind: &str| {
        format!(".bucket-{}.object-{}.{kind}.json", URL_SAFE_NO_PAD.encode(BUCKET), URL_SAFE_NO_PAD.encode(key))
    };
    [format!("{BUCKET}/{key}"), sidecar("metadata"), sidecar("internal")]
}

/// Whether a key from the database names a path inside the bucket: the API makes keys of
/// ids and slashes, and a backup copies nothing else.
pub fn key_is_plain(key: &str) -> bool {
    !key.is_empty()
        && !key.contains('\\')
        && !key.contains('\0')
        && key.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_and_its_sidecars() {
        let [object, meta, internal] = object_paths("ws/file");
        assert_eq!(object, "ocomms-files/ws/file");
        assert_eq!(meta, ".bucket-b2NvbW1zLWZpbGVz.object-d3MvZmlsZQ.metadata.json");
        assert_eq!(internal, ".bucket-b2NvbW1zLWZpbGVz.object-d3MvZmlsZQ.internal.json");
    }

    #[test]
    fn only_plain_keys_are_copied() {
        assert!(key_is_plain("0f8fad5b/7c9e6679.thumb.jpg"));
        assert!(key_is_plain("avatars/u/a"));
        for bad in ["", "../x", "a/../../b", "/abs", "a//b", "a/./b", "a\\b"] {
            assert!(!key_is_plain(bad), "{bad}");
        }
    }

    /// The layout above is s3s-fs's: an object PUT through it (with a content type) lands
    /// at these paths.
    #[tokio::test]
    async fn the_store_keeps_objects_where_a_backup_looks() {
        use s3s::service::S3ServiceBuilder;
        let dir = std::env::temp_dir().join(format!("ocomms-store-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(&dir).unwrap();
        let service = S3ServiceBuilder::new(fs).build();
        let req = http::Request::builder()
            .method("PUT")
            .uri(format!("http://localhost/{BUCKET}/ws/file"))
            .header("host", "localhost")
            .header("content-type", "image/png")
            .header("content-length", "5")
            .body(s3s::Body::from(bytes::Bytes::from_static(b"hello")))
            .unwrap();
        let resp = service.call(req).await.unwrap();
        assert!(resp.status().is_success(), "{:?}", resp.status());
        let [object, meta, _internal] = object_paths("ws/file");
        assert_eq!(std::fs::read(dir.join(object)).unwrap(), b"hello");
        let meta = std::fs::read_to_string(dir.join(meta)).unwrap();
        assert!(meta.contains("image/png"), "{meta}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
