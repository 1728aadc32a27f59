//! The stage threads of a lane and the messages between them.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use image::RgbImage;

use super::decider::{Decider, Observation, Presented};
use super::link::{link, link_sized, LinkSender};
use super::stats::{LiveStats, StageStats};
use super::{DecisionSink, LaneDecision, LaneOptions, LaneReport};
use crate::boarding::{kiosk, Decision};
use crate::error::{Error, Result};
use crate::face::detect::{BBox, Detection};
use crate::face::FaceEngine;
use crate::ingest::FrameSource;
use crate::track::{Track, Tracker};

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

/// A tracked face after assessment; `aligned` only when chosen for embedding.
struct Assessed {
    track: u64,
    bbox: BBox,
    aligned: RgbImage,
}

struct AssessedFrame {
    meta: Meta,
    faces: Vec<Assessed>,
    /// The frame, only when a face in it was chosen (the liveness model needs its context).
    image: Option<RgbImage>,
    ended: Vec<Track>,
}

struct EmbeddedFrame {
    meta: Meta,
    /// (track, spoof, embedding) for the faces chosen for embedding.
    faces: Vec<(u64, bool, Vec<f32>)>,
    ended: Vec<Track>,
}

/// Per-item processing times of one stage in milliseconds, also published live.
struct Times<'a> {
    stage: &'static str,
    samples: Vec<f64>,
    live: &'a LiveStats,
}

impl<'a> Times<'a> {
    fn new(stage: &'static str, live: &'a LiveStats) -> Self {
        Times { stage, samples: Vec::new(), live }
    }

    fn since(&mut self, t: Instant) {
        let ms = elapsed_ms(t);
        self.samples.push(ms);
        self.live.record(self.stage, ms);
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
    let (tracked_tx, tracked_rx, dropped_track) = link(false); // ended tracks must not be lost
                                                               // Liveness and embedding take ~150 ms on a chosen frame: room for the frames behind it,
                                                               // so tracking and quality keep pace with the camera meanwhile.
    let (assessed_tx, assessed_rx, dropped_assess) = link_sized(false, ASSESSED_BACKLOG);
    let (embedded_tx, embedded_rx, dropped_embed) = link(false);
    // Frames for the QR reader: only the latest matters, a few times a second.
    let (qr_frame_tx, qr_frame_rx, _) = link(true);
    let qr_frame_tx = QrFeed::new(qr_frame_tx, options.qr_per_second);
    let (qr_tx, qr_rx) = crossbeam_channel::bounded(4);

    let outcome = std::thread::scope(|scope| {
        let capture = scope.spawn(move || capture_stage(source.as_mut(), live, captured_tx, qr_frame_tx));
        scope.spawn(move || qr_stage(qr_frame_rx, qr_tx));
        let detect = scope.spawn(move || detect_stage(engine, live, captured_rx, detected_tx));
        let track = scope.spawn(move || track_stage(live, detected_rx, tracked_tx));
        let assess = scope.spawn(move || assess_stage(engine, options, tracked_rx, assessed_tx));
        let embed = scope.spawn(move || embed_stage(engine, live, assessed_rx, embedded_tx));
        let decided = decide_stage(decider, sinks, live, embedded_rx, [options.presented.clone(), qr_rx]);
        let join = |name: &str, r: std::thread::Result<Result<Vec<f64>>>| {
            r.map_err(|_| Error::Inference { id: name.to_string(), reason: "stage thread panicked".to_string() })?
        };
        let capture =
            capture.join().map_err(|_| Error::Inference { id: "capture".to_string(), reason: "stage thread panicked".to_string() })?;
        let stages = [
            ("detect", join("detect", detect.join())),
            ("track", join("track", track.join())),
            ("assess", join("assess", assess.join())),
            ("embed", join("embed", embed.join())),
        ];
        Ok::<_, Error>((capture, stages, decided))
    })?;
    let (capture, stages, decided) = outcome;
    let capture = capture?;
    let decided = decided?;
    let mut stage_stats = vec![StageStats::from_samples("capture", &capture.times)];
    for (name, times) in stages {
        stage_stats.push(StageStats::from_samples(name, &times?));
    }
    stage_stats.push(StageStats::from_samples("decide", &decided.times));
    let dropped =
        [dropped_capture, dropped_detect, dropped_track, dropped_assess, dropped_embed].iter().map(|d| d.load(Ordering::Relaxed)).sum();
    Ok(LaneReport {
        frames: capture.frames,
        unreadable_frames: capture.unreadable,
        dropped,
        decisions: decided.decisions,
        undecided_tracks: decided.undecided,
        wall_s: started.elapsed().as_secs_f64(),
        stages: stage_stats,
        e2e: StageStats::from_samples("e2e", &decided.e2e),
    })
}

struct CaptureReport {
    frames: u64,
    unreadable: u64,
    times: Vec<f64>,
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
        for text in crate::ticket::decode_qr(&frame) {
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
    let mut report = CaptureReport { frames: 0, unreadable: 0, times: Vec::new() };
    loop {
        let t = Instant::now();
        let frame = match source.next_frame()? {
            Some(frame) => frame,
            None => break,
        };
        times.since(t);
        live.frame_read();
        report.frames += 1;
        // Latency is counted from the frame's arrival, not from the wait for it.
        let meta = Meta { index: frame.index, timestamp_ms: frame.timestamp_ms, captured: Instant::now() };
        qr.offer(&frame.image);
        if !out.send((meta, frame.image)) {
            break;
        }
    }
    report.unreadable = source.skipped();
    report.times = times.samples;
    Ok(report)
}

fn detect_stage(engine: &FaceEngine, live: &LiveStats, input: Receiver<(Meta, RgbImage)>, out: LinkSender<Detected>) -> Result<Vec<f64>> {
    let mut times = Times::new("detect", live);
    for (meta, image) in input {
        let t = Instant::now();
        let detections = engine.detect(&image)?;
        times.since(t);
        if !out.send(Detected { meta, image, detections }) {
            break;
        }
    }
    Ok(times.samples)
}

fn track_stage(live: &LiveStats, input: Receiver<Detected>, out: LinkSender<Tracked>) -> Result<Vec<f64>> {
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
            return Ok(times.samples);
        }
    }
    // The source ended: every open track ends with it.
    let (index, timestamp_ms) = last_meta.unwrap_or((0, 0.0));
    let meta = Meta { index, timestamp_ms, captured: Instant::now() };
    out.send(Tracked { meta, image: RgbImage::new(1, 1), faces: Vec::new(), ended: tracker.finish() });
    Ok(times.samples)
}

