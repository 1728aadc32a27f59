//! Latency percentiles per stage, for the lane summary and `boardcheck bench`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// What a running lane publishes while it runs: frames read, and recent per-stage times for
/// whoever drains them (the station service's health report). Bounded: undrained samples
/// beyond [`LiveStats::MAX_SAMPLES`] are dropped, never accumulated.
#[derive(Debug, Default)]
pub struct LiveStats {
    frames: AtomicU64,
    samples: Mutex<Vec<StageSample>>,
}

/// One stage's time for one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageSample {
    pub stage: String,
    pub ms: f64,
}

impl LiveStats {
    pub const MAX_SAMPLES: usize = 4096;

    pub fn frame_read(&self) {
        self.frames.fetch_add(1, Ordering::Relaxed);
    }

    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    pub fn record(&self, stage: &str, ms: f64) {
        if let Ok(mut samples) = self.samples.lock() {
            if samples.len() < Self::MAX_SAMPLES {
                samples.push(StageSample { stage: stage.to_string(), ms });
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

/// Nearest-rank percentile of sorted samples (0 for none).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
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
}
