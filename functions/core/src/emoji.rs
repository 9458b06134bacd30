//! Reaction emoji: a `:shortcode:` (custom or standard names; the client maps names to
//! glyphs) or one Unicode emoji sequence. Anything else is refused, so a reaction cannot
//! smuggle text, markup or an unbounded string into every viewer's message list.

use crate::ApiError;

pub const MAX_SHORTCODE_CHARS: usize = 64;
/// Longest Unicode sequence accepted, in code points (family and flag ZWJ sequences fit).
pub const MAX_SEQUENCE_CHARS: usize = 16;

/// Validates and returns the canonical form: shortcodes lower-cased with their colons.
pub fn reaction(raw: &str) -> Result<String, ApiError> {
    if let Some(name) = raw.strip_prefix(':').and_then(|r| r.strip_suffix(':')) {
        let ok = !name.is_empty()
            && name.chars().count() <= MAX_SHORTCODE_CHARS
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-'));
        return if ok {
            Ok(format!(":{}:", name.to_ascii_lowercase()))
        } else {
            Err(ApiError::validation(format!(
                "a shortcode is :name: with 1 to {MAX_SHORTCODE_CHARS} letters, digits, '_', '+' or '-'"
            )))
        };
    }
    if is_emoji_sequence(raw) {
        Ok(raw.to_string())
    } else {
        Err(ApiError::validation("emoji must be a :shortcode: or a single Unicode emoji"))
    }
}

fn is_emoji_sequence(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() || chars.len() > MAX_SEQUENCE_CHARS {
        return false;
    }
    // Keycaps: 0-9, # or * followed by VS16 and the combining keycap.
    if matches!(chars.as_slice(), [c, '\u{FE0F}', '\u{20E3}'] if c.is_ascii_digit() || *c == '#' || *c == '*') {
        return true;
    }
    if !is_pictographic(chars[0]) {
        return false;
    }
    chars[1..].iter().all(|&c| is_pictographic(c) || is_modifier(c))
}

fn is_pictographic(c: char) -> bool {
    matches!(u32::from(c),
        0x1F000..=0x1FAFF // symbols, pictographs, emoticons, flags (regional indicators), skin tones
        | 0x2600..=0x27BF // miscellaneous symbols, dingbats
        | 0x2300..=0x23FF // technical (watch, hourglass, ...)
        | 0x2B00..=0x2BFF // arrows, stars
        | 0x2190..=0x21FF // arrows
        | 0x25A0..=0x25FF // geometric shapes
        | 0x2900..=0x297F
        | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139 | 0x24C2)
}

/// Joiners, variation selectors, the keycap mark and tag characters (subdivision flags).
fn is_modifier(c: char) -> bool {
    matches!(u32::from(c), 0x200D | 0xFE0E | 0xFE0F | 0x20E3 | 0xE0020..=0xE007F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcodes_are_canonical() {
        assert_eq!(reaction(":ThumbsUp:").unwrap(), ":thumbsup:");
        assert_eq!(reaction(":+1:").unwrap(), ":+1:");
        assert_eq!(reaction(":party_parrot-2:").unwrap(), ":party_parrot-2:");
        for bad in ["::", ":a b:", ":<script>:", ":x", "x:", &format!(":{}:", "a".repeat(65))] {
            assert!(reaction(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unicode_sequences() {
        for good in ["👍", "👍🏽", "❤️", "🇩🇪", "👨‍👩‍👧‍👦", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "☕"]
        {
            assert!(reaction(good).is_ok(), "{good}");
        }
        for bad in ["", "a", "ok", "👍 ", " 👍", "<b>", "\u{200D}", "1", "👍a", &"👍".repeat(17)] {
            assert!(reaction(bad).is_err(), "{bad:?}");
        }
    }
}
