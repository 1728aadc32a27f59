//! Frame sources: where the lane's pixels come from, behind one trait, [`FrameSource`].
//!
//! ```text
//! "/dev/video0", "0" ─► VideoSource (OpenCV V4L2)      live
//! "rtsp://…", "http://…" ─► VideoSource (OpenCV FFmpeg) live
//! "lane.avi" ─► VideoSource (OpenCV FFmpeg)             ends
//! "frames/" ─► ImageFolderSource (image_io)             ends
//!                 ├──► Reconnecting: reopen live sources with back-off, stall watchdog
//!                 └──► Paced: a recording replayed at a camera's pace (bench, tests)
//! ```
//!
//! A source delivers every frame it decodes, in order. Dropping stale frames (latest frame
//! wins) is the pipeline's job, not the source's: only the pipeline knows how far behind its
//! slowest stage is, and a file replayed for a benchmark must not lose frames because the
//! reader was fast.
//!
//! Live sources fail in the field: a camera is unplugged, a switch reboots, an RTSP server
//! drops the session. [`Reconnecting`] reopens them with exponential back-off (capped, so a
//! camera that comes back is found within seconds, but a dead one is not hammered), and its
//! watchdog treats a live source that delivers nothing for a while as failed, because some
//! backends block or return nothing instead of reporting an error. A file or folder that ends
//! has ended: it is never reopened.
//!
//! Errors name the source (device, URL with any password hidden, file or folder).
//!
//! Tickets come in at the lane too: [`scanner`] reads the QR scanner's and the ID-card
//! reader's lines.

mod folder;
mod paced;
mod reconnect;
pub mod scanner;
mod video;

use std::path::{Path, PathBuf};

use image::RgbImage;

use crate::error::{Error, Result};

pub use folder::ImageFolderSource;
pub use paced::Paced;
pub use reconnect::{Opener, ReconnectPolicy, Reconnecting, SourceStatus, StatusCallback};
pub use video::{StreamTimeouts, VideoSource};

/// One decoded frame.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Position in the source, from 0; a skipped frame leaves a gap.
    pub index: u64,
    /// Media time for files and folders; time since the source was opened for live sources.
    pub timestamp_ms: f64,
    pub image: RgbImage,
}

/// Something that yields frames until it ends.
pub trait FrameSource: Send {
    /// The next frame; `None` when the source has ended (or a live source stopped delivering).
    fn next_frame(&mut self) -> Result<Option<Frame>>;

    /// A human-readable name for logs and errors (passwords hidden).
    fn describe(&self) -> String;

    /// Frames that could not be decoded and were skipped so far.
    fn skipped(&self) -> u64 {
        0
    }
}

/// Frame rate given to image folders, which carry no timing of their own.
pub const FOLDER_FPS: f64 = 15.0;

/// What a source specification names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A V4L2 camera by index (`0`, `/dev/video0`).
    Device(u32),
    /// A network stream (`rtsp://`, `rtsps://`, `http://`, `https://`).
    Stream(String),
    /// A video file.
    File(PathBuf),
    /// A folder of image files, read in file-name order.
    Folder(PathBuf),
}

impl SourceSpec {
    /// Reads a specification: a URL is a stream, an existing folder is an image folder,
    /// `/dev/videoN` or a bare integer is a camera, an existing file is a video.
    pub fn parse(spec: &str) -> Result<SourceSpec> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(source_error("<empty>", std::io::ErrorKind::InvalidInput, "empty source specification"));
        }
        let lower = spec.to_ascii_lowercase();
        if ["rtsp://", "rtsps://", "http://", "https://"].iter().any(|scheme| lower.starts_with(scheme)) {
            return Ok(SourceSpec::Stream(spec.to_string()));
        }
        let path = Path::new(spec);
        if path.is_dir() {
            return Ok(SourceSpec::Folder(path.to_path_buf()));
        }
        if let Some(n) = spec.strip_prefix("/dev/video").and_then(|n| n.parse::<u32>().ok()) {
            return Ok(SourceSpec::Device(n));
        }
        if path.is_file() {
            return Ok(SourceSpec::File(path.to_path_buf()));
        }
        if let Ok(n) = spec.parse::<u32>() {
            return Ok(SourceSpec::Device(n));
        }
        Err(source_error(
            spec,
            std::io::ErrorKind::NotFound,
            "no such file or folder, and not a camera (/dev/videoN or an index) or a stream URL (rtsp://, http://)",
        ))
    }

    /// Live sources can fail and come back; files and folders end.
    pub fn is_live(&self) -> bool {
        matches!(self, SourceSpec::Device(_) | SourceSpec::Stream(_))
    }

    /// The name used in logs and errors.
    pub fn describe(&self) -> String {
        match self {
            SourceSpec::Device(n) => format!("/dev/video{n}"),
            SourceSpec::Stream(url) => redact_url(url),
            SourceSpec::File(path) | SourceSpec::Folder(path) => path.display().to_string(),
        }
    }

    /// Opens the source once, without reconnection; a stream's calls are bounded by `timeouts`.
    pub fn open(&self, timeouts: StreamTimeouts) -> Result<Box<dyn FrameSource>> {
        Ok(match self {
            SourceSpec::Device(n) => Box::new(VideoSource::open_device(*n)?),
            SourceSpec::Stream(url) => Box::new(VideoSource::open_stream(url, timeouts)?),
            SourceSpec::File(path) => Box::new(VideoSource::open_file(path)?),
            SourceSpec::Folder(path) => Box::new(ImageFolderSource::open(path, FOLDER_FPS)?),
        })
    }
}

/// Opens the source `spec` names (see [`SourceSpec::parse`]), once, without reconnection;
/// the lane wraps it in [`Reconnecting::open`] instead.
pub fn open_source(spec: &str) -> Result<Box<dyn FrameSource>> {
    SourceSpec::parse(spec)?.open(StreamTimeouts::default())
}

/// An error about a source: the source's name and what went wrong.
fn source_error(name: &str, kind: std::io::ErrorKind, reason: impl Into<String>) -> Error {
    Error::io(name, std::io::Error::new(kind, reason.into()))
}

/// The URL without the password of its user-info part (`rtsp://admin:***@host/…`).
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_passwords_in_urls() {
        assert_eq!(redact_url("rtsp://admin:secret@10.0.0.5:554/ch1"), "rtsp://admin:***@10.0.0.5:554/ch1");
        assert_eq!(redact_url("rtsp://10.0.0.5/ch1"), "rtsp://10.0.0.5/ch1");
        assert_eq!(redact_url("http://cam/a@b"), "http://cam/a@b");
    }

    #[test]
    fn parses_specifications() {
        assert_eq!(SourceSpec::parse("0").ok(), Some(SourceSpec::Device(0)));
        assert_eq!(SourceSpec::parse("/dev/video3").ok(), Some(SourceSpec::Device(3)));
        assert_eq!(SourceSpec::parse("RTSP://cam/1").ok(), Some(SourceSpec::Stream("RTSP://cam/1".into())));
        assert!(SourceSpec::parse("/no/such/file.avi").is_err());
        assert!(SourceSpec::parse("  ").is_err());
    }
}
