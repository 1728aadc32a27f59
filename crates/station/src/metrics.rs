//! Prometheus metrics at `/metrics`: decisions by outcome, stage latency histograms, the manual
//! queue, lane health, the service's connections.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

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
    pub connections: ConnectionMetrics,
}

/// What the listener counts: a cap that is being hit, or accepts that fail (out of file
/// descriptors), is something an operator must see.
#[derive(Clone)]
pub struct ConnectionMetrics {
    /// Connections closed at once because `max_connections` were open.
    pub refused: IntCounter,
    /// Accepts that failed.
    pub accept_errors: IntCounter,
    /// Connections open now.
    pub open: IntGauge,
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
            connections: ConnectionMetrics {
                refused: IntCounter::new("connections_refused_total", "Connections closed at once because max_connections were open")
                    .expect("static metric definition"),
                accept_errors: IntCounter::new("accept_errors_total", "Connections that could not be accepted (out of file descriptors)")
                    .expect("static metric definition"),
                open: IntGauge::new("connections_open", "Connections open now").expect("static metric definition"),
            },
            registry,
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 9] = [
            Box::new(metrics.decisions.clone()),
            Box::new(metrics.stage_seconds.clone()),
            Box::new(metrics.decide_seconds.clone()),
            Box::new(metrics.manual_queue.clone()),
            Box::new(metrics.lane_up.clone()),
            Box::new(metrics.lane_fps.clone()),
            Box::new(metrics.connections.refused.clone()),
            Box::new(metrics.connections.accept_errors.clone()),
            Box::new(metrics.connections.open.clone()),
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
