//! The lane's threads beside the pipeline while it decides through the station service: one
//! reports the lane's health every two seconds, one long-polls for staff resolutions of the
//! lane's manual checks and hands them to the lane's outputs (the gate opens on an approval).
//! [`Workers`] holds them. The health worker follows the lane's shutdown signal: the moment the
//! lane fails it reports the camera down, with no frame rate, and stops; so does it when the
//! workers are dropped (the lane ended). A lane that died is never reported up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use super::ServiceClient;
use crate::error::{Error, Result};
use crate::outputs::DecisionSink;
use crate::pipeline::stats::LiveStats;
use crate::pipeline::{LaneDecision, Shutdown};
use boardcheck_api::{Camera, HealthReport};
use boardcheck_core::boarding::kiosk;

/// How often the lane reports its health.
const HEALTH_EVERY: Duration = Duration::from_secs(2);
/// How long to wait before asking again when the service cannot be reached.
const RETRY: Duration = Duration::from_secs(2);

/// The running workers; dropping them stops them, and the service hears the camera is down.
pub struct Workers {
    /// Dropped to stop the workers: their receivers then disconnect.
    stop: Option<Sender<()>>,
    health: Option<JoinHandle<()>>,
}

impl Workers {
    /// Starts both workers. `camera_up` is the camera's state as the source reports it,
    /// `lane` the lane's shutdown signal, `checks` which track each manual check came from,
    /// `sinks` where resolutions go.
    pub fn start(
        client: &ServiceClient,
        live: Arc<LiveStats>,
        camera_up: Arc<AtomicBool>,
        lane: &Shutdown,
        checks: Arc<Mutex<HashMap<i64, u64>>>,
        sinks: Vec<Box<dyn DecisionSink>>,
    ) -> Result<Workers> {
        let (stop, stopped) = crossbeam_channel::bounded(0);
        let health = spawn("lane-health", {
            let (client, lane, stopped) = (client.clone(), lane.clone(), stopped.clone());
            move || report_health(&client, &live, &camera_up, &lane, &stopped)
        })?;
        // Not joined: a long-poll in flight ends within the service's wait (20 s), and then
        // this worker sees the stop; nothing waits for it meanwhile.
        spawn("lane-resolutions", {
            let client = client.clone();
            move || deliver_resolutions(&client, &checks, sinks, &stopped)
        })?;
        Ok(Workers { stop: Some(stop), health: Some(health) })
    }
}

impl Drop for Workers {
    /// Stops the workers, and waits for the health worker's last report.
    fn drop(&mut self) {
        self.stop = None;
        if let Some(health) = self.health.take() {
            let _ = health.join(); // it only reports: a panic there has been logged already
        }
    }
}

fn spawn(name: &str, work: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name.into()).spawn(work).map_err(|e| Error::io(format!("<{name} thread>"), e))
}

/// Every two seconds until stopped or the lane stops: camera state, frame rate and the stage
/// times since the last report; then once more, the camera down, with the last stage times.
fn report_health(client: &ServiceClient, live: &LiveStats, camera_up: &AtomicBool, lane: &Shutdown, stopped: &Receiver<()>) {
    let mut last_frames = live.frames();
    loop {
        crossbeam_channel::select! {
            // Neither is ever sent on: each disconnects to stop the worker.
            recv(stopped) -> _ => break,
            recv(lane.fired()) -> _ => break,
            default(HEALTH_EVERY) => {}
        }
        let frames = live.frames();
        let fps = (frames - last_frames) as f64 / HEALTH_EVERY.as_secs_f64();
        last_frames = frames;
        let camera = if camera_up.load(Ordering::Relaxed) { Camera::Up } else { Camera::Down };
        let report = HealthReport { camera, fps, frames, dropped: None, samples: live.drain() };
        if let Err(e) = client.report_health(&report) {
            tracing::warn!(error = %e, "health report not delivered");
        }
    }
    let report = HealthReport { camera: Camera::Down, fps: 0.0, frames: live.frames(), dropped: None, samples: live.drain() };
    if let Err(e) = client.report_health(&report) {
        tracing::warn!(error = %e, "the lane's last health report (camera down) not delivered");
    }
}

/// The track a resolved check came from, forgotten now: a check is resolved once, so the map
/// holds only the checks still open.
fn resolved_track(checks: &Mutex<HashMap<i64, u64>>, check: Option<i64>) -> u64 {
    let mut checks = checks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    check.and_then(|c| checks.remove(&c)).unwrap_or_default()
}

/// Staff resolutions of this lane's manual checks, to `sinks` as they arrive, until stopped.
fn deliver_resolutions(
    client: &ServiceClient,
    checks: &Mutex<HashMap<i64, u64>>,
    mut sinks: Vec<Box<dyn DecisionSink>>,
    stopped: &Receiver<()>,
) {
    let started = Instant::now();
    // What was resolved before this lane started is not news.
    let mut after = client.results(None, false).map_or(0, |(last, _)| last);
    while stopped.try_recv() == Err(TryRecvError::Empty) {
        match client.results(Some(after), true) {
            Ok((last, decisions)) => {
                after = last;
                for decision in decisions {
                    let track = resolved_track(checks, decision.manual_check);
                    let lane_decision = LaneDecision {
                        t: started.elapsed().as_secs_f64(),
                        track,
                        kiosk: kiosk::view(&decision),
                        decision,
                        latency_ms: 0.0,
                    };
                    for sink in sinks.iter_mut() {
                        if let Err(e) = sink.emit(&lane_decision) {
                            tracing::warn!(error = %e, "a staff resolution did not reach an output");
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach the station service for staff resolutions; retrying");
                if stopped.recv_timeout(RETRY) != Err(RecvTimeoutError::Timeout) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resolved_check_is_forgotten() {
        // Today every check a lane ever opened stayed in the map for the life of the lane.
        let checks = Mutex::new(HashMap::from([(7, 3), (8, 4)]));
        assert_eq!(resolved_track(&checks, Some(7)), 3);
        assert_eq!(resolved_track(&checks, Some(7)), 0, "delivered once");
        assert_eq!(checks.lock().map(|c| c.len()).unwrap_or_default(), 1);
        assert_eq!(resolved_track(&checks, None), 0);
    }
}
