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
//! Each stage runs on its own thread; the [`link`](mod@link)s between them hold one item. For a live
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
//!
//! A lane that cannot decide says so and exits: the first stage error or panic fires the
//! lane's one [`Shutdown`] signal, every stage ends, and [`run`] returns that error, naming the
//! stage. An output that fails (kiosk file, stdout, gate relay) is counted, not fatal.
//!
//! Each stage's thread is a module of its own, wired together by [`run`]; when the decide stage
//! decides is a state machine with no thread of its own (`judge`), tested without a lane.

mod assess;
mod capture;
mod decide;
mod detect;
mod embed;
mod judge;
pub mod link;
mod liveness;
mod qr;
mod shutdown;
pub mod stats;
mod track;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::decider::Decider;
use boardcheck_core::boarding::kiosk::KioskView;
use boardcheck_core::boarding::Decision;
use boardcheck_core::decider::Presented;
use boardcheck_vision::face::FaceEngine;

use crate::error::{Error, Result};
use crate::ingest::FrameSource;
use crate::outputs::DecisionSink;
use assess::assess_stage;
use capture::capture_stage;
use decide::decide_stage;
use detect::detect_stage;
use embed::{embed_stage, InFlight};
use link::link;
use qr::{qr_stage, QrFeed};
pub use shutdown::Shutdown;
use stats::{LiveStats, StageStats};
use track::track_stage;

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
    /// The lane's one shutdown signal (one per run): fired by the first stage failure, or by
    /// whoever holds a clone; a camera's stop flag and the health worker hang on it.
    pub shutdown: Shutdown,
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
            shutdown: Shutdown::default(),
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
    /// Decisions an output (kiosk file, stdout, gate relay) did not take: logged, not fatal.
    pub output_failures: u64,
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

/// Runs the lane until the source ends or the shutdown signal fires: a thread per stage, joined.
/// The first stage error or panic stops every stage and is what this returns.
pub fn run(
    engine: &FaceEngine,
    mut source: Box<dyn FrameSource>,
    decider: &mut dyn Decider,
    sinks: &mut [Box<dyn DecisionSink>],
    options: &LaneOptions,
) -> Result<LaneReport> {
    // Not on the first passenger's time.
    engine.warm_up()?;
    let started = Instant::now();
    let live = &*options.live;
    let (captured_tx, captured_rx, dropped_capture) = link(options.drop_stale);
    let (detected_tx, detected_rx, dropped_detect) = link(options.drop_stale);
    // Ended tracks must not be lost.
    let (tracked_tx, tracked_rx, dropped_track) = link(false);
    // Frames with no face chosen go past the embed stage, straight to the decide stage.
    let (passed_tx, passed_rx) = crossbeam_channel::bounded(PASSED_BACKLOG);
    let (to_embed_tx, to_embed_rx) = crossbeam_channel::bounded(EMBED_BACKLOG);
    let in_flight = InFlight::default();
    // Tracks decided, so the assess stage stops choosing their faces.
    let (decided_tx, decided_rx) = crossbeam_channel::unbounded();
    let (embedded_tx, embedded_rx) = crossbeam_channel::bounded(1);
    // Frames for the QR reader: only the latest matters, a few times a second.
    let (qr_frame_tx, qr_frame_rx, _) = link(true);
    let qr_frame_tx = QrFeed::new(qr_frame_tx, options.qr_per_second);
    let (qr_tx, qr_rx) = crossbeam_channel::bounded(4);
    let shutdown = &options.shutdown;

    let (capture, qr, stages, embed, decided) = std::thread::scope(|scope| {
        let capture =
            scope.spawn(move || shutdown.run_stage("capture", || capture_stage(source.as_mut(), live, captured_tx, qr_frame_tx, shutdown)));
        let qr = scope.spawn(move || {
            shutdown.run_stage("qr", || {
                qr_stage(qr_frame_rx, qr_tx);
                Ok(())
            })
        });
        let detect = scope.spawn(move || shutdown.run_stage("detect", || detect_stage(engine, live, captured_rx, detected_tx)));
        let track = scope.spawn(move || shutdown.run_stage("track", || track_stage(live, detected_rx, tracked_tx)));
        let in_flight = &in_flight;
        let assess = scope.spawn(move || {
            shutdown.run_stage("assess", || assess_stage(engine, options, (tracked_rx, decided_rx), passed_tx, (to_embed_tx, in_flight)))
        });
        let embed = scope.spawn(move || shutdown.run_stage("embed", || embed_stage(engine, live, to_embed_rx, embedded_tx, in_flight)));
        // On this thread: the decider need not be `Send` (a store connection is not).
        let presented = [options.presented.clone(), qr_rx];
        let decided =
            shutdown.run_stage("decide", || decide_stage(decider, (sinks, decided_tx), live, embedded_rx, passed_rx, presented, shutdown));
        let (capture, qr) = (joined("capture", capture.join()), joined("qr", qr.join()));
        let stages = [joined("detect", detect.join()), joined("track", track.join()), joined("assess", assess.join())];
        (capture, qr, stages, joined("embed", embed.join()), decided)
    });
    let (capture, (), decided) = (capture?, qr?, decided?);
    let mut stage_stats = vec![capture.times];
    for stats in stages {
        stage_stats.push(stats?);
    }
    stage_stats.extend(embed?);
    stage_stats.push(decided.times);
    let dropped = [dropped_capture, dropped_detect, dropped_track].iter().map(|d| d.load(Ordering::Relaxed)).sum();
    Ok(LaneReport {
        frames: capture.frames,
        unreadable_frames: capture.unreadable,
        dropped,
        decisions: decided.decisions,
        undecided_tracks: decided.undecided,
        wall_s: started.elapsed().as_secs_f64(),
        stages: stage_stats,
        e2e: decided.e2e,
        embedded_frames: decided.embedded_frames,
        output_failures: decided.output_failures,
    })
}

/// A stage thread's result, or what it said as it panicked.
fn joined<T>(stage: &'static str, result: std::thread::Result<Result<T>>) -> Result<T> {
    result.map_err(|panic| Error::Panicked { stage, message: shutdown::panic_message(panic.as_ref()) })?
}

/// Frames with no face chosen, on their way past the embed stage to the decide stage (which
/// only counts their latency); a few, should the decide stage be waiting on the service.
const PASSED_BACKLOG: usize = 8;

/// Chosen frames (and track ends) waiting for the embed stage.
const EMBED_BACKLOG: usize = 2;
