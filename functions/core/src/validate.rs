//! Input rules. Limits are documented in docs/api.md and enforced here only.

use crate::ApiError;
use crate::ids::UserId;

/// Longest message text in bytes (UTF-8). Slack allows 40k characters; we cap by bytes so the
/// bound is the storage bound.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;
pub const MAX_DISPLAY_NAME_CHARS: usize = 80;
pub const MAX_WORKSPACE_NAME_CHARS: usize = 80;
pub const MAX_CHANNEL_NAME_CHARS: usize = 80;
pub const MAX_TOPIC_CHARS: usize = 250;
pub const MAX_PURPOSE_CHARS: usize = 250;
/// Members of a direct message, the caller included (1 is a note to self). Larger groups
/// are what private channels are for.
pub const MAX_DM_MEMBERS: usize = 8;
/// Distinct users one `POST /channels/{id}/members` may add.
pub const MAX_MEMBERS_PER_ADD: usize = 100;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// Counted in characters before lower-casing, like every other length here, so the OpenAPI
/// document can state each bound exactly (JSON Schema counts characters). Message text is
/// the exception: its bound is the storage bound, in bytes.
pub const MAX_EMAIL_CHARS: usize = 254;
/// Largest page a history or backfill request may ask for.
pub const MAX_PAGE: u32 = 200;
pub const DEFAULT_PAGE: u32 = 50;

/// Lower-cases and checks an email address. Deliberately loose: one `@`, a dot in the
/// domain, no whitespace. Deliverability is proven by sending mail, not by a regex.
pub fn email(raw: &str) -> Result<String, ApiError> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > MAX_EMAIL_CHARS {
        return Err(ApiError::validation("email is too long"));
    }
    let e = trimmed.to_lowercase();
    let Some((local, domain)) = e.split_once('@') else {
        return Err(ApiError::validation("email must contain '@'"));
    };
    let ok = !local.is_empty()
        && !domain.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(e) } else { Err(ApiError::validation("email is not a valid address")) }
}

pub fn password(raw: &str) -> Result<(), ApiError> {
    if raw.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::validation(format!("password must have at least {MIN_PASSWORD_CHARS} characters")));
    }
    if raw.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ApiError::validation("password is too long"));
    }
    Ok(())
}

/// Text people read as a name or a label: in Unicode's composed form (NFC), so `é` typed
/// two ways is one name, and without the invisible characters that make it read other than
/// it is: bidirectional overrides, embeddings, isolates and marks (`ann\u{202e}gnp.exe`
/// shows as `annexe.png`), zero-width spaces, word joiners and soft hyphens (which also
/// split what search and mentions match). Zero-width joiners and non-joiners stay: Persian
/// and Indic words and emoji sequences are written with them, and since names are not unique
/// they spoof nothing a plain look-alike name could not.
fn readable(raw: &str, field: &str, newlines: bool) -> Result<String, ApiError> {
    use unicode_normalization::UnicodeNormalization as _;
    let s: String = raw.trim().nfc().collect();
    if s.chars().any(|c| c.is_control() && !(newlines && c == '\n')) {
        return Err(ApiError::validation(format!("{field} must not contain control characters")));
    }
    if s.chars().any(is_invisible_format) {
        return Err(ApiError::validation(format!(
            "{field} must not contain invisible formatting characters (direction overrides, zero-width spaces)"
        )));
    }
    Ok(s)
}

/// Formatting characters that change how text reads without being seen.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00ad}' // soft hyphen
        | '\u{061c}' // Arabic letter mark
        | '\u{180e}' // Mongolian vowel separator
        | '\u{200b}' // zero-width space
        | '\u{200e}' | '\u{200f}' // left-to-right and right-to-left marks
        | '\u{202a}'..='\u{202e}' // embeddings and overrides
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}' // isolates
        | '\u{feff}' // zero-width no-break space (BOM)
    )
}

/// A human-readable name: trimmed, non-empty, readable (see [`readable`]), bounded.
pub fn display_name(raw: &str, field: &str, max_chars: usize) -> Result<String, ApiError> {
    let s = readable(raw, field, false)?;
    if s.is_empty() {
        return Err(ApiError::validation(format!("{field} must not be empty")));
    }
    // Counted as typed: composing can lengthen a few characters (U+0958).
    if raw.trim().chars().count() > max_chars {
        return Err(ApiError::validation(format!("{field} must have at most {max_chars} characters")));
    }
    Ok(s)
}

