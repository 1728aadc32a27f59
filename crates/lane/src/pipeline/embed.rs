//! The embed stage: embeds the chosen faces and hands each embedding on at once, with the
//! anti-spoofing model on its own thread beside it ([`super::liveness`]) and its verdicts
//! following; and what the assess stage reads of its load ([`InFlight`]).

use boardcheck_api::Stage;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use image::RgbImage;

use super::assess::ToEmbed;
use super::capture::Meta;
use super::joined;
use super::liveness::{liveness_worker, FrameVerdicts, LivenessJob};
use super::stats::{LiveStats, StageStats, Times};
use crate::error::Result;
use boardcheck_vision::face::detect::BBox;
use boardcheck_vision::face::FaceEngine;
use boardcheck_vision::track::Track;

/// What the embed stage hands the decide stage.
pub(super) enum Embedded {
    /// (track, spoof verdict if already known, embedding) for each chosen face of a frame.
    Faces { meta: Meta, faces: Vec<(u64, Option<bool>, Vec<f32>)> },
    /// After that frame's embeddings.
    Verdicts(FrameVerdicts),
    /// After every embedding and verdict of these tracks.
    Ended(Vec<Track>),
}

/// Chosen frames between the assess stage and their last anti-spoofing verdict: one with the
/// anti-spoofing model, one embedded and waiting for it. More would only wait, and be stale
/// when decided on.
const MAX_IN_FLIGHT: usize = 2;

/// Chosen frames on their way through the embed stage and the anti-spoofing model. A live
/// lane chooses a face only when the embedder is free and fewer than [`MAX_IN_FLIGHT`] frames
/// wait for verdicts: a face chosen while another is embedded would wait for it, and its
/// decision with it.
#[derive(Default)]
pub(super) struct InFlight {
    chosen: AtomicUsize,
    embedding: AtomicUsize,
}

impl InFlight {
    pub fn has_room(&self) -> bool {
        self.embedding.load(Ordering::Acquire) == 0 && self.chosen.load(Ordering::Acquire) < MAX_IN_FLIGHT
    }

    pub fn chose(&self) {
        self.chosen.fetch_add(1, Ordering::AcqRel);
        self.embedding.fetch_add(1, Ordering::AcqRel);
    }

    pub fn embedded(&self) {
        self.embedding.fetch_sub(1, Ordering::AcqRel);
    }

    pub fn judged(&self) {
        self.chosen.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Embeds chosen faces and hands each embedding on at once; the anti-spoofing model (≈100 ms,
/// twice the embedding) runs beside it on the other core, and its verdicts follow. The rules
/// wait for a verdict only where it could change the outcome, so a decision need not wait for
/// the slowest model on its own frame.
pub(super) fn embed_stage(
    engine: &FaceEngine,
    live: &LiveStats,
    input: Receiver<ToEmbed>,
    out: Sender<Embedded>,
    in_flight: &InFlight,
) -> Result<[StageStats; 2]> {
    let mut times = Times::new(Stage::Embed, live);
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
