//! The stage threads of a lane and the messages between them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use image::RgbImage;

use super::link::{link, LinkSender};
use super::stats::{Latencies, LiveStats, StageStats};
use super::{EmbeddedFrame, LaneDecision, LaneOptions, LaneReport};
use crate::decider::Decider;
use crate::error::{Error, Result};
use crate::ingest::FrameSource;
use crate::outputs::DecisionSink;
use boardcheck_core::boarding::{kiosk, Decision};
use boardcheck_core::decider::{Observation, Presented};
use boardcheck_vision::face::detect::{BBox, Detection};
use boardcheck_vision::face::FaceEngine;
use boardcheck_vision::track::{Track, Tracker};

/// What travels down the pipeline with every frame.
struct Meta {
    index: u64,
    timestamp_ms: f64,
    captured: Instant,
}

struct Detected {
    meta: Meta,
    image: RgbImage,
    detections: Vec<Detection>,
}

struct Tracked {
    meta: Meta,
    image: RgbImage,
    faces: Vec<(u64, Detection)>,
    ended: Vec<Track>,
}

/// A tracked face chosen for liveness and embedding.
struct Chosen {
    track: u64,
    bbox: BBox,
    aligned: RgbImage,
}

/// What the assess stage hands the embed stage, in order, so that the decide stage sees every
/// embedding of a track before the track's end.
enum ToEmbed {
    /// A frame with faces chosen; the frame itself because the liveness model needs context.
    Chosen {
        meta: Meta,
        faces: Vec<Chosen>,
        image: RgbImage,
    },
    Ended(Vec<Track>),
}

/// What the embed stage hands the decide stage.
enum Embedded {
    /// (track, spoof verdict if already known, embedding) for each chosen face of a frame.
    Faces { meta: Meta, faces: Vec<(u64, Option<bool>, Vec<f32>)> },
    /// After that frame's embeddings.
    Verdicts(FrameVerdicts),
    /// After every embedding and verdict of these tracks.
    Ended(Vec<Track>),
}

/// The anti-spoofing verdicts on the chosen faces of frame `index`: (track, spoof).
struct FrameVerdicts {
    index: u64,
    verdicts: Vec<(u64, bool)>,
}

/// A chosen frame for the anti-spoofing model: the frame (the model needs the face's
/// surroundings) and the faces' tracks and boxes.
struct LivenessJob {
    index: u64,
    image: RgbImage,
    faces: Vec<(u64, BBox)>,
}

/// Per-item processing times of one stage in milliseconds, also published live.
struct Times<'a> {
    stage: &'static str,
    latencies: Latencies,
    live: &'a LiveStats,
}

impl<'a> Times<'a> {
    fn new(stage: &'static str, live: &'a LiveStats) -> Self {
        Times { stage, latencies: Latencies::new(), live }
    }

    fn since(&mut self, t: Instant) {
        self.record(elapsed_ms(t));
    }

    fn record(&mut self, ms: f64) {
        self.latencies.record(ms);
        self.live.record(self.stage, ms);
    }

    fn stats(&self) -> StageStats {
        self.latencies.stats(self.stage)
    }
}

fn elapsed_ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

pub(super) fn run(
    engine: &FaceEngine,
    mut source: Box<dyn FrameSource>,
    decider: &mut dyn Decider,
    sinks: &mut [Box<dyn DecisionSink>],
    options: &LaneOptions,
) -> Result<LaneReport> {
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

    let outcome = std::thread::scope(|scope| {
        let capture = scope.spawn(move || capture_stage(source.as_mut(), live, captured_tx, qr_frame_tx));
        scope.spawn(move || qr_stage(qr_frame_rx, qr_tx));
        let detect = scope.spawn(move || detect_stage(engine, live, captured_rx, detected_tx));
        let track = scope.spawn(move || track_stage(live, detected_rx, tracked_tx));
        let in_flight = &in_flight;
        let assess = scope.spawn(move || assess_stage(engine, options, (tracked_rx, decided_rx), passed_tx, (to_embed_tx, in_flight)));
        let embed = scope.spawn(move || embed_stage(engine, live, to_embed_rx, embedded_tx, in_flight));
        let decided = decide_stage(decider, (sinks, decided_tx), live, embedded_rx, passed_rx, [options.presented.clone(), qr_rx]);
        let capture = joined("capture", capture.join());
        let stages = [joined("detect", detect.join()), joined("track", track.join()), joined("assess", assess.join())];
        Ok::<_, Error>((capture, stages, joined("embed", embed.join()), decided))
    })?;
    let (capture, stages, embed, decided) = outcome;
    let (capture, decided) = (capture?, decided?);
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
    })
}

