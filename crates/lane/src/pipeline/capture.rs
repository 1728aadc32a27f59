//! The capture stage: reads frames from the source, stamps each with its arrival, and hands
//! it on (and, a few times a second, a copy to the QR reader), until the source ends, the
//! stage after it is gone, or the lane's shutdown signal fires.

use boardcheck_api::Stage;
use std::time::Instant;

use image::RgbImage;

use super::link::LinkSender;
use super::qr::QrFeed;
use super::shutdown::Shutdown;
use super::stats::{LiveStats, StageStats, Times};
use crate::error::Result;
use crate::ingest::FrameSource;

/// What travels down the pipeline with every frame.
pub(super) struct Meta {
    pub index: u64,
    pub timestamp_ms: f64,
    pub captured: Instant,
}

pub(super) struct CaptureReport {
    pub frames: u64,
    pub unreadable: u64,
    pub times: StageStats,
}

pub(super) fn capture_stage(
    source: &mut dyn FrameSource,
    live: &LiveStats,
    out: LinkSender<(Meta, RgbImage)>,
    mut qr: QrFeed,
    shutdown: &Shutdown,
) -> Result<CaptureReport> {
    let mut times = Times::new(Stage::Capture, live);
    let mut frames = 0;
    // A read that blocks (a camera in back-off) ends through the source's own stop flag.
    while !shutdown.is_stopped() {
        let t = Instant::now();
        let frame = match source.next_frame()? {
            Some(frame) => frame,
            None => break,
        };
        times.since(t);
        live.frame_read();
        frames += 1;
        // Latency is counted from the frame's arrival, not from the wait for it.
        let meta = Meta { index: frame.index, timestamp_ms: frame.timestamp_ms, captured: Instant::now() };
        qr.offer(&frame.image);
        if !out.send((meta, frame.image)) {
            break;
        }
    }
    Ok(CaptureReport { frames, unreadable: source.skipped(), times: times.stats() })
}
