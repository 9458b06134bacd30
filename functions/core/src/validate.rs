//! Input rules. Limits are documented in docs/api.md and enforced here only.

use crate::ApiError;

/// Longest message text in bytes (UTF-8). Slack allows 40k characters; we cap by bytes so the
/// bound is the storage bound.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;
pub const MAX_DISPLAY_NAME_CHARS: usize = 80;
pub const MAX_WORKSPACE_NAME_CHARS: usize = 80;
pub const MAX_CHANNEL_NAME_CHARS: usize = 80;
pub const MAX_TOPIC_CHARS: usize = 250;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const MAX_EMAIL_BYTES: usize = 254;
/// Largest page a history or backfill request may ask for.
pub const MAX_PAGE: u32 = 200;
pub const DEFAULT_PAGE: u32 = 50;

/// Lower-cases and checks an email address. Deliberately loose: one `@`, a dot in the
/// domain, no whitespace. Deliverability is proven by sending mail, not by a regex.
pub fn email(raw: &str) -> Result<String, ApiError> {
    let e = raw.trim().to_lowercase();
    if e.len() > MAX_EMAIL_BYTES {
        return Err(ApiError::validation("email is too long"));
    }
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
    if raw.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::validation("password is too long"));
    }
    Ok(())
}

/// A human-readable name: trimmed, non-empty, no control characters, bounded.
pub fn display_name(raw: &str, field: &str, max_chars: usize) -> Result<String, ApiError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(ApiError::validation(format!("{field} must not be empty")));
    }
    if s.chars().count() > max_chars {
        return Err(ApiError::validation(format!("{field} must have at most {max_chars} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(ApiError::validation(format!("{field} must not contain control characters")));
    }
    Ok(s.to_string())
}

/// Channel names follow Slack: lower-case letters, digits, `-` and `_`, at most 80.
pub fn channel_name(raw: &str) -> Result<String, ApiError> {
    let s = raw.trim().trim_start_matches('#').to_lowercase();
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
    Ok(s)
}

pub fn topic(raw: &str) -> Result<String, ApiError> {
    let s = raw.trim();
    if s.chars().count() > MAX_TOPIC_CHARS {
        return Err(ApiError::validation(format!("topic must have at most {MAX_TOPIC_CHARS} characters")));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::validation("topic must not contain control characters"));
    }
    Ok(s.to_string())
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
