//! Property tests of the core's untrusted-input parsers: the WebSocket client-frame decoder
//! (JSON and MessagePack), the mention parser and reaction-emoji validation. Each runs a
//! bounded number of cases in `cargo test` (`PROPTEST_CASES=N` runs more); a failing case
//! is saved under `tests/props.proptest-regressions` and replayed first from then on. The
//! cargo-fuzz targets in `fuzz/` explore the same functions with coverage guidance.

#![allow(clippy::unwrap_used, reason = "tests")]

mod fuzzing;

use fuzzing::{check_frame, check_frame_input, check_mentions, check_reaction, corpus, encode};
use ocomms_core::emoji;
use ocomms_core::event::{ClientFrame, Encoding, FrameError, MAX_CLIENT_FRAME_BYTES, Presence};
use ocomms_core::ids::ChannelId;
use ocomms_core::mentions::{self, MAX_USER_MENTIONS};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use uuid::Uuid;

fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Client frames
// ---------------------------------------------------------------------------------------

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        any::<String>().prop_map(|token| ClientFrame::Auth { token }),
        any::<Option<u64>>().prop_map(|nonce| ClientFrame::Ping { nonce }),
        uuid().prop_map(|u| ClientFrame::Typing { channel_id: ChannelId(u) }),
        prop_oneof![Just(Presence::Online), Just(Presence::Away), Just(Presence::Offline)]
            .prop_map(|status| ClientFrame::SetPresence { status }),
    ]
}

/// Bytes near valid frames: a valid encoding with bytes overwritten, cut or inserted.
fn mutated_frame() -> impl Strategy<Value = (Encoding, Vec<u8>)> {
    let enc = prop_oneof![Just(Encoding::Json), Just(Encoding::MsgPack)];
    (enc, client_frame(), prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6)).prop_map(
        |(enc, frame, edits)| {
            let mut bytes = encode(enc, &frame);
            for (at, byte, op) in edits {
                if bytes.is_empty() {
                    bytes.push(byte);
                    continue;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte,
                    1 => bytes.truncate(i),
                    _ => bytes.insert(i, byte),
                }
            }
            (enc, bytes)
        },
    )
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn valid_client_frames_round_trip_in_both_encodings(frame in client_frame()) {
        for enc in [Encoding::Json, Encoding::MsgPack] {
            let bytes = encode(enc, &frame);
            if bytes.len() <= MAX_CLIENT_FRAME_BYTES {
                prop_assert_eq!(enc.decode_client(&bytes).unwrap(), frame.clone());
            } else {
                prop_assert!(matches!(enc.decode_client(&bytes), Err(FrameError::TooLarge(_))));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_frame(Encoding::Json, &bytes);
        check_frame(Encoding::MsgPack, &bytes);
    }

    #[test]
    fn damaged_frames_never_panic_the_decoder((enc, bytes) in mutated_frame()) {
        check_frame(enc, &bytes);
        // The other decoder sees foreign bytes: it must refuse them cleanly too.
        let other = if enc == Encoding::Json { Encoding::MsgPack } else { Encoding::Json };
        check_frame(other, &bytes);
    }

    #[test]
    fn json_shaped_garbage_never_panics_the_decoder(text in r#"\{("[a-z_]{0,12}"\s*:\s*("[^"]{0,20}"|-?[0-9]{1,25}|null|true|\[\]|\{\})\s*,?\s*){0,4}\}"#) {
        check_frame(Encoding::Json, text.as_bytes());
    }
}

#[test]
fn oversized_frames_are_refused_before_parsing() {
    for enc in [Encoding::Json, Encoding::MsgPack] {
        let frame = ClientFrame::Auth { token: "t".repeat(MAX_CLIENT_FRAME_BYTES) };
        assert!(matches!(enc.decode_client(&encode(enc, &frame)), Err(FrameError::TooLarge(_))));
    }
}

// ---------------------------------------------------------------------------------------
// Mentions
// ---------------------------------------------------------------------------------------

/// A piece of a message whose mentions are known by construction.
#[derive(Debug, Clone)]
enum Piece {
    /// Text that cannot start a token or a code span (no `<`, backtick or newline).
    Plain(String),
    /// `<@id>` outside code: a mention.
    Mention(Uuid),
    /// `` `...<@id>...` `` with a run of 1 to 3 backticks: never a mention.
    InlineCode(usize, String, Option<Uuid>),
    /// A fenced block: never a mention, whatever it holds.
    Fence(Vec<(String, Option<Uuid>)>),
    /// `<@` followed by something that is not an id and `>`.
    Broken(String),
}

fn plain() -> impl Strategy<Value = String> {
    "[^<`\n\r]{0,24}"
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        3 => plain().prop_map(Piece::Plain),
        3 => uuid().prop_map(Piece::Mention),
        // Non-empty: an empty span would be one longer backtick run, i.e. text or a fence.
        2 => (1usize..4, "[^`\n]{1,12}", prop::option::of(uuid())).prop_map(|(n, s, u)| Piece::InlineCode(n, s, u)),
        1 => prop::collection::vec(("[^`\n]{0,16}", prop::option::of(uuid())), 0..4).prop_map(Piece::Fence),
        1 => "[^>`\n]{0,8}".prop_map(Piece::Broken),
    ]
}

