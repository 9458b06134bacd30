//! Password hashing with argon2id (OWASP's recommended parameters, the crate defaults).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes with a salt the caller draws from the platform's randomness.
pub fn hash(password: &str, salt: [u8; 16]) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// False for a wrong password and for a malformed stored hash alike.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => {
            // An account without a password (single sign-on only) takes as long to refuse.
            if let Ok(h) = PasswordHash::new(DUMMY_HASH) {
                let _ = Argon2::default().verify_password(password.as_bytes(), &h);
            }
            false
        }
    }
}

/// What an account signing in only through single sign-on has instead of a hash: nothing
/// verifies against it.
pub const NO_PASSWORD: &str = "!sso";

/// A valid hash of a random password, verified against when the email is unknown, so that
/// login takes as long for unknown emails as for known ones.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$B1w0k0AJ7yv1D2H5E4R0g5J8a7xvJ2n8m2f3cK1y8jU";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = hash("correct horse", [7; 16]).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
        assert!(!verify("x", "not a hash"));
        assert!(!verify("x", DUMMY_HASH));
    }
}
