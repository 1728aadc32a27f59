//! The last report of one kind, kept for its chart: the console asks for a report's figures
//! and then for its chart, and the chart reuses the figures instead of counting them again.
//! A kept report is reused only while the store holds what it was made from (no new event,
//! the same manifest version), so it is never stale.

use std::sync::Mutex;

use boardcheck_core::manifest::store::Store;

use crate::error::Result;
use crate::lock;

/// What a report was made from: the last event's id and the manifest's version (bumped by
/// every change to a trip or a ticket, a purge included).
type Made = (i64, i64);

/// The last report made for a period `K`.
pub struct Recent<K, R> {
    last: Mutex<Option<(K, Made, R)>>,
}

impl<K, R> Default for Recent<K, R> {
    fn default() -> Self {
        Recent { last: Mutex::new(None) }
    }
}

impl<K: PartialEq, R: Clone> Recent<K, R> {
    /// The report of `period`: the kept one while the store is unchanged, else `make`'s.
    pub fn get(&self, store: &Store, period: K, make: impl FnOnce(&Store) -> Result<R>) -> Result<R> {
        let made = (store.last_event_id()?, store.manifest_version()?);
        if let Some((kept, at, report)) = &*lock(&self.last) {
            if *kept == period && *at == made {
                return Ok(report.clone());
            }
        }
        let report = make(store)?;
        *lock(&self.last) = Some((period, made, report.clone()));
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use boardcheck_core::boarding::Outcome;
    use boardcheck_core::manifest::store::NewEvent;

    #[test]
    fn a_report_is_reused_only_while_the_store_is_unchanged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("m.db")).expect("opens");
        let recent: Recent<&str, i64> = Recent::default();
        let made = Cell::new(0);
        let count = |s: &Store| {
            made.set(made.get() + 1);
            Ok(s.events_since(0)?.len() as i64)
        };
        assert_eq!(recent.get(&store, "2026-11", count).expect("reports"), 0);
        assert_eq!(recent.get(&store, "2026-11", count).expect("reports"), 0);
        assert_eq!(made.get(), 1, "the chart reused the report");
        assert_eq!(recent.get(&store, "2026-10", count).expect("reports"), 0);
        assert_eq!(made.get(), 2, "another period is made anew");
        let event = NewEvent {
            at: 1,
            lane: "lane-1",
            trip_id: None,
            ticket_id: None,
            outcome: Outcome::NotOnManifest,
            method: None,
            staff: None,
            detail: None,
            check_id: None,
            overrode: None,
        };
        store.record_event(&event).expect("records");
        assert_eq!(recent.get(&store, "2026-10", count).expect("reports"), 1, "a new event: made anew");
        assert_eq!(made.get(), 3);
    }
}
