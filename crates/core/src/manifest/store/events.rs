//! The append-only event log: appending events (never `boarded`, which only the boarding guard
//! writes), following the log, and counting events by trip or by time.

use rusqlite::{params, Transaction};
use serde::Serialize;

use super::{Fail, OrDb, Store};
use crate::error::Result;
use crate::manifest::Method;

/// An event to append. `outcome` is a snake_case word (`wrong_bus`, `spoof_suspected`, …);
/// `boarded` is refused here: only [`Store::board`] writes it.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    pub at: i64,
    pub lane: &'a str,
    pub trip_id: Option<&'a str>,
    pub ticket_id: Option<&'a str>,
    pub outcome: &'a str,
    pub method: Option<Method>,
    pub staff: Option<&'a str>,
    pub detail: Option<&'a str>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    pub id: i64,
    pub at: i64,
    pub lane: String,
    pub trip_id: Option<String>,
    pub ticket_id: Option<String>,
    pub outcome: String,
    pub method: Option<Method>,
    pub staff: Option<String>,
    pub detail: Option<String>,
}

impl Store {
    /// Appends an event; returns its id.
    pub fn record_event(&self, event: &NewEvent<'_>) -> Result<i64> {
        if event.outcome == "boarded" {
            return Err(self.error(Fail::Rule("a 'boarded' event is written only by board(), with the ticket's guarded update".into())));
        }
        self.write(|tx| insert_event(tx, event))
    }

    /// Events after `after_id`, oldest first (the console follows the log with this).
    pub fn events_since(&self, after_id: i64) -> Result<Vec<EventRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, at, lane, trip_id, ticket_id, outcome, method, staff, detail FROM events WHERE id > ?1 ORDER BY id")
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
                })
            })
            .or_db(self)?;
        rows.collect::<rusqlite::Result<_>>().or_db(self)
    }

    /// How many `outcome` events are about `trip_id`: recorded with the trip, or (a lane that
    /// knew only the ticket, as for a suspected spoof) with one of its tickets.
    pub fn count_trip_events(&self, trip_id: &str, outcome: &str) -> Result<i64> {
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
    pub fn count_events_between(&self, outcome: &str, from: i64, to: i64) -> Result<i64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM events WHERE outcome = ?1 AND at BETWEEN ?2 AND ?3", params![outcome, from, to], |r| r.get(0))
            .or_db(self)
    }
}

/// Appends `e` within `tx`: [`Store::record_event`], and a manual check's resolution in the
/// same transaction as its boarding.
pub(super) fn insert_event(tx: &Transaction<'_>, e: &NewEvent<'_>) -> std::result::Result<i64, Fail> {
    tx.execute(
        "INSERT INTO events (at, lane, trip_id, ticket_id, outcome, method, staff, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![e.at, e.lane, e.trip_id, e.ticket_id, e.outcome, e.method, e.staff, e.detail],
    )?;
    Ok(tx.last_insert_rowid())
}
