//! The vision core's error type: every failure names what was wrong and where.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input image could not be used (unreadable, corrupt, too small, too large).
    #[error("image {path}: {reason}")]
    Image { path: PathBuf, reason: String },

    /// The ONNX Runtime library could not be loaded.
    #[error("ONNX Runtime library {path}: {reason}")]
    RuntimeLibrary { path: PathBuf, reason: String },

    /// A model file is missing, altered, or not the model we expect.
    #[error("model {id} ({path}): {reason}")]
    Model { id: String, path: PathBuf, reason: String },

    /// Inference failed while running a loaded model.
    #[error("inference with model {id}: {reason}")]
    Inference { id: String, reason: String },

    /// A configuration or manifest file is wrong.
    #[error("config {path}: {reason}")]
    Config { path: PathBuf, reason: String },

    /// Not `#[source]`: the message already says it, and a chained report would say it twice.
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
}

impl Error {
    pub fn image(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Image { path: path.into(), reason: reason.into() }
    }

    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io { path: path.into(), error }
    }
}
