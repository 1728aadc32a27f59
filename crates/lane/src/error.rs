//! The lane's error type: what the layers below report, and the lane's own failures (its
//! configuration, its devices, the station service).

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Vision(#[from] boardcheck_vision::Error),

    /// The store, a ticket, a key: the boarding core's failures.
    #[error(transparent)]
    Core(#[from] boardcheck_core::Error),

    /// `lane.toml`, an output or a device setting is wrong.
    #[error("config {path}: {reason}")]
    Config { path: PathBuf, reason: String },

    /// A pipeline stage failed, and the lane with it: the first stage error stops every stage.
    /// Not `#[source]`, as with `Io`.
    #[error("lane stage {stage}: {error}")]
    Stage { stage: &'static str, error: Box<Error> },

    /// A pipeline stage panicked; what the panic said.
    #[error("lane stage {stage} panicked: {message}")]
    Panicked { stage: &'static str, message: String },

    /// An output (the gate relay) did not take a decision.
    #[error("{output}: {reason}")]
    Output { output: String, reason: String },

    /// The station service could not be reached, or refused a request.
    #[error("station service {url}: {reason}")]
    Service { url: String, reason: String },

    /// Not `#[source]`: the message already says it, and a chained report would say it twice.
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io { path: path.into(), error }
    }
}
