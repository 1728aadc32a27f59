//! A folder of image files as a video: the frames of a recorded lane, or test material.
//!
//! Files are read in file-name order (name them with zero-padded numbers). Each is decoded
//! with [`boardcheck_vision::image_io`], so a corrupt or truncated file is a clear error; such a frame is
//! logged, counted and skipped, because one bad file must not stop a lane or a benchmark.

use std::path::{Path, PathBuf};

use super::{source_error, Frame, FrameSource};
use crate::error::{Error, Result};
use boardcheck_vision::image_io;

/// File extensions read as frames (case-insensitive).
const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "bmp", "webp"];

/// The image files of one folder, in name order.
pub struct ImageFolderSource {
    dir: PathBuf,
    files: Vec<PathBuf>,
    next: usize,
    fps: f64,
    skipped: u64,
}

impl ImageFolderSource {
    /// Lists the folder's image files; `fps` times the frames (folders carry no timing).
    pub fn open(dir: &Path, fps: f64) -> Result<Self> {
        let name = dir.display().to_string();
        if !(fps.is_finite() && fps > 0.0) {
            return Err(source_error(&name, std::io::ErrorKind::InvalidInput, format!("frame rate {fps} is not positive")));
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let path = entry.map_err(|e| Error::io(dir, e))?.path();
            let is_image = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|known| known.eq_ignore_ascii_case(e)));
            if is_image && path.is_file() {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(source_error(
                &name,
                std::io::ErrorKind::NotFound,
                format!("no image files ({}) in this folder", IMAGE_EXTENSIONS.join(", ")),
            ));
        }
        files.sort();
        Ok(ImageFolderSource { dir: dir.to_path_buf(), files, next: 0, fps, skipped: 0 })
    }

    /// Image files in the folder, readable or not.
    pub fn frame_count(&self) -> u64 {
        self.files.len() as u64
    }
}

impl FrameSource for ImageFolderSource {
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        while let Some(path) = self.files.get(self.next) {
            let index = self.next as u64;
            self.next += 1;
            match image_io::load_rgb(path) {
                Ok(image) => return Ok(Some(Frame { index, timestamp_ms: index as f64 * 1000.0 / self.fps, image })),
                Err(e) => {
                    self.skipped += 1;
                    tracing::warn!("{}: skipping frame {index}: {e}", self.dir.display());
                }
            }
        }
        Ok(None)
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}
