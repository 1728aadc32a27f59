//! A trip's counts: those a purge keeps (and reports read), and the manifest board's live ones.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::passengers::STATUS_SQL;
use super::{OrDb, Store};
use crate::error::Result;
use crate::manifest::Trip;

/// A trip's [`TripCounts`] from its tickets and `boarded` events, `?1` the trip id: what a
/// purge keeps and what reports read before one.
pub(super) const COUNTS_SQL: &str = "SELECT
    (SELECT COUNT(*) FROM tickets WHERE trip_id = ?1 AND state <> 'refunded'),
    (SELECT COUNT(*) FROM events WHERE trip_id = ?1 AND outcome = 'boarded' AND method = 'face'),
    (SELECT COUNT(*) FROM events WHERE trip_id = ?1 AND outcome = 'boarded' AND method = 'ticket_face'),
    (SELECT COUNT(*) FROM events WHERE trip_id = ?1 AND outcome = 'boarded' AND method = 'manual'),
    (SELECT COUNT(*) FROM tickets WHERE trip_id = ?1 AND state = 'refunded')";

/// A trip's anonymous counts: kept after its purge, or computed from its tickets and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TripCounts {
    /// Tickets that were not refunded.
    pub passengers: i64,
    pub boarded_face: i64,
    pub boarded_ticket_face: i64,
    pub boarded_manual: i64,
    pub refunded: i64,
}

/// A trip's counts for the manifest board, now. `passengers` (tickets not refunded) is
/// `boarded + not_yet + manual_pending`; the `boarded_*` split comes from the `boarded` events.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LiveCounts {
    pub passengers: i64,
    pub boarded: i64,
    pub not_yet: i64,
    /// Valid tickets with a manual check waiting for staff.
    pub manual_pending: i64,
    pub boarded_face: i64,
    pub boarded_ticket_face: i64,
    pub boarded_manual: i64,
    pub refunded: i64,
}