/// A stage thread's result, or the error that it panicked.
fn joined<T>(stage: &str, result: std::thread::Result<Result<T>>) -> Result<T> {
    result.map_err(|_| Error::Stage { stage: stage.to_string(), reason: "stage thread panicked".to_string() })?
}

/// Frames with no face chosen, on their way past the embed stage to the decide stage (which
/// only counts their latency); a few, should the decide stage be waiting on the service.
const PASSED_BACKLOG: usize = 8;

/// Chosen frames (and track ends) waiting for the embed stage.
const EMBED_BACKLOG: usize = 2;

/// Chosen frames between the assess stage and their last anti-spoofing verdict: one with the
/// anti-spoofing model, one embedded and waiting for it. More would only wait, and be stale
/// when decided on.
const MAX_IN_FLIGHT: usize = 2;

/// Chosen frames on their way through the embed stage and the anti-spoofing model. A live
/// lane chooses a face only when the embedder is free and fewer than [`MAX_IN_FLIGHT`] frames
/// wait for verdicts: a face chosen while another is embedded would wait for it, and its
/// decision with it.
#[derive(Default)]
struct InFlight {
    chosen: AtomicUsize,
    embedding: AtomicUsize,
}

impl InFlight {
    fn has_room(&self) -> bool {
        self.embedding.load(Ordering::Acquire) == 0 && self.chosen.load(Ordering::Acquire) < MAX_IN_FLIGHT
    }

    fn chose(&self) {
        self.chosen.fetch_add(1, Ordering::AcqRel);
        self.embedding.fetch_add(1, Ordering::AcqRel);
    }

    fn embedded(&self) {
        self.embedding.fetch_sub(1, Ordering::AcqRel);
    }

    fn judged(&self) {
        self.chosen.fetch_sub(1, Ordering::AcqRel);
    }
}

struct CaptureReport {
    frames: u64,
    unreadable: u64,
    times: StageStats,
}

/// Hands a copy of a frame to the QR reader at most `per_second` times a second (never, at 0).
struct QrFeed {
    link: LinkSender<RgbImage>,
    every: Option<Duration>,
    last: Option<Instant>,
}

impl QrFeed {
    fn new(link: LinkSender<RgbImage>, per_second: f64) -> Self {
        QrFeed { link, every: (per_second > 0.0).then(|| Duration::from_secs_f64(1.0 / per_second)), last: None }
    }

    fn offer(&mut self, frame: &RgbImage) {
        let Some(every) = self.every else { return };
        if self.last.is_none_or(|last| last.elapsed() >= every) {
            self.last = Some(Instant::now());
            self.link.send(frame.clone());
        }
    }
}

/// A QR e-ticket shown to the camera is read once, not at every frame it stays in view.
const QR_REPEAT: Duration = Duration::from_secs(10);

/// Reads QR codes from the frames it is given; each new text becomes a presented ticket.
fn qr_stage(input: Receiver<RgbImage>, out: crossbeam_channel::Sender<Presented>) {
    let mut seen: Vec<(String, Instant)> = Vec::new();
    for frame in input {
        seen.retain(|(_, at)| at.elapsed() < QR_REPEAT);
        for text in boardcheck_core::ticket::decode_qr(&frame) {
            if seen.iter().any(|(t, _)| *t == text) {
                continue;
            }
            seen.push((text.clone(), Instant::now()));
            if out.send(Presented::Qr(text)).is_err() {
                return; // the lane is stopping
            }
        }
    }
}