/// What the assess stage remembers of a track to choose its frames.
#[derive(Default)]
struct Selection {
    embeds: u32,
    best_quality: f32,
    last_embed_frame: u64,
    /// Eye distance in the track's previous usable frame.
    last_eye_distance: f32,
}

/// Frames the embed stage may fall behind by (most carry no face to embed, and are small).
const ASSESSED_BACKLOG: usize = 4;

/// A face whose size changed less than this between frames has stopped approaching: its
/// frames are sharp and its pose is the one the passenger holds at the kiosk. Frames taken
/// while walking up are blurred and fool the anti-spoofing model, so they are not used.
const SETTLED_CHANGE: f32 = 0.06;

fn assess_stage(engine: &FaceEngine, options: &LaneOptions, input: Receiver<Tracked>, out: LinkSender<AssessedFrame>) -> Result<Vec<f64>> {
    let mut selections: HashMap<u64, Selection> = HashMap::new();
    let mut times = Times::new("assess", &options.live);
    for tracked in input {
        let t = Instant::now();
        let mut faces = Vec::new();
        for (track, detection) in &tracked.faces {
            let Some(located) = engine.locate(&tracked.image, detection)? else { continue };
            if located.quality_issue.is_some() {
                continue;
            }
            let sel = selections.entry(*track).or_default();
            let eyes = located.quality.eye_distance_px;
            let settled = (eyes - sel.last_eye_distance).abs() <= SETTLED_CHANGE * eyes;
            sel.last_eye_distance = eyes;
            if !settled {
                continue;
            }
            // Sharper and larger faces make better templates.
            let quality = eyes * located.quality.sharpness.max(0.0).sqrt();
            let due = sel.embeds == 0
                || quality > 1.1 * sel.best_quality
                || tracked.meta.index >= sel.last_embed_frame + options.reembed_after_frames;
            if sel.embeds >= options.max_embeds_per_track || !due {
                continue;
            }
            sel.embeds += 1;
            sel.best_quality = sel.best_quality.max(quality);
            sel.last_embed_frame = tracked.meta.index;
            faces.push(Assessed { track: *track, bbox: located.bbox, aligned: located.aligned });
        }
        for ended in &tracked.ended {
            selections.remove(&ended.id);
        }
        times.since(t);
        // A frame with no chosen face goes no further; the others end at the embed stage.
        // Live images are never kept.
        let image = (!faces.is_empty()).then_some(tracked.image);
        if !out.send(AssessedFrame { meta: tracked.meta, faces, image, ended: tracked.ended }) {
            break;
        }
    }
    Ok(times.samples)
}

