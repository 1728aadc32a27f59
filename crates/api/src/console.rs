//! The staff console's reads and its live stream (session cookie; CSRF token on changes):
//! - `GET /api/lanes` → [`LaneView`]s: each lane's health and last decisions.
//! - `GET /api/stream` → SSE of [`StreamEvent`]s.
//! - `GET /api/manual` → the pending [`ManualItem`]s; `POST /api/manual/{id}`
//!   [`ResolveRequest`] → the `Decision`.
//! - `GET /api/trips` → [`TripView`]s; `GET /api/trips/{id}/passengers?`[`PassengerQuery`] →
//!   the trip's manifest board (the store's `Passenger` rows).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::lane::Camera;
use boardcheck_core::boarding::kiosk::KioskView;
use boardcheck_core::boarding::{Decision, StaffReason};
use boardcheck_core::manifest::store::LiveCounts;
use boardcheck_core::manifest::{TicketRecord, Trip};

/// A recorded event as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct LaneEvent {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub lane: String,
    #[serde(flatten)]
    pub decision: Decision,
    /// Who resolved it, for a staff resolution.
    pub staff: Option<String>,
    pub kiosk: KioskView,
}

/// A lane's camera as the console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CameraStatus {
    Up,
    Down,
    /// Never heard from, or silent too long.
    Unknown,
}

impl From<Camera> for CameraStatus {
    fn from(camera: Camera) -> Self {
        match camera {
            Camera::Up => CameraStatus::Up,
            Camera::Down => CameraStatus::Down,
        }
    }
}

/// A lane's health as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Health {
    pub camera: CameraStatus,
    pub fps: f64,
    pub frames: u64,
    pub dropped: u64,
    /// When the lane last reported, unix seconds.
    pub last_seen: Option<i64>,
}

/// A lane card on the console.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct LaneView {
    pub lane: String,
    pub gate: Option<String>,
    /// The trips it boards now.
    pub trips: Vec<String>,
    pub health: Health,
    /// Newest first.
    pub last_decisions: Vec<LaneEvent>,
}

/// The console stream's events (SSE event name: `event`, data: `data`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum StreamEvent {
    /// A decision was recorded.
    Decision(LaneEvent),
    /// The manual queue changed: refetch it.
    Manual { pending: usize },
    /// A lane reported.
    Health { lane: String, health: Health },
    /// A trip's passengers changed: refetch its manifest board.
    Board { trip: String },
}

/// A ticket as staff see it on the queue (masked number, no template).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct TicketView {
    #[serde(flatten)]
    pub record: TicketRecord,
    /// Whether `GET /api/manual/{id}/photo` has the manifest ID photo.
    pub has_photo: bool,
}

/// A pending manual check on the console.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ManualItem {
    pub id: i64,
    /// Unix seconds.
    pub created_at: i64,
    pub lane: String,
    /// Why the passenger was sent to staff (a manual reason or a ticket refusal).
    pub reason: String,
    pub ticket: Option<TicketView>,
    pub trip: Option<Trip>,
}

/// `POST /api/manual/{id}`: a staff member's answer to a manual check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    pub approve: bool,
    /// Why, from the fixed list (recorded in the event log): a code that explains an approval
    /// or a refusal, as `approve` says.
    pub reason: StaffReason,
    /// Anything to add, one line in the staff member's words (kept with the check and purged
    /// with the trip; never in the event log). Required with reason `other`.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub note: Option<String>,
    /// The passenger's ticket, when the check had none (a face with no match).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub ticket: Option<String>,
    /// A supervisor's explicit override of a wrong-gate or boarding-time refusal (recorded as
    /// such); refunded or used tickets are never overridden.
    #[serde(default, rename = "override")]
    pub overriding: bool,
}

/// A trip on the manifest board.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct TripView {
    #[serde(flatten)]
    pub trip: Trip,
    /// Inside the boarding window now (else: next).
    pub boarding: bool,
    pub counts: LiveCounts,
}

/// `GET /api/trips/{id}/passengers` query: search by seat, name or masked document number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PassengerQuery {
    #[serde(default)]
    #[ts(optional = nullable)]
    pub q: Option<String>,
}

/// `GET /api/retention`: how the service keeps its promise to purge personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RetentionStatus {
    /// A trip's personal data is purged this long after its departure.
    pub retention_hours: i64,
    /// The purge runs this often (seconds).
    pub every_s: u64,
    /// The last run, if it has run since the service started.
    pub last_run: Option<PurgeRun>,
}

/// One run of the purge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PurgeRun {
    /// Unix seconds.
    pub at: i64,
    /// Trips and tickets whose personal data it blanked.
    pub trips: usize,
    pub tickets: usize,
    /// Why it failed (the kind of failure), if it did.
    pub error: Option<String>,
}
