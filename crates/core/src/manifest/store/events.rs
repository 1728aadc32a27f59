//! The append-only event log: appending events (never `boarded`, which only the boarding guard
//! writes), following the log, and counting events by trip, by time, or a lane's recent
//! failed face attempts.

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
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, at, lane, trip_id, ticket_id, outcome, method, staff, detail, check_id, overrode FROM events WHERE id > ?1 ORDER BY id",
            )
            .or_db(self)?;
        let rows = stmt
            .query_map([after_id], |r| {
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
            })
            .or_db(self)?;
        rows.collect::<rusqlite::Result<_>>().or_db(self)
    }

    /// How many `outcome` events are about `trip_id`: recorded with the trip, or (a lane that
    /// knew only the ticket, as for a suspected spoof) with one of its tickets.
    pub fn count_trip_events(&self, trip_id: &str, outcome: Outcome) -> Result<i64> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM events e WHERE e.outcome = ?2 AND (e.trip_id = ?1
                     OR (e.trip_id IS NULL AND e.ticket_id IN (SELECT id FROM tickets WHERE trip_id = ?1)))",
                params![trip_id, outcome],
                |r| r.get(0),
            )
            .or_db(self)
    }

    /// How many `outcome` events happened in `[from, to]`, whatever they were about.
    pub fn count_events_between(&self, outcome: Outcome, from: i64, to: i64) -> Result<i64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM events WHERE outcome = ?1 AND at BETWEEN ?2 AND ?3", params![outcome, from, to], |r| r.get(0))
            .or_db(self)
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

/// Appends `e` within `tx`: [`Store::record_event`], and a manual check's opening or
/// resolution in the same transaction as the check (and its boarding).
pub(super) fn insert_event(tx: &Transaction<'_>, e: &NewEvent<'_>) -> std::result::Result<i64, super::Fail> {
    if e.outcome == Outcome::Boarded {
        return rule("a 'boarded' event is written only by board(), with the ticket's guarded update".into());
    }
    tx.execute(
        "INSERT INTO events (at, lane, trip_id, ticket_id, outcome, method, staff, detail, check_id, overrode)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![e.at, e.lane, e.trip_id, e.ticket_id, e.outcome, e.method, e.staff, e.detail, e.check_id, e.overrode],
    )?;
    Ok(tx.last_insert_rowid())
}