fn render(pieces: &[Piece]) -> (String, Vec<Uuid>) {
    let mut text = String::new();
    let mut expected: Vec<Uuid> = Vec::new();
    let tok = |u: &Option<Uuid>| u.map(|u| format!("<@{u}>")).unwrap_or_default();
    for p in pieces {
        // A space between pieces keeps backtick runs and tokens from merging.
        text.push(' ');
        match p {
            Piece::Plain(s) => text.push_str(s),
            Piece::Mention(u) => {
                text.push_str(&format!("<@{u}>"));
                if !expected.contains(u) && expected.len() < MAX_USER_MENTIONS {
                    expected.push(*u);
                }
            }
            Piece::InlineCode(n, s, u) => {
                let ticks = "`".repeat(*n);
                text.push_str(&format!("{ticks}{s}{}{ticks}", tok(u)));
            }
            Piece::Fence(lines) => {
                text.push_str("\n```\n");
                for (line, u) in lines {
                    text.push_str(&format!("{line}{}\n", tok(u)));
                }
                text.push_str("```\n");
            }
            Piece::Broken(s) => {
                // `s` is no id if it does not parse as one.
                text.push_str(&format!("<@{s}>"));
                if let Ok(u) = s.parse::<Uuid>()
                    && !expected.contains(&u)
                    && expected.len() < MAX_USER_MENTIONS
                {
                    expected.push(u);
                }
            }
        }
    }
    (text, expected)
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn mentions_are_exactly_the_id_tokens_outside_code(pieces in prop::collection::vec(piece(), 0..24)) {
        let (text, expected) = render(&pieces);
        prop_assert_eq!(mentions::parse(&text).users, expected, "text: {:?}", text);
    }

    #[test]
    fn the_mention_parser_never_panics_and_stays_bounded(text in any::<String>()) {
        check_mentions(&text);
    }

    #[test]
    fn the_mention_parser_never_panics_on_markdown_soup(
        text in prop::collection::vec(prop_oneof![
            Just("`".to_string()), Just("```".to_string()), Just("\n".to_string()), Just("<@".to_string()),
            Just(">".to_string()), Just("@here".to_string()), Just("@channel".to_string()), Just("é".to_string()),
            uuid().prop_map(|u| u.to_string()), "\\PC{0,4}",
        ], 0..40).prop_map(|v| v.concat())
    ) {
        check_mentions(&text);
    }
}

// ---------------------------------------------------------------------------------------
// Reaction emoji
// ---------------------------------------------------------------------------------------

const GOOD_SEQUENCES: &[&str] = &["👍", "👍🏽", "❤️", "🇩🇪", "👨‍👩‍👧‍👦", "1️⃣", "#️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "☕", "🫠", "©️", "⌚"];

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn emoji_validation_never_panics_and_canonicalises(raw in any::<String>()) {
        check_reaction(&raw);
    }

    #[test]
    fn shortcodes_with_allowed_characters_are_accepted_lower_cased(name in "[A-Za-z0-9_+-]{1,64}") {
        let got = emoji::reaction(&format!(":{name}:")).unwrap();
        prop_assert_eq!(got, format!(":{}:", name.to_ascii_lowercase()));
    }

    #[test]
    fn shortcodes_with_any_other_character_are_refused(
        (left, bad, right) in ("[a-z0-9_]{0,10}", "[^A-Za-z0-9_+:-]", "[a-z0-9_]{0,10}")
    ) {
        let raw = format!(":{left}{bad}{right}:");
        prop_assert!(emoji::reaction(&raw).is_err(), "{:?} accepted", raw);
    }

    #[test]
    fn known_sequences_pass_unchanged_and_extra_text_is_refused(
        i in 0..GOOD_SEQUENCES.len(), extra in "[a-zA-Z0-9 <>]{1,4}", front in any::<bool>()
    ) {
        let good = GOOD_SEQUENCES[i];
        prop_assert_eq!(emoji::reaction(good).unwrap(), good);
        let padded = if front { format!("{extra}{good}") } else { format!("{good}{extra}") };
        prop_assert!(emoji::reaction(&padded).is_err(), "{:?} accepted", padded);
    }

    #[test]
    fn emoji_soup_never_panics(
        chars in prop::collection::vec(prop_oneof![
            Just('\u{200D}'), Just('\u{FE0F}'), Just('\u{20E3}'), Just('\u{E0067}'), Just('#'), Just(':'),
            (0x1F000u32..0x1FB00).prop_map(|c| char::from_u32(c).unwrap_or('x')), any::<char>(),
        ], 0..20)
    ) {
        check_reaction(&chars.into_iter().collect::<String>());
    }
}

// ---------------------------------------------------------------------------------------
// The fuzzers' corpora, replayed on every test run
// ---------------------------------------------------------------------------------------

#[test]
fn fuzz_corpora_replay_cleanly() {
    for (_, data) in corpus("client_frame") {
        check_frame_input(&data);
    }
    for (_, data) in corpus("mentions") {
        check_mentions(&String::from_utf8_lossy(&data));
    }
    for (name, data) in corpus("emoji") {
        let text = String::from_utf8_lossy(&data);
        check_reaction(&text);
        if name.starts_with("seed") {
            assert!(emoji::reaction(&text).is_ok(), "the seed {name} ({text:?}) is a valid reaction");
        }
    }
}