/// Channel names follow Slack: lower-case letters, digits, `-` and `_`, at most 80. The
/// name is checked as given and stored lower-cased (lower-casing can lengthen a name: `İ`).
pub fn channel_name(raw: &str) -> Result<String, ApiError> {
    let s = raw.trim().trim_start_matches('#');
    if s.is_empty() {
        return Err(ApiError::validation("channel name must not be empty"));
    }
    if s.chars().count() > MAX_CHANNEL_NAME_CHARS {
        return Err(ApiError::validation(format!(
            "channel name must have at most {MAX_CHANNEL_NAME_CHARS} characters"
        )));
    }
    if !s.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
        return Err(ApiError::validation("channel name may contain only letters, digits, '-' and '_'"));
    }
    Ok(s.to_lowercase())
}

pub fn topic(raw: &str) -> Result<String, ApiError> {
    let s = readable(raw, "topic", true)?;
    // Counted as typed: composing can lengthen a few characters (U+0958).
    if raw.trim().chars().count() > MAX_TOPIC_CHARS {
        return Err(ApiError::validation(format!("topic must have at most {MAX_TOPIC_CHARS} characters")));
    }
    Ok(s)
}

pub fn purpose(raw: &str) -> Result<String, ApiError> {
    let s = readable(raw, "purpose", true)?;
    // Counted as typed: composing can lengthen a few characters (U+0958).
    if raw.trim().chars().count() > MAX_PURPOSE_CHARS {
        return Err(ApiError::validation(format!("purpose must have at most {MAX_PURPOSE_CHARS} characters")));
    }
    Ok(s)
}

/// The distinct users to add to a channel, in the order given: 1 to [`MAX_MEMBERS_PER_ADD`].
pub fn members_to_add(ids: &[UserId]) -> Result<Vec<UserId>, ApiError> {
    let mut out: Vec<UserId> = Vec::with_capacity(ids.len().min(MAX_MEMBERS_PER_ADD));
    for id in ids {
        if !out.contains(id) {
            if out.len() == MAX_MEMBERS_PER_ADD {
                return Err(ApiError::validation(format!("user_ids may name at most {MAX_MEMBERS_PER_ADD} users")));
            }
            out.push(*id);
        }
    }
    if out.is_empty() {
        return Err(ApiError::validation("user_ids must name at least one user"));
    }
    Ok(out)
}

/// A direct message's member set: the others plus the caller, duplicates collapsed, sorted
/// (so the same people always make the same set), 1 to [`MAX_DM_MEMBERS`].
pub fn dm_members(caller: UserId, others: &[UserId]) -> Result<Vec<UserId>, ApiError> {
    let mut set: Vec<UserId> = Vec::with_capacity(MAX_DM_MEMBERS);
    for id in others.iter().chain(std::iter::once(&caller)) {
        if !set.contains(id) {
            if set.len() == MAX_DM_MEMBERS {
                return Err(ApiError::validation(format!(
                    "a direct message has at most {MAX_DM_MEMBERS} members, you included"
                )));
            }
            set.push(*id);
        }
    }
    set.sort_unstable();
    Ok(set)
}

/// Message text is stored as the author wrote it (markdown source); only bounds are checked.
pub fn message_text(raw: &str) -> Result<String, ApiError> {
    if raw.trim().is_empty() {
        return Err(ApiError::validation("message text must not be empty"));
    }
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::new(
            crate::ErrorCode::PayloadTooLarge,
            format!("message text must be at most {MAX_MESSAGE_BYTES} bytes"),
        ));
    }
    if raw.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(ApiError::validation("message text must not contain control characters"));
    }
    Ok(raw.to_string())
}

/// Page size for list endpoints: default when absent, 1..=MAX_PAGE otherwise.
pub fn page_limit(raw: Option<u32>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::validation(format!("limit must be between 1 and {MAX_PAGE}"))),
    }
}

/// Client-chosen idempotency key for a post; bounded so it cannot bloat the unique index.
pub fn client_msg_id(raw: &str) -> Result<String, ApiError> {
    if raw.is_empty() || raw.len() > 64 || !raw.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::validation("client_msg_id must be 1 to 64 printable ASCII characters"));
    }
    Ok(raw.to_string())
}

// ---- Profiles, workspace settings and invites -------------------------------------------

