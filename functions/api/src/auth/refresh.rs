//! Refresh tokens: opaque random strings, stored only as SHA-256 hashes. Each use rotates
//! the token within its family; presenting a used token again revokes the whole family
//! (it was stolen, or the client is confused; either way the session ends).

use base64::Engine as _;
use sha2::{Digest, Sha256};

pub fn generate(random: [u8; 32]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
}

pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_are_stable_and_distinct() {
        let a = super::generate([1; 32]);
        let b = super::generate([2; 32]);
        assert_ne!(a, b);
        assert_eq!(super::hash(&a), super::hash(&a));
        assert_eq!(super::hash(&a).len(), 64);
    }
}