impl Store {
    /// A trip's counts for the manifest board, now.
    pub fn live_counts(&self, trip_id: &str) -> Result<LiveCounts> {
        let counts = self.conn.query_row(COUNTS_SQL, [trip_id], counts_row).or_db(self)?;
        let (boarded, manual_pending): (i64, i64) = self
            .conn
            .query_row(
                &format!(
                    "SELECT COUNT(*) FILTER (WHERE status = 'boarded'), COUNT(*) FILTER (WHERE status = 'manual')
                     FROM (SELECT {STATUS_SQL} AS status FROM tickets t WHERE t.trip_id = ?1)"
                ),
                [trip_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .or_db(self)?;
        Ok(LiveCounts {
            passengers: counts.passengers,
            boarded,
            not_yet: counts.passengers - boarded - manual_pending,
            manual_pending,
            boarded_face: counts.boarded_face,
            boarded_ticket_face: counts.boarded_ticket_face,
            boarded_manual: counts.boarded_manual,
            refunded: counts.refunded,
        })
    }

    /// The counts kept for a purged trip.
    pub fn trip_counts(&self, trip_id: &str) -> Result<Option<TripCounts>> {
        self.conn
            .query_row(
                "SELECT passengers, boarded_face, boarded_ticket_face, boarded_manual, refunded FROM trip_counts WHERE trip_id = ?1",
                [trip_id],
                counts_row,
            )
            .optional()
            .or_db(self)
    }

    /// Every trip departing in `[from, to]` (purged ones too), by departure, with its report
    /// figures: one grouped query, each trip's events found by the `(trip_id, outcome, method)`
    /// index.
    pub fn trip_figures_between(&self, from: i64, to: i64) -> Result<Vec<TripFigures>> {
        let sql = figures_sql("departure BETWEEN ?1 AND ?2");
        let mut stmt = self.conn.prepare_cached(&sql).or_db(self)?;
        let rows = stmt.query_map(params![from, to], figures_row).or_db(self)?;
        rows.collect::<rusqlite::Result<_>>().or_db(self)
    }

    /// One trip's report figures; None when there is no such trip.
    pub fn trip_figures(&self, trip_id: &str) -> Result<Option<TripFigures>> {
        self.conn.query_row(&figures_sql("id = ?1"), [trip_id], figures_row).optional().or_db(self)
    }
}

/// A trip's figures for reports: its counts (those kept at its purge, else computed now as a
/// purge would keep them), and its refusals and suspected spoofs from the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct TripFigures {
    pub trip: Trip,
    pub counts: TripCounts,
    /// `manual_refused` events about the trip.
    pub refusals: i64,
    /// `spoof_suspected` events about the trip.
    pub spoof_suspected: i64,
}

/// The figures of the trips `filter` selects (a condition on `trips`), in [`figures_row`]'s
/// order, by departure.
fn figures_sql(filter: &str) -> String {
    format!(
        "WITH t AS (SELECT id, route, departure, gate FROM trips WHERE {filter}),
         tk AS (SELECT trip_id, COUNT(*) FILTER (WHERE state <> 'refunded') AS passengers,
                       COUNT(*) FILTER (WHERE state = 'refunded') AS refunded
                FROM tickets WHERE trip_id IN (SELECT id FROM t) GROUP BY trip_id),
         ev AS (SELECT trip_id,
                       COUNT(*) FILTER (WHERE outcome = 'boarded' AND method = 'face') AS face,
                       COUNT(*) FILTER (WHERE outcome = 'boarded' AND method = 'ticket_face') AS ticket_face,
                       COUNT(*) FILTER (WHERE outcome = 'boarded' AND method = 'manual') AS manual,
                       COUNT(*) FILTER (WHERE outcome = 'manual_refused') AS refusals,
                       COUNT(*) FILTER (WHERE outcome = 'spoof_suspected') AS spoofs
                FROM events WHERE trip_id IN (SELECT id FROM t) GROUP BY trip_id)
         SELECT t.id, t.route, t.departure, t.gate,
                COALESCE(c.passengers, tk.passengers, 0), COALESCE(c.boarded_face, ev.face, 0),
                COALESCE(c.boarded_ticket_face, ev.ticket_face, 0), COALESCE(c.boarded_manual, ev.manual, 0),
                COALESCE(c.refunded, tk.refunded, 0), COALESCE(ev.refusals, 0), COALESCE(ev.spoofs, 0)
         FROM t LEFT JOIN trip_counts c ON c.trip_id = t.id LEFT JOIN tk ON tk.trip_id = t.id LEFT JOIN ev ON ev.trip_id = t.id
         ORDER BY t.departure, t.id"
    )
}

fn figures_row(r: &Row<'_>) -> rusqlite::Result<TripFigures> {
    Ok(TripFigures {
        trip: Trip { id: r.get(0)?, route: r.get(1)?, departure: r.get(2)?, gate: r.get(3)? },
        counts: TripCounts {
            passengers: r.get(4)?,
            boarded_face: r.get(5)?,
            boarded_ticket_face: r.get(6)?,
            boarded_manual: r.get(7)?,
            refunded: r.get(8)?,
        },
        refusals: r.get(9)?,
        spoof_suspected: r.get(10)?,
    })
}

fn counts_row(r: &Row<'_>) -> rusqlite::Result<TripCounts> {
    Ok(TripCounts {
        passengers: r.get(0)?,
        boarded_face: r.get(1)?,
        boarded_ticket_face: r.get(2)?,
        boarded_manual: r.get(3)?,
        refunded: r.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How SQLite would run `sql`: the plan's lines.
    fn plan(store: &Store, sql: &str) -> String {
        let mut stmt = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("plans");
        let values = 0..stmt.parameter_count() as i64; // any values: the plan does not depend on them
        let rows = stmt.query_map(rusqlite::params_from_iter(values), |r| r.get::<_, String>(3)).expect("plans");
        rows.collect::<rusqlite::Result<Vec<_>>>().expect("plans").join("\n")
    }

    #[test]
    fn report_figures_never_walk_the_whole_event_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("m.db")).expect("opens");
        let trips = plan(&store, &figures_sql("departure BETWEEN ?1 AND ?2"));
        assert!(trips.contains("events USING COVERING INDEX events_trip_outcome (trip_id=?)"), "{trips}");
        assert!(!trips.contains("SCAN events") && !trips.contains("SCAN e "), "{trips}");
        let days = plan(&store, &super::super::events::by_period_sql(1, 2));
        assert!(days.contains("USING COVERING INDEX events_outcome_at (outcome=? AND at>? AND at<?)"), "{days}");
    }
}