fn embed_stage(engine: &FaceEngine, live: &LiveStats, input: Receiver<AssessedFrame>, out: LinkSender<EmbeddedFrame>) -> Result<Vec<f64>> {
    let mut times = Times::new("embed", live);
    for frame in input {
        let t = Instant::now();
        let mut chosen = Vec::new();
        let mut crops = Vec::new();
        for face in frame.faces {
            let liveness = match &frame.image {
                Some(image) => engine.check_liveness(image, &face.bbox)?,
                None => None,
            };
            chosen.push((face.track, liveness.is_some_and(|l| !l.live)));
            crops.push(face.aligned);
        }
        let embeddings = if crops.is_empty() { Vec::new() } else { engine.embed(&crops)? };
        let faces = chosen.into_iter().zip(embeddings).map(|((track, spoof), e)| (track, spoof, e)).collect();
        times.since(t);
        if !out.send(EmbeddedFrame { meta: frame.meta, faces, ended: frame.ended }) {
            break;
        }
    }
    Ok(times.samples)
}

struct DecideReport {
    decisions: usize,
    undecided: Vec<u64>,
    times: Vec<f64>,
    e2e: Vec<f64>,
}

/// Evidence gathered for one track.
#[derive(Default)]
struct TrackEvidence {
    observations: Vec<Observation>,
    decided: bool,
    last_seen: Option<Instant>,
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
    tracks: HashMap<u64, TrackEvidence>,
    pending: Option<(Presented, Instant)>,
    /// Source time of the latest frame, for decisions not tied to a frame.
    last_t: f64,
    report: DecideReport,
}

fn decide_stage(
    decider: &mut dyn Decider,
    sinks: &mut [Box<dyn DecisionSink>],
    live: &LiveStats,
    input: Receiver<EmbeddedFrame>,
    presented: [Receiver<Presented>; 2],
) -> Result<DecideReport> {
    let mut times = Times::new("decide", live);
    let mut state = Deciding {
        decider,
        sinks,
        tracks: HashMap::new(),
        pending: None,
        last_t: 0.0,
        report: DecideReport { decisions: 0, undecided: Vec::new(), times: Vec::new(), e2e: Vec::new() },
    };
    let [mut scanned, mut camera_qr] = presented;
    loop {
        crossbeam_channel::select! {
            recv(input) -> frame => {
                let Ok(frame) = frame else { break };
                let (t, captured) = (Instant::now(), frame.meta.captured);
                state.frame(frame)?;
                times.since(t);
                state.report.e2e.push(elapsed_ms(captured));
                live.record("e2e", elapsed_ms(captured));
            }
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
    state.report.times = times.samples;
    Ok(state.report)
}

impl Deciding<'_> {
    fn frame(&mut self, frame: EmbeddedFrame) -> Result<()> {
        self.last_t = frame.meta.timestamp_ms / 1000.0;
        for (track, spoof, embedding) in frame.faces {
            let evidence = self.tracks.entry(track).or_default();
            // Kept after a decision too: a ticket shown next is compared with this face.
            evidence.observations.push(Observation { spoof, embedding });
            evidence.last_seen = Some(Instant::now());
            if evidence.decided {
                continue;
            }
            let Some(decision) = self.decider.decide(track, &evidence.observations)? else { continue };
            evidence.decided = true;
            self.emit(track, decision, elapsed_ms(frame.meta.captured))?;
        }
        for ended in frame.ended {
            if !self.tracks.remove(&ended.id).is_some_and(|e| e.decided) {
                tracing::info!(track = ended.id, hits = ended.hits, "track left without a decision");
                self.report.undecided.push(ended.id);
            }
        }
        Ok(())
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
        if face.is_none() && !now && since.elapsed() < FACE_WAIT {
            return Ok(());
        }
        let observations = face.and_then(|id| self.tracks.get(&id)).map(|e| e.observations.clone()).unwrap_or_default();
        let waited_ms = elapsed_ms(*since);
        let decision = self.decider.present(face.unwrap_or_default(), ticket, &observations)?;
        self.pending = None;
        if let Some(decision) = decision {
            if let Some(evidence) = face.and_then(|id| self.tracks.get_mut(&id)) {
                evidence.decided = true;
            }
            self.emit(face.unwrap_or_default(), decision, waited_ms)?;
        }
        Ok(())
    }

    fn emit(&mut self, track: u64, decision: Decision, latency_ms: f64) -> Result<()> {
        self.report.decisions += 1;
        let lane_decision = LaneDecision { t: self.last_t, track, kiosk: kiosk::view(&decision), decision, latency_ms };
        for sink in self.sinks.iter_mut() {
            sink.emit(&lane_decision)?;
        }
        Ok(())
    }
}
