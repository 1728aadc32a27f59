//! The decide stage's thread: it hands the [`Judge`] what comes in on its links (embeddings
//! and verdicts, track ends, frames passing the embed stage, tickets shown), with the time, and
//! passes the decisions on to the sinks, and the tracks decided back to the assess stage. It
//! also times the stage and each frame's way through the lane.
//!
//! The decider failing is the lane failing: its error ends the stage (and so the lane). An
//! output failing is not: the decision is recorded already, and the kiosk file, stdout or the
//! gate relay may well take the next one, so the failure is logged and counted. When the
//! lane's shutdown signal fires the stage stops at once and decides nothing more.

use boardcheck_api::Stage;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::capture::Meta;
use super::embed::Embedded;
use super::judge::{Decided, Judge, Latency};
use super::shutdown::Shutdown;
use super::stats::{elapsed_ms, LiveStats, StageStats, Times};
use super::{EmbeddedFrame, LaneDecision};
use crate::decider::Decider;
use crate::error::Result;
use crate::outputs::DecisionSink;
use boardcheck_core::boarding::kiosk;
use boardcheck_core::decider::Presented;

pub(super) struct DecideReport {
    pub decisions: usize,
    pub undecided: Vec<u64>,
    pub times: StageStats,
    pub e2e: StageStats,
    pub embedded_frames: Vec<EmbeddedFrame>,
    pub output_failures: u64,
}

/// Where decisions go.
struct Outputs<'a> {
    sinks: &'a mut [Box<dyn DecisionSink>],
    /// Tells the assess stage which tracks are decided.
    decided: Sender<u64>,
    decisions: usize,
    /// Decisions an output did not take.
    failures: u64,
}

impl Outputs<'_> {
    fn emit(&mut self, decided: Vec<Decided>) {
        for Decided { t, track, decision, latency } in decided {
            if let Some(track) = track {
                // Only unsent once the assess stage has stopped, and then nobody asks.
                let _ = self.decided.send(track);
            }
            self.decisions += 1;
            let latency_ms = match latency {
                Latency::Since(captured) => elapsed_ms(captured),
                Latency::Waited(ms) => ms,
            };
            let lane_decision = LaneDecision { t, track: track.unwrap_or_default(), kiosk: kiosk::view(&decision), decision, latency_ms };
            for sink in self.sinks.iter_mut() {
                if let Err(error) = sink.emit(&lane_decision) {
                    self.failures += 1;
                    tracing::warn!(%error, track = lane_decision.track, "an output did not take a decision");
                }
            }
        }
    }
}

pub(super) fn decide_stage(
    decider: &mut dyn Decider,
    (sinks, decided): (&mut [Box<dyn DecisionSink>], Sender<u64>),
    live: &LiveStats,
    mut embedded: Receiver<Embedded>,
    mut passed: Receiver<Meta>,
    presented: [Receiver<Presented>; 2],
    shutdown: &Shutdown,
) -> Result<DecideReport> {
    let mut times = Times::new(Stage::Decide, live);
    // From a frame's arrival to the end of its way through the lane.
    let mut e2e = Times::new(Stage::E2e, live);
    let mut judge = Judge::default();
    let mut out = Outputs { sinks, decided, decisions: 0, failures: 0 };
    let (mut undecided, mut embedded_frames) = (Vec::new(), Vec::new());
    let [mut scanned, mut camera_qr] = presented;
    // Until both the embed stage and the frames passing it have ended.
    let (mut embedding, mut passing) = (true, true);
    while embedding || passing {
        crossbeam_channel::select! {
            recv(embedded) -> item => match item {
                Ok(Embedded::Faces { meta, faces }) => {
                    let (t, count) = (Instant::now(), faces.len());
                    out.emit(judge.faces(decider, &meta, faces, t)?);
                    times.since(t);
                    let e2e_ms = elapsed_ms(meta.captured);
                    e2e.record(e2e_ms);
                    embedded_frames.push(EmbeddedFrame { index: meta.index, faces: count, e2e_ms });
                }
                Ok(Embedded::Verdicts(verdicts)) => out.emit(judge.verdicts(decider, verdicts)?),
                Ok(Embedded::Ended(tracks)) => {
                    for ended in tracks {
                        if !judge.ended(ended.id) {
                            tracing::info!(track = ended.id, hits = ended.hits, "track left without a decision");
                            undecided.push(ended.id);
                        }
                    }
                }
                Err(_) => (embedded, embedding) = (crossbeam_channel::never(), false),
            },
            recv(passed) -> meta => match meta {
                Ok(meta) => {
                    judge.seen(&meta);
                    e2e.since(meta.captured);
                }
                Err(_) => (passed, passing) = (crossbeam_channel::never(), false),
            },
            recv(scanned) -> ticket => match ticket {
                Ok(ticket) => judge.ticket_shown(ticket, Instant::now()),
                // The ticket reader is gone: the lane goes on without it.
                Err(_) => scanned = crossbeam_channel::never(),
            },
            recv(camera_qr) -> ticket => match ticket {
                Ok(ticket) => judge.ticket_shown(ticket, Instant::now()),
                Err(_) => camera_qr = crossbeam_channel::never(),
            },
            // Never sent on: disconnects when the lane stops.
            recv(shutdown.fired()) -> _ => break,
            // Wakes to decide a ticket that has waited long enough for a face.
            default(Duration::from_millis(100)) => {}
        }
        out.emit(judge.tick(decider, Instant::now())?);
    }
    if !shutdown.is_stopped() {
        out.emit(judge.finish(decider, Instant::now())?);
    }
    let output_failures = out.failures;
    Ok(DecideReport { decisions: out.decisions, undecided, times: times.stats(), e2e: e2e.stats(), embedded_frames, output_failures })
}