fn capture_stage(
    source: &mut dyn FrameSource,
    live: &LiveStats,
    out: LinkSender<(Meta, RgbImage)>,
    mut qr: QrFeed,
) -> Result<CaptureReport> {
    let mut times = Times::new("capture", live);
    let mut frames = 0;
    loop {
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

fn detect_stage(engine: &FaceEngine, live: &LiveStats, input: Receiver<(Meta, RgbImage)>, out: LinkSender<Detected>) -> Result<StageStats> {
    let mut times = Times::new("detect", live);
    for (meta, image) in input {
        let t = Instant::now();
        let detections = engine.detect(&image)?;
        times.since(t);
        if !out.send(Detected { meta, image, detections }) {
            break;
        }
    }
    Ok(times.stats())
}

fn track_stage(live: &LiveStats, input: Receiver<Detected>, out: LinkSender<Tracked>) -> Result<StageStats> {
    let mut tracker = Tracker::default();
    let mut times = Times::new("track", live);
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

/// What the assess stage remembers of a track to choose its frames.
#[derive(Default)]
struct Selection {
    embeds: u32,
    best_quality: f32,
    last_embed_frame: u64,
    /// The decide stage has decided the track: more of its faces would change nothing.
    decided: bool,
    /// Eye distance (first landmark pass) in the frame of the track last glimpsed.
    last_eye_distance: f32,
}

/// A face whose size changed less than this between frames has stopped approaching: its
/// frames are sharp and its pose is the one the passenger holds at the kiosk. Frames taken
/// while walking up are blurred and fool the anti-spoofing model, so they are not used.
const SETTLED_CHANGE: f32 = 0.06;

fn assess_stage(
    engine: &FaceEngine,
    options: &LaneOptions,
    (input, decided): (Receiver<Tracked>, Receiver<u64>),
    passed: Sender<Meta>,
    (to_embed, in_flight): (Sender<ToEmbed>, &InFlight),
) -> Result<StageStats> {
    let mut selections: HashMap<u64, Selection> = HashMap::new();
    let mut times = Times::new("assess", &options.live);
    for tracked in input {
        let t = Instant::now();
        // A live lane stops choosing the faces of decided tracks; a recording's choices must
        // not depend on when the news arrives.
        for track in decided.try_iter() {
            if let (true, Some(sel)) = (options.drop_stale, selections.get_mut(&track)) {
                sel.decided = true;
            }
        }
        let embed_free = !options.drop_stale || in_flight.has_room();
        let mut faces = Vec::new();
        for (track, detection) in &tracked.faces {
            let sel = selections.entry(*track).or_default();
            // Nothing to choose (now): no landmarks needed. The next face measured is compared
            // with the last one measured, a stricter test after a gap.
            if sel.decided || sel.embeds >= options.max_embeds_per_track || !embed_free {
                continue;
            }
            // One landmark pass tells whether the face has settled; only then the second, and
            // the alignment and quality that choosing needs.
            let Some(glimpse) = engine.glimpse(&tracked.image, detection)? else { continue };
            let eyes = glimpse.eye_distance_px;
            let settled = (eyes - sel.last_eye_distance).abs() <= SETTLED_CHANGE * eyes;
            sel.last_eye_distance = eyes;
            if !settled {
                continue;
            }
            let Some(located) = engine.locate_glimpsed(&tracked.image, &glimpse)? else { continue };
            if located.quality_issue.is_some() {
                continue;
            }
            // Sharper and larger faces make better templates.
            let quality = located.quality.eye_distance_px * located.quality.sharpness.max(0.0).sqrt();
            let due = sel.embeds == 0
                || quality > 1.1 * sel.best_quality
                || tracked.meta.index >= sel.last_embed_frame + options.reembed_after_frames;
            if !due {
                continue;
            }
            sel.embeds += 1;
            sel.best_quality = sel.best_quality.max(quality);
            sel.last_embed_frame = tracked.meta.index;
            faces.push(Chosen { track: *track, bbox: located.bbox, aligned: located.aligned });
        }
        for ended in &tracked.ended {
            selections.remove(&ended.id);
        }
        times.since(t);
        // A frame with no face chosen ends here; the others at the embed stage. Live images
        // are never kept.
        let Tracked { meta, image, ended, .. } = tracked;
        let sent = if faces.is_empty() {
            passed.send(meta).is_ok()
        } else {
            in_flight.chose();
            to_embed.send(ToEmbed::Chosen { meta, faces, image }).is_ok()
        };
        if !sent || (!ended.is_empty() && to_embed.send(ToEmbed::Ended(ended)).is_err()) {
            break; // the lane is stopping
        }
    }
    Ok(times.stats())
}

/// Embeds chosen faces and hands each embedding on at once; the anti-spoofing model (≈100 ms,
/// twice the embedding) runs beside it on the other core, and its verdicts follow. The rules
/// wait for a verdict only where it could change the outcome, so a decision need not wait for
/// the slowest model on its own frame.
fn embed_stage(
    engine: &FaceEngine,
    live: &LiveStats,
    input: Receiver<ToEmbed>,
    out: Sender<Embedded>,
    in_flight: &InFlight,
) -> Result<[StageStats; 2]> {
    let mut times = Times::new("embed", live);
    // One frame queued for the anti-spoofing model while it works on another: beyond that the
    // embed stage waits, and the assess stage of a live lane stops choosing faces meanwhile.
    let (job_tx, job_rx) = crossbeam_channel::bounded::<LivenessJob>(1);
    // Unbounded, yet holds at most the verdicts of the few jobs in flight.
    let (verdict_tx, verdict_rx) = crossbeam_channel::unbounded();
    let with_liveness = engine.liveness_id().is_some();
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || liveness_worker(engine, live, job_rx, verdict_tx));
        let mut outstanding = 0usize;
        let forward = |verdicts: Result<FrameVerdicts>| -> Result<bool> {
            let verdicts = verdicts?;
            in_flight.judged();
            Ok(out.send(Embedded::Verdicts(verdicts)).is_ok())
        };
        loop {
            crossbeam_channel::select! {
                recv(input) -> item => match item {
                    Ok(ToEmbed::Chosen { meta, faces, image }) => {
                        let (boxes, crops): (Vec<(u64, BBox)>, Vec<RgbImage>) =
                            faces.into_iter().map(|f| ((f.track, f.bbox), f.aligned)).unzip();
                        let known = if with_liveness {
                            if job_tx.send(LivenessJob { index: meta.index, image, faces: boxes.clone() }).is_err() {
                                break; // the worker failed: its error is reported below
                            }
                            outstanding += 1;
                            None
                        } else {
                            Some(false)
                        };
                        let t = Instant::now();
                        let embeddings = engine.embed(&crops)?;
                        times.since(t);
                        let faces = boxes.iter().zip(embeddings).map(|(&(track, _), e)| (track, known, e)).collect();
                        in_flight.embedded();
                        if !with_liveness {
                            in_flight.judged();
                        }
                        if out.send(Embedded::Faces { meta, faces }).is_err() {
                            break;
                        }
                    }
                    Ok(ToEmbed::Ended(tracks)) => {
                        // Every verdict on a track before its end.
                        for _ in 0..std::mem::take(&mut outstanding) {
                            let Ok(verdicts) = verdict_rx.recv() else { break };
                            forward(verdicts)?;
                        }
                        if out.send(Embedded::Ended(tracks)).is_err() {
                            break;
                        }
                    }
                    Err(_) => break, // the source ended
                },
                recv(verdict_rx) -> verdicts => {
                    let Ok(verdicts) = verdicts else { break };
                    outstanding = outstanding.saturating_sub(1);
                    if !forward(verdicts)? {
                        break;
                    }
                }
            }
        }
        drop(job_tx);
        for verdicts in verdict_rx.iter() {
            forward(verdicts)?;
        }
        let liveness = joined("liveness", worker.join().map(Ok))?;
        Ok([times.stats(), liveness])
    })
}

