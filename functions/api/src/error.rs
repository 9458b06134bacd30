//! Handler errors: either a client error to send as is, or an internal failure to log and
//! hide behind a fixed "internal error" response.

use ocomms_core::{ApiError, ErrorCode};

use crate::auth::password::HashError;
use crate::http::Method;
use crate::ports::{BlobError, DbError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Client(#[from] ApiError),
    #[error(transparent)]
    Internal(#[from] Internal),
}

/// A failure that is ours, not the client's: logged with its source, answered with a bare
/// 500 `internal` error.
#[derive(Debug, thiserror::Error)]
pub enum Internal {
    #[error("a database statement failed")]
    Db(#[source] DbError),
    #[error("a password could not be hashed")]
    PasswordHash(#[from] HashError),
    #[error("object storage failed")]
    Blob(#[source] BlobError),
    /// Listed in `router::ROUTES` but not dispatched: the route test catches it.
    #[error("no handler for {method:?} {path}")]
    NoHandler { method: Method, path: String },
}

impl From<HashError> for Error {
    fn from(e: HashError) -> Self {
        Self::Internal(e.into())
    }
}

/// The error and its sources, outermost first, for the log.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// An unreachable database is a 503 the client may retry (with the same idempotency key),
/// not an internal error: nothing is wrong with the request or the code.
impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        if e.is_unavailable() {
            Self::Client(ApiError::new(ErrorCode::Unavailable, "the database is unavailable; retry shortly"))
        } else {
            Self::Internal(Internal::Db(e))
        }
    }
}

/// Object storage that fails is logged, and answered as unavailable: the request may work
/// once the store is back.
impl From<BlobError> for Error {
    fn from(e: BlobError) -> Self {
        Self::Internal(Internal::Blob(e))
    }
}

impl Internal {
    /// What the client is told.
    pub fn public(&self) -> ApiError {
        match self {
            Self::Blob(_) => ApiError::new(ErrorCode::Unavailable, "file storage is unavailable; retry shortly"),
            _ => ApiError::internal(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_keep_their_source_for_the_log() {
        let e = Error::from(DbError::other("relation \"x\" does not exist"));
        let Error::Internal(inner) = e else { panic!("not internal") };
        assert_eq!(chain(&inner), "a database statement failed: database error: relation \"x\" does not exist");
    }

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
            assert!(matches!(Error::from(e), Error::Internal(Internal::Db(_))));
        }
    }
}
