//! A recording replayed at a camera's pace, for benchmarks and tests of a live lane.

use std::time::{Duration, Instant};

use super::{Frame, FrameSource};
use crate::error::Result;

/// Hands out each frame of `inner` no earlier than its timestamp after the first frame was
/// asked for, as a camera delivers them once the lane is up. A camera's frame is decoded when
/// it arrives, so the next frame is decoded when it is expected (one frame interval after the
/// last), not ahead while the lane works on the one before.
pub struct Paced {
    inner: Box<dyn FrameSource>,
    /// When the first frame was asked for.
    started: Option<Instant>,
    /// Timestamps of the last two frames handed out, in ms.
    last: [f64; 2],
}

impl Paced {
    pub fn new(inner: Box<dyn FrameSource>) -> Self {
        Paced { inner, started: None, last: [0.0; 2] }
    }

    fn wait_until(start: Instant, timestamp_ms: f64) {
        let due = start + Duration::from_secs_f64(timestamp_ms.max(0.0) / 1000.0);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

impl FrameSource for Paced {
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let start = *self.started.get_or_insert_with(Instant::now);
        let [before, last] = self.last;
        Self::wait_until(start, last + (last - before));
        let frame = self.inner.next_frame()?;
        if let Some(f) = &frame {
            Self::wait_until(start, f.timestamp_ms);
            self.last = [last, f.timestamp_ms];
        }
        Ok(frame)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn skipped(&self) -> u64 {
        self.inner.skipped()
    }
}
