use serde_json::json;

use super::*;

fn blocks_ok(v: Value) -> Vec<Value> {
    normalize_blocks(&v).unwrap()
}

fn blocks_err(v: Value) -> String {
    let e = normalize_blocks(&v).unwrap_err();
    assert_eq!(e.slack_code(), "invalid_blocks");
    e.detail().to_owned()
}

fn attachments_ok(v: Value) -> Vec<Value> {
    normalize_attachments(&v).unwrap()
}

fn attachments_err(v: Value) -> String {
    let e = normalize_attachments(&v).unwrap_err();
    assert_eq!(e.slack_code(), "invalid_attachments");
    e.detail().to_owned()
}

fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": text})
}

fn image(url: &str) -> Value {
    json!({"type": "image", "image_url": url, "alt_text": "a cat"})
}

// ---------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------

#[test]
fn section_is_normalised_and_converted() {
    let out = blocks_ok(json!([{
        "type": "section",
        "block_id": "b1",
        "text": {"type": "mrkdwn", "text": "*Deploy* <https://x.y|done> &amp;", "verbatim": false, "emoji": true},
        "fields": [mrkdwn("*a*"), plain("*b*")],
        "accessory": image("https://x.y/cat.png"),
        "unknown": 1,
    }]));
    assert_eq!(
        out,
        vec![json!({
            "type": "section",
            "block_id": "b1",
            "text": {"type": "mrkdwn", "text": "**Deploy** [done](https://x.y) &"},
            "fields": [{"type": "mrkdwn", "text": "**a**"}, {"type": "plain_text", "text": "*b*"}],
            "accessory": {"type": "image", "image_url": "https://x.y/cat.png", "alt_text": "a cat"},
        })]
    );
}

#[test]
fn section_drops_interactive_accessories() {
    let out = blocks_ok(json!([{
        "type": "section",
        "text": plain("hi"),
        "accessory": {"type": "button", "text": plain("Go"), "action_id": "go"},
    }]));
    assert_eq!(out, vec![json!({"type": "section", "text": {"type": "plain_text", "text": "hi"}})]);
}

#[test]
fn section_rules() {
    assert!(blocks_err(json!([{"type": "section"}])).contains("block 0 (section): needs a text or fields"));
    let long = "x".repeat(MAX_SECTION_TEXT_CHARS + 1);
    assert!(blocks_err(json!([{"type": "section", "text": mrkdwn(&long)}])).contains("text: text is 3001 characters"));
    blocks_ok(json!([{"type": "section", "text": mrkdwn(&"é".repeat(MAX_SECTION_TEXT_CHARS))}]));
    let field = "x".repeat(MAX_FIELD_CHARS + 1);
    assert!(blocks_err(json!([{"type": "section", "fields": [plain("a"), plain(&field)]}])).contains("fields[1]"));
    let eleven: Vec<Value> = (0..11).map(|i| plain(&i.to_string())).collect();
    assert!(blocks_err(json!([{"type": "section", "fields": eleven}])).contains("at most 10"));
    assert!(blocks_err(json!([{"type": "section", "fields": []}])).contains("fields is empty"));
    assert!(blocks_err(json!([{"type": "section", "fields": "a"}])).contains("fields is not an array"));
    let bad_image = json!({"type": "image", "image_url": "ftp://x", "alt_text": "a"});
    assert!(blocks_err(json!([{"type": "section", "text": plain("a"), "accessory": bad_image}])).contains("accessory"));
    assert!(blocks_err(json!([{"type": "section", "text": plain("a"), "accessory": "x"}])).contains("accessory"));
}

#[test]
fn text_object_rules() {
    let cases = [
        (json!("hi"), "not a text object"),
        (json!({"text": "a"}), "no \"type\""),
        (json!({"type": "mrkdwn"}), "no \"text\""),
        (json!({"type": "mrkdwn", "text": 5}), "no \"text\""),
        (json!({"type": "mrkdwn", "text": ""}), "text is empty"),
        (json!({"type": "html", "text": "a"}), "unsupported text type \"html\""),
        (json!({"type": "mrkdwn", "text": "a", "emoji": "yes"}), "emoji is not a boolean"),
        (json!({"type": "mrkdwn", "text": "a", "verbatim": 1}), "verbatim is not a boolean"),
    ];
    for (text, why) in cases {
        let err = blocks_err(json!([{"type": "section", "text": text}]));
        assert!(err.contains(why), "{err}");
    }
}

