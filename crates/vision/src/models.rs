//! The model catalog: `models/models.toml` names every file boardcheck runs on, its origin
//! and its SHA-256. A file is checked against its pinned checksum before it is loaded, so a
//! changed or truncated model is an error that names it, never a silent wrong answer.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::paths;

/// One pinned file: the ONNX Runtime library or a model.
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogEntry {
    pub id: String,
    pub registry: String,
    pub package: String,
    pub file: String,
    pub sha256: String,
    pub licence: String,
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct CatalogFile {
    runtime: CatalogEntry,
    model: Vec<CatalogEntry>,
}

/// The parsed catalog plus the folder its files live in.
#[derive(Debug, Clone)]
pub struct Catalog {
    files_dir: PathBuf,
    runtime: CatalogEntry,
    models: Vec<CatalogEntry>,
}

impl Catalog {
    /// Reads `models/models.toml` under the boardcheck home.
    pub fn load(home: &Path) -> Result<Self> {
        let path = home.join("models").join("models.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let parsed: CatalogFile = toml::from_str(&text).map_err(|e| Error::Config { path: path.clone(), reason: e.to_string() })?;
        Ok(Catalog { files_dir: paths::model_files(home), runtime: parsed.runtime, models: parsed.model })
    }

    /// The ONNX Runtime shared library, verified.
    pub fn runtime_library(&self) -> Result<PathBuf> {
        self.verified(&self.runtime)
    }

    /// The model file with this id, verified.
    pub fn model_path(&self, id: &str) -> Result<PathBuf> {
        let entry = self.entry(id)?;
        self.verified(entry)
    }

    pub fn entry(&self, id: &str) -> Result<&CatalogEntry> {
        self.models.iter().find(|m| m.id == id).ok_or_else(|| Error::Model {
            id: id.to_string(),
            path: self.files_dir.clone(),
            reason: format!(
                "not in models/models.toml (known: {})",
                self.models.iter().map(|m| m.id.as_str()).collect::<Vec<_>>().join(", ")
            ),
        })
    }

    pub fn models(&self) -> &[CatalogEntry] {
        &self.models
    }

    fn verified(&self, entry: &CatalogEntry) -> Result<PathBuf> {
        let path = self.files_dir.join(&entry.file);
        verify_sha256(&path, &entry.sha256).map_err(|reason| Error::Model { id: entry.id.clone(), path: path.clone(), reason })?;
        Ok(path)
    }
}

/// Checks a file against its pinned checksum; the error says what to do about it.
pub fn verify_sha256(path: &Path, expected: &str) -> std::result::Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{e} (run scripts/setup to fetch the models)"))?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual == expected {
        Ok(())
    } else {
        Err(format!("SHA-256 is {actual}, models/models.toml pins {expected}: the file was changed or damaged (re-run scripts/setup)"))
    }
}