/// Lowers the calling thread's CPU priority. The anti-spoofing model keeps a core busy
/// ~100 ms per chosen frame, and its verdicts are waited for only where they could change an
/// outcome; the stages every frame goes through, and the embedding, should not wait for it.
fn yield_to_the_frame_stages() {
    // SAFETY: setpriority only reads its arguments; on Linux, PRIO_PROCESS with a thread id
    // sets that one thread's nice value. Failure leaves the priority as it was.
    let tid = unsafe { libc::gettid() };
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10) } != 0 {
        tracing::debug!("could not lower the anti-spoofing thread's priority");
    }
}

/// Runs the anti-spoofing model on each job's faces.
fn liveness_worker(
    engine: &FaceEngine,
    live: &LiveStats,
    jobs: Receiver<LivenessJob>,
    verdicts: Sender<Result<FrameVerdicts>>,
) -> StageStats {
    let mut times = Times::new("liveness", live);
    yield_to_the_frame_stages();
    for job in jobs {
        let t = Instant::now();
        let judged = job
            .faces
            .iter()
            .map(|(track, bbox)| Ok((*track, engine.check_liveness(&job.image, bbox)?.is_some_and(|l| !l.live))))
            .collect::<Result<Vec<_>>>()
            .map(|verdicts| FrameVerdicts { index: job.index, verdicts });
        times.since(t);
        if verdicts.send(judged).is_err() {
            break;
        }
    }
    times.stats()
}

