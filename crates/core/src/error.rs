//! The error type of the boarding core: the vision core's failures, the store's, and requests
//! the rules or the store refuse. Each error has a [`Kind`], so a caller maps errors to its
//! own answers (the station to HTTP status codes) in one place, never by matching text.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is: what a caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Another process held the database past the busy timeout: try again shortly.
    Busy,
    /// The database's disk is full: nothing was written; an operator must free space.
    Full,
    /// What the request names does not exist.
    NotFound,
    /// The request collides with the current state (already resolved, boarded meanwhile).
    Conflict,
    /// The request itself is malformed (a bad embedding, a missing reason).
    Invalid,
    /// The caller may not do this (a staff member overriding what only a supervisor may).
    Forbidden,
    /// Anything else: a broken model, file or database.
    Failed,
}

/// Why the store failed, where it is not a refusal of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFault {
    Busy,
    Full,
    /// Read-only, corrupt, a broken schema: nothing a retry fixes.
    Broken,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A face could not be enrolled or compared: an image, a model, an inference.
    #[error(transparent)]
    Vision(#[from] boardcheck_vision::Error),

    /// A configuration, manifest, key or ticket file is wrong.
    #[error("config {path}: {reason}")]
    Config { path: PathBuf, reason: String },

    /// The manifest database failed an operation (locked, full, corrupt).
    #[error("database {path}: {reason}")]
    Database { path: PathBuf, fault: StoreFault, reason: String },

    /// A request the rules or the store refuse; `kind` is NotFound, Conflict, Invalid or
    /// Forbidden.
    #[error("{reason}")]
    Refused { kind: Kind, reason: String },

    /// Not `#[source]`: the message already says it, and a chained report would say it twice.
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io { path: path.into(), error }
    }

    pub fn not_found(reason: impl Into<String>) -> Self {
        Error::Refused { kind: Kind::NotFound, reason: reason.into() }
    }

    pub fn conflict(reason: impl Into<String>) -> Self {
        Error::Refused { kind: Kind::Conflict, reason: reason.into() }
    }

    pub fn invalid(reason: impl Into<String>) -> Self {
        Error::Refused { kind: Kind::Invalid, reason: reason.into() }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Error::Refused { kind, .. } => *kind,
            Error::Database { fault: StoreFault::Busy, .. } => Kind::Busy,
            Error::Database { fault: StoreFault::Full, .. } => Kind::Full,
            Error::Database { fault: StoreFault::Broken, .. } | Error::Vision(_) | Error::Config { .. } | Error::Io { .. } => Kind::Failed,
        }
    }
}
