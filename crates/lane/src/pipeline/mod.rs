//! The boarding lane as a running program: frames in, one decision per passenger out.
//!
//! ```text
//! capture ─► detect ─► track ─► assess ─┬─────────────────────────► decide ─► outputs
//!  source     boxes    IoU      landmarks,│ (frames with no face      boarding rules,
//!  (+ QR      tracks            quality,  │  chosen: latency only)    store, kiosk,
//!   reader)                     choice    └─► embed ───────────────►  gate
//!                                              └► liveness (beside it,
//!                                                 verdicts follow)
//! ```
//! Each stage runs on its own thread; the [`link`]s between them hold one item. For a live
//! camera they keep the latest and count what they drop; for a recording they block, so every
//! frame is seen and results do not depend on timing. Data flows one way: the assess stage
//! chooses which frames of a track to embed (the sharpest so far, a few per track). Only
//! chosen frames go to the embed stage; the others go straight on, so tracking keeps pace
//! with the camera. The embedding is handed on at once; the anti-spoofing model (twice as
//! slow) runs beside it at a lower priority, and its verdicts follow. The decide stage judges
//! a track's observations in order and waits for a verdict only where it could change the
//! outcome, so decisions are the same as if every verdict came with its embedding. Track ends
//! follow their track's embeddings and verdicts.
//!
//! A live lane also holds back what would only wait: it chooses a face only while the embedder
//! is free and at most two chosen frames are in flight (more would be stale when decided on),
//! and no more faces of a track the decide stage has decided (the one signal that goes back
//! up the pipeline). The models run once before the first frame, so the first passenger does
//! not wait for their first-run set-up. A live image is never kept (PIPL).

pub mod link;
mod stages;
pub mod stats;

use std::sync::Arc;

use serde::Serialize;

use crate::decider::Decider;
use boardcheck_core::boarding::kiosk::KioskView;
use boardcheck_core::boarding::Decision;
use boardcheck_core::decider::Presented;
use boardcheck_vision::face::FaceEngine;

use crate::error::Result;
use crate::ingest::FrameSource;
use crate::outputs::DecisionSink;
use stats::{LiveStats, StageStats};

/// How a lane runs.
#[derive(Debug, Clone)]
pub struct LaneOptions {
    /// Keep only the latest frame between stages (live cameras) instead of every frame.
    pub drop_stale: bool,
    /// Frames of one track embedded at most (the rest only tracked).
    pub max_embeds_per_track: u32,
    /// Embed a track again only if its quality improved, or after this many frames.
    pub reembed_after_frames: u64,
    /// Where the running lane publishes frame counts and stage times (the service's health view).
    pub live: Arc<LiveStats>,
    /// Tickets shown at the lane (QR scanner, ID-card reader), decided with the face at the lane.
    pub presented: crossbeam_channel::Receiver<Presented>,
    /// Look for QR e-tickets held up to the camera this many times a second (0: never).
    pub qr_per_second: f64,
}

impl Default for LaneOptions {
    fn default() -> Self {
        LaneOptions {
            drop_stale: true,
            max_embeds_per_track: 5,
            reembed_after_frames: 3,
            live: Arc::default(),
            presented: crossbeam_channel::never(),
            qr_per_second: 0.0,
        }
    }
}

/// One passenger's decision as the lane reports it.
#[derive(Debug, Clone, Serialize)]
pub struct LaneDecision {
    /// Seconds into the source (frame timestamp) when the decision was made.
    pub t: f64,
    pub track: u64,
    #[serde(flatten)]
    pub decision: Decision,
    /// From capture of the deciding frame to the recorded decision.
    pub latency_ms: f64,
    pub kiosk: KioskView,
}

/// What a lane run did.
#[derive(Debug, Clone, Serialize)]
pub struct LaneReport {
    pub frames: u64,
    pub unreadable_frames: u64,
    pub dropped: u64,
    pub decisions: usize,
    /// Tracks that left the camera without a decision.
    pub undecided_tracks: Vec<u64>,
    pub wall_s: f64,
    pub stages: Vec<StageStats>,
    pub e2e: StageStats,
    /// Every frame that had a face chosen (a few per passenger): what `boardcheck bench`
    /// times the raw embedder on for its floor.
    pub embedded_frames: Vec<EmbeddedFrame>,
}

/// A frame whose chosen faces went through liveness and embedding to the decide stage.
#[derive(Debug, Clone, Serialize)]
pub struct EmbeddedFrame {
    pub index: u64,
    /// Faces embedded.
    pub faces: usize,
    /// From the frame's arrival to the end of its decisions.
    pub e2e_ms: f64,
}

/// Runs the lane until the source ends (or fails for good).
pub fn run(
    engine: &FaceEngine,
    source: Box<dyn FrameSource>,
    decider: &mut dyn Decider,
    sinks: &mut [Box<dyn DecisionSink>],
    options: &LaneOptions,
) -> Result<LaneReport> {
    // Not on the first passenger's time.
    engine.warm_up()?;
    stages::run(engine, source, decider, sinks, options)
}
