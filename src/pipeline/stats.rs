//! Latency percentiles per stage, for the lane summary and `boardcheck bench`.

use serde::Serialize;

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
