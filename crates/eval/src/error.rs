//! The harnesses' error type: what the layers they measure report, and unusable data.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Vision(#[from] boardcheck_vision::Error),

    #[error(transparent)]
    Core(#[from] boardcheck_core::Error),

    #[error(transparent)]
    Lane(#[from] boardcheck_lane::Error),

    /// A data set given to an evaluation is unusable.
    #[error("dataset {path}: {reason}")]
    Dataset { path: PathBuf, reason: String },

    /// The boarding protocol could not be sampled from the data.
    #[error("boarding protocol: {0}")]
    Boarding(#[from] crate::accuracy::boarding::BoardingError),

    /// The harness itself could not be set up (a thread pool, a scratch file).
    #[error("{0}")]
    Harness(String),

    /// Not `#[source]`: the message already says it, and a chained report would say it twice.
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io { path: path.into(), error }
    }
}
