//! # boardcheck-api
//!
//! The station service's HTTP interface as types: every request and response body, shared by
//! the service (`boardcheck-station`), the lane's client (`boardcheck-lane`) and the console
//! page's script, which reads them as TypeScript declarations (`bindings/api.d.ts`, generated
//! from these types by this crate's tests). It holds data and serde shapes only: it must
//! never import a handler, a client, the lane or the station, or do I/O. Types the boarding
//! core already defines ([`Decision`], [`KioskView`], [`Trip`], [`TicketRecord`], …) are used
//! as they are, not copied.
//!
//! - [`lane`]: `/api/lane/*`, what a lane sends (observations, a ticket, its health) and
//!   gets back (decisions, staff resolutions).
//! - [`staff`]: `/api/login`, `/api/session`: the staff session.
//! - [`console`]: the console's `/api/*` reads, its live stream, the manual-check queue.
//! - [`reports`]: `/api/reports/*`, the supervisors' figures.
//! - [`kiosk`]: `/kiosk/{lane}/events`, what a lane's display shows.
//! - [`ErrorAnswer`]: the body of every refusal.
//!
//! [`Decision`]: boardcheck_core::boarding::Decision
//! [`KioskView`]: boardcheck_core::boarding::kiosk::KioskView
//! [`Trip`]: boardcheck_core::manifest::Trip
//! [`TicketRecord`]: boardcheck_core::manifest::TicketRecord

pub mod console;
pub mod kiosk;
pub mod lane;
pub mod reports;
pub mod staff;

pub use console::*;
pub use kiosk::*;
pub use lane::*;
pub use reports::*;
pub use staff::*;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Any refusal, with its status: `{"error": "…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ErrorAnswer {
    pub error: String,
}

/// One event of a server-sent event stream as its name and its JSON data. `event` is an enum
/// serialized adjacently tagged (`#[serde(tag = "event", content = "data")]`), so the names
/// a browser listens for are the ones its TypeScript declarations spell.
pub fn sse_parts<T: Serialize>(event: &T) -> serde_json::Result<(String, String)> {
    use serde::ser::Error;
    use serde_json::Value;
    let Value::Object(mut fields) = serde_json::to_value(event)? else {
        return Err(serde_json::Error::custom("an SSE event serializes as {\"event\", \"data\"}"));
    };
    let Some(Value::String(name)) = fields.remove("event") else {
        return Err(serde_json::Error::custom("an SSE event has no \"event\" name"));
    };
    Ok((name, fields.remove("data").unwrap_or(Value::Null).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_sse_event_is_its_variant_name_and_its_data() {
        let (name, data) = sse_parts(&StreamEvent::Manual { pending: 3 }).expect("writes");
        assert_eq!((name.as_str(), data.as_str()), ("manual", r#"{"pending":3}"#));
        let board = sse_parts(&StreamEvent::Board { trip: "G1".into() }).expect("writes");
        assert_eq!(board, ("board".into(), r#"{"trip":"G1"}"#.into()));
        let (name, data) = sse_parts(&KioskEvent::Kiosk(KioskState::idle(7))).expect("writes");
        assert_eq!(name, "kiosk");
        let data: serde_json::Value = serde_json::from_str(&data).expect("JSON");
        assert_eq!(data, json!({ "state": "idle", "zh": "请正视摄像头", "en": "Please look at the camera", "at": 7 }));
    }

    #[test]
    fn a_plain_value_is_no_sse_event() {
        assert!(sse_parts(&ErrorAnswer { error: "x".into() }).is_err());
        assert!(sse_parts(&3).is_err());
    }

    #[test]
    fn a_health_report_without_a_drop_count_leaves_it_out() {
        let report = HealthReport { camera: Camera::Up, fps: 2.5, frames: 10, dropped: None, samples: Vec::new() };
        let sent = serde_json::to_value(&report).expect("writes");
        assert_eq!(sent, json!({ "camera": "up", "fps": 2.5, "frames": 10, "samples": [] }));
        let read: HealthReport = serde_json::from_value(json!({ "camera": "down", "fps": 0.0, "frames": 1 })).expect("reads");
        assert_eq!((read.camera, read.dropped, read.samples.len()), (Camera::Down, None, 0));
        assert!(serde_json::from_value::<HealthReport>(json!({ "camera": "up", "fps": 1.0, "frames": 1, "extra": 1 })).is_err());
    }

    #[test]
    fn a_results_query_waits_unless_told_not_to() {
        let query: ResultsQuery = serde_json::from_value(json!({})).expect("reads");
        assert_eq!(query, ResultsQuery { after: 0, wait: true });
    }
}
