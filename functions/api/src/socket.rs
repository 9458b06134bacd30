//! Opening a WebSocket, the same on every runtime: whom the token names, whether their login
//! session still holds, and which channels the socket listens to. Runtimes own the socket
//! itself; this decides what to tell the client, and which close code a refusal gets.

use ocomms_core::event::Subscription;

use crate::auth::{Caller, jwt};
use crate::ports::Sql;
use crate::repo;

/// Why a socket is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("invalid or expired token")]
    BadToken,
    #[error("session has ended")]
    SessionEnded,
    /// The session cannot be checked: the client retries, as after any 4001.
    #[error("database unavailable")]
    Unavailable,
    /// The channels could not be read: a server fault, not the client's.
    #[error("server error")]
    Server,
    /// The user holds `ocomms_rooms::user::MAX_SOCKETS_PER_USER` sockets (or the
    /// runtime's setting) already.
    #[error("too many sockets for this user")]
    TooManyForUser,
    /// The client's address holds the runtime's cap of sockets already.
    #[error("too many sockets from this address")]
    TooManyFromAddress,
}

impl Refusal {
    /// The WebSocket close code: 4001 means "authenticate again", 4029 "too many sockets,
    /// close some before retrying", 1011 a server fault.
    pub fn close_code(self) -> u16 {
        match self {
            Self::BadToken | Self::SessionEnded | Self::Unavailable => CLOSE_UNAUTHENTICATED,
            Self::TooManyForUser | Self::TooManyFromAddress => CLOSE_TOO_MANY_SOCKETS,
            Self::Server => CLOSE_SERVER_ERROR,
        }
    }
}

/// Close code for a socket that failed authentication.
pub const CLOSE_UNAUTHENTICATED: u16 = 4001;
/// Close code for a socket whose login session ended while it was open.
pub const CLOSE_SESSION_ENDED: u16 = 4003;
/// Close code for a socket over a cap (per user or per address); the reason says which.
/// 4029 echoes HTTP 429: retrying at once meets the same cap.
pub const CLOSE_TOO_MANY_SOCKETS: u16 = 4029;
/// Close code for a server fault (RFC 6455 "internal error").
pub const CLOSE_SERVER_ERROR: u16 = 1011;

/// Verifies an access token (signature, issuer, type, expiry). Edges do this first, where
/// no database is at hand.
pub fn authenticate(jwt_secret: &[u8], token: &str, now_ms: i64) -> Result<Caller, Refusal> {
    jwt::verify(jwt_secret, token, now_ms).map_err(|_| Refusal::BadToken)
}

/// Checks the caller's session and reads the channels the socket listens to, with the seq
/// each has stored: what `hello` reports once the rooms have subscribed the socket.
pub async fn start(db: &impl Sql, caller: Caller) -> Result<Vec<Subscription>, Refusal> {
    if !session_live(db, caller).await? {
        return Err(Refusal::SessionEnded);
    }
    repo::channels::listened_by(db, caller.user_id).await.map_err(|_| Refusal::Server)
}

/// Whether the login session still holds. Runtimes ask again once the socket is registered
/// to receive notices: a session that ended in between would otherwise go unnoticed.
pub async fn session_live(db: &impl Sql, caller: Caller) -> Result<bool, Refusal> {
    repo::sessions::is_live(db, caller.user_id, caller.session_id).await.map_err(|_| Refusal::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_close_with_the_codes_clients_act_on() {
        assert_eq!(Refusal::BadToken.close_code(), 4001);
        assert_eq!(Refusal::SessionEnded.close_code(), 4001);
        assert_eq!(Refusal::Unavailable.close_code(), 4001);
        assert_eq!(Refusal::Server.close_code(), 1011);
        assert_eq!(Refusal::TooManyForUser.close_code(), 4029);
        assert_eq!(Refusal::TooManyFromAddress.close_code(), 4029);
        assert_eq!(authenticate(&[7; 32], "not.a.token", 0).err(), Some(Refusal::BadToken));
    }
}
