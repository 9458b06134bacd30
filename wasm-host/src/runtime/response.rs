//! Reading a component's response body with a size cap
//! ([`MAX_RESPONSE_BYTES`](ocomms_api::http::MAX_RESPONSE_BYTES) in `handle`).

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use hyper::body::Body;

/// Why [`collect_capped`] gave up.
#[derive(Debug)]
pub(super) enum CollectError<E> {
    /// The body's data passes the limit (or its size hint says it will).
    TooLarge { limit: usize },
    /// The body failed.
    Body(E),
}

/// Reads `body` frame by frame into one buffer and gives up as soon as its data passes `limit`
/// bytes, without reading further; a body whose size hint (e.g. from `content-length`) already
/// passes the limit is refused before any frame is read. So an oversized body is never held
/// whole: at most `limit` bytes plus the frame that crossed the limit. Trailers are dropped.
pub(super) async fn collect_capped<B>(body: B, limit: usize) -> Result<Bytes, CollectError<B::Error>>
where
    B: Body<Data = Bytes>,
{
    if body.size_hint().lower() > u64::try_from(limit).unwrap_or(u64::MAX) {
        return Err(CollectError::TooLarge { limit });
    }
    let mut body = std::pin::pin!(body);
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(CollectError::Body)?.into_data() else {
            continue; // trailers
        };
        if data.len() > limit - collected.len() {
            return Err(CollectError::TooLarge { limit });
        }
        collected.extend_from_slice(&data);
    }
    Ok(collected.freeze())
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::stream;
    use http_body_util::{Full, StreamBody};
    use hyper::body::Frame;
    use ocomms_api::http::MAX_RESPONSE_BYTES;

    use super::*;

    /// An endless body of `chunk`-byte data frames, and how many frames were read from it.
    fn endless(chunk: usize) -> (impl Body<Data = Bytes, Error = Infallible>, Arc<AtomicUsize>) {
        let read = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&read);
        let data = Bytes::from(vec![b'x'; chunk]);
        let frames = stream::repeat_with(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            Ok::<_, Infallible>(Frame::data(data.clone()))
        });
        (StreamBody::new(frames), read)
    }

    /// A body of the given data frames.
    fn frames(sizes: &[usize]) -> impl Body<Data = Bytes, Error = Infallible> {
        let frames: Vec<_> = sizes.iter().map(|&n| Ok(Frame::data(Bytes::from(vec![b'x'; n])))).collect();
        StreamBody::new(stream::iter(frames))
    }

    #[tokio::test]
    async fn an_endless_body_is_read_only_up_to_the_cap() {
        // 64 KiB frames: 128 of them fill the 8 MiB cap, the 129th passes it, and reading stops.
        let (body, read) = endless(64 * 1024);
        let result = collect_capped(body, MAX_RESPONSE_BYTES).await;
        assert!(matches!(result, Err(CollectError::TooLarge { limit: MAX_RESPONSE_BYTES })), "{result:?}");
        assert_eq!(read.load(Ordering::Relaxed), MAX_RESPONSE_BYTES / (64 * 1024) + 1);

        // Frames that do not divide the limit: stops at the one that crosses it.
        let (body, read) = endless(300);
        let result = collect_capped(body, 1000).await;
        assert!(matches!(result, Err(CollectError::TooLarge { limit: 1000 })), "{result:?}");
        assert_eq!(read.load(Ordering::Relaxed), 4);
    }

    #[tokio::test]
    async fn up_to_the_cap_is_collected_whole() {
        let body = collect_capped(frames(&[400, 0, 600]), 1000).await.expect("exactly the limit");
        assert_eq!(body.len(), 1000);
        assert!(body.iter().all(|&b| b == b'x'));
        assert_eq!(collect_capped(frames(&[]), 1000).await.expect("empty").len(), 0);
        assert!(matches!(collect_capped(frames(&[1000, 1]), 1000).await, Err(CollectError::TooLarge { .. })));
        assert!(matches!(collect_capped(frames(&[1001]), 1000).await, Err(CollectError::TooLarge { .. })));
    }

    #[tokio::test]
    async fn a_size_hint_past_the_cap_is_refused_before_reading() {
        // `Full` announces its exact length.
        let result = collect_capped(Full::new(Bytes::from(vec![0u8; 1001])), 1000).await;
        assert!(matches!(result, Err(CollectError::TooLarge { limit: 1000 })), "{result:?}");
        let body = collect_capped(Full::new(Bytes::from_static(b"ok")), 1000).await.expect("small");
        assert_eq!(body, "ok");
    }

    #[tokio::test]
    async fn trailers_are_dropped_and_errors_returned() {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-done", http::HeaderValue::from_static("1"));
        let parts = vec![Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"ab"))), Ok(Frame::trailers(trailers))];
        let body = collect_capped(StreamBody::new(stream::iter(parts)), 10).await.expect("data and trailers");
        assert_eq!(body, "ab");

        let parts = vec![Ok(Frame::data(Bytes::from_static(b"ab"))), Err("boom")];
        let result = collect_capped(StreamBody::new(stream::iter(parts)), 10).await;
        assert!(matches!(result, Err(CollectError::Body("boom"))), "{result:?}");
    }
}
