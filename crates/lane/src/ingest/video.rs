//! Cameras, network streams and video files through OpenCV's `VideoCapture`.
//!
//! Each kind gets an explicit backend (V4L2 for cameras, FFmpeg for streams and files) rather
//! than OpenCV's probing of every backend, which is slow and fills the log with the failures
//! of backends nobody asked for. Streams open and read with timeouts, so a dead server
//! is an error and not a hang.

use std::path::Path;
use std::sync::Once;
use std::time::{Duration, Instant};

use image::RgbImage;
use opencv::core::{self, Mat, Vec3b, Vector};
use opencv::prelude::*;
use opencv::{imgproc, videoio};

use super::{redact_url, source_error, Frame, FrameSource};
use crate::error::Result;

/// How long FFmpeg may wait on a network stream before its call gives up: to connect and
/// deliver the stream's description, and to deliver each frame after that. These bound every
/// blocking call into the backend, which nothing else can interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTimeouts {
    pub open: Duration,
    pub read: Duration,
}

impl Default for StreamTimeouts {
    /// For a stream opened once, unsupervised (a benchmark, a check): patient.
    fn default() -> Self {
        StreamTimeouts { open: Duration::from_secs(10), read: Duration::from_secs(5) }
    }
}

/// A camera, stream or video file.
pub struct VideoSource {
    capture: videoio::VideoCapture,
    name: String,
    live: bool,
    index: u64,
    fps: Option<f64>,
    frame_count: Option<u64>,
    opened: Instant,
    raw: Mat,
}

impl VideoSource {
    /// A V4L2 camera, `/dev/video<index>`.
    pub fn open_device(index: u32) -> Result<Self> {
        let name = format!("/dev/video{index}");
        let device = i32::try_from(index).map_err(|_| source_error(&name, std::io::ErrorKind::InvalidInput, "device index too large"))?;
        quiet_opencv();
        let capture = videoio::VideoCapture::new(device, videoio::CAP_V4L2).map_err(|e| opencv_error(&name, "cannot open camera", e))?;
        Self::opened(capture, name, true, "no camera there, or it is busy or not readable (V4L2)")
    }

    /// A network stream (RTSP or HTTP) through FFmpeg, its calls bounded by `timeouts`.
    pub fn open_stream(url: &str, timeouts: StreamTimeouts) -> Result<Self> {
        let name = redact_url(url);
        quiet_opencv();
        let ms = |d: Duration| i32::try_from(d.as_millis()).unwrap_or(i32::MAX).max(1);
        let params = Vector::<i32>::from_slice(&[
            videoio::CAP_PROP_OPEN_TIMEOUT_MSEC,
            ms(timeouts.open),
            videoio::CAP_PROP_READ_TIMEOUT_MSEC,
            ms(timeouts.read),
        ]);
        let capture = videoio::VideoCapture::from_file_with_params(url, videoio::CAP_FFMPEG, &params)
            .map_err(|e| opencv_error(&name, "cannot open stream", e))?;
        Self::opened(capture, name, true, "cannot connect or no video stream there (FFmpeg)")
    }

    /// A video file through FFmpeg.
    pub fn open_file(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        if !path.is_file() {
            return Err(source_error(&name, std::io::ErrorKind::NotFound, "no such video file"));
        }
        quiet_opencv();
        let capture =
            videoio::VideoCapture::from_file(path, videoio::CAP_FFMPEG).map_err(|e| opencv_error(&name, "cannot open video", e))?;
        Self::opened(capture, name, false, "not a video FFmpeg can read")
    }

    fn opened(capture: videoio::VideoCapture, name: String, live: bool, why_not: &str) -> Result<Self> {
        if !capture.is_opened().unwrap_or(false) {
            return Err(source_error(&name, std::io::ErrorKind::NotFound, why_not));
        }
        let fps = capture.get(videoio::CAP_PROP_FPS).ok().filter(|f| f.is_finite() && *f > 0.0);
        let frame_count = if live { None } else { capture.get(videoio::CAP_PROP_FRAME_COUNT).ok().filter(|n| *n >= 1.0).map(|n| n as u64) };
        Ok(VideoSource { capture, name, live, index: 0, fps, frame_count, opened: Instant::now(), raw: Mat::default() })
    }