#[test]
fn context_divider_header_image() {
    let out = blocks_ok(json!([
        {"type": "context", "elements": [mrkdwn("_by_ <@U1|bob>"), image("http://x.y/i.png"), plain("p")]},
        {"type": "divider", "block_id": "d"},
        {"type": "header", "text": {"type": "plain_text", "text": "Title *x*", "emoji": true}},
        {"type": "image", "image_url": "https://x.y/a.png", "alt_text": "alt", "title": plain("T")},
        {"type": "image", "image_url": "https://x.y/b.png", "alt_text": "alt2"},
    ]));
    assert_eq!(
        out,
        vec![
            json!({"type": "context", "elements": [
                {"type": "mrkdwn", "text": "_by_ <@U1>"},
                {"type": "image", "image_url": "http://x.y/i.png", "alt_text": "a cat"},
                {"type": "plain_text", "text": "p"},
            ]}),
            json!({"type": "divider", "block_id": "d"}),
            json!({"type": "header", "text": {"type": "plain_text", "text": "Title *x*"}}),
            json!({"type": "image", "image_url": "https://x.y/a.png", "alt_text": "alt",
                   "title": {"type": "plain_text", "text": "T"}}),
            json!({"type": "image", "image_url": "https://x.y/b.png", "alt_text": "alt2"}),
        ]
    );
}

#[test]
fn context_rules() {
    assert!(blocks_err(json!([{"type": "context"}])).contains("elements is not an array"));
    assert!(blocks_err(json!([{"type": "context", "elements": []}])).contains("elements is empty"));
    let eleven: Vec<Value> = (0..11).map(|i| plain(&i.to_string())).collect();
    assert!(blocks_err(json!([{"type": "context", "elements": eleven}])).contains("at most 10"));
    let button = json!({"type": "button", "text": plain("b")});
    assert!(
        blocks_err(json!([{"type": "context", "elements": [button]}])).contains("elements[0]: unsupported element")
    );
    assert!(blocks_err(json!([{"type": "context", "elements": [{}]}])).contains("has no \"type\""));
}

#[test]
fn header_rules() {
    assert!(blocks_err(json!([{"type": "header", "text": mrkdwn("a")}])).contains("must be plain_text"));
    assert!(blocks_err(json!([{"type": "header"}])).contains("needs a text"));
    let long = "h".repeat(MAX_HEADER_CHARS + 1);
    assert!(blocks_err(json!([{"type": "header", "text": plain(&long)}])).contains("at most 150"));
    blocks_ok(json!([{"type": "header", "text": plain(&"h".repeat(MAX_HEADER_CHARS))}]));
}

#[test]
fn image_rules() {
    for (block, why) in [
        (json!({"type": "image", "alt_text": "a"}), "needs an image_url"),
        (json!({"type": "image", "image_url": "https://x.y"}), "needs an alt_text"),
        (json!({"type": "image", "image_url": "https://x.y", "alt_text": " "}), "alt_text is empty"),
        (json!({"type": "image", "image_url": "/rel.png", "alt_text": "a"}), "not an absolute http(s) URL"),
        (json!({"type": "image", "image_url": "javascript:alert(1)", "alt_text": "a"}), "not an absolute"),
        (json!({"type": "image", "image_url": "data:image/png;base64,AA", "alt_text": "a"}), "not an absolute"),
        (json!({"type": "image", "image_url": "https://x.y", "alt_text": "a", "title": mrkdwn("t")}), "title"),
    ] {
        let err = blocks_err(json!([block]));
        assert!(err.contains(why), "{err}");
    }
    let url = format!("https://x.y/{}", "a".repeat(MAX_IMAGE_URL_CHARS));
    assert!(blocks_err(json!([image(&url)])).contains("image_url is"));
}

#[test]
fn block_ids() {
    let long = "i".repeat(MAX_BLOCK_ID_CHARS + 1);
    assert!(blocks_err(json!([{"type": "divider", "block_id": long}])).contains("block_id is 256 characters"));
    assert!(blocks_err(json!([{"type": "divider", "block_id": 5}])).contains("block_id is not a string"));
    let dup = blocks_err(json!([{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}]));
    assert!(dup.starts_with("block 1 (divider): block_id \"a\" is used twice"), "{dup}");
}

