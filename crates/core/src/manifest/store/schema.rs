//! The schema: the SQL of each migration step, and applying the steps a database lacks.

use super::{rule, OrDb, Store};
use crate::error::Result;

/// Schema migrations, applied in order, each in its own transaction; `PRAGMA user_version`
/// counts those applied. Append new steps, never edit a released one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE trips (
    id TEXT PRIMARY KEY,
    route TEXT NOT NULL,
    departure INTEGER NOT NULL,
    gate TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'departed', 'purged'))
);
CREATE INDEX trips_departure ON trips (departure);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    trip_id TEXT NOT NULL REFERENCES trips (id),
    seat TEXT NOT NULL,
    name TEXT,
    document_type TEXT NOT NULL,
    document_hash TEXT,
    document_masked TEXT,
    child INTEGER NOT NULL CHECK (child IN (0, 1)),
    state TEXT NOT NULL CHECK (state IN ('valid', 'boarded', 'refunded')),
    template BLOB,
    template_model TEXT,
    enrol_issue TEXT,
    boarded_at INTEGER,
    updated_at INTEGER NOT NULL,
    CHECK (state <> 'boarded' OR boarded_at IS NOT NULL),
    CHECK (state <> 'refunded' OR template IS NULL),
    CHECK ((template IS NULL) = (template_model IS NULL))
);
CREATE INDEX tickets_trip ON tickets (trip_id);
CREATE INDEX tickets_document ON tickets (document_hash);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    lane TEXT NOT NULL,
    trip_id TEXT,
    ticket_id TEXT,
    outcome TEXT NOT NULL,
    method TEXT,
    staff TEXT,
    detail TEXT
);
CREATE INDEX events_trip ON events (trip_id);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE manual_checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    lane TEXT NOT NULL,
    trip_id TEXT,
    ticket_id TEXT,
    reason TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'refused')),
    resolved_by TEXT,
    resolved_at INTEGER,
    resolution TEXT,
    CHECK ((state = 'pending') = (resolved_at IS NULL))
);
CREATE INDEX manual_checks_pending ON manual_checks (state) WHERE state = 'pending';

CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('staff', 'supervisor')),
    created_at INTEGER NOT NULL
);

CREATE TABLE trip_counts (
    trip_id TEXT PRIMARY KEY REFERENCES trips (id),
    passengers INTEGER NOT NULL,
    boarded_face INTEGER NOT NULL,
    boarded_ticket_face INTEGER NOT NULL,
    boarded_manual INTEGER NOT NULL,
    refunded INTEGER NOT NULL
);
"#,
    r#"
-- The enrolled ID photo (JPEG, encrypted under the station key) staff see at a manual check.
ALTER TABLE tickets ADD COLUMN photo BLOB CHECK (photo IS NULL OR state <> 'refunded');
-- Reports count events by day.
CREATE INDEX events_at ON events (at);
"#,
    r#"
-- An event names the manual check it opened or resolved in a column of its own, and a
-- supervisor's override of a refusal (its code) in another: nothing is parsed out of text.
ALTER TABLE events ADD COLUMN check_id INTEGER;
ALTER TABLE events ADD COLUMN overrode TEXT;
ALTER TABLE manual_checks ADD COLUMN overrode TEXT;
CREATE INDEX events_lane ON events (lane, at);
-- Staff resolutions take the lane's outcome words, and their free text (kept with the check,
-- which is purged) leaves the log. The log is append-only: this one migration rewrites it.
DROP TRIGGER events_no_update;
UPDATE events SET check_id = CAST(substr(detail, 7, instr(detail, ':') - 7) AS INTEGER), detail = NULL
 WHERE outcome IN ('manual_check_approved', 'manual_check_refused') AND detail LIKE 'check %:%';
