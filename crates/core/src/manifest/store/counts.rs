//! A trip's counts: those a purge keeps (and reports read), and the manifest board's live ones.

use rusqlite::{OptionalExtension, Row};
use serde::Serialize;

use super::passengers::STATUS_SQL;
use super::{OrDb, Store};
use crate::error::Result;

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

    /// A trip's counts: those kept at its purge, else computed now as a purge would keep them.
    pub fn boarding_counts(&self, trip_id: &str) -> Result<TripCounts> {
        match self.trip_counts(trip_id)? {
            Some(kept) => Ok(kept),
            None => self.conn.query_row(COUNTS_SQL, [trip_id], counts_row).or_db(self),
        }
    }
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