pub const MAX_DESCRIPTION_CHARS: usize = 250;
pub const MAX_STATUS_TEXT_CHARS: usize = 100;
pub const MAX_TIME_ZONE_CHARS: usize = 64;
pub const MAX_INVITE_USES: i64 = 10_000;
/// Shortest invite lifetime. One second is useless to people but harmless, and lets the
/// expiry itself be tested end to end without waiting a minute.
pub const MIN_INVITE_EXPIRY_SECS: i64 = 1;
pub const MAX_INVITE_EXPIRY_SECS: i64 = 90 * 24 * 3600;
/// Largest page of `GET /workspaces/{id}/members`.
pub const MAX_MEMBERS_PAGE: u32 = 1000;

/// A workspace's description: like a topic, several lines allowed.
pub fn description(raw: &str) -> Result<String, ApiError> {
    let s = readable(raw, "description", true)?;
    // Counted as typed: composing can lengthen a few characters (U+0958).
    if raw.trim().chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::validation(format!("description must have at most {MAX_DESCRIPTION_CHARS} characters")));
    }
    Ok(s)
}

/// A one-line status ("In a meeting"); empty clears it.
pub fn status_text(raw: &str) -> Result<String, ApiError> {
    let s = readable(raw, "status_text", false)?;
    // Counted as typed: composing can lengthen a few characters (U+0958).
    if raw.trim().chars().count() > MAX_STATUS_TEXT_CHARS {
        return Err(ApiError::validation(format!("status_text must have at most {MAX_STATUS_TEXT_CHARS} characters")));
    }
    Ok(s)
}

/// A profile change may only remove the avatar (`""`): pictures are uploaded to our own
/// storage (`POST /me/avatar`) and served from our own origin, never from a URL a profile
/// names, which would make every colleague's browser fetch from a host of its choosing.
pub fn avatar_url(raw: &str) -> Result<String, ApiError> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        Err(ApiError::validation("avatar_url can only be removed (\"\"); upload a picture with POST /me/avatar"))
    }
}

/// An IANA-style zone name ("UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires",
/// "Etc/GMT+5"): `/`-separated segments of ASCII letters, digits, `_`, `+` and `-`, each
/// starting with a letter. The zone database itself is the client's business; this only
/// keeps the stored value a plausible name.
pub fn time_zone(raw: &str) -> Result<String, ApiError> {
    let s = raw.trim();
    let bad = || {
        ApiError::validation(format!(
            "time_zone must be an IANA name such as Europe/Berlin or UTC (at most {MAX_TIME_ZONE_CHARS} characters)"
        ))
    };
    if s.is_empty() || s.len() > MAX_TIME_ZONE_CHARS {
        return Err(bad());
    }
    let segment_ok = |seg: &str| {
        seg.starts_with(|c: char| c.is_ascii_alphabetic())
            && seg.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-'))
    };
    if s.split('/').all(segment_ok) { Ok(s.to_string()) } else { Err(bad()) }
}

/// How many times an invite may be accepted; `None` is unlimited.
pub fn invite_max_uses(raw: Option<i64>) -> Result<Option<i64>, ApiError> {
    match raw {
        Some(n) if !(1..=MAX_INVITE_USES).contains(&n) => {
            Err(ApiError::validation(format!("max_uses must be between 1 and {MAX_INVITE_USES}")))
        }
        other => Ok(other),
    }
}

/// An invite's lifetime in seconds; `None` never expires.
pub fn invite_expiry(raw: Option<i64>) -> Result<Option<i64>, ApiError> {
    match raw {
        Some(s) if !(MIN_INVITE_EXPIRY_SECS..=MAX_INVITE_EXPIRY_SECS).contains(&s) => Err(ApiError::validation(
            format!("expires_in_secs must be between {MIN_INVITE_EXPIRY_SECS} and {MAX_INVITE_EXPIRY_SECS}"),
        )),
        other => Ok(other),
    }
}

