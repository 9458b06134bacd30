//! Slack's request signing, for what we send to apps: `X-Slack-Signature: v0=` and the hex
//! HMAC-SHA256 of `v0:{timestamp}:{body}` keyed with the app's signing secret, with the
//! timestamp (Unix seconds) in `X-Slack-Request-Timestamp`. Apps check it with their Slack
//! SDK's verifier, unchanged.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-slack-signature";
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";

/// Requests older than this are refused by Slack's verifiers (replay protection).
pub const MAX_AGE_SECS: i64 = 5 * 60;

/// The `X-Slack-Signature` value of `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v0={}", hex::encode(mac(secret, timestamp, body).finalize().into_bytes()))
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    mac
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request timestamp is missing or not a number")]
    BadTimestamp,
    #[error("the request is more than five minutes old or ahead")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks a signed request as an app does (used by our tests of what we send); the
/// comparison takes the same time wherever the signatures differ.
pub fn verify(
    secret: &str,
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let ts: i64 = timestamp.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
    if (now_secs - ts).abs() > MAX_AGE_SECS {
        return Err(SignatureError::Stale);
    }
    let hex_part = signature_header.strip_prefix("v0=").ok_or(SignatureError::Mismatch)?;
    let bytes = hex::decode(hex_part).map_err(|_| SignatureError::Mismatch)?;
    mac(secret, ts, body).verify_slice(&bytes).map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Slack's "Verifying requests from Slack" guide.
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: i64 = 1_531_420_618;
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_worked_example() {
        assert_eq!(signature(SECRET, TS, BODY.as_bytes()), SIGNATURE);
        assert_eq!(verify(SECRET, "1531420618", SIGNATURE, BODY.as_bytes(), TS + 10), Ok(()));
    }

    #[test]
    fn any_change_is_refused() {
        let body = BODY.as_bytes();
        assert_eq!(verify("other", "1531420618", SIGNATURE, body, TS), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, "1531420619", SIGNATURE, body, TS), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, "1531420618", SIGNATURE, b"token=x", TS), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, "1531420618", "a2114d57", body, TS), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, "soon", SIGNATURE, body, TS), Err(SignatureError::BadTimestamp));
        assert_eq!(verify(SECRET, "1531420618", SIGNATURE, body, TS + 301), Err(SignatureError::Stale));
    }
}
