//! Where boardcheck finds its files: the checkout (or an installed copy) that holds
//! `models/models.toml`, the fetched model files and the fixtures.
//!
//! The built binary works from a checkout without any environment variable: the checkout it
//! was built from is remembered at compile time. `BOARDCHECK_HOME` overrides it (an
//! installed copy elsewhere).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that names a boardcheck home other than the build checkout.
pub const HOME_ENV: &str = "BOARDCHECK_HOME";

/// The folder that holds `models/models.toml`.
pub fn home() -> Result<PathBuf> {
    let candidate = match std::env::var_os(HOME_ENV) {
        Some(dir) => PathBuf::from(dir),
        // The checkout this crate was built from: crates/vision → the workspace root.
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    };
    if candidate.join("models").join("models.toml").is_file() {
        Ok(candidate)
    } else {
        Err(Error::Config { path: candidate, reason: format!("no models/models.toml here: set {HOME_ENV} to a boardcheck checkout") })
    }
}

/// Fetched model files and the ONNX Runtime library (made by `scripts/fetch_models.py`).
pub fn model_files(home: &Path) -> PathBuf {
    home.join("models").join("files")
}

/// Face images fetched from registry packages for tests and the demo.
pub fn fixtures(home: &Path) -> PathBuf {
    home.join("fixtures").join("downloaded")
}
