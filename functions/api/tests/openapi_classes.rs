//! The character classes in the OpenAPI document's patterns are the validators' own: for
//! every Unicode scalar value, membership in the document's class agrees with the Rust
//! predicate the server applies (`char::is_whitespace` is what `str::trim` removes,
//! `char::is_control` and `validate::is_invisible_format` what names refuse, `char::is_alphanumeric` what channel names allow,
//! and `ocomms_core::emoji` what a reaction may start with). Schemathesis checks the rest
//! of each pattern against the real host (tests/openapi-fuzz).

use ocomms_api::router::OPENAPI_JSON;
use ocomms_core::{emoji, validate};
use serde_json::Value;

fn schema(name: &str) -> Value {
    let doc: Value = serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON");
    doc["components"]["schemas"][name].clone()
}

fn pattern(name: &str) -> String {
    schema(name)["pattern"].as_str().unwrap_or_else(|| panic!("{name} has a pattern")).to_string()
}

/// A bracket expression of a pattern: its `[...]` classes in order, each as (negated, ranges).
fn classes(pattern: &str) -> Vec<(bool, Vec<(char, char)>)> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '[' => {
                i += 1;
                let negated = chars.get(i) == Some(&'^');
                if negated {
                    i += 1;
                }
                let mut items: Vec<char> = Vec::new();
                let mut ranges = Vec::new();
                let mut dash_pending = false;
                while chars[i] != ']' {
                    let c = if chars[i] == '\\' {
                        let (c, used) = escape(&chars[i + 1..]);
                        i += 1 + used;
                        c
                    } else if chars[i] == '-' && !items.is_empty() && chars[i + 1] != ']' {
                        dash_pending = true;
                        i += 1;
                        continue;
                    } else {
                        i += 1;
                        chars[i - 1]
                    };
                    if dash_pending {
                        let lo = items.pop().expect("a range start");
                        ranges.push((lo, c));
                        dash_pending = false;
                    } else {
                        items.push(c);
                    }
                }
                ranges.extend(items.into_iter().map(|c| (c, c)));
                out.push((negated, merged(ranges)));
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// `\uXXXX` or an escaped literal; returns the character and how many chars were consumed.
fn escape(rest: &[char]) -> (char, usize) {
    if rest[0] == 'u' {
        let hex: String = rest[1..5].iter().collect();
        (char::from_u32(u32::from_str_radix(&hex, 16).expect("hex")).expect("a scalar value"), 5)
    } else {
        assert!(!rest[0].is_ascii_alphanumeric(), "unexpected escape \\{} in a class", rest[0]);
        (rest[0], 1)
    }
}

/// Sorted, disjoint ranges covering the same characters.
fn merged(mut ranges: Vec<(char, char)>) -> Vec<(char, char)> {
    ranges.sort_unstable();
    let mut out: Vec<(char, char)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Whether the class matches `c`.
fn contains(class: &(bool, Vec<(char, char)>), c: char) -> bool {
    let before = class.1.partition_point(|&(lo, _)| lo <= c);
    let inside = before > 0 && c <= class.1[before - 1].1;
    class.0 != inside
}

fn all_chars() -> impl Iterator<Item = char> {
    '\0'..=char::MAX
}

#[test]
fn whitespace_and_control_classes_are_rusts() {
    // DisplayName: [WS]* [^WS CC] ( [^CC]{0,78} [^WS CC] )? [WS]*
    let p = pattern("DisplayName");
    let cs = classes(&p);
    assert_eq!(cs.len(), 5, "{p}");
    for c in all_chars() {
        assert_eq!(contains(&cs[0], c), c.is_whitespace(), "whitespace class at {:?}", c);
        let hidden = validate::is_invisible_format(c);
        assert_eq!(contains(&cs[1], c), !c.is_whitespace() && !c.is_control() && !hidden, "first character at {:?}", c);
        assert_eq!(contains(&cs[2], c), !c.is_control() && !hidden, "inner characters at {:?}", c);
        // The validator agrees on one-character names.
        let valid = validate::display_name(&c.to_string(), "name", 80).is_ok();
        assert_eq!(valid, contains(&cs[1], c), "display_name({:?})", c);
    }
}

#[test]
fn the_channel_name_class_is_rusts_alphanumeric() {
    let p = pattern("ChannelName");
    let cs = classes(&p);
    let name = cs.iter().find(|c| c.1.len() > 100).expect("the name class");
    for c in all_chars() {
        let documented = contains(name, c);
        assert_eq!(documented, c.is_alphanumeric() || c == '-' || c == '_', "class at {:?}", c);
        if !c.is_whitespace() && c != '#' {
            assert_eq!(validate::channel_name(&c.to_string()).is_ok(), documented, "channel_name({:?})", c);
        }
    }
}

#[test]
fn the_emoji_class_is_what_a_reaction_may_start_with() {
    let p = pattern("Emoji");
    let cs = classes(&p);
    // [A-Za-z0-9_+-] of the shortcode, [0-9#*] of the keycap, then the pictographs.
    let start = &cs[2];
    for c in all_chars() {
        assert_eq!(emoji::reaction(&c.to_string()).is_ok(), contains(start, c), "reaction({:?})", c);
    }
}
