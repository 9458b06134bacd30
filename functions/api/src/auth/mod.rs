//! Authentication: password hashing, access tokens (JWT) and rotating refresh tokens.

pub mod cookie;
pub mod jwt;
pub mod oidc;
pub mod password;
pub mod refresh;

use ocomms_core::ids::UserId;
use uuid::Uuid;

/// The caller, once their access token and session have been checked.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub user_id: UserId,
    /// The refresh-token family this access token was issued from; logging out revokes it.
    pub session_id: Uuid,
}
