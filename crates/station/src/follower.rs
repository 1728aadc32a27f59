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
use boardcheck_core::boarding::{Decision, Outcome};
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
                if events.iter().any(|e| e.outcome != Outcome::Boarded || e.staff.is_none()) || first {
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
    let shown = !(event.outcome == Outcome::Boarded && event.staff.is_some());
    // A resolution's kiosk message is set by [`Station::resolve`], which also tells the lane.
    if shown && station.lanes.remember(lane_event.clone()) && live && !event.outcome.is_resolution() {
        let kiosk = KioskState::showing(&lane_event.kiosk, event.at);
        station.lanes.show(&event.lane, kiosk.clone());
        station.hub.send(HubEvent::Kiosk { lane: event.lane.clone(), kiosk });
    }
    if !live {
        return;
    }
    if shown {
        station.metrics.decisions.with_label_values(&[event.lane.as_str(), event.outcome.word()]).inc();
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

/// The decision an event records: its outcome, ids and codes, as the lane reported it.
fn decision_of(e: &EventRecord) -> Decision {
    let (gate, reason) = match e.outcome {
        Outcome::WrongBus => (e.detail.clone(), None),
        // A staff resolution's reason is the refusal a supervisor overrode, if any.
        outcome if outcome.is_resolution() => (None, e.overrode.clone()),
        _ => (None, e.detail.clone()),
    };
    Decision {
        method: e.method,
        ticket: e.ticket_id.clone(),
        trip: e.trip_id.clone(),
        gate,
        reason,
        manual_check: e.check_id,
        ..Decision::new(e.outcome)
    }
}
