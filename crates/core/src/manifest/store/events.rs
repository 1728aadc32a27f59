//! The append-only event log: appending events (never `boarded`, which only the boarding guard
//! writes), following the log, and counting events by period or a lane's recent failed face
//! attempts. An event about a known ticket always carries its trip (filled in on append when
//! the caller knew only the ticket), so a trip's events are found by one index.

use rusqlite::{params, Transaction};
use serde::Serialize;

use super::{rule, OrDb, Store};
use crate::boarding::{ManualReason, Outcome};
use crate::error::Result;
use crate::manifest::Method;

/// An event to append. `boarded` is refused here: only [`Store::board`] writes it.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    pub at: i64,
    pub lane: &'a str,
    pub trip_id: Option<&'a str>,
    pub ticket_id: Option<&'a str>,
    pub outcome: Outcome,
    pub method: Option<Method>,
    pub staff: Option<&'a str>,
    /// A code (a reason, a gate), never free text: the log is never purged.
    pub detail: Option<&'a str>,
    /// The manual check the event opened or resolved.
    pub check_id: Option<i64>,
    /// The refusal code (wrong_bus, not_yet_boarding, departed) a supervisor overrode.
    pub overrode: Option<&'a str>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    pub id: i64,
    pub at: i64,
    pub lane: String,
    pub trip_id: Option<String>,
    pub ticket_id: Option<String>,
    pub outcome: Outcome,
    pub method: Option<Method>,
    pub staff: Option<String>,
    pub detail: Option<String>,
    pub check_id: Option<i64>,
    pub overrode: Option<String>,
}

impl Store {
    /// Appends an event; returns its id.
    pub fn record_event(&self, event: &NewEvent<'_>) -> Result<i64> {
        self.write(|tx| insert_event(tx, event))
    }

    /// Events after `after_id`, oldest first (the console follows the log with this).
    pub fn events_since(&self, after_id: i64) -> Result<Vec<EventRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE id > ?1 ORDER BY id")).or_db(self)?;
        let rows = stmt.query_map([after_id], event_row).or_db(self)?;
        rows.collect::<rusqlite::Result<_>>().or_db(self)
    }

    /// The id of the last event (0 when there is none).
    pub fn last_event_id(&self) -> Result<i64> {
        self.conn.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0)).or_db(self)
    }

    /// `lane`'s latest `count` events up to id `until`, oldest first: a lane card's rows at
    /// start, read from the `(lane, at)` index however long the log.
    pub fn latest_lane_events(&self, lane: &str, until: i64, count: usize) -> Result<Vec<EventRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE lane = ?1 AND id <= ?2 ORDER BY at DESC, id DESC LIMIT ?3"))
            .or_db(self)?;
        let rows = stmt.query_map(params![lane, until, count as i64], event_row).or_db(self)?;
        let mut events = rows.collect::<rusqlite::Result<Vec<_>>>().or_db(self)?;
        events.reverse();
        Ok(events)
    }

    /// How many events of each of `outcomes` happened in each period `[from, to]`, whatever
    /// they were about: `counts[period][outcome]`. One grouped query over the `(outcome, at)`
    /// index, however many periods (the days of a month).
    pub fn count_events_by_period(&self, outcomes: &[Outcome], periods: &[(i64, i64)]) -> Result<Vec<Vec<i64>>> {
        let mut counts = vec![vec![0; outcomes.len()]; periods.len()];
        if outcomes.is_empty() || periods.is_empty() {
            return Ok(counts);
        }
        let sql = by_period_sql(periods.len(), outcomes.len());
        let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(periods.len() * 3 + outcomes.len());
        for (n, (from, to)) in periods.iter().enumerate() {
            values.extend([(n as i64).into(), (*from).into(), (*to).into()]);
        }
        values.extend(outcomes.iter().map(|o| o.word().to_string().into()));
        let mut stmt = self.conn.prepare(&sql).or_db(self)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Outcome>(1)?, r.get::<_, i64>(2)?)))
            .or_db(self)?;
        for row in rows {
            let (n, outcome, count) = row.or_db(self)?;
            let slot = outcomes.iter().position(|o| *o == outcome);
            if let (Some(period), Some(slot)) = (counts.get_mut(n as usize), slot) {
                period[slot] = count;
            }
        }
        Ok(counts)
    }

    /// Failed face attempts at `lane` within `[now - window_s, now]`: face decisions that found
    /// nobody, counted since the last check opened for too many of them (staff saw those).
    pub fn failed_face_attempts(&self, lane: &str, now: i64, window_s: i64) -> Result<u32> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM events WHERE lane = ?1 AND outcome = 'not_on_manifest' AND method = 'face'
                   AND at >= ?2 AND id > COALESCE((SELECT MAX(id) FROM events WHERE lane = ?1 AND detail = ?3), 0)",
                params![lane, now - window_s, ManualReason::TooManyAttempts.code()],
                |r| r.get(0),
            )
            .or_db(self)
    }
}