struct DecideReport {
    decisions: usize,
    undecided: Vec<u64>,
    times: StageStats,
    e2e: StageStats,
    embedded_frames: Vec<EmbeddedFrame>,
}

/// Evidence gathered for one track.
#[derive(Default)]
struct TrackEvidence {
    observations: Vec<Observation>,
    /// Each observation's frame: where a late verdict belongs, and the time and arrival a
    /// decision on it is reported with.
    frames: Vec<FrameRef>,
    /// The first observations the rules have seen with every verdict in, and found not yet
    /// enough. The next is judged next, whatever order verdicts arrive in: decisions are the
    /// same as if every verdict had been there with its embedding.
    judged: usize,
    decided: bool,
    last_seen: Option<Instant>,
}

struct FrameRef {
    index: u64,
    /// Source time, s.
    t: f64,
    captured: Instant,
}

/// A ticket shown at the lane waits this long for a face to compare with, then is decided
/// without one (staff check the passenger).
const FACE_WAIT: Duration = Duration::from_secs(4);
/// The face at the lane is the track observed most recently, if that was this recent.
const FACE_FRESH: Duration = Duration::from_secs(3);

/// The decide stage's state: the evidence per track, a presented ticket waiting for a face.
struct Deciding<'a> {
    decider: &'a mut dyn Decider,
    sinks: &'a mut [Box<dyn DecisionSink>],
    /// Tells the assess stage which tracks are decided.
    decided: Sender<u64>,
    tracks: HashMap<u64, TrackEvidence>,
    pending: Option<(Presented, Instant)>,
    /// Source time of the latest frame, for decisions not tied to a frame.
    last_t: f64,
    decisions: usize,
    undecided: Vec<u64>,
    embedded_frames: Vec<EmbeddedFrame>,
}

fn decide_stage(
    decider: &mut dyn Decider,
    (sinks, decided): (&mut [Box<dyn DecisionSink>], Sender<u64>),
    live: &LiveStats,
    mut embedded: Receiver<Embedded>,
    mut passed: Receiver<Meta>,
    presented: [Receiver<Presented>; 2],
) -> Result<DecideReport> {
    let mut times = Times::new("decide", live);
    // From a frame's arrival to the end of its way through the lane.
    let mut e2e = Times::new("e2e", live);
    let mut state = Deciding::new(decider, sinks, decided);
    let [mut scanned, mut camera_qr] = presented;
    // Until both the embed stage and the frames passing it have ended.
    let (mut embedding, mut passing) = (true, true);
    while embedding || passing {
        crossbeam_channel::select! {
            recv(embedded) -> item => match item {
                Ok(Embedded::Faces { meta, faces }) => {
                    let (t, count) = (Instant::now(), faces.len());
                    state.seen(&meta);
                    state.faces(&meta, faces)?;
                    times.since(t);
                    let e2e_ms = elapsed_ms(meta.captured);
                    e2e.record(e2e_ms);
                    state.embedded_frames.push(EmbeddedFrame { index: meta.index, faces: count, e2e_ms });
                }
                Ok(Embedded::Verdicts(verdicts)) => state.verdicts(verdicts)?,
                Ok(Embedded::Ended(tracks)) => state.ended(tracks),
                Err(_) => (embedded, embedding) = (crossbeam_channel::never(), false),
            },
            recv(passed) -> meta => match meta {
                Ok(meta) => {
                    state.seen(&meta);
                    e2e.since(meta.captured);
                }
                Err(_) => (passed, passing) = (crossbeam_channel::never(), false),
            },
            recv(scanned) -> ticket => match ticket {
                Ok(ticket) => state.pending = Some((ticket, Instant::now())),
                // The ticket reader is gone: the lane goes on without it.
                Err(_) => scanned = crossbeam_channel::never(),
            },
            recv(camera_qr) -> ticket => match ticket {
                Ok(ticket) => state.pending = Some((ticket, Instant::now())),
                Err(_) => camera_qr = crossbeam_channel::never(),
            },
            default(Duration::from_millis(100)) => {}
        }
        state.try_presented(false)?;
    }
    state.try_presented(true)?; // the source ended: decide a waiting ticket now
    Ok(DecideReport {
        decisions: state.decisions,
        undecided: state.undecided,
        times: times.stats(),
        e2e: e2e.stats(),
        embedded_frames: state.embedded_frames,
    })
}