#[test]
fn unknown_and_malformed_blocks_are_refused_with_their_index() {
    let err = blocks_err(json!([{"type": "divider"}, {"type": "actions", "elements": []}]));
    assert!(err.starts_with("block 1 (actions): unsupported type"), "{err}");
    assert_eq!(blocks_err(json!([5])), "block 0: not a JSON object");
    assert_eq!(blocks_err(json!([{}])), "block 0: has no \"type\"");
    assert_eq!(blocks_err(json!([{"type": 1}])), "block 0: has no \"type\"");
    assert_eq!(blocks_err(json!({"type": "divider"})), "blocks is not a JSON array");
    assert_eq!(blocks_err(json!(null)), "blocks is not a JSON array");
    let too_many: Vec<Value> = (0..=MAX_BLOCKS).map(|_| json!({"type": "divider"})).collect();
    assert_eq!(blocks_err(Value::Array(too_many)), "51 blocks; at most 50 are allowed");
    let fifty: Vec<Value> = (0..MAX_BLOCKS).map(|_| json!({"type": "divider"})).collect();
    assert_eq!(blocks_ok(Value::Array(fifty)).len(), MAX_BLOCKS);
}

#[test]
fn blocks_may_come_as_a_json_string() {
    let out = blocks_ok(json!(r#"[{"type":"section","text":{"type":"mrkdwn","text":"*hi*"}}]"#));
    assert_eq!(out, vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": "**hi**"}})]);
    assert!(blocks_ok(json!("")).is_empty());
    assert!(blocks_ok(json!("  ")).is_empty());
    assert!(blocks_ok(json!([])).is_empty());
    assert!(blocks_err(json!("[{")).starts_with("blocks is not valid JSON"));
    assert_eq!(blocks_err(json!("{}")), "blocks is not a JSON array");
}

#[test]
fn hostile_json_is_refused_not_crashed() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(blocks_err(Value::String(deep.clone())).starts_with("blocks is not valid JSON"));
    assert!(attachments_err(Value::String(deep)).starts_with("attachments is not valid JSON"));
    let nested = json!([[[[[[[[[[[]]]]]]]]]]]);
    assert_eq!(blocks_err(nested.clone()), "block 0: not a JSON object");
    assert_eq!(attachments_err(nested), "attachment 0: not a JSON object");
    let huge = json!([{"type": "section", "text": {"type": "mrkdwn", "text": 1e308}}]);
    assert!(blocks_err(huge).contains("no \"text\" string"));
    let big_text = "*".repeat(100_000);
    assert!(blocks_err(json!([{"type": "section", "text": mrkdwn(&big_text)}])).contains("at most 3000"));
}

// ---------------------------------------------------------------------------------------
// Attachments
// ---------------------------------------------------------------------------------------

#[test]
fn attachment_is_normalised() {
    let out = attachments_ok(json!([{
        "fallback": "Build *failed*",
        "color": "danger",
        "pretext": "*CI* says",
        "author_name": "ci-bot",
        "author_link": "https://ci.example/bot",
        "author_icon": "ftp://nope",
        "title": "Build #42 *red*",
        "title_link": "https://ci.example/42",
        "text": "Step `test` failed: <https://ci.example/42/log|log>",
        "fields": [
            {"title": "Branch", "value": "*main*", "short": true},
            {"title": "Commit", "value": "abc123"},
            {"title": "", "value": ""},
        ],
        "image_url": "https://ci.example/graph.png",
        "thumb_url": "not a url",
        "footer": "CI",
        "footer_icon": "https://ci.example/icon.png",
        "ts": 1_392_734_382,
        "mrkdwn_in": ["text"],
        "callback_id": "ignored",
    }]));
    assert_eq!(
        out,
        vec![json!({
            "fallback": "Build *failed*",
            "color": "#e01e5a",
            "pretext": "**CI** says",
            "author_name": "ci-bot",
            "author_link": "https://ci.example/bot",
            "title": "Build #42 *red*",
            "title_link": "https://ci.example/42",
            "text": "Step `test` failed: [log](https://ci.example/42/log)",
            "fields": [
                {"title": "Branch", "value": "**main**", "short": true},
                {"title": "Commit", "value": "abc123", "short": false},
            ],
            "image_url": "https://ci.example/graph.png",
            "footer": "CI",
            "footer_icon": "https://ci.example/icon.png",
            "ts": 1_392_734_382,
        })]
    );
}

#[test]
fn attachment_colours() {
    let colour = |c: Value| attachments_ok(json!([{"text": "t", "color": c}]))[0].get("color").cloned();
    assert_eq!(colour(json!("good")), Some(json!("#2eb67d")));
    assert_eq!(colour(json!("warning")), Some(json!("#ecb22e")));
    assert_eq!(colour(json!("danger")), Some(json!("#e01e5a")));
    assert_eq!(colour(json!("#36A64F")), Some(json!("#36a64f")));
    assert_eq!(colour(json!("36a64f")), Some(json!("#36a64f")));
    for bad in [json!("#36a64"), json!("red"), json!("#36a64fff"), json!("#gggggg"), json!(5), json!("")] {
        assert_eq!(colour(bad), None);
    }
}

#[test]
fn attachment_ts_forms() {
    let ts = |t: Value| attachments_ok(json!([{"text": "t", "ts": t}]))[0].get("ts").cloned();
    assert_eq!(ts(json!(1_392_734_382)), Some(json!(1_392_734_382)));
    assert_eq!(ts(json!(1_392_734_382.9)), Some(json!(1_392_734_382)));
    assert_eq!(ts(json!("1392734382")), Some(json!(1_392_734_382)));
    assert_eq!(ts(json!("1392734382.000123")), Some(json!(1_392_734_382)));
    for bad in
        [json!(-1), json!("-1"), json!("soon"), json!(1e300), json!(u64::MAX), json!(253_402_300_800_i64), json!(null)]
    {
        assert_eq!(ts(bad), None);
    }
}

#[test]
fn attachment_content_is_required() {
    let err = attachments_err(json!([{"text": "ok"}, {"color": "good", "footer": "f"}]));
    assert!(err.starts_with("attachment 1: shows nothing"), "{err}");
    assert!(attachments_err(json!([{"text": ""}])).contains("shows nothing"));
    assert!(attachments_err(json!([{"image_url": "ftp://x"}])).contains("shows nothing"));
    assert!(attachments_err(json!([{"fields": [{"short": true}]}])).contains("shows nothing"));
    assert!(attachments_err(json!([{"blocks": []}])).contains("shows nothing"));
    for one in [
        json!({"fallback": "f"}),
        json!({"pretext": "p"}),
        json!({"title": "t"}),
        json!({"fields": [{"title": "t"}]}),
        json!({"image_url": "https://x.y/i.png"}),
        json!({"blocks": [{"type": "divider"}]}),
    ] {
        attachments_ok(json!([one]));
    }
}

#[test]
fn attachment_structure_rules() {
    assert_eq!(attachments_err(json!([1])), "attachment 0: not a JSON object");
    assert!(attachments_err(json!([{"text": "t", "fields": {}}])).contains("fields is not an array"));
    assert!(attachments_err(json!([{"text": "t", "fields": [1]}])).contains("fields[0] is not an object"));
    let fields: Vec<Value> = (0..=MAX_ATTACHMENT_FIELDS).map(|i| json!({"title": i.to_string()})).collect();
    assert!(attachments_err(json!([{"fields": fields}])).contains("at most 20"));
    let too_many: Vec<Value> = (0..=MAX_ATTACHMENTS).map(|_| json!({"text": "t"})).collect();
    assert_eq!(attachments_err(Value::Array(too_many)), "21 attachments; at most 20 are allowed");
    let err = attachments_err(json!([{"blocks": [{"type": "table"}]}]));
    assert!(err.starts_with("attachment 0: blocks: block 0 (table): unsupported type"), "{err}");
    assert_eq!(attachments_err(json!(7)), "attachments is not a JSON array");
}

#[test]
fn attachment_leniency() {
    let out = attachments_ok(json!(
        r#"[{"text": 5, "title": "t", "fields": null, "short": "x",
        "fields_extra": 1, "title_link": "javascript:alert(1)"}]"#
    ));
    assert_eq!(out, vec![json!({"title": "t"})]);
    let out = attachments_ok(json!([{"fields": [{"value": "*v*", "short": "yes"}], "blocks": [{"type": "divider"}]}]));
    assert_eq!(out, vec![json!({"fields": [{"value": "**v**", "short": false}], "blocks": [{"type": "divider"}]})]);
    assert!(attachments_ok(json!("")).is_empty());
}