/// Event columns in [`event_row`]'s order.
const EVENT_COLUMNS: &str = "id, at, lane, trip_id, ticket_id, outcome, method, staff, detail, check_id, overrode";

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRecord> {
    Ok(EventRecord {
        id: r.get(0)?,
        at: r.get(1)?,
        lane: r.get(2)?,
        trip_id: r.get(3)?,
        ticket_id: r.get(4)?,
        outcome: r.get(5)?,
        method: r.get(6)?,
        staff: r.get(7)?,
        detail: r.get(8)?,
        check_id: r.get(9)?,
        overrode: r.get(10)?,
    })
}

/// [`Store::count_events_by_period`]'s query for `periods` periods (number, from, to) and
/// `outcomes` outcomes, bound in that order.
pub(super) fn by_period_sql(periods: usize, outcomes: usize) -> String {
    let periods = vec!["(?, ?, ?)"; periods].join(", ");
    let wanted = vec!["?"; outcomes].join(", ");
    format!(
        "WITH periods (n, lo, hi) AS (VALUES {periods})
         SELECT p.n, e.outcome, COUNT(*) FROM periods p
           JOIN events e ON e.outcome IN ({wanted}) AND e.at BETWEEN p.lo AND p.hi
         GROUP BY p.n, e.outcome"
    )
}

/// Appends `e` within `tx`: [`Store::record_event`], and a manual check's opening or
/// resolution in the same transaction as the check (and its boarding).
pub(super) fn insert_event(tx: &Transaction<'_>, e: &NewEvent<'_>) -> std::result::Result<i64, super::Fail> {
    if e.outcome == Outcome::Boarded {
        return rule("a 'boarded' event is written only by board(), with the ticket's guarded update".into());
    }
    tx.execute(
        "INSERT INTO events (at, lane, trip_id, ticket_id, outcome, method, staff, detail, check_id, overrode)
         VALUES (?1, ?2, COALESCE(?3, (SELECT trip_id FROM tickets WHERE id = ?4)), ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![e.at, e.lane, e.trip_id, e.ticket_id, e.outcome, e.method, e.staff, e.detail, e.check_id, e.overrode],
    )?;
    Ok(tx.last_insert_rowid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::keys::StationKeys;
    use crate::manifest::{DocumentType, NewTicket, Trip};

    #[test]
    fn an_event_about_a_ticket_carries_its_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("m.db")).expect("opens");
        let keys = StationKeys::load_or_create(&dir.path().join("station.key")).expect("key");
        store.upsert_trip(&Trip { id: "G1".into(), route: "r".into(), departure: 0, gate: "1".into() }).expect("trip");
        let ticket = NewTicket {
            id: "T1".into(),
            seat: "1".into(),
            name: "Li".into(),
            document_type: DocumentType::Passport,
            document_number: "E00000001".into(),
            child: false,
            refunded: false,
        };
        store.import_tickets("G1", &[ticket], &keys, 1).expect("imports");
        let spoof = |ticket_id| NewEvent {
            at: 5,
            lane: "lane-1",
            trip_id: None,
            ticket_id,
            outcome: Outcome::SpoofSuspected,
            method: None,
            staff: None,
            detail: None,
            check_id: None,
            overrode: None,
        };
        store.record_event(&spoof(Some("T1"))).expect("records");
        store.record_event(&spoof(None)).expect("records");
        store.record_event(&spoof(Some("T404"))).expect("records");
        let trips: Vec<Option<String>> = store.events_since(0).expect("reads").into_iter().map(|e| e.trip_id).collect();
        assert_eq!(trips, [Some("G1".to_string()), None, None]);
        let counts =
            store.count_events_by_period(&[Outcome::SpoofSuspected, Outcome::ManualRefused], &[(0, 4), (5, 5), (6, 9)]).expect("counts");
        assert_eq!(counts, [vec![0, 0], vec![3, 0], vec![0, 0]]);
    }
}
