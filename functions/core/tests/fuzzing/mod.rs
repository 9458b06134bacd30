//! The checks one input must pass, shared by the property tests (`tests/props.rs`) and the
//! cargo-fuzz targets `client_frame`, `mentions` and `emoji` (`fuzz/fuzz_targets/`), which
//! include this file by path; and a replay of the fuzzers' committed corpora.

#![allow(dead_code, reason = "each fuzz target uses one check")]

use ocomms_core::emoji::{MAX_SEQUENCE_CHARS, MAX_SHORTCODE_CHARS, reaction};
use ocomms_core::event::{ClientFrame, Encoding, FrameError, MAX_CLIENT_FRAME_BYTES};
use ocomms_core::mentions::{MAX_USER_MENTIONS, parse};

pub fn encode(enc: Encoding, frame: &ClientFrame) -> Vec<u8> {
    match enc {
        Encoding::Json => serde_json::to_vec(frame).expect("a frame encodes as JSON"),
        Encoding::MsgPack => rmp_serde::to_vec_named(frame).expect("a frame encodes as MessagePack"),
    }
}

/// Any bytes decode or fail cleanly; whatever decodes survives a round trip unchanged.
pub fn check_frame(enc: Encoding, bytes: &[u8]) {
    match enc.decode_client(bytes) {
        Ok(frame) => {
            let again = enc.decode_client(&encode(enc, &frame)).expect("a decoded frame decodes again");
            assert_eq!(again, frame);
        }
        Err(FrameError::TooLarge(n)) => assert!(n > MAX_CLIENT_FRAME_BYTES && n == bytes.len()),
        Err(_) => assert!(bytes.len() <= MAX_CLIENT_FRAME_BYTES),
    }
}

/// The fuzz input form: the first byte's low bit picks the encoding.
pub fn check_frame_input(data: &[u8]) {
    if let Some((&pick, bytes)) = data.split_first() {
        check_frame(if pick & 1 == 0 { Encoding::Json } else { Encoding::MsgPack }, bytes);
    }
}

/// At most the cap of distinct people, each written in the text (in some UUID form).
pub fn check_mentions(text: &str) {
    let m = parse(text);
    assert!(m.users.len() <= MAX_USER_MENTIONS);
    let mut distinct = m.users.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), m.users.len(), "duplicate ids");
    let lower = text.to_ascii_lowercase();
    for u in &m.users {
        let forms = [u.hyphenated().to_string(), u.simple().to_string()];
        assert!(forms.iter().any(|f| lower.contains(f.as_str())), "{u} is not in the text");
    }
}

/// An accepted reaction's canonical form is a fixed point, bounded, and carries no markup
/// or whitespace.
pub fn check_reaction(raw: &str) {
    let Ok(canonical) = reaction(raw) else { return };
    assert_eq!(reaction(&canonical).ok().as_deref(), Some(canonical.as_str()), "not canonical: {raw:?}");
    let n = canonical.chars().count();
    assert!(n <= MAX_SHORTCODE_CHARS + 2, "too long: {canonical:?}");
    if !canonical.starts_with(':') {
        assert!(n <= MAX_SEQUENCE_CHARS, "too long: {canonical:?}");
    }
    assert!(
        !canonical.chars().any(|c| c.is_whitespace() || c.is_control() || "<>&\"'`\\/".contains(c)),
        "markup or whitespace in {canonical:?}"
    );
}

/// Every file of `fuzz/corpus/<target>/` (the repository's), or a panic if there is none.
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap_or_default()))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}