impl<'a> Deciding<'a> {
    fn new(decider: &'a mut dyn Decider, sinks: &'a mut [Box<dyn DecisionSink>], decided: Sender<u64>) -> Self {
        Deciding {
            decider,
            sinks,
            decided,
            tracks: HashMap::new(),
            pending: None,
            last_t: 0.0,
            decisions: 0,
            undecided: Vec::new(),
            embedded_frames: Vec::new(),
        }
    }

    fn seen(&mut self, meta: &Meta) {
        self.last_t = self.last_t.max(meta.timestamp_ms / 1000.0);
    }

    fn faces(&mut self, meta: &Meta, faces: Vec<(u64, Option<bool>, Vec<f32>)>) -> Result<()> {
        for (track, spoof, embedding) in faces {
            let evidence = self.tracks.entry(track).or_default();
            // Kept after a decision too: a ticket shown next is compared with this face.
            evidence.observations.push(Observation { spoof, embedding });
            evidence.frames.push(FrameRef { index: meta.index, t: meta.timestamp_ms / 1000.0, captured: meta.captured });
            evidence.last_seen = Some(Instant::now());
            self.judge(track)?;
        }
        Ok(())
    }

    fn verdicts(&mut self, FrameVerdicts { index, verdicts }: FrameVerdicts) -> Result<()> {
        for (track, spoof) in verdicts {
            let Some(evidence) = self.tracks.get_mut(&track) else { continue };
            let Some(at) = evidence.frames.iter().position(|f| f.index == index) else { continue };
            evidence.observations[at].spoof = Some(spoof);
            self.judge(track)?;
        }
        Ok(())
    }

    /// Applies the rules to a track's observations one more at a time, from the first not yet
    /// judged, as far as the verdicts in allow. Not while a ticket shown at the lane waits:
    /// that passenger asked for the ticket check, which decides the face it is compared with.
    fn judge(&mut self, track: u64) -> Result<()> {
        if self.pending.is_some() {
            return Ok(());
        }
        let Some(evidence) = self.tracks.get_mut(&track) else { return Ok(()) };
        while !evidence.decided && evidence.judged < evidence.observations.len() {
            let next = evidence.judged;
            if let Some(decision) = self.decider.decide(track, &evidence.observations[..=next])? {
                evidence.decided = true;
                // Only unsent once the assess stage has stopped, and then nobody asks.
                let _ = self.decided.send(track);
                let frame = &evidence.frames[next];
                let (t, latency_ms) = (frame.t, elapsed_ms(frame.captured));
                return self.emit(t, track, decision, latency_ms);
            }
            if evidence.observations[next].spoof.is_none() {
                break; // judged again when its verdict comes
            }
            evidence.judged += 1;
        }
        Ok(())
    }

    fn ended(&mut self, tracks: Vec<Track>) {
        for ended in tracks {
            if !self.tracks.remove(&ended.id).is_some_and(|e| e.decided) {
                tracing::info!(track = ended.id, hits = ended.hits, "track left without a decision");
                self.undecided.push(ended.id);
            }
        }
    }

    /// Decides a presented ticket once the face at the lane is known, or when waiting longer
    /// (or at all, if `now`) would not help.
    fn try_presented(&mut self, now: bool) -> Result<()> {
        let Some((ticket, since)) = &self.pending else { return Ok(()) };
        let face = self
            .tracks
            .iter()
            .filter_map(|(id, e)| e.last_seen.filter(|seen| seen.elapsed() <= FACE_FRESH).map(|seen| (seen, *id)))
            .max()
            .map(|(_, id)| id);
        let observations: &[Observation] = face.and_then(|id| self.tracks.get(&id)).map_or(&[], |e| &e.observations);
        // A face, with its anti-spoofing verdicts in (they follow within a frame or two).
        let ready = face.is_some() && observations.iter().all(|o| o.spoof.is_some());
        if !ready && !now && since.elapsed() < FACE_WAIT {
            return Ok(());
        }
        let waited_ms = elapsed_ms(*since);
        let decision = self.decider.present(face.unwrap_or_default(), ticket, observations)?;
        self.pending = None;
        if let Some(decision) = decision {
            if let Some((id, evidence)) = face.and_then(|id| self.tracks.get_mut(&id).map(|e| (id, e))) {
                evidence.decided = true;
                let _ = self.decided.send(id);
            }
            self.emit(self.last_t, face.unwrap_or_default(), decision, waited_ms)?;
        }
        // The faces held back while the ticket waited.
        let mut held: Vec<u64> = self.tracks.iter().filter(|(_, e)| !e.decided).map(|(id, _)| *id).collect();
        held.sort_unstable(); // in the order the tracks began
        for track in held {
            self.judge(track)?;
        }
        Ok(())
    }