UPDATE events SET outcome = 'manual_approved' WHERE outcome = 'manual_check_approved';
UPDATE events SET outcome = 'manual_refused' WHERE outcome = 'manual_check_refused';
UPDATE events SET check_id = CAST(substr(detail, 7, instr(detail, ':') - 7) AS INTEGER), detail = NULL
 WHERE outcome = 'boarded' AND method = 'manual' AND detail LIKE 'check %:%';
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- The manifest's version, bumped by every change to a trip or a ticket from any process, so
-- a cached lane manifest knows when it is stale.
CREATE TABLE manifest_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT INTO manifest_version VALUES (1, 0);
CREATE TRIGGER trips_insert_version AFTER INSERT ON trips BEGIN UPDATE manifest_version SET version = version + 1; END;
CREATE TRIGGER trips_update_version AFTER UPDATE ON trips BEGIN UPDATE manifest_version SET version = version + 1; END;
CREATE TRIGGER trips_delete_version AFTER DELETE ON trips BEGIN UPDATE manifest_version SET version = version + 1; END;
CREATE TRIGGER tickets_insert_version AFTER INSERT ON tickets BEGIN UPDATE manifest_version SET version = version + 1; END;
CREATE TRIGGER tickets_update_version AFTER UPDATE ON tickets BEGIN UPDATE manifest_version SET version = version + 1; END;
CREATE TRIGGER tickets_delete_version AFTER DELETE ON tickets BEGIN UPDATE manifest_version SET version = version + 1; END;

-- A lane's decision requests by the lane's own request id: a retry after a lost reply gets
-- the first answer again, not "already boarded" for the passenger just boarded.
CREATE TABLE lane_requests (
    lane TEXT NOT NULL,
    request_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    decision TEXT NOT NULL,
    PRIMARY KEY (lane, request_id)
);
"#,
    r#"
-- Staff sessions by the SHA-256 of the cookie (the cookie itself is never stored): they
-- survive a restart of the service, and a password change or a supervisor ends them.
CREATE TABLE staff_sessions (
    token_hash BLOB PRIMARY KEY,
    staff TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff);
"#,
    r#"
-- Events carry their trip whenever their ticket is known (the store fills it in on append),
-- so reports count a trip's events from one index instead of walking every ticketless event.
-- The log is append-only: this one migration fills in the trip of the events before it.
DROP TRIGGER events_no_update;
UPDATE events SET trip_id = (SELECT tickets.trip_id FROM tickets WHERE tickets.id = events.ticket_id)
 WHERE trip_id IS NULL AND ticket_id IS NOT NULL;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
-- A trip's figures by outcome and method; a period's figures by outcome and time.
DROP INDEX events_trip;
CREATE INDEX events_trip_outcome ON events (trip_id, outcome, method);
CREATE INDEX events_outcome_at ON events (outcome, at);
"#,
    r#"
-- Staff resolve a check for a reason from a fixed list (its code, kept here and in the log)
-- and may add a note in their own words, which is purged with the trip: the free text the
-- column `resolution` held until now is such a note.
ALTER TABLE manual_checks RENAME COLUMN resolution TO note;
ALTER TABLE manual_checks ADD COLUMN resolution TEXT;
"#,
];

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

impl Store {
    /// Applies the steps this database lacks, each in its own transaction: several processes
    /// may open a new database at once, and each step runs exactly once.
    pub(super) fn migrate(&self) -> Result<()> {
        let version: i64 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).or_db(self)?;
        if version == SCHEMA_VERSION {
            return Ok(()); // the usual case: no write lock taken just to open
        }
        loop {
            // Re-read the version inside each write transaction: another lane may be migrating.
            let done = self.write(|tx| {
                let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
                if !(0..=SCHEMA_VERSION).contains(&version) {
                    return rule(format!(
                        "schema version {version} is not one this boardcheck knows (0 to {SCHEMA_VERSION}); is it newer?"
                    ));
                }
                let Some(step) = MIGRATIONS.get(version as usize) else { return Ok(true) };
                tx.execute_batch(step)?;
                tx.pragma_update(None, "user_version", version + 1)?;
                Ok(false)
            })?;
            if done {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::manifest::keys::StationKeys;

    #[test]
    fn a_version_1_database_gains_photos_and_keeps_its_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        let v1 = Connection::open(&path).expect("creates");
        v1.execute_batch(MIGRATIONS[0]).expect("version 1");
        v1.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO trips (id, route, departure, gate) VALUES ('G1', 'r', 0, '1');
             INSERT INTO tickets (id, trip_id, seat, name, document_type, child, state, updated_at)
             VALUES ('T1', 'G1', '1', 'Li', 'passport', 0, 'refunded', 0);",
        )
        .expect("a row");
        drop(v1);
        let store = Store::open(&path).expect("migrates");
        let version: i64 = store.conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("reads");
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(store.ticket("T1").expect("reads").expect("kept").name.as_deref(), Some("Li"));
        let keys = StationKeys::load_or_create(&dir.path().join("station.key")).expect("key");
        assert_eq!(store.photo("T1", &keys).expect("reads"), None);
    }

