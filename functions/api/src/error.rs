//! Handler errors: either a client error to send as is, or an internal failure to log and
//! hide behind a fixed "internal error" response.

use ocomms_core::{ApiError, ErrorCode};

use crate::ports::DbError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Client(#[from] ApiError),
    #[error("internal: {0}")]
    Internal(String),
}

/// An unreachable database is a 503 the client may retry (with the same idempotency key),
/// not an internal error: nothing is wrong with the request or the code.
impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        if e.is_unavailable() {
            Self::Client(ApiError::new(ErrorCode::Unavailable, "the database is unavailable; retry shortly"))
        } else {
            Self::Internal(e.to_string())
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_database_is_503_other_failures_are_internal() {
        for code in ["08006", "08001", "57P01", "57P03"] {
            let e = DbError { code: Some(code.into()), constraint: None, message: "x".into() };
            match Error::from(e) {
                Error::Client(a) => assert_eq!(a.status(), 503, "{code}"),
                other => panic!("{code}: {other:?}"),
            }
        }
        assert!(matches!(Error::from(DbError::unavailable("refused")), Error::Client(_)));
        for e in
            [DbError::other("bad row"), DbError { code: Some("23505".into()), constraint: None, message: "".into() }]
        {
            assert!(matches!(Error::from(e), Error::Internal(_)));
        }
    }
}
