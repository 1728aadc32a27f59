//! The lane's one shutdown signal. A lane that cannot decide must not go on reading its camera
//! and reporting itself up: the first stage error or panic fires the signal, every stage ends,
//! and [`super::run`] returns that error so the process exits and its supervisor restarts it.
//!
//! How each part hears it: the stages in the middle end when a link they read ends or one they
//! write to has no reader (see [`super::link`]), so a stage gone takes its neighbours with it;
//! the capture stage looks at the signal before every read, and a blocking read (a camera in
//! back-off) ends through its source's own stop flag, which the caller hangs on the signal
//! ([`Shutdown::also_stop`]); the decide stage and the health worker wait on [`Shutdown::fired`]
//! beside their inputs, so they hear it at once. Like mini-redis's `Shutdown`: one flag to look
//! at, and a channel that closes to wake whoever waits.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crossbeam_channel::{Receiver, Sender};

use crate::error::{Error, Result};

/// The signal, shared by every stage of one lane run (clones are the same signal). It fires
/// once and stays fired: a run needs a fresh one.
#[derive(Debug, Clone)]
pub struct Shutdown(Arc<Signal>);

#[derive(Debug)]
struct Signal {
    fired: AtomicBool,
    /// Dropped when the signal fires: every receiver of `closed` then wakes. Nothing is sent.
    wake: Mutex<Option<Sender<()>>>,
    closed: Receiver<()>,
    /// Stop flags of what blocks outside the lane's links (a reconnecting camera's).
    flags: Mutex<Vec<Arc<AtomicBool>>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        let (wake, closed) = crossbeam_channel::bounded(0);
        Shutdown(Arc::new(Signal { fired: AtomicBool::new(false), wake: Mutex::new(Some(wake)), closed, flags: Mutex::default() }))
    }
}

impl Shutdown {
    /// Fires the signal: every stage ends, and every flag hung on it is set.
    pub fn stop(&self) {
        self.0.fired.store(true, Ordering::SeqCst);
        // A poisoned lock still holds what it held; the signal must fire regardless.
        for flag in self.0.flags.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            flag.store(true, Ordering::SeqCst);
        }
        self.0.wake.lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    pub fn is_stopped(&self) -> bool {
        self.0.fired.load(Ordering::SeqCst)
    }

    /// A channel that disconnects when the signal fires, to `select!` on beside other inputs.
    pub fn fired(&self) -> &Receiver<()> {
        &self.0.closed
    }

    /// Sets `flag` when the signal fires (at once if it has): a blocking part with a stop flag
    /// of its own, such as [`crate::ingest::Reconnecting::stop_handle`], ends with the lane.
    pub fn also_stop(&self, flag: Arc<AtomicBool>) {
        self.0.flags.lock().unwrap_or_else(PoisonError::into_inner).push(flag.clone());
        if self.is_stopped() {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// Runs one stage of the lane. Its error or panic fires the signal, so every other stage
    /// ends too, and comes back naming the stage; a stage that the signal stopped ends without
    /// an error of its own, so the lane's failure is the one error its stages return.
    pub(super) fn run_stage<T>(&self, stage: &'static str, work: impl FnOnce() -> Result<T>) -> Result<T> {
        // The stage's state is dropped, never used again, after a panic: unwind safety holds.
        let failure = match catch_unwind(AssertUnwindSafe(work)) {
            Ok(Ok(done)) => return Ok(done),
            Ok(Err(error)) => Error::Stage { stage, error: Box::new(error) },
            Err(panic) => Error::Panicked { stage, message: panic_message(panic.as_ref()) },
        };
        tracing::error!(error = %failure, "the lane stops");
        self.stop();
        Err(failure)
    }
}

/// What a panic said, if it said it in text (as `panic!` and `expect` do).
pub(super) fn panic_message(payload: &(dyn Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(text), _) => text.to_string(),
        (_, Some(text)) => text.clone(),
        _ => "a panic with no message".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_stage_error_fires_the_signal_and_names_the_stage() {
        let shutdown = Shutdown::default();
        let camera = Arc::new(AtomicBool::new(false));
        shutdown.also_stop(camera.clone());
        let waiter = {
            let fired = shutdown.fired().clone();
            std::thread::spawn(move || fired.recv_timeout(Duration::from_secs(20)).is_err_and(|e| e.is_disconnected()))
        };
        let failed = shutdown
            .run_stage("decide", || -> Result<()> { Err(Error::Service { url: "http://station".into(), reason: "unreachable".into() }) });
        let message = failed.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(message, "lane stage decide: station service http://station: unreachable");
        assert!(shutdown.is_stopped());
        assert!(camera.load(Ordering::SeqCst), "the camera's stop flag is set");
        assert_eq!(waiter.join().ok(), Some(true), "a waiter wakes when the signal fires");
    }

    #[test]
    fn a_stage_panic_fires_the_signal_and_says_what_it_said() {
        let shutdown = Shutdown::default();
        let failed = shutdown.run_stage("detect", || -> Result<()> { panic!("model output of the wrong shape") });
        let message = failed.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(message, "lane stage detect panicked: model output of the wrong shape");
        assert!(shutdown.is_stopped());
        // A flag hung on a signal that has fired is set at once.
        let late = Arc::new(AtomicBool::new(false));
        shutdown.also_stop(late.clone());
        assert!(late.load(Ordering::SeqCst));
    }

    #[test]
    fn a_stage_that_ends_well_leaves_the_signal_alone() {
        let shutdown = Shutdown::default();
        assert_eq!(shutdown.run_stage("track", || Ok(7)).ok(), Some(7));
        assert!(!shutdown.is_stopped());
        assert!(shutdown.fired().try_recv().is_err_and(|e| e.is_empty()));
    }
}