    #[test]
    fn a_version_2_log_gets_its_check_ids_out_of_the_text_and_stays_append_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        let v2 = Connection::open(&path).expect("creates");
        v2.execute_batch(MIGRATIONS[0]).expect("version 1");
        v2.execute_batch(MIGRATIONS[1]).expect("version 2");
        v2.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO events (at, lane, outcome, method, staff, detail)
             VALUES (5, 'lane-1', 'manual_check_refused', 'manual', 'wang', 'check 12: looks like someone else');",
        )
        .expect("an event");
        drop(v2);
        let store = Store::open(&path).expect("migrates");
        let events = store.events_since(0).expect("reads");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].outcome, crate::boarding::Outcome::ManualRefused);
        assert_eq!(events[0].check_id, Some(12));
        assert_eq!(events[0].detail, None, "staff's words left the log");
        let update = store.conn.execute("UPDATE events SET lane = 'x'", []);
        assert!(update.is_err(), "the trigger is back");
    }

    #[test]
    fn a_version_3_log_gets_the_trips_of_its_ticket_only_events() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        let v3 = Connection::open(&path).expect("creates");
        for step in &MIGRATIONS[..3] {
            v3.execute_batch(step).expect("an old version");
        }
        v3.execute_batch(
            "PRAGMA user_version = 3;
             INSERT INTO trips (id, route, departure, gate) VALUES ('G1', 'r', 0, '1');
             INSERT INTO tickets (id, trip_id, seat, document_type, child, state, updated_at)
             VALUES ('T1', 'G1', '1', 'passport', 0, 'valid', 0);
             INSERT INTO events (at, lane, ticket_id, outcome) VALUES (5, 'lane-1', 'T1', 'spoof_suspected');
             INSERT INTO events (at, lane, outcome) VALUES (6, 'lane-1', 'spoof_suspected');",
        )
        .expect("events");
        drop(v3);
        let store = Store::open(&path).expect("migrates");
        let trips: Vec<Option<String>> = store.events_since(0).expect("reads").into_iter().map(|e| e.trip_id).collect();
        assert_eq!(trips, [Some("G1".to_string()), None]);
        assert!(store.conn.execute("UPDATE events SET lane = 'x'", []).is_err(), "still append-only");
    }

    #[test]
    fn a_version_5_free_text_resolution_becomes_a_purgeable_note_without_a_code() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        let v5 = Connection::open(&path).expect("creates");
        for step in &MIGRATIONS[..5] {
            v5.execute_batch(step).expect("an old version");
        }
        v5.execute_batch(
            "PRAGMA user_version = 5;
             INSERT INTO manual_checks (created_at, lane, reason, state, resolved_by, resolved_at, resolution)
             VALUES (1, 'lane-1', 'no_match', 'approved', 'wang', 2, 'Li Lei 11010519491231002X seen');",
        )
        .expect("a resolved check");
        drop(v5);
        let store = Store::open(&path).expect("migrates");
        let check = store.manual_check(1).expect("reads").expect("kept");
        assert_eq!((check.resolution, check.note.as_deref()), (None, Some("Li Lei 11010519491231002X seen")));
    }

    #[test]
    fn migrates_to_the_current_version_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        drop(Store::open(&path).expect("creates"));
        let store = Store::open(&path).expect("reopens");
        let version: i64 = store.conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("reads");
        assert_eq!(version, SCHEMA_VERSION);
        let mode: String = store.conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).expect("reads");
        assert_eq!(mode, "wal");
    }
}
