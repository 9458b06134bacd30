//! Slack's formats, for integrations written against Slack: incoming webhooks and Web API
//! clients post Slack mrkdwn, Block Kit blocks and legacy attachments, and read messages back
//! in those formats. We store and render our own markdown, so text is converted on the way
//! in ([`mrkdwn::to_markdown`]) and on the way out ([`mrkdwn::to_mrkdwn`]); blocks and
//! attachments are validated once and stored normalised, their mrkdwn already converted.
//!
//! Message timestamps are Slack's `ts` strings ([`ts`], [`parse_ts`]): clients use them as
//! message ids (`thread_ts`, `chat.update`), so they must round-trip exactly.

pub mod blocks;
pub mod commands;
pub mod events;
pub mod mrkdwn;
pub mod scopes;
pub mod signing;

pub use blocks::{BlockError, fallback_text, normalize_attachments, normalize_blocks};
pub use mrkdwn::{plain, to_markdown, to_mrkdwn};

const MICROS_PER_SEC: i64 = 1_000_000;

/// Formats a timestamp in microseconds as Slack's `SECONDS.MICROS` (six fraction digits).
/// Instants before 1970 keep their sign; [`parse_ts`] refuses them, as Slack never sends one.
pub fn ts(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let per_sec = MICROS_PER_SEC.unsigned_abs();
    format!("{sign}{}.{:06}", abs / per_sec, abs % per_sec)
}

/// Parses a Slack `ts` into microseconds. Clients send `SECONDS.MICROS`, but some trim the
/// fraction (`1733456789.123`) or drop it; fraction digits are read as written, so `.123` is
/// 123 000 µs. `None` for anything else, including a fraction finer than a microsecond,
/// which would silently name a different message.
pub fn parse_ts(s: &str) -> Option<i64> {
    let (secs, frac) = match s.split_once('.') {
        Some((secs, frac)) => (secs, Some(frac)),
        None => (s, None),
    };
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_micros = match frac {
        None => 0,
        Some(f) if (1..=6).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<i64>().ok()? * 10_i64.pow(6 - f.len() as u32)
        }
        Some(_) => return None,
    };
    secs.parse::<i64>().ok()?.checked_mul(MICROS_PER_SEC)?.checked_add(frac_micros)
}

/// An absolute `http:`/`https:` URL with a host and no whitespace or control characters:
/// the only links and images we show, so nothing else is kept.
pub(crate) fn is_http_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && !host.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_formats_six_fraction_digits() {
        assert_eq!(ts(1_733_456_789_000_123), "1733456789.000123");
        assert_eq!(ts(1_733_456_789_123_456), "1733456789.123456");
        assert_eq!(ts(0), "0.000000");
        assert_eq!(ts(999_999), "0.999999");
        assert_eq!(ts(-1), "-0.000001");
        assert_eq!(ts(i64::MAX), "9223372036854.775807");
        assert_eq!(ts(i64::MIN), "-9223372036854.775808");
    }

    #[test]
    fn parse_ts_reads_slack_forms() {
        assert_eq!(parse_ts("1733456789.000123"), Some(1_733_456_789_000_123));
        assert_eq!(parse_ts("1733456789.123"), Some(1_733_456_789_123_000));
        assert_eq!(parse_ts("1733456789.1"), Some(1_733_456_789_100_000));
        assert_eq!(parse_ts("1733456789"), Some(1_733_456_789_000_000));
        assert_eq!(parse_ts("0"), Some(0));
        assert_eq!(parse_ts("0001.5"), Some(1_500_000));
        assert_eq!(parse_ts("9223372036854.775807"), Some(i64::MAX));
    }

    #[test]
    fn parse_ts_refuses_everything_else() {
        for bad in [
            "",
            ".",
            ".123",
            "123.",
            "-1",
            "-1.000000",
            "+1",
            " 1",
            "1 ",
            "1.1234567",
            "1.12a",
            "1e9",
            "1.2.3",
            "abc",
            "١٢٣",
            "9223372036854.775808",
            "99999999999999999999",
            "99999999999999999999999999999999999999.1",
        ] {
            assert_eq!(parse_ts(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ts_round_trips() {
        for micros in [0, 1, 999_999, 1_000_000, 1_733_456_789_000_123, i64::MAX] {
            assert_eq!(parse_ts(&ts(micros)), Some(micros));
        }
    }

    #[test]
    fn http_urls() {
        for ok in ["http://x", "https://example.com/a?b#c", "HTTPS://EXAMPLE.COM", "https://x.y:8080"] {
            assert!(is_http_url(ok), "{ok}");
        }
        for bad in [
            "",
            "example.com",
            "ftp://x",
            "javascript:alert(1)",
            "https://",
            "https:///path",
            "https://a b",
            "https://a\tb",
            "https://a\u{7}",
            "mailto:a@b",
            "//x",
        ] {
            assert!(!is_http_url(bad), "{bad:?}");
        }
    }
}
