//! The station service's error type: the store's and the boarding core's failures, and the
//! service's own (its configuration, its socket, its files).

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store, a ticket, a key: the boarding core's failures.
    #[error(transparent)]
    Core(#[from] boardcheck_core::Error),

    /// `station.toml`, a staff account or a report request is wrong.
    #[error("config {path}: {reason}")]
    Config { path: PathBuf, reason: String },

    /// Not `#[source]`: the message already says it, and a chained report would say it twice.
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io { path: path.into(), error }
    }
}
