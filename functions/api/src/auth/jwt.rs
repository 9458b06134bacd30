//! Access tokens: HS256 JWTs, algorithm pinned, short-lived.
//!
//! Expiry is checked against the platform clock passed in, not the library's, so the same
//! code is exact on every runtime and testable.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ocomms_core::ids::UserId;
use ocomms_core::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Caller;

pub const ISSUER: &str = "ocomms";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    sid: Uuid,
    iat: i64,
    exp: i64,
    iss: String,
    typ: String,
}

pub fn issue(secret: &[u8], caller: Caller, now_ms: i64, ttl_secs: i64) -> Result<String, ApiError> {
    let iat = now_ms / 1000;
    let claims = Claims {
        sub: caller.user_id.0,
        sid: caller.session_id,
        iat,
        exp: iat + ttl_secs,
        iss: ISSUER.into(),
        typ: "access".into(),
    };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret))
        .map_err(|_| ApiError::internal())
}

/// Verifies signature (HS256 only: `none`, RS256 and friends are rejected), issuer, type and
/// expiry.
pub fn verify(secret: &[u8], token: &str, now_ms: i64) -> Result<Caller, ApiError> {
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_exp = false;
    v.required_spec_claims.clear();
    v.set_issuer(&[ISSUER]);
    let data = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &v)
        .map_err(|_| ApiError::unauthenticated("invalid access token"))?;
    let c = data.claims;
    if c.typ != "access" {
        return Err(ApiError::unauthenticated("not an access token"));
    }
    if now_ms / 1000 >= c.exp {
        return Err(ApiError::new(ErrorCode::TokenExpired, "access token expired"));
    }
    Ok(Caller { user_id: UserId(c.sub), session_id: c.sid })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    const SECRET: &[u8] = b"test-secret-test-secret-test-secret";

    fn caller() -> Caller {
        Caller { user_id: UserId(Uuid::from_u128(1)), session_id: Uuid::from_u128(2) }
    }

    #[test]
    fn issue_and_verify() {
        let t = issue(SECRET, caller(), 1_000_000, 900).unwrap();
        let c = verify(SECRET, &t, 1_000_000 + 899_000).unwrap();
        assert_eq!(c.user_id, caller().user_id);
        assert_eq!(verify(SECRET, &t, 1_000_000 + 900_000).unwrap_err().code, ErrorCode::TokenExpired);
        assert_eq!(verify(b"other", &t, 1_000_000).unwrap_err().code, ErrorCode::Unauthenticated);
        assert!(verify(SECRET, "garbage", 0).is_err());
    }

    #[test]
    fn other_algorithms_are_rejected() {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims = r#"{"sub":"00000000-0000-0000-0000-000000000001","sid":"00000000-0000-0000-0000-000000000002","iat":0,"exp":99999999999,"iss":"ocomms","typ":"access"}"#;
        let none = format!("{}.{}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#), b64.encode(claims));
        assert!(verify(SECRET, &none, 0).is_err());
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &serde_json::from_str::<serde_json::Value>(claims).unwrap(),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(verify(SECRET, &hs512, 0).is_err());
    }
}
