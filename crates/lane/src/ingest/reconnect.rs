//! Keeping a live source alive: reopen with capped exponential back-off, and a watchdog.
//!
//! The wrapped source runs on its own reader thread and hands frames over a one-slot channel.
//! That is what makes the watchdog possible: a V4L2 read or an RTSP session can block far
//! longer than a lane may go blind, and a blocked call cannot be interrupted, only abandoned.
//! When nothing arrives within the stall timeout, the reader is abandoned (it exits when its
//! call returns and finds nobody listening) and a fresh connection is opened.
//!
//! At most one abandoned reader: the fresh connection is opened beside a reader still blocked
//! in its call, so a camera that is back is read at once, but not beside two. If the reader
//! abandoned last time has still not returned, the next connection waits for it. Unbounded,
//! every retry against a stalled camera would leave one more thread blocked, each holding a
//! connection (or waiting for one: OpenCV's FFmpeg backend opens one stream at a time per
//! process). The wait is short because the calls do return: a stream's FFmpeg calls are
//! bounded by the policy's own timeouts (opening by the open timeout, each read by the stall
//! timeout), so the backend gives up about when the watchdog does; a V4L2 read is bounded by
//! the driver's timeout.
//!
//! Back-off starts short (a camera that glitched is back at once) and doubles up to a cap
//! (a dead camera is retried every few seconds, not hammered); it resets once frames flow.
//! Files and folders are never reopened: their end is [`SourceStatus::Ended`], their errors
//! [`SourceStatus::Failed`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{source_error, Frame, FrameSource, SourceSpec, StreamTimeouts};
use crate::error::{Error, Result};

/// What a supervised source is doing, reported on every change.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceStatus {
    /// Frames are flowing.
    Up,
    /// The source failed; reopening, attempt `attempt` of this outage (from 1).
    Reconnecting { attempt: u32 },
    /// A file or folder ended, or the source was stopped.
    Ended,
    /// Gave up: a file or folder failed, or a live source ran out of attempts.
    Failed(String),
}

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct ReconnectPolicy {
    /// Wait before the first attempt of an outage; doubles with each failed attempt.
    pub initial_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// A connected live source that delivers nothing for this long has failed (a camera whose
    /// connection stays open but that sends nothing: hung, or cut off without a goodbye).
    pub stall_timeout: Duration,
    /// How long a new connection may take to deliver its first frame (RTSP opens are slow).
    pub open_timeout: Duration,
    /// Attempts per outage before giving up; `None` retries for ever (a lane camera).
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(16),
            // A camera sends many frames a second: 1.5 s of none is an outage, reported within
            // the 2 s a lane may go blind unnoticed.
            stall_timeout: Duration::from_millis(1500),
            open_timeout: Duration::from_secs(15),
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// A stream's FFmpeg calls give up when the watchdog would, so a reader abandoned by the
    /// watchdog returns about when it is abandoned.
    pub fn stream_timeouts(&self) -> StreamTimeouts {
        StreamTimeouts { open: self.open_timeout, read: self.stall_timeout }
    }
}

/// Opens a fresh connection to the source.
pub type Opener = Arc<dyn Fn() -> Result<Box<dyn FrameSource>> + Send + Sync>;
/// Told about every status change.
pub type StatusCallback = Box<dyn FnMut(&SourceStatus) + Send>;

/// How long one wait on the channel lasts before the stop flag is looked at again.
const POLL: Duration = Duration::from_millis(50);

enum Event {
    /// A frame and the connection's count of skipped frames so far.
    Frame(Frame, u64),
    Ended,
    Error(Error),
}

enum Waited {
    Event(Event),
    Timeout,
    ReaderGone,
    Stopped,
}

/// A source supervised as the lane needs it: live sources are reopened when they fail or
/// stall; files and folders end. Frames of a live source are numbered and timed by the
/// wrapper, so index and time keep rising across reconnections.
pub struct Reconnecting {
    name: String,
    live: bool,
    open: Opener,
    policy: ReconnectPolicy,
    on_status: StatusCallback,
    last_status: Option<SourceStatus>,
    /// The current connection's reader; `None` only between abandoning one and starting the next.
    reader: Option<Reader>,
    /// The reader abandoned last, until it is seen to have returned.
    abandoned: Option<JoinHandle<()>>,
    /// Whether the current connection has delivered a frame.
    connected: bool,
    attempt: u32,
    attempts_total: u64,
    backoff: Duration,
    index: u64,
    started: Instant,
    skipped_before: u64,
    skipped_now: u64,
    stop: Arc<AtomicBool>,
}

