//! The error type of the boarding core: the vision core's failures, and the store's.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A face could not be enrolled or compared: an image, a model, an inference.
    #[error(transparent)]
    Vision(#[from] boardcheck_vision::Error),

    /// A configuration, manifest, key or ticket file is wrong.
    #[error("config {path}: {reason}")]
    Config { path: PathBuf, reason: String },

    /// The manifest database refused or failed an operation (locked, full, corrupt, a rule broken).
    #[error("database {path}: {reason}")]
    Database { path: PathBuf, reason: String },

    /// Not `#[source]`: the message already says it, and a chained report would say it twice.
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io { path: path.into(), error }
    }
}
