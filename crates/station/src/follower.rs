//! Follows the store's event log: each new event — written by this service or by any other
//! process on the same database — becomes a lane card entry, a kiosk message, hub messages and
//! metrics. The console thus shows what is recorded, not what a handler believed it recorded.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crossbeam_channel::Receiver;

use crate::error::{Error, Result};
use crate::hub::HubEvent;
use crate::station::Station;
use boardcheck_api::{KioskState, LaneEvent, StreamEvent};
use boardcheck_core::boarding::kiosk;
use boardcheck_core::boarding::Decision;
use boardcheck_core::manifest::store::{EventRecord, Store};

/// How often the log is read when nothing here wakes the follower (another process wrote).
const POLL: Duration = Duration::from_millis(500);

/// Starts the follower thread on its own connection; it ends when the station is dropped, or
/// reads again at once when `woken`.
pub fn start(station: &Arc<Station>, store: Store, woken: Receiver<()>) -> Result<()> {
    let weak = Arc::downgrade(station);
    std::thread::Builder::new()
        .name("event-follower".into())
        .spawn(move || follow(weak, store, woken))
        .map(drop)
        .map_err(|e| Error::io("<event follower thread>", e))
}

/// The log before start only fills the lane cards.
fn follow(station: Weak<Station>, store: Store, woken: Receiver<()>) {
    let mut last = 0;
    let mut first = true;
    loop {
        let Some(station) = station.upgrade() else { return };
        match store.events_since(last) {
            Ok(events) => {
                for event in &events {
                    take(&station, event, !first);
                }
                last = events.last().map_or(last, |e| e.id);
                if events.iter().any(|e| e.outcome != "boarded" || e.staff.is_none()) || first {
                    publish_queue(&station, &store);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the event log; retrying"),
        }
        first = false;
        drop(station);
        let _ = woken.recv_timeout(POLL);
    }
}

/// One event: to its lane's card, and when `live` (not the log before start) to its kiosk,
/// the consoles and the metrics.
fn take(station: &Station, event: &EventRecord, live: bool) {
    let decision = decision_of(event);
    let view = kiosk::view(&decision);
    let lane_event = LaneEvent { id: event.id, at: event.at, lane: event.lane.clone(), decision, staff: event.staff.clone(), kiosk: view };
    // A staff approval writes its resolution and then the boarding: the lane shows one.
    let shown = !(event.outcome == "boarded" && event.staff.is_some());
    // A resolution's kiosk message comes from its decision ([`Station::resolve`]): an
    // approval that could not board (already boarded) must not show "pass".
    if shown && station.lanes.remember(lane_event.clone()) && live && !is_resolution(&event.outcome) {
        let kiosk = KioskState::showing(&lane_event.kiosk, event.at);
        station.lanes.show(&event.lane, kiosk.clone());
        station.hub.send(HubEvent::Kiosk { lane: event.lane.clone(), kiosk });
    }
    if !live {
        return;
    }
    if shown {
        station.metrics.decisions.with_label_values(&[&event.lane, &lane_event.decision.outcome]).inc();
    }
    if let Some(trip) = &event.trip_id {
        station.hub.send(HubEvent::Console(StreamEvent::Board { trip: trip.clone() }));
    }
    if shown {
        station.hub.send(HubEvent::Console(StreamEvent::Decision(lane_event)));
    }
}

fn publish_queue(station: &Station, store: &Store) {
    match store.pending_manual_checks() {
        Ok(pending) => {
            station.metrics.manual_queue.set(pending.len() as i64);
            station.hub.send(HubEvent::Console(StreamEvent::Manual { pending: pending.len() }));
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the manual queue"),
    }
}

/// The decision an event records, in the words a lane uses.
fn decision_of(e: &EventRecord) -> Decision {
    let outcome = match e.outcome.as_str() {
        "manual_check_approved" => "manual_approved",
        "manual_check_refused" => "manual_refused",
        other => other,
    };
    let detail = e.detail.clone();
    let (gate, reason, manual_check) = match (outcome, resolution_detail(detail.as_deref())) {
        ("wrong_bus", _) => (detail, None, None),
        (_, Some((check, said))) => (None, Some(said.to_string()), Some(check)),
        _ => (None, detail, None),
    };
    Decision {
        outcome: outcome.to_string(),
        method: e.method,
        ticket: e.ticket_id.clone(),
        trip: e.trip_id.clone(),
        gate,
        reason,
        manual_check,
    }
}

/// Staff resolutions, as the store names their events.
fn is_resolution(outcome: &str) -> bool {
    matches!(outcome, "manual_check_approved" | "manual_check_refused")
}

/// The check and the staff's reason in a resolution's detail, which the store writes as
/// `check {id}: {reason}`.
fn resolution_detail(detail: Option<&str>) -> Option<(i64, &str)> {
    let (id, said) = detail?.strip_prefix("check ")?.split_once(": ")?;
    Some((id.parse().ok()?, said))
}
