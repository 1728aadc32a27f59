//! Retention: once a trip has departed longer than the retention, its personal data is purged
//! and only anonymous counts are kept.

use rusqlite::params;
use serde::Serialize;

use super::counts::COUNTS_SQL;
use super::{OrDb, Store};
use crate::error::Result;

/// What a purge blanked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PurgeSummary {
    pub trips: usize,
    pub tickets: usize,
}

impl Store {
    /// Purges the trips that departed more than `retention_s` before `now`: keeps their
    /// anonymous counts in `trip_counts`, blanks names, document hashes and masked numbers,
    /// deletes templates and photos, and staff's notes on its manual checks. Ticket rows, states and events stay (they hold no personal
    /// data).
    pub fn purge(&self, now: i64, retention_s: i64) -> Result<PurgeSummary> {
        let summary = self.write(|tx| {
            let trips: Vec<String> = tx
                .prepare("SELECT id FROM trips WHERE state <> 'purged' AND departure + ?2 < ?1")?
                .query_map(params![now, retention_s], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut tickets = 0;
            for trip in &trips {
                tx.execute(
                    &format!(
                        "INSERT OR REPLACE INTO trip_counts
                             (trip_id, passengers, boarded_face, boarded_ticket_face, boarded_manual, refunded)
                         SELECT ?1, * FROM ({COUNTS_SQL})"
                    ),
                    [trip],
                )?;
                tickets += tx.execute(
                    "UPDATE tickets SET name = NULL, document_hash = NULL, document_masked = NULL,
                            template = NULL, template_model = NULL, photo = NULL, updated_at = ?2
                     WHERE trip_id = ?1",
                    params![trip, now],
                )?;
                // Staff's own words about a check go with the trip; the codes stay.
                tx.execute("UPDATE manual_checks SET note = NULL WHERE trip_id = ?1", [trip])?;
                tx.execute("UPDATE trips SET state = 'purged' WHERE id = ?1", [trip])?;
            }
            Ok(PurgeSummary { trips: trips.len(), tickets })
        })?;
        if summary.trips > 0 {
            // The WAL still holds earlier versions of the blanked pages: copy the new ones into
            // the database and empty the log. With readers active it may not finish; the next
            // checkpoint does.
            let busy: i64 = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0)).or_db(self)?;
            if busy != 0 {
                tracing::warn!(path = %self.path.display(), "purge: WAL checkpoint blocked by readers; old copies remain until the next checkpoint");
            }
        }
        Ok(summary)
    }
}
