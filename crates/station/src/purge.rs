//! The retention promise kept by the service itself: a background task, owned by the station
//! as mini-redis owns its expiry task, purges the personal data of trips that departed longer
//! ago than the retention (`retention_hours` in station.toml) — names, document numbers,
//! templates, ID photos and staff notes — keeping anonymous counts. It runs at start and then
//! every [`PURGE_EVERY`]; the console shows when it last ran and what it did. A purge that
//! fails is logged as an error and shown, and tried again at the next run.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crossbeam_channel::Receiver;

use crate::error::{Error, Result};
use crate::lock;
use crate::station::Station;
use boardcheck_api::{PurgeRun, RetentionStatus};
use boardcheck_core::clock::unix_now;
use boardcheck_core::manifest::store::Store;

/// How often the purge runs.
pub const PURGE_EVERY: Duration = Duration::from_secs(10 * 60);

/// The last purge, for the console.
#[derive(Default)]
pub struct Retention(Mutex<Option<PurgeRun>>);

impl Retention {
    pub fn status(&self, retention_hours: i64) -> RetentionStatus {
        RetentionStatus { retention_hours, every_s: PURGE_EVERY.as_secs(), last_run: lock(&self.0).clone() }
    }

    fn record(&self, run: PurgeRun) {
        *lock(&self.0) = Some(run);
    }
}

/// Starts the purge thread on its own connection; it ends when the station is dropped (and
/// with it the sender of `stopped`).
pub fn start(station: &Arc<Station>, store: Store, stopped: Receiver<()>) -> Result<()> {
    let weak = Arc::downgrade(station);
    std::thread::Builder::new()
        .name("purge".into())
        .spawn(move || run(weak, store, stopped))
        .map(drop)
        .map_err(|e| Error::io("<purge thread>", e))
}

fn run(station: Weak<Station>, store: Store, stopped: Receiver<()>) {
    loop {
        let Some(station) = station.upgrade() else { return };
        let retention_s = station.config.retention_hours * 3600;
        let at = unix_now();
        let run = match store.purge(at, retention_s) {
            Ok(summary) => {
                if summary.trips > 0 {
                    tracing::info!(trips = summary.trips, tickets = summary.tickets, "purged the personal data of departed trips");
                }
                PurgeRun { at, trips: summary.trips, tickets: summary.tickets, error: None }
            }
            Err(e) => {
                tracing::error!(error = %e, "the purge failed: personal data is kept past its retention until it runs");
                // The kind, not the text: the console is not told the database's path.
                PurgeRun { at, trips: 0, tickets: 0, error: Some(format!("{:?}", e.kind()).to_lowercase()) }
            }
        };
        station.retention.record(run);
        drop(station);
        if stopped.recv_timeout(PURGE_EVERY) != Err(crossbeam_channel::RecvTimeoutError::Timeout) {
            return; // the station is gone
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::config::StationConfig;
    use boardcheck_core::manifest::keys::StationKeys;
    use boardcheck_core::manifest::{DocumentType, NewTicket, Trip};

    #[test]
    fn the_service_purges_departed_trips_by_itself_and_says_when() {
        // Today only `boardcheck purge` on the command line purged anything.
        let dir = tempfile::tempdir().expect("tempdir");
        let config = StationConfig { db: dir.path().join("station.db"), retention_hours: 1, ..StationConfig::default() };
        {
            let store = Store::open(&config.db).expect("store");
            let keys = StationKeys::load_or_create(&config.key_path()).expect("key");
            let departed = unix_now() - 2 * 3600;
            store.upsert_trip(&Trip { id: "OLD".into(), route: "r".into(), departure: departed, gate: "3".into() }).expect("trip");
            let ticket = NewTicket {
                id: "T1".into(),
                seat: "1".into(),
                name: "Li Lei".into(),
                document_type: DocumentType::IdCard,
                document_number: "110101199001011234".into(),
                child: false,
                refunded: false,
            };
            store.import_tickets("OLD", &[ticket], &keys, departed - 86_400).expect("imports");
        }
        let station = Station::open(config).expect("opens");
        let started = Instant::now();
        let run = loop {
            if let Some(run) = station.retention().last_run {
                break run;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "the purge ran at start");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!((run.trips, run.tickets, run.error), (1, 1, None));
        assert_eq!(station.retention().retention_hours, 1);
        assert_eq!(station.store().ticket("T1").expect("reads").expect("kept").name, None, "the name is gone");
    }
}