    /// Frames per second the container or camera declares.
    pub fn fps(&self) -> Option<f64> {
        self.fps
    }

    /// Frames the file's header declares (files only; a cut file declares more than it has).
    pub fn frame_count(&self) -> Option<u64> {
        self.frame_count
    }

    /// Media time of the frame just read: the container's clock, else index / fps.
    fn media_time_ms(&self) -> f64 {
        match self.capture.get(videoio::CAP_PROP_POS_MSEC) {
            Ok(ms) if ms.is_finite() && ms >= 0.0 && (ms > 0.0 || self.index == 0) => ms,
            _ => self.fps.map_or(0.0, |fps| self.index as f64 * 1000.0 / fps),
        }
    }
}

impl FrameSource for VideoSource {
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let got = self.capture.read(&mut self.raw).map_err(|e| opencv_error(&self.name, "cannot read frame", e))?;
        if !got || self.raw.empty() {
            if let Some(declared) = self.frame_count.filter(|n| self.index < *n) {
                tracing::warn!("{}: ended after {} of the {declared} frames its header declares (file cut short?)", self.name, self.index);
            }
            return Ok(None);
        }
        let timestamp_ms = if self.live { self.opened.elapsed().as_secs_f64() * 1000.0 } else { self.media_time_ms() };
        let image = to_rgb(&self.raw).map_err(|e| opencv_error(&self.name, "cannot convert frame", e))?;
        let frame = Frame { index: self.index, timestamp_ms, image };
        self.index += 1;
        Ok(Some(frame))
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// An 8-bit BGR, BGRA or grey OpenCV frame as RGB, converted in one pass straight into the
/// image's buffer (no intermediate `Mat`, no second copy).
fn to_rgb(mat: &Mat) -> opencv::Result<RgbImage> {
    let code = match mat.typ() {
        core::CV_8UC3 => imgproc::COLOR_BGR2RGB,
        core::CV_8UC4 => imgproc::COLOR_BGRA2RGB,
        core::CV_8UC1 => imgproc::COLOR_GRAY2RGB,
        other => {
            return Err(opencv::Error::new(core::StsUnsupportedFormat, format!("unsupported frame type {other} (expected 8-bit pixels)")))
        }
    };
    let (rows, cols) = (mat.rows(), mat.cols());
    let (width, height) = (u32::try_from(cols).unwrap_or(0), u32::try_from(rows).unwrap_or(0));
    let mut buffer = vec![0u8; width as usize * height as usize * 3];
    {
        let mut target = Mat::new_rows_cols_with_bytes_mut::<Vec3b>(rows, cols, &mut buffer)?;
        let before = target.data();
        imgproc::cvt_color_def(mat, &mut target, code)?;
        // cvt_color reallocates only on a size or type mismatch, which would leave `buffer` unwritten.
        if target.data() != before {
            return Err(opencv::Error::new(core::StsError, "frame conversion reallocated its target".to_string()));
        }
    }
    RgbImage::from_raw(width, height, buffer).ok_or_else(|| opencv::Error::new(core::StsError, format!("bad frame size {cols}x{rows}")))
}

fn opencv_error(name: &str, what: &str, e: opencv::Error) -> crate::error::Error {
    source_error(name, std::io::ErrorKind::Other, format!("{what}: {}", e.message))
}

/// OpenCV logs every failed open at WARN with a backtrace-like dump; the errors above already
/// say what went wrong, so keep only its errors.
fn quiet_opencv() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Err(e) = core::set_log_level(core::LogLevel::LOG_LEVEL_ERROR) {
            tracing::debug!("cannot lower OpenCV's log level: {}", e.message);
        }
    });
}
