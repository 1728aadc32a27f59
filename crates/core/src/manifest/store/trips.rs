//! Trips: adding and updating them, the ones boarding now or departing in a window, departure.

use rusqlite::{params, OptionalExtension, Row};

use super::{clash, missing, OrDb, Store};
use crate::error::Result;
use crate::manifest::Trip;

impl Store {
    /// Adds a trip or updates its route, departure and gate (its state is kept).
    pub fn upsert_trip(&self, trip: &Trip) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO trips (id, route, departure, gate) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET route = excluded.route, departure = excluded.departure, gate = excluded.gate",
                params![trip.id, trip.route, trip.departure, trip.gate],
            )?;
            Ok(())
        })
    }

    pub fn trip(&self, id: &str) -> Result<Option<Trip>> {
        self.conn.query_row("SELECT id, route, departure, gate FROM trips WHERE id = ?1", [id], trip_row).optional().or_db(self)
    }

    /// The manifest's version: it changes with every change to a trip or a ticket, made by any
    /// process (schema triggers), so a cached manifest can tell it is stale.
    pub fn manifest_version(&self) -> Result<i64> {
        self.conn.query_row("SELECT version FROM manifest_version", [], |r| r.get(0)).or_db(self)
    }

    /// Trips still open whose departure lies in `[now - window_after_s, now + window_before_s]`:
    /// boarding opens `window_before_s` before departure and stays open `window_after_s` after.
    pub fn trips_boarding(&self, now: i64, window_before_s: i64, window_after_s: i64) -> Result<Vec<Trip>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, route, departure, gate FROM trips
                 WHERE state = 'open' AND departure BETWEEN ?1 AND ?2 ORDER BY departure, id",
            )
            .or_db(self)?;
        let rows = stmt.query_map(params![now - window_after_s, now + window_before_s], trip_row).or_db(self)?;
        rows.collect::<rusqlite::Result<_>>().or_db(self)
    }

    /// Trips that still hold their manifest (not purged) departing in `[from, to]`, by departure.
    pub fn trips_between(&self, from: i64, to: i64) -> Result<Vec<Trip>> {
        self.trips_departing(from, to, false)
    }

    /// Every trip departing in `[from, to]`, purged ones too (reports), by departure.
    pub fn all_trips_between(&self, from: i64, to: i64) -> Result<Vec<Trip>> {
        self.trips_departing(from, to, true)
    }

    fn trips_departing(&self, from: i64, to: i64, with_purged: bool) -> Result<Vec<Trip>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, route, departure, gate FROM trips
                 WHERE departure BETWEEN ?1 AND ?2 AND (?3 OR state <> 'purged') ORDER BY departure, id",
            )
            .or_db(self)?;
        let rows = stmt.query_map(params![from, to, with_purged], trip_row).or_db(self)?;
        rows.collect::<rusqlite::Result<_>>().or_db(self)
    }

    /// Marks an open trip as departed: it leaves [`Self::trips_boarding`].
    pub fn mark_departed(&self, trip_id: &str) -> Result<()> {
        self.write(|tx| {
            if tx.execute("UPDATE trips SET state = 'departed' WHERE id = ?1 AND state = 'open'", [trip_id])? == 0 {
                let state: Option<String> = tx.query_row("SELECT state FROM trips WHERE id = ?1", [trip_id], |r| r.get(0)).optional()?;
                return match state {
                    None => missing(format!("no trip {trip_id}")),
                    Some(state) if state == "departed" => Ok(()),
                    Some(state) => clash(format!("trip {trip_id} is {state}, it cannot depart")),
                };
            }
            Ok(())
        })
    }
}

fn trip_row(r: &Row<'_>) -> rusqlite::Result<Trip> {
    Ok(Trip { id: r.get(0)?, route: r.get(1)?, departure: r.get(2)?, gate: r.get(3)? })
}
