//! A labelled face data set on disk: `DIR/<identity>/<image>`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "bmp", "webp"];

/// One labelled image.
#[derive(Debug, Clone)]
pub struct Sample {
    pub identity: usize,
    pub path: PathBuf,
}

/// Identities (folder names, sorted) and their images (sorted by file name within each).
#[derive(Debug, Clone)]
pub struct Dataset {
    pub root: PathBuf,
    pub identities: Vec<String>,
    pub samples: Vec<Sample>,
}

impl Dataset {
    pub fn open(root: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Dataset { path: root.to_path_buf(), reason };
        let dirs: Vec<PathBuf> = read_dir(root)?.into_iter().filter(|p| p.is_dir()).collect();
        let mut identities = Vec::new();
        let mut samples = Vec::new();
        for dir in dirs {
            let images: Vec<PathBuf> = read_dir(&dir)?.into_iter().filter(|p| is_image(p)).collect();
            if images.is_empty() {
                continue;
            }
            let identity = identities.len();
            identities.push(dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            samples.extend(images.into_iter().map(|path| Sample { identity, path }));
        }
        if identities.len() < 2 {
            return Err(bad("needs at least two identity folders holding images (DIR/<identity>/<image>)".to_string()));
        }
        Ok(Dataset { root: root.to_path_buf(), identities, samples })
    }
}

/// The entries of `dir`, sorted.
pub fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut paths = entries.map(|e| e.map(|e| e.path()).map_err(|err| Error::io(dir, err))).collect::<Result<Vec<_>>>()?;
    paths.sort();
    Ok(paths)
}

pub fn is_image(path: &Path) -> bool {
    path.is_file() && path.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