    fn emit(&mut self, t: f64, track: u64, decision: Decision, latency_ms: f64) -> Result<()> {
        self.decisions += 1;
        let lane_decision = LaneDecision { t, track, kiosk: kiosk::view(&decision), decision, latency_ms };
        for sink in self.sinks.iter_mut() {
            sink.emit(&lane_decision)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};

    use super::*;
    use boardcheck_core::boarding::Policy;
    use boardcheck_core::decider::{LocalDecider, TicketKeys};
    use boardcheck_core::manifest::cache::LaneManifest;
    use boardcheck_core::manifest::keys::StationKeys;
    use boardcheck_core::manifest::store::Store;
    use boardcheck_core::ticket::IssuerKeys;

    struct Collect(Arc<Mutex<Vec<(u64, String, f64)>>>);

    impl DecisionSink for Collect {
        fn emit(&mut self, d: &LaneDecision) -> Result<()> {
            self.0.lock().expect("not poisoned").push((d.track, d.decision.outcome.clone(), d.t));
            Ok(())
        }
    }

    fn meta(index: u64) -> Meta {
        Meta { index, timestamp_ms: index as f64 * 100.0, captured: Instant::now() }
    }

    /// Feeds one track's frames (embeddings with their verdict pending) and then, after
    /// frame `verdicts_after` of them, the verdicts in order, to a decide stage with an empty
    /// manifest; its decisions as (track, outcome, t).
    fn decide_with_late_verdicts(spoofs: &[bool], verdicts_after: usize) -> Vec<(u64, String, f64)> {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("lane.db")).expect("store");
        let station = StationKeys::load_or_create(&dir.path().join("station.key")).expect("key");
        let issuers = IssuerKeys::default();
        let manifest = LaneManifest { candidates: Vec::new(), served_trips: HashSet::new(), trips: Vec::new() };
        let keys = TicketKeys { station: &station, issuers: &issuers };
        let mut decider = LocalDecider { manifest: &manifest, store: &store, keys, lane: "lane-1".into(), policy: Policy::default() };
        let decisions = Arc::new(Mutex::new(Vec::new()));
        let mut sinks: Vec<Box<dyn DecisionSink>> = vec![Box::new(Collect(decisions.clone()))];
        let (decided, _) = crossbeam_channel::unbounded();
        let mut state = Deciding::new(&mut decider, &mut sinks, decided);
        let verdict = |i: usize| FrameVerdicts { index: i as u64, verdicts: vec![(7, spoofs[i])] };
        for i in 0..spoofs.len() {
            state.faces(&meta(i as u64), vec![(7, None, vec![1.0, 0.0])]).expect("decides");
            if i + 1 == verdicts_after {
                (0..=i).try_for_each(|v| state.verdicts(verdict(v))).expect("decides");
            } else if i + 1 > verdicts_after {
                state.verdicts(verdict(i)).expect("decides");
            }
        }
        let decided = decisions.lock().expect("not poisoned").clone();
        decided
    }

    #[test]
    fn late_verdicts_give_the_decisions_of_verdicts_that_came_with_their_embeddings() {
        let patterns: [&[bool]; 5] =
            [&[false, false, false], &[true, false, false], &[false, true, true], &[false, true, false, false], &[true]];
        for spoofs in patterns {
            let on_time = decide_with_late_verdicts(spoofs, 1);
            for late in 2..=spoofs.len() {
                assert_eq!(decide_with_late_verdicts(spoofs, late), on_time, "{spoofs:?}, verdicts from frame {late}");
            }
            assert_eq!(on_time.len(), 1, "{spoofs:?}: one decision");
        }
        // Two live verdicts of three: decided as the third embedding arrives, on that frame.
        assert_eq!(decide_with_late_verdicts(&[false, false, false], 1), vec![(7, "not_on_manifest".to_string(), 0.2)]);
        assert_eq!(decide_with_late_verdicts(&[false, true, true], 1), vec![(7, "spoof_suspected".to_string(), 0.1)]);
    }
}