impl Reconnecting {
    /// Opens the source `spec` names and supervises it. The first open is not retried: a
    /// wrong device or URL at start-up is a configuration error, reported at once.
    pub fn open(spec: &str, policy: ReconnectPolicy, on_status: StatusCallback) -> Result<Self> {
        let spec = SourceSpec::parse(spec)?;
        let timeouts = policy.stream_timeouts();
        let first = spec.open(timeouts)?;
        let (name, live) = (spec.describe(), spec.is_live());
        Ok(Self::new(name, live, first, Arc::new(move || spec.open(timeouts)), policy, on_status))
    }

    /// Supervises an opened source; `open` makes fresh connections to it (used only if `live`).
    pub fn new(
        name: String,
        live: bool,
        first: Box<dyn FrameSource>,
        open: Opener,
        policy: ReconnectPolicy,
        on_status: StatusCallback,
    ) -> Self {
        let reader = Reader::spawn(&name, Box::new(move || Ok(first)));
        Reconnecting {
            name,
            live,
            open,
            policy,
            on_status,
            last_status: None,
            reader: Some(reader),
            abandoned: None,
            connected: false,
            attempt: 0,
            attempts_total: 0,
            backoff: policy.initial_backoff,
            index: 0,
            started: Instant::now(),
            skipped_before: 0,
            skipped_now: 0,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Reconnection attempts so far, over all outages.
    pub fn reconnect_attempts(&self) -> u64 {
        self.attempts_total
    }

    /// Set it to make the source end (as [`SourceStatus::Ended`]) within a fraction of a
    /// second, even while waiting out a back-off or a silent camera.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    fn set_status(&mut self, status: SourceStatus) {
        if self.last_status.as_ref() != Some(&status) {
            tracing::info!("{}: {status:?}", self.name);
            (self.on_status)(&status);
            self.last_status = Some(status);
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The next event of the current connection, waiting at most `limit` (`None`: no limit).
    fn wait(&self, limit: Option<Duration>) -> Waited {
        let deadline = limit.map(|limit| Instant::now() + limit);
        loop {
            if self.stopped() {
                return Waited::Stopped;
            }
            let Some(reader) = &self.reader else { return Waited::ReaderGone };
            let left = deadline.map_or(POLL, |deadline| deadline.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                return Waited::Timeout;
            }
            match reader.events.recv_timeout(left.min(POLL)) {
                Ok(event) => return Waited::Event(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Waited::ReaderGone,
            }
        }
    }

    /// Abandons the current connection and opens the next after the back-off, once the reader
    /// abandoned before it has returned (see the module doc); an error once the attempts run out.
    fn reconnect(&mut self, reason: &str) -> Result<()> {
        tracing::warn!("{}: {reason}", self.name);
        self.skipped_before += self.skipped_now;
        self.skipped_now = 0;
        self.connected = false;
        self.attempt += 1;
        if self.policy.max_attempts.is_some_and(|max| self.attempt > max) {
            let reason = format!("gave up after {} attempts: {reason}", self.attempt - 1);
            self.set_status(SourceStatus::Failed(reason.clone()));
            return Err(source_error(&self.name, std::io::ErrorKind::NotConnected, reason));
        }
        self.attempts_total += 1;
        self.set_status(SourceStatus::Reconnecting { attempt: self.attempt });
        // Nobody listens to the failed connection any more: its reader exits when its call returns.
        let failed = self.reader.take().and_then(|reader| reader.thread);
        let started = Instant::now();
        let resume = started + self.backoff;
        let patience = resume + self.policy.open_timeout + self.policy.stall_timeout;
        let mut warned = false;
        loop {
            if self.stopped() {
                return Ok(());
            }
            let blocked = self.abandoned.as_ref().is_some_and(|thread| !thread.is_finished());
            let now = Instant::now();
            if now >= resume && !blocked {
                break;
            }
            if blocked && now >= patience && !warned {
                tracing::warn!(
                    "{}: an earlier connection's reader is still blocked in its backend after {:.1} s; reconnecting once it returns",
                    self.name,
                    (now - started).as_secs_f64()
                );
                warned = true;
            }
            let until_resume = resume.saturating_duration_since(now);
            std::thread::sleep(if until_resume.is_zero() { POLL } else { until_resume.min(POLL) });
        }
        if self.abandoned.take().is_some_and(|thread| thread.join().is_err()) {
            tracing::error!("{}: an earlier connection's reader panicked", self.name);
        }
        self.abandoned = failed;
        self.backoff = (self.backoff * 2).min(self.policy.max_backoff);
        let open = Arc::clone(&self.open);
        self.reader = Some(Reader::spawn(&self.name, Box::new(move || open())));
        Ok(())
    }
}

impl FrameSource for Reconnecting {
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if matches!(self.last_status, Some(SourceStatus::Ended | SourceStatus::Failed(_))) {
                return Ok(None);
            }
            let limit = if self.connected { self.policy.stall_timeout } else { self.policy.open_timeout };
            // Files and folders are not watched: a slow decode is not a dead camera.
            let failure = match self.wait(self.live.then_some(limit)) {
                Waited::Event(Event::Frame(mut frame, skipped)) => {
                    if !self.connected {
                        self.connected = true;
                        self.attempt = 0;
                        self.backoff = self.policy.initial_backoff;
                        self.set_status(SourceStatus::Up);
                    }
                    self.skipped_now = skipped;
                    if self.live {
                        frame.index = self.index;
                        frame.timestamp_ms = self.started.elapsed().as_secs_f64() * 1000.0;
                    }
                    self.index += 1;
                    return Ok(Some(frame));
                }
                Waited::Stopped => {
                    self.set_status(SourceStatus::Ended);
                    return Ok(None);
                }
                Waited::Event(Event::Ended) if !self.live => {
                    self.set_status(SourceStatus::Ended);
                    return Ok(None);
                }
                Waited::Event(Event::Error(e)) if !self.live => {
                    self.set_status(SourceStatus::Failed(e.to_string()));
                    return Err(e);
                }
                Waited::Event(Event::Ended) => "stopped delivering frames".to_string(),
                Waited::Event(Event::Error(e)) => e.to_string(),
                Waited::Timeout if self.connected => format!("no frame for {:.1} s", limit.as_secs_f64()),
                Waited::Timeout => format!("no frame within {:.1} s of opening", limit.as_secs_f64()),
                Waited::ReaderGone => "reader thread stopped unexpectedly".to_string(),
            };
            if !self.live {
                self.set_status(SourceStatus::Failed(failure.clone()));
                return Err(source_error(&self.name, std::io::ErrorKind::Other, failure));
            }
            self.reconnect(&failure)?;
        }
    }

    fn describe(&self) -> String {
        self.name.clone()
    }

    fn skipped(&self) -> u64 {
        self.skipped_before + self.skipped_now
    }
}

/// The thread reading one connection, and the channel its events come on.
struct Reader {
    events: Receiver<Event>,
    /// `None` when the thread could not be started.
    thread: Option<JoinHandle<()>>,
}

impl Reader {
    /// Runs a connection on its own thread: opens it, then sends its frames until it ends,
    /// fails or nobody listens any more.
    fn spawn(name: &str, open: Box<dyn FnOnce() -> Result<Box<dyn FrameSource>> + Send>) -> Reader {
        let (tx, events) = sync_channel(1);
        let spawned = std::thread::Builder::new().name(format!("ingest {name}")).spawn(move || {
            let mut source = match open() {
                Ok(source) => source,
                Err(e) => {
                    let _ = tx.send(Event::Error(e));
                    return;
                }
            };
            loop {
                let event = match source.next_frame() {
                    Ok(Some(frame)) => Event::Frame(frame, source.skipped()),
                    Ok(None) => Event::Ended,
                    Err(e) => Event::Error(e),
                };
                let last = !matches!(event, Event::Frame(..));
                if tx.send(event).is_err() || last {
                    return;
                }
            }
        });
        // A thread that could not start drops its sender: the caller sees the reader gone.
        let thread = spawned.map_err(|e| tracing::error!("{name}: cannot start reader thread: {e}")).ok();
        Reader { events, thread }
    }
}
