//! `boardcheck bench`: the lane pipeline's latency and throughput over a video or an image
//! folder, next to the floor — the raw ONNX Runtime time of the detector and the embedder on
//! the same frames — so the pipeline's own overhead is visible.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::error::{Error, Result};
use boardcheck_core::boarding::{BoardingWindow, LaneScope, Policy};
use boardcheck_core::decider::{LocalDecider, TicketKeys};
use boardcheck_core::manifest::cache::ManifestCache;
use boardcheck_core::manifest::keys::StationKeys;
use boardcheck_core::manifest::store::Store;
use boardcheck_core::ticket::IssuerKeys;
use boardcheck_lane::ingest::{self, Frame, FrameSource, Paced};
use boardcheck_lane::outputs::DecisionSink;
use boardcheck_lane::pipeline::stats::StageStats;
use boardcheck_lane::pipeline::{self, LaneDecision, LaneOptions};
use boardcheck_vision::face::FaceEngine;

#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl From<&StageStats> for Percentiles {
    fn from(s: &StageStats) -> Self {
        Percentiles { p50_ms: s.p50_ms, p95_ms: s.p95_ms, p99_ms: s.p99_ms }
    }
}

/// Raw inference per frame: the detector on every frame, the embedder on the faces the lane
/// embedded in it.
#[derive(Debug, Clone, Serialize)]
pub struct Floor {
    #[serde(flatten)]
    pub percentiles: Percentiles,
    /// Frames the floor was measured on.
    pub frames: usize,
    /// The frames came at the source's rate, as they came to the lane (`--realtime`).
    pub paced: bool,
    /// With `paced`: the same, back to back, the models' caches kept warm by the frame
    /// before: the least the models can take here, not what they take at a camera's pace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub back_to_back: Option<Percentiles>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Decisions {
    pub count: usize,
    pub latency: Percentiles,
}

/// Collects each decision's latency.
struct DecisionLatencies(Arc<Mutex<Vec<f64>>>);

impl DecisionSink for DecisionLatencies {
    fn emit(&mut self, decision: &LaneDecision) -> boardcheck_lane::Result<()> {
        if let Ok(mut latencies) = self.0.lock() {
            latencies.push(decision.latency_ms);
        }
        Ok(())
    }
}

/// The frames a face was chosen on (the ones decisions are made on): their e2e and floor.
#[derive(Debug, Clone, Serialize)]
pub struct EmbeddedFrames {
    pub frames: usize,
    pub e2e: Percentiles,
    pub floor: Percentiles,
    /// As [`Floor::back_to_back`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub back_to_back: Option<Percentiles>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub source: String,
    pub frames: u64,
    /// Frames that went through every stage, per second of wall time.
    pub fps: f64,
    pub dropped: u64,
    pub stages: BTreeMap<String, Percentiles>,
    pub e2e: Percentiles,
    pub floor: Floor,
    pub embedded: EmbeddedFrames,
    /// One per track: from the arrival of the frame that decided it to the recorded decision.
    pub decisions: Decisions,
    pub threads: usize,
    /// Frames were fed at the source's rate.
    pub realtime: bool,
}

/// At most `limit` frames of a source; if `paced`, at the source's rate ([`Paced`]).
struct Limited {
    inner: Box<dyn FrameSource>,
    left: u64,
}

impl Limited {
    fn open(source: &str, limit: u64, paced: bool) -> Result<Self> {
        let opened = ingest::open_source(source)?;
        let inner = if paced { Box::new(Paced::new(opened)) } else { opened };
        Ok(Limited { inner, left: limit })
    }
}

impl FrameSource for Limited {
    fn next_frame(&mut self) -> boardcheck_lane::Result<Option<Frame>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        self.inner.next_frame()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn skipped(&self) -> u64 {
        self.inner.skipped()
    }
}

