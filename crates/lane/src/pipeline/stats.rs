//! Latency percentiles per stage, for the lane summary and `boardcheck bench`, and the
//! per-item times each stage records for them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use boardcheck_api::{Stage, StageSample};
use serde::Serialize;

/// What a running lane publishes while it runs: frames read, and recent per-stage times for
/// whoever drains them (the station service's health report). Bounded: undrained samples
/// beyond [`LiveStats::MAX_SAMPLES`] are dropped, never accumulated.
#[derive(Debug, Default)]
pub struct LiveStats {
    frames: AtomicU64,
    samples: Mutex<Vec<StageSample>>,
}

impl LiveStats {
    pub const MAX_SAMPLES: usize = 4096;

    pub fn frame_read(&self) {
        self.frames.fetch_add(1, Ordering::Relaxed);
    }

    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    pub fn record(&self, stage: Stage, ms: f64) {
        if let Ok(mut samples) = self.samples.lock() {
            if samples.len() < Self::MAX_SAMPLES {
                samples.push(StageSample { stage, ms });
            }
        }
    }

    /// The samples recorded since the last call.
    pub fn drain(&self) -> Vec<StageSample> {
        self.samples.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default()
    }
}

/// p50/p95/p99 of one stage's per-item times, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageStats {
    pub name: String,
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// Per-item times of one stage in bounded memory however long the lane runs: a histogram to
/// three significant digits (a microsecond resolution up to an hour), not a list of samples.
pub struct Latencies(hdrhistogram::Histogram<u64>);

impl Latencies {
    const MAX_US: u64 = 3_600_000_000;

    pub fn new() -> Self {
        // The bounds are constants that hdrhistogram accepts.
        Latencies(hdrhistogram::Histogram::new_with_max(Self::MAX_US, 3).expect("valid histogram bounds"))
    }

    pub fn record(&mut self, ms: f64) {
        self.0.saturating_record((ms * 1000.0).round().max(0.0) as u64);
    }

    pub fn stats(&self, name: &str) -> StageStats {
        let at = |q: f64| if self.0.is_empty() { 0.0 } else { self.0.value_at_quantile(q) as f64 / 1000.0 };
        StageStats { name: name.to_string(), count: self.0.len() as usize, p50_ms: at(0.50), p95_ms: at(0.95), p99_ms: at(0.99) }
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl StageStats {
    pub fn from_samples(name: &str, samples: &[f64]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        StageStats {
            name: name.to_string(),
            count: sorted.len(),
            p50_ms: percentile(&sorted, 0.50),
            p95_ms: percentile(&sorted, 0.95),
            p99_ms: percentile(&sorted, 0.99),
        }
    }
}

/// Per-item processing times of one stage in milliseconds, also published live.
pub(super) struct Times<'a> {
    stage: Stage,
    latencies: Latencies,
    live: &'a LiveStats,
}

impl<'a> Times<'a> {
    pub fn new(stage: Stage, live: &'a LiveStats) -> Self {
        Times { stage, latencies: Latencies::new(), live }
    }

    pub fn since(&mut self, t: Instant) {
        self.record(elapsed_ms(t));
    }

    pub fn record(&mut self, ms: f64) {
        self.latencies.record(ms);
        self.live.record(self.stage, ms);
    }

    pub fn stats(&self) -> StageStats {
        self.latencies.stats(self.stage.word())
    }
}

pub(super) fn elapsed_ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted samples (0 for none).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = StageStats::from_samples("detect", &samples);
        assert_eq!((s.p50_ms, s.p95_ms, s.p99_ms, s.count), (50.0, 95.0, 99.0, 100));
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn histogram_percentiles_match_the_samples_to_three_digits() {
        let mut latencies = Latencies::new();
        for ms in 1..=1000 {
            latencies.record(f64::from(ms) * 0.25);
        }
        let s = latencies.stats("e2e");
        assert_eq!(s.count, 1000);
        for (got, want) in [(s.p50_ms, 125.0), (s.p95_ms, 237.5), (s.p99_ms, 247.5)] {
            assert!((got - want).abs() <= want * 1e-3, "{got} vs {want}");
        }
        assert_eq!(Latencies::new().stats("none").p99_ms, 0.0);
    }
}