#[test]
fn error_display_names_the_code() {
    let e = normalize_blocks(&json!([{"type": "x"}])).unwrap_err();
    assert!(e.to_string().starts_with("invalid_blocks: block 0 (x)"), "{e}");
    let e = normalize_attachments(&json!([{}])).unwrap_err();
    assert!(e.to_string().starts_with("invalid_attachments: attachment 0"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Fallback text
// ---------------------------------------------------------------------------------------

#[test]
fn fallback_from_blocks_and_attachments() {
    let blocks = blocks_ok(json!([
        {"type": "header", "text": plain("Deploy *done*")},
        {"type": "section", "text": mrkdwn("*prod* is <https://x.y|live> snake_case"), "fields": [mrkdwn("_a_"), plain("b")]},
        {"type": "divider"},
        {"type": "context", "elements": [image("https://x.y/i.png"), mrkdwn("by <@U1|bob> ~x~")]},
        {"type": "image", "image_url": "https://x.y/a.png", "alt_text": "alt", "title": plain("Graph")},
    ]));
    let attachments = attachments_ok(json!([
        {"fallback": "plain fallback", "text": "ignored"},
        {"pretext": "*pre*", "title": "Title", "text": "a `b` [c]"},
        {"fields": [{"title": "K", "value": "*v*"}, {"value": "w"}]},
        {"blocks": [{"type": "section", "text": mrkdwn("in _block_")}]},
    ]));
    assert_eq!(
        fallback_text(&blocks, &attachments),
        "Deploy *done*\nprod is live snake_case\na\nb\nby @U1 x\nGraph\nplain fallback\npre\nTitle\na b [c]\nK: v\nw\nin block"
    );
    assert_eq!(fallback_text(&[], &[]), "");
}

#[test]
fn fallback_is_truncated_on_a_char_boundary() {
    let text = "é".repeat(2500);
    let blocks = blocks_ok(json!([
        {"type": "section", "text": plain(&text)},
        {"type": "section", "text": plain(&text)},
    ]));
    let fallback = fallback_text(&blocks, &[]);
    assert_eq!(fallback.chars().count(), MAX_FALLBACK_CHARS);
    assert!(fallback.ends_with('é'));
}

#[test]
fn fallback_tolerates_odd_values() {
    let odd = [json!(1), json!({"text": 5}), json!({"fields": "x"}), json!({"text": {"type": "html", "text": "h"}})];
    assert_eq!(fallback_text(&odd, &odd), "");
}

// ---------------------------------------------------------------------------------------
// Any JSON
// ---------------------------------------------------------------------------------------

mod props {
    use proptest::prelude::*;

    use super::*;

    /// JSON near the real shapes: known keys and types, with any values below them.
    fn json() -> impl Strategy<Value = Value> {
        const KEYS: &str = "type text fields elements accessory block_id image_url alt_text title color ts fallback \
                            pretext blocks value short emoji section context mrkdwn";
        const WORDS: &str = "section¦context¦divider¦header¦image¦mrkdwn¦plain_text¦https://x.y/i.png¦good¦\
                             *b* <https://x.y|l>¦¦1392734382.5";
        let key = prop::sample::select(KEYS.split(' ').collect::<Vec<_>>());
        let word = prop::sample::select(WORDS.split('¦').collect::<Vec<_>>());
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            word.prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_json_is_normalised_or_refused_without_panic(v in json()) {
            let wrapped = Value::Array(vec![v.clone()]);
            for v in [Value::String(v.to_string()), wrapped, v] {
                let blocks = normalize_blocks(&v).unwrap_or_default();
                let attachments = normalize_attachments(&v).unwrap_or_default();
                prop_assert!(fallback_text(&blocks, &attachments).chars().count() <= MAX_FALLBACK_CHARS);
                let raw = std::slice::from_ref(&v);
                prop_assert!(fallback_text(raw, raw).chars().count() <= MAX_FALLBACK_CHARS);
            }
        }
    }
}
