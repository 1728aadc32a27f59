//! The track stage: follows faces from frame to frame by box overlap, and says which tracks
//! ended (all that are open when the source ends).

use boardcheck_api::Stage;
use std::time::Instant;

use image::RgbImage;

use super::capture::Meta;
use super::detect::Detected;
use super::link::{LinkReceiver, LinkSender};
use super::stats::{LiveStats, StageStats, Times};
use crate::error::Result;
use boardcheck_vision::face::detect::{BBox, Detection};
use boardcheck_vision::track::{Track, Tracker};

pub(super) struct Tracked {
    pub meta: Meta,
    pub image: RgbImage,
    /// Each face with its track.
    pub faces: Vec<(u64, Detection)>,
    pub ended: Vec<Track>,
}

pub(super) fn track_stage(live: &LiveStats, input: LinkReceiver<Detected>, out: LinkSender<Tracked>) -> Result<StageStats> {
    let mut tracker = Tracker::default();
    let mut times = Times::new(Stage::Track, live);
    let mut last_meta = None;
    for d in input {
        let t = Instant::now();
        let boxes: Vec<BBox> = d.detections.iter().map(|det| det.bbox).collect();
        let assignment = tracker.update(d.meta.index, &boxes);
        let faces = assignment.track_ids.into_iter().zip(d.detections).collect();
        times.since(t);
        last_meta = Some((d.meta.index, d.meta.timestamp_ms));
        if !out.send(Tracked { meta: d.meta, image: d.image, faces, ended: assignment.ended }) {
            return Ok(times.stats());
        }
    }
    // The source ended: every open track ends with it.
    let (index, timestamp_ms) = last_meta.unwrap_or((0, 0.0));
    let meta = Meta { index, timestamp_ms, captured: Instant::now() };
    out.send(Tracked { meta, image: RgbImage::new(1, 1), faces: Vec::new(), ended: tracker.finish() });
    Ok(times.stats())
}