/// Runs the lane pipeline over `source` (with an empty manifest: every track is searched and
/// recorded as not on the manifest), then measures the floor on the same frames. `realtime`
/// feeds the frames at the source's own rate (a camera's view); otherwise as fast as they
/// decode (the pipeline's throughput).
pub fn run(engine: &FaceEngine, source: &str, frames: Option<u64>, threads: usize, realtime: bool) -> Result<BenchReport> {
    let dir = tempfile::tempdir().map_err(|e| Error::io("<tempdir>", e))?;
    let store = Store::open(&dir.path().join("bench.db"))?;
    let cache = ManifestCache::default();
    let (station_keys, issuers) = (StationKeys::load_or_create(&dir.path().join("station.key"))?, IssuerKeys::default());
    let limit = frames.unwrap_or(u64::MAX);
    let limited = Box::new(Limited::open(source, limit, realtime)?);
    // Latest frame wins, as with a live camera: the figures are what a lane would see.
    let options = LaneOptions { drop_stale: true, ..LaneOptions::default() };
    let keys = TicketKeys { station: &station_keys, issuers: &issuers };
    let scope = LaneScope { gate: Some("bench".to_string()), trips: Vec::new(), window: BoardingWindow::minutes(60, 30) };
    let (lane, model) = ("bench".to_string(), engine.embedder_id().to_string());
    let mut decider = LocalDecider { cache: &cache, store: &store, keys, lane, scope, model, policy: Policy::default() };
    let decision_latencies = Arc::new(Mutex::new(Vec::new()));
    let mut sinks: Vec<Box<dyn DecisionSink>> = vec![Box::new(DecisionLatencies(decision_latencies.clone()))];
    let report = pipeline::run(engine, limited, &mut decider, &mut sinks, &options)?;
    let decisions = decision_latencies.lock().map(|l| l.clone()).unwrap_or_default();
    let processed = report.e2e.count as f64;
    let embedded: HashMap<u64, usize> = report.embedded_frames.iter().map(|f| (f.index, f.faces)).collect();
    // One model after another, as the floor is defined: the lane runs its embedders at once.
    let sequential = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| Error::Harness(format!("a one-thread pool for the floor: {e}")))?;
    let floor_ms = sequential.install(|| floor(engine, Limited::open(source, limit, realtime)?, &embedded))?;
    let back_to_back = match realtime {
        true => Some(sequential.install(|| floor(engine, Limited::open(source, limit, false)?, &embedded))?),
        false => None,
    };
    let all: Vec<f64> = floor_ms.values().copied().collect();
    let chosen = |floor_ms: &HashMap<u64, f64>| -> Vec<f64> {
        report.embedded_frames.iter().filter_map(|f| floor_ms.get(&f.index).copied()).collect()
    };
    let chosen_e2e: Vec<f64> = report.embedded_frames.iter().map(|f| f.e2e_ms).collect();
    let percentiles = |samples: &[f64]| Percentiles::from(&StageStats::from_samples("", samples));
    Ok(BenchReport {
        source: source.to_string(),
        frames: report.frames,
        fps: processed / report.wall_s.max(1e-9),
        dropped: report.dropped,
        stages: report.stages.iter().map(|s| (s.name.clone(), Percentiles::from(s))).collect(),
        e2e: Percentiles::from(&report.e2e),
        floor: Floor {
            frames: all.len(),
            percentiles: percentiles(&all),
            paced: realtime,
            back_to_back: back_to_back.as_ref().map(|b| percentiles(&b.values().copied().collect::<Vec<_>>())),
        },
        decisions: Decisions { count: decisions.len(), latency: percentiles(&decisions) },
        embedded: EmbeddedFrames {
            frames: chosen_e2e.len(),
            e2e: percentiles(&chosen_e2e),
            floor: percentiles(&chosen(&floor_ms)),
            back_to_back: back_to_back.as_ref().map(|b| percentiles(&chosen(b))),
        },
        threads,
        realtime,
    })
}

/// Raw inference time of the detector and the embedder per frame, frame by frame on one
/// thread with nothing else running: the detector on each frame, and on the frames where the
/// lane embedded faces (`embedded`: frame index → faces), the embedder on as many of the
/// frame's faces. Frames come as they came to the lane: at the source's rate if it was fed
/// in real time, where a model meets caches cooled since the last frame as the lane's do.
/// In ms, by frame index.
fn floor(engine: &FaceEngine, mut source: Limited, embedded: &HashMap<u64, usize>) -> Result<HashMap<u64, f64>> {
    let mut samples = HashMap::new();
    while let Some(frame) = source.next_frame()? {
        let before = engine.inference_time();
        let detections = engine.detect(&frame.image)?;
        let wanted = embedded.get(&frame.index).copied().unwrap_or(0);
        let mut crops = Vec::new();
        for d in &detections {
            if crops.len() == wanted {
                break;
            }
            crops.extend(engine.locate(&frame.image, d)?.map(|located| located.aligned));
        }
        if !crops.is_empty() {
            engine.embed(&crops)?;
        }
        // Only the detector's and the embedder's time: not the landmarks that found the crops.
        samples.insert(frame.index, (engine.inference_time() - before).as_secs_f64() * 1000.0);
    }
    Ok(samples)
}
