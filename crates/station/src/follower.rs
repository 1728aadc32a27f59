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

/// Events read per lane at start: a lane card shows ten rows, and a staff approval's boarding
/// (not shown) may follow each.
const CARD_START: usize = 20;

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

/// The log before start only fills the lane cards, from each lane's latest events: the
/// append-only log grows without end, and start-up must not read it all.
fn follow(station: Weak<Station>, store: Store, woken: Receiver<()>) {
    let mut last = loop {
        let Some(station) = station.upgrade() else { return };
        match fill_cards(&station, &store) {
            Ok(last) => {
                publish_queue(&station, &store);
                break last;
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the event log; retrying"),
        }
        drop(station);
        let _ = woken.recv_timeout(POLL);
    };
    loop {
        let Some(station) = station.upgrade() else { return };
        match store.events_since(last) {
            Ok(events) => {
                for event in &events {
                    take(&station, event, true);
                }
                last = events.last().map_or(last, |e| e.id);
                if events.iter().any(|e| e.outcome != Outcome::Boarded || e.staff.is_none()) {
                    publish_queue(&station, &store);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the event log; retrying"),
        }
        drop(station);
        let _ = woken.recv_timeout(POLL);
    }
}

/// Fills each lane's card with its latest events; returns the last event's id, where
/// following starts.
fn fill_cards(station: &Station, store: &Store) -> Result<i64> {
    let last = store.last_event_id()?;
    for lane in &station.config.lanes {
        for event in store.latest_lane_events(&lane.name, last, CARD_START)? {
            take(station, &event, false);
        }
    }
    Ok(last)
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::config::{LaneEntry, StationConfig};

    /// A long log: lane-2's ten events, then `n` of lane-1's, written straight in SQLite.
    fn long_log(db: &std::path::Path, n: i64) {
        drop(Store::open(db).expect("creates"));
        let conn = rusqlite::Connection::open(db).expect("opens");
        conn.execute_batch(&format!(
            "BEGIN;
             WITH RECURSIVE i (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 10)
             INSERT INTO events (at, lane, outcome, method) SELECT n, 'lane-2', 'not_on_manifest', 'face' FROM i;
             WITH RECURSIVE i (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < {n})
             INSERT INTO events (at, lane, outcome, method) SELECT 100 + n, 'lane-1', 'not_on_manifest', 'face' FROM i;
             COMMIT;"
        ))
        .expect("writes the log");
    }

    #[test]
    fn start_reads_each_lanes_latest_events_not_the_whole_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("station.db");
        let n = 1_000_000;
        long_log(&db, n);
        let lane = |name: &str| LaneEntry { name: name.into(), gate: Some("3".into()), trips: vec![], token_file: dir.path().join(name) };
        let config = StationConfig { db, lanes: vec![lane("lane-1"), lane("lane-2")], ..StationConfig::default() };
        let started = Instant::now();
        let station = Station::open(config).expect("opens");
        let cards = loop {
            let views = station.lanes().expect("lanes");
            let ids: Vec<Vec<i64>> = views.iter().map(|v| v.last_decisions.iter().map(|e| e.id).collect()).collect();
            if ids.iter().all(|card| !card.is_empty()) || started.elapsed() > Duration::from_secs(60) {
                break ids;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = started.elapsed();
        let last = 10 + n;
        assert_eq!(cards, [((last - 9)..=last).rev().collect::<Vec<_>>(), (1..=10).rev().collect()], "newest first");
        // Reading a million events takes seconds; each lane's ten, milliseconds. The bound
        // leaves a wide margin for a loaded machine.
        assert!(took < Duration::from_secs(2), "the lane cards took {took:?} to fill");
    }
}
