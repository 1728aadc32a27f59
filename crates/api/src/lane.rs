//! The lane API, `Authorization: Bearer <lane token>`:
//! - `POST /api/lane/observe` [`ObserveRequest`] → [`DecisionAnswer`] (null: keep looking).
//! - `POST /api/lane/ticket` [`TicketRequest`] → [`DecisionAnswer`]: ticket + face.
//! - `POST /api/lane/health` [`HealthReport`] → 204.
//! - `GET /api/lane/results?`[`ResultsQuery`] → [`Results`]: staff resolutions of this lane's
//!   manual checks, long-polled.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use boardcheck_core::boarding::Decision;
use boardcheck_core::decider::{Observation, Presented};

/// `POST /api/lane/observe`: one face track's observations so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ObserveRequest {
    pub track: u64,
    /// The lane's id for this request: asked again (a retry after a lost reply), the service
    /// answers with the decision it first gave.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub request_id: Option<String>,
    /// The lane's embedder id: the service compares with templates made by the same model.
    pub model: String,
    pub observations: Vec<Observation>,
}

/// `POST /api/lane/ticket`: a ticket shown at the lane, with the face seen there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct TicketRequest {
    pub presented: Presented,
    /// As [`ObserveRequest::request_id`].
    #[serde(default)]
    #[ts(optional = nullable)]
    pub request_id: Option<String>,
    /// The lane's embedder id.
    pub model: String,
    /// The face at the lane when the ticket was shown; empty if none.
    #[serde(default)]
    pub observations: Vec<Observation>,
}

/// The answer to an observation or a ticket: the recorded decision, or null to keep looking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct DecisionAnswer {
    pub decision: Option<Decision>,
}

/// A lane's camera, as the lane sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Camera {
    Up,
    Down,
}

/// `POST /api/lane/health`: what a lane reports about itself, every few seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct HealthReport {
    pub camera: Camera,
    pub fps: f64,
    pub frames: u64,
    /// Frames the lane dropped, when it counts them (absent: 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
    /// Per-stage times since the last report (for the latency histograms).
    #[serde(default)]
    pub samples: Vec<StageSample>,
}

/// One stage's time for one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StageSample {
    pub stage: Stage,
    pub ms: f64,
}

/// The lane pipeline's stages, as they are timed: a closed list, so what a lane reports can
/// never mint new metric label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Capture,
    Detect,
    Track,
    Assess,
    Embed,
    Liveness,
    Decide,
    /// From a frame's arrival to the end of its way through the lane.
    E2e,
}

impl Stage {
    /// The snake_case word, as serde writes it.
    pub fn word(self) -> &'static str {
        match self {
            Stage::Capture => "capture",
            Stage::Detect => "detect",
            Stage::Track => "track",
            Stage::Assess => "assess",
            Stage::Embed => "embed",
            Stage::Liveness => "liveness",
            Stage::Decide => "decide",
            Stage::E2e => "e2e",
        }
    }
}

/// `GET /api/lane/results` query: resolutions numbered after `after`; `wait=false` answers at
/// once instead of waiting for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ResultsQuery {
    #[serde(default)]
    pub after: u64,
    #[serde(default = "yes")]
    pub wait: bool,
}

fn yes() -> bool {
    true
}

/// Staff resolutions of the lane's manual checks numbered after the query's `after`, and the
/// last number the service has given (the next query's `after`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Results {
    pub last: u64,
    pub decisions: Vec<Decision>,
}
