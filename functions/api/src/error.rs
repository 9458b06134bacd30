//! Handler errors: either a client error to send as is, or an internal failure to log and
//! hide behind a fixed "internal error" response.

use ocomms_core::ApiError;

use crate::ports::DbError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Client(#[from] ApiError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        Self::Internal(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
