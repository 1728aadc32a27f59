//! The anti-spoofing model's thread, beside the embed stage: it judges the chosen faces of a
//! frame at a lower priority, so the stages every frame goes through do not wait for it.

use boardcheck_api::Stage;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use image::RgbImage;

use super::stats::{LiveStats, StageStats, Times};
use crate::error::Result;
use boardcheck_vision::face::detect::BBox;
use boardcheck_vision::face::FaceEngine;

/// The anti-spoofing verdicts on the chosen faces of frame `index`: (track, spoof).
pub(super) struct FrameVerdicts {
    pub index: u64,
    pub verdicts: Vec<(u64, bool)>,
}

/// A chosen frame for the anti-spoofing model: the frame (the model needs the face's
/// surroundings) and the faces' tracks and boxes.
pub(super) struct LivenessJob {
    pub index: u64,
    pub image: RgbImage,
    pub faces: Vec<(u64, BBox)>,
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
pub(super) fn liveness_worker(
    engine: &FaceEngine,
    live: &LiveStats,
    jobs: Receiver<LivenessJob>,
    verdicts: Sender<Result<FrameVerdicts>>,
) -> StageStats {
    let mut times = Times::new(Stage::Liveness, live);
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
