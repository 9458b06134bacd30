//! Error codes are part of the wire protocol: clients match on `code`, humans read `message`.

use serde::Serialize;

/// Every failure a client can observe. Adding a variant is a protocol change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    InvalidJson,
    ValidationFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unauthenticated,
    TokenExpired,
    TokenReused,
    InvalidCredentials,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    EmailTaken,
    LinkInvalid,
    Gone,
    RateLimited,
    Internal,
    Unavailable,
}

impl ErrorCode {
    /// Every code, for exhaustive checks.
    pub const ALL: [ErrorCode; 19] = [
        Self::BadRequest,
        Self::InvalidJson,
        Self::ValidationFailed,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::Unauthenticated,
        Self::TokenExpired,
        Self::TokenReused,
        Self::InvalidCredentials,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::EmailTaken,
        Self::LinkInvalid,
        Self::Gone,
        Self::RateLimited,
        Self::Internal,
        Self::Unavailable,
    ];

    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest | Self::InvalidJson | Self::LinkInvalid => 400,
            Self::ValidationFailed => 422,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::Unauthenticated | Self::TokenExpired | Self::TokenReused | Self::InvalidCredentials => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict | Self::EmailTaken => 409,
            Self::Gone => 410,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::Unavailable => 503,
        }
    }

    pub fn as_str(self) -> &'static str {
        // Keep in sync with serde's snake_case; checked by a unit test.
        match self {
            Self::BadRequest => "bad_request",
            Self::InvalidJson => "invalid_json",
            Self::ValidationFailed => "validation_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unauthenticated => "unauthenticated",
            Self::TokenExpired => "token_expired",
            Self::TokenReused => "token_reused",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::EmailTaken => "email_taken",
            Self::LinkInvalid => "link_invalid",
            Self::Gone => "gone",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
        }
    }
}

/// A client-facing error: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// For a 429: when to try again (sent as `Retry-After`).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after_secs: None }
    }
    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self { code: ErrorCode::RateLimited, message: message.into(), retry_after_secs: Some(retry_after_secs) }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }
    /// Internal details are logged by the adapter, never sent: the client sees a fixed text.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error")
    }
    pub fn status(&self) -> u16 {
        self.code.status()
    }
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": { "code": self.code.as_str(), "message": self.message } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_matches_serde() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert!((400..600).contains(&code.status()));
        }
    }

    #[test]
    fn json_shape() {
        let e = ApiError::not_found("channel");
        assert_eq!(e.to_json(), serde_json::json!({"error":{"code":"not_found","message":"channel not found"}}));
        assert_eq!(e.status(), 404);
    }
}