/// Page size of the members list: all of a typical workspace in one page by default.
pub fn members_page(raw: Option<u32>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(MAX_MEMBERS_PAGE),
        Some(n) if (1..=MAX_MEMBERS_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::validation(format!("limit must be between 1 and {MAX_MEMBERS_PAGE}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in ["", "a", "a@b", "@b.c", "a@.c", "a@b.", "a b@c.d", "a@b@c.d"] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lengths_count_characters() {
        let local = "é".repeat(MAX_EMAIL_CHARS - "@b.co".len());
        assert!(email(&format!("  {local}@b.co  ")).is_ok(), "254 characters, 2-byte ones, padded");
        assert!(email(&format!("{local}x@b.co")).is_err());
        // Lower-casing İ gives two characters; the bound applies to what was sent.
        assert!(email(&format!("{}@b.co", "İ".repeat(MAX_EMAIL_CHARS - 5))).is_ok());
        assert!(password(&"é".repeat(MAX_PASSWORD_CHARS)).is_ok());
        assert!(password(&"é".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
        assert_eq!(channel_name(&"İ".repeat(MAX_CHANNEL_NAME_CHARS)).unwrap().chars().count(), 160);
        assert!(channel_name(&"İ".repeat(MAX_CHANNEL_NAME_CHARS + 1)).is_err());
    }

    #[test]
    fn channel_names() {
        assert_eq!(channel_name("#General").unwrap(), "general");
        assert_eq!(channel_name("dev-ops_2").unwrap(), "dev-ops_2");
        assert!(channel_name("has space").is_err());
        assert!(channel_name("").is_err());
        assert!(channel_name(&"x".repeat(81)).is_err());
    }

    #[test]
    fn messages() {
        assert!(message_text("   ").is_err());
        assert!(message_text("hi\nthere").is_ok());
        assert!(message_text("bell\u{7}").is_err());
        let big = "a".repeat(MAX_MESSAGE_BYTES + 1);
        assert_eq!(message_text(&big).unwrap_err().status(), 413);
        assert!(message_text(&"a".repeat(MAX_MESSAGE_BYTES)).is_ok());
    }

    #[test]
    fn purposes() {
        assert_eq!(purpose("  why we exist \n").unwrap(), "why we exist");
        assert!(purpose(&"p".repeat(MAX_PURPOSE_CHARS)).is_ok());
        assert!(purpose(&"p".repeat(MAX_PURPOSE_CHARS + 1)).is_err());
        assert!(purpose("bell\u{7}").is_err());
        assert_eq!(purpose("").unwrap(), "", "clearing the purpose is allowed");
    }

    fn uid(n: u128) -> UserId {
        UserId(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn members_to_add_are_distinct_and_bounded() {
        assert_eq!(members_to_add(&[uid(2), uid(1), uid(2)]).unwrap(), [uid(2), uid(1)]);
        assert!(members_to_add(&[]).is_err());
        let max: Vec<UserId> = (0..MAX_MEMBERS_PER_ADD as u128).map(uid).collect();
        assert_eq!(members_to_add(&max).unwrap().len(), MAX_MEMBERS_PER_ADD);
        let mut repeated = max.clone();
        repeated.extend(max.iter().copied());
        assert_eq!(members_to_add(&repeated).unwrap().len(), MAX_MEMBERS_PER_ADD, "duplicates do not count");
        let over: Vec<UserId> = (0..=MAX_MEMBERS_PER_ADD as u128).map(uid).collect();
        assert_eq!(members_to_add(&over).unwrap_err().status(), 422);
    }

    #[test]
    fn dm_member_sets() {
        let me = uid(5);
        assert_eq!(dm_members(me, &[]).unwrap(), [me], "a note to self");
        assert_eq!(dm_members(me, &[me, me]).unwrap(), [me]);
        assert_eq!(dm_members(me, &[uid(9), uid(1), uid(9)]).unwrap(), [uid(1), me, uid(9)]);
        assert_eq!(dm_members(me, &[uid(1), uid(9)]), dm_members(me, &[uid(9), uid(1)]), "order does not matter");
        let seven: Vec<UserId> = (10..17).map(uid).collect();
        assert_eq!(dm_members(me, &seven).unwrap().len(), MAX_DM_MEMBERS);
        let eight: Vec<UserId> = (10..18).map(uid).collect();
        assert_eq!(dm_members(me, &eight).unwrap_err().status(), 422);
        let mut with_me = seven.clone();
        with_me.push(me);
        assert_eq!(dm_members(me, &with_me).unwrap().len(), MAX_DM_MEMBERS, "naming yourself is no extra member");
    }

    #[test]
    fn limits() {
        assert_eq!(page_limit(None).unwrap(), DEFAULT_PAGE);
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(MAX_PAGE + 1)).is_err());
        assert!(password("short").is_err());
        assert!(password("long enough").is_ok());
        assert!(display_name("  ", "name", 10).is_err());
        assert_eq!(display_name(" Ann ", "name", 10).unwrap(), "Ann");
    }
}

#[cfg(test)]
mod profile_tests {
    use super::*;

    #[test]
    fn descriptions_and_statuses() {
        assert_eq!(description("  Where we ship  ").unwrap(), "Where we ship");
        assert!(description("two\nlines").is_ok());
        assert!(description(&"d".repeat(MAX_DESCRIPTION_CHARS)).is_ok());
        assert!(description(&"d".repeat(MAX_DESCRIPTION_CHARS + 1)).is_err());
        assert!(description("bell\u{7}").is_err());
        assert_eq!(description("").unwrap(), "");
        assert_eq!(status_text(" In a meeting ").unwrap(), "In a meeting");
        assert_eq!(status_text("").unwrap(), "");
        assert!(status_text(&"é".repeat(MAX_STATUS_TEXT_CHARS)).is_ok(), "characters, not bytes");
        assert!(status_text(&"s".repeat(MAX_STATUS_TEXT_CHARS + 1)).is_err());
        assert!(status_text("two\nlines").is_err());
    }

    #[test]
    fn avatar_urls_can_only_be_removed() {
        assert_eq!(avatar_url("").unwrap(), "");
        assert_eq!(avatar_url("  ").unwrap(), "");
        for bad in ["https://example.com/a.png", "http://127.0.0.1/a.png", "javascript:alert(1)", "/api/v1/avatars/x"] {
            assert_eq!(avatar_url(bad).unwrap_err().status(), 422, "{bad:?}");
        }
    }

    #[test]
    fn time_zones() {
        for ok in [
            "UTC",
            "Europe/Berlin",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+5",
            "Etc/GMT-14",
            "America/Port-au-Prince",
        ] {
            assert_eq!(time_zone(ok).unwrap(), ok);
        }
        for bad in [
            "",
            "/",
            "Europe/",
            "/Berlin",
            "Europe//Berlin",
            "../etc/passwd",
            "Europe Berlin",
            "1Zone",
            "Zone/+1",
            "Zürich",
        ] {
            assert_eq!(time_zone(bad).unwrap_err().status(), 422, "{bad:?}");
        }
        assert_eq!(time_zone(" Europe/Berlin ").unwrap(), "Europe/Berlin", "surrounding whitespace is trimmed");
        assert!(time_zone(&"A".repeat(MAX_TIME_ZONE_CHARS)).is_ok());
        assert!(time_zone(&"A".repeat(MAX_TIME_ZONE_CHARS + 1)).is_err());
    }

    #[test]
    fn invite_limits() {
        assert_eq!(invite_max_uses(None).unwrap(), None);
        assert_eq!(invite_max_uses(Some(1)).unwrap(), Some(1));
        assert_eq!(invite_max_uses(Some(MAX_INVITE_USES)).unwrap(), Some(MAX_INVITE_USES));
        for bad in [0, -1, MAX_INVITE_USES + 1] {
            assert!(invite_max_uses(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(invite_expiry(None).unwrap(), None);
        assert_eq!(invite_expiry(Some(MIN_INVITE_EXPIRY_SECS)).unwrap(), Some(MIN_INVITE_EXPIRY_SECS));
        assert_eq!(invite_expiry(Some(MAX_INVITE_EXPIRY_SECS)).unwrap(), Some(MAX_INVITE_EXPIRY_SECS));
        for bad in [0, -5, MAX_INVITE_EXPIRY_SECS + 1] {
            assert!(invite_expiry(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(members_page(None).unwrap(), MAX_MEMBERS_PAGE);
        assert_eq!(members_page(Some(1)).unwrap(), 1);
        assert!(members_page(Some(0)).is_err());
        assert!(members_page(Some(MAX_MEMBERS_PAGE + 1)).is_err());
    }
}

#[cfg(test)]
mod readable_tests {
    use super::*;

    #[test]
    fn names_read_as_they_are() {
        // Composed: the same name typed two ways is one name.
        assert_eq!(display_name("Ame\u{301}lie", "name", 80).unwrap(), "Am\u{e9}lie");
        for spoof in [
            "ann\u{202e}gnp.exe",
            "admin\u{200b}",
            "ad\u{2060}min",
            "\u{2066}bob\u{2069}",
            "eve\u{200f}",
            "so\u{ad}ft",
            "\u{feff}zoe",
        ] {
            let e = display_name(spoof, "name", 80).expect_err(spoof);
            assert!(e.message.contains("invisible"), "{spoof:?}: {}", e.message);
        }
        // Joiners stay: scripts and emoji need them.
        assert!(display_name("\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645}", "name", 80).is_ok());
        assert!(display_name("Family \u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}", "name", 80).is_ok());
        assert!(topic("line one\nline two").is_ok());
        assert!(topic("evil \u{202e}txt").is_err());
        assert!(purpose("\u{2067}x").is_err());
        assert!(status_text("busy\u{200b}").is_err());
        assert!(description("ok\n\u{202d}").is_err());
    }
}
