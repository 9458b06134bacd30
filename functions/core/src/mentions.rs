//! Mentions in markdown source: `<@user-id>` for a person (what the client's autocomplete
//! inserts; display names are not unique), `@channel`/`@everyone` for every member and
//! `@here` for those online. Text inside code spans and fenced code blocks never mentions
//! anyone, so pasting a log full of `@here` does not page the channel.

use uuid::Uuid;

/// Most distinct people one message may mention; the rest are ignored, not refused.
pub const MAX_USER_MENTIONS: usize = 50;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// Distinct, in order of first appearance.
    pub users: Vec<Uuid>,
    pub channel: bool,
    pub here: bool,
}

/// Extracts the mentions of a message's markdown source.
pub fn parse(text: &str) -> Mentions {
    let mut out = Mentions::default();
    // The backtick count of the open fence's opening line.
    let mut fence: Option<usize> = None;
    for line in text.split('\n') {
        let t = line.trim_start();
        let run = t.bytes().take_while(|&c| c == b'`').count();
        let rest = &t[run..];
        match fence {
            // As in CommonMark: a fence closes at a line of at least as many backticks and
            // nothing else; every other line inside is code.
            Some(open) => {
                if run >= open && rest.trim().is_empty() {
                    fence = None;
                }
            }
            // An opening line's info string has no backtick: "```ls```" is an inline span.
            None if run >= 3 && !rest.contains('`') => fence = Some(run),
            None => scan_line(line, &mut out),
        }
    }
    out
}

/// Scans one line outside fences, skipping inline code spans (a run of N backticks up to the
/// next run of exactly N, as CommonMark does; an unclosed run is literal text).
fn scan_line(line: &str, out: &mut Mentions) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'`' => {
                let run = b[i..].iter().take_while(|&&c| c == b'`').count();
                match find_closing_run(b, i + run, run) {
                    Some(end) => i = end,
                    None => i += run,
                }
            }
            // A backslash escapes the next character, as the client renders it: `\@here`
            // is the word, not the mention (what a webhook's plain "@here" becomes).
            b'\\' => i += 2,
            b'<' if b[i..].starts_with(b"<@") => {
                let rest = &line[i + 2..];
                match rest.find('>').and_then(|end| Some((end, rest[..end].parse::<Uuid>().ok()?))) {
                    Some((end, id)) => {
                        if !out.users.contains(&id) && out.users.len() < MAX_USER_MENTIONS {
                            out.users.push(id);
                        }
                        i += 2 + end + 1;
                    }
                    None => i += 2,
                }
            }
            b'@' => {
                let starts_word = i == 0 || !is_word_byte(b[i - 1]);
                let word_len = b[i + 1..].iter().take_while(|&&c| is_word_byte(c)).count();
                let word = &line[i + 1..i + 1 + word_len];
                if starts_word {
                    match word.to_ascii_lowercase().as_str() {
                        "channel" | "everyone" => out.channel = true,
                        "here" => out.here = true,
                        _ => {}
                    }
                }
                i += 1 + word_len;
            }
            _ => i += 1,
        }
    }
}

fn find_closing_run(b: &[u8], from: usize, run: usize) -> Option<usize> {
    let mut j = from;
    while j < b.len() {
        if b[j] == b'`' {
            let n = b[j..].iter().take_while(|&&c| c == b'`').count();
            if n == run {
                return Some(j + n);
            }
            j += n;
        } else {
            j += 1;
        }
    }
    None
}

/// Letters, digits, `_`, `.` and `-` continue a word: `ann@here.com` is an address, and
/// `@channel-ops` is not `@channel`. Non-ASCII bytes count as word bytes.
fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-' || c >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "6f1c1b1e-2d3c-4b5a-8a7b-0c1d2e3f4a5b";
    const B: &str = "00000000-0000-4000-8000-000000000002";

    fn ids(m: &Mentions) -> Vec<String> {
        m.users.iter().map(Uuid::to_string).collect()
    }

    #[test]
    fn people_by_id_in_order_without_duplicates() {
        let m = parse(&format!("hi <@{A}> and <@{B}>, also <@{A}>"));
        assert_eq!(ids(&m), [A, B]);
        assert!(!m.channel && !m.here);
    }

    #[test]
    fn broadcast_mentions_need_word_boundaries() {
        assert!(parse("@channel deploy is done").channel);
        assert!(parse("ping @everyone!").channel);
        assert!(parse("(@here)").here);
        assert!(parse("@HERE").here);
        let m = parse("mail ann@here.com or see @channel-ops and @channels");
        assert!(!m.here && !m.channel, "{m:?}");
        assert!(!parse("über@here").here);
    }

    #[test]
    fn code_never_mentions() {
        let m = parse(&format!("`@here <@{A}>` and ``a ` @channel``"));
        assert_eq!(m, Mentions::default());
        let fenced = format!("```\n@here <@{A}>\n```\nafter <@{B}>");
        assert_eq!(ids(&parse(&fenced)), [B]);
        let unclosed = "`not code @here";
        assert!(parse(unclosed).here, "an unclosed backtick is literal");
    }

    #[test]
    fn fences_follow_commonmark() {
        // A one-line span of three backticks is inline code, not a fence opener.
        assert_eq!(ids(&parse(&format!("```ls -l```\n<@{A}>"))), [A]);
        // An info string is allowed on the opener; only a bare, long enough run closes.
        let text = format!("````rust\n<@{A}>\n```\n```rust\n<@{A}>\n`````  \n<@{B}>");
        assert_eq!(ids(&parse(&text)), [B]);
        // An unclosed fence runs to the end.
        assert_eq!(parse(&format!("```\n<@{A}>")), Mentions::default());
    }

    #[test]
    fn malformed_ids_are_text() {
        assert_eq!(parse("<@nope> <@> <@123").users, Vec::<Uuid>::new());
    }

    #[test]
    fn caps_distinct_people() {
        let text: String = (0..80u128).map(|n| format!("<@{}> ", Uuid::from_u128(n + 1))).collect();
        assert_eq!(parse(&text).users.len(), MAX_USER_MENTIONS);
    }

    #[test]
    fn an_escaped_at_sign_mentions_nobody() {
        let m = parse("\\@here \\@channel \\<@0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b> but @everyone");
        assert_eq!((m.here, m.users.len(), m.channel), (false, 0, true));
    }
}
