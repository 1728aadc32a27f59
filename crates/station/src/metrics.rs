//! Prometheus metrics at `/metrics`: decisions by outcome, stage latency histograms, the manual
//! queue, lane health.

use prometheus::{Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

/// Latency buckets from 1 ms to 5 s: a lane stage takes milliseconds, a stalled one seconds.
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

pub struct Metrics {
    registry: Registry,
    pub decisions: IntCounterVec,
    pub stage_seconds: HistogramVec,
    pub decide_seconds: Histogram,
    pub manual_queue: IntGauge,
    pub lane_up: IntGaugeVec,
    pub lane_fps: prometheus::GaugeVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("boardcheck".into()), None).unwrap_or_default();
        let metrics = Metrics {
            decisions: IntCounterVec::new(Opts::new("decisions_total", "Recorded decisions by lane and outcome"), &["lane", "outcome"])
                .expect("static metric definition"),
            stage_seconds: HistogramVec::new(
                HistogramOpts::new("stage_seconds", "Per-item time of each lane pipeline stage, as the lanes report it")
                    .buckets(BUCKETS.to_vec()),
                &["lane", "stage"],
            )
            .expect("static metric definition"),
            decide_seconds: Histogram::with_opts(
                HistogramOpts::new("decide_seconds", "Time the service takes to decide on a lane's observations").buckets(BUCKETS.to_vec()),
            )
            .expect("static metric definition"),
            manual_queue: IntGauge::new("manual_queue_length", "Manual checks waiting for staff").expect("static metric definition"),
            lane_up: IntGaugeVec::new(Opts::new("lane_camera_up", "1 when the lane reports its camera up"), &["lane"])
                .expect("static metric definition"),
            lane_fps: prometheus::GaugeVec::new(Opts::new("lane_fps", "Frames per second the lane reads"), &["lane"])
                .expect("static metric definition"),
            registry,
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 6] = [
            Box::new(metrics.decisions.clone()),
            Box::new(metrics.stage_seconds.clone()),
            Box::new(metrics.decide_seconds.clone()),
            Box::new(metrics.manual_queue.clone()),
            Box::new(metrics.lane_up.clone()),
            Box::new(metrics.lane_fps.clone()),
        ];
        for c in collectors {
            if let Err(e) = metrics.registry.register(c) {
                tracing::warn!(error = %e, "metric not registered");
            }
        }
        metrics
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
