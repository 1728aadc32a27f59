//! The manifest database: one SQLite file shared by the station's lane processes and console.
//!
//! Why it is built this way:
//! - **A reported boarding is never lost.** WAL journal with `synchronous=FULL`: a commit is
//!   on disk before [`Store::board`] returns, so neither `kill -9` nor a power cut undoes a
//!   boarding a lane has already shown as "pass".
//! - **Exactly once.** Boarding is one guarded update, `… SET state='boarded' WHERE id=? AND
//!   state='valid'`, and its `boarded` event is written in the same `IMMEDIATE` transaction.
//!   SQLite admits one writer at a time, so of two lanes racing on one ticket exactly one
//!   changes the row; the other reads `boarded` and answers "already boarded". Only
//!   [`Store::board`] (directly or through an approved manual check) writes `boarded` events,
//!   so events and ticket states agree and the counts kept after a purge are exact.
//! - **Append-only audit.** Triggers abort any `UPDATE` or `DELETE` on `events`; corrections
//!   are new events. Events therefore carry ids and outcomes, never names or numbers, since
//!   they are never purged.
//! - **Personal data minimised (PIPL).** A document number is kept only as a keyed hash (to
//!   find a ticket from an ID-card tap) and a masked form (for staff); templates and ID photos
//!   only encrypted under the station key ([`super::keys`]). The photo is a small JPEG (at most
//!   256 px a side) kept only so staff can compare faces at a manual check: a refunded ticket
//!   holds neither template nor photo (the schema checks it), and a ticket passed to another
//!   passenger loses both. [`Store::purge`] blanks names, numbers, templates and photos once a
//!   trip has departed longer than the retention, keeping anonymous counts; `secure_delete`
//!   zeroes the freed bytes and a WAL checkpoint drops the old copies.
//! - **Queries are parameters, never text.** Console searches reach SQLite only as bound
//!   values, with `LIKE` wildcards escaped, so a search matches its characters literally.
//! - **Clear failures.** Every error names the database file; a lock held past the busy
//!   timeout or a full disk says so in words.
//!
//! Each process opens its own [`Store`] (one connection). Times are unix seconds passed in by
//! the caller, so tests and replays control the clock.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{params, params_from_iter, Connection, ErrorCode, OptionalExtension, Row, ToSql, Transaction, TransactionBehavior};
use serde::Serialize;

use super::keys::{normalise_document, StationKeys};
use super::{mask_document_number, DocumentType, Method, NewTicket, Role, TicketRecord, TicketState, Trip};
use crate::error::{Error, Result};

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
];

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A trip's [`TripCounts`] from its tickets and `boarded` events, `?1` the trip id: what a
/// purge keeps and what reports read before one.
const COUNTS_SQL: &str = "SELECT
    (SELECT COUNT(*) FROM tickets WHERE trip_id = ?1 AND state <> 'refunded'),
    (SELECT COUNT(*) FROM events WHERE trip_id = ?1 AND outcome = 'boarded' AND method = 'face'),
    (SELECT COUNT(*) FROM events WHERE trip_id = ?1 AND outcome = 'boarded' AND method = 'ticket_face'),
    (SELECT COUNT(*) FROM events WHERE trip_id = ?1 AND outcome = 'boarded' AND method = 'manual'),
    (SELECT COUNT(*) FROM tickets WHERE trip_id = ?1 AND state = 'refunded')";

/// A ticket's [`PassengerStatus`] word, for a query over `tickets t`: a boarding or a refund is
/// final, so a pending check only shows for a ticket still valid.
const STATUS_SQL: &str = "CASE
    WHEN t.state = 'refunded' THEN 'refunded'
    WHEN t.state = 'boarded' THEN 'boarded'
    WHEN EXISTS (SELECT 1 FROM manual_checks m WHERE m.state = 'pending' AND m.ticket_id = t.id) THEN 'manual'
    ELSE 'not_yet' END";

/// Ticket columns in [`ticket_row`]'s order, for a query over `tickets t`.
const TICKET_COLUMNS: &str =
    "t.id, t.trip_id, t.seat, t.name, t.document_type, t.document_masked, t.child, t.state, t.template IS NOT NULL, t.enrol_issue";

/// Connection settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long a write waits for another process's transaction before failing.
    pub busy_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options { busy_timeout: Duration::from_secs(5) }
    }
}

/// What an import changed. Every row counts once: `refunded` are rows that became refunded
/// (new or not), `added` other new rows, `updated` existing rows with changed fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub added: usize,
    pub updated: usize,
    pub refunded: usize,
    pub unchanged: usize,
}

/// The answer of the guarded boarding update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum BoardResult {
    /// This call boarded the ticket and wrote its `boarded` event.
    Boarded,
    /// Someone boarded it before, at `at` (unix seconds).
    AlreadyBoarded {
        at: i64,
    },
    Refunded,
    UnknownTicket,
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ManualState {
    Pending,
    Approved,
    Refused,
}

/// A manual check on the console's queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManualCheck {
    pub id: i64,
    pub created_at: i64,
    pub lane: String,
    pub trip_id: Option<String>,
    pub ticket_id: Option<String>,
    pub reason: String,
    pub state: ManualState,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<i64>,
    pub resolution: Option<String>,
}

/// How a manual check was resolved; `boarding` is the guarded update's answer when an
/// approved check named a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ManualResolution {
    pub state: ManualState,
    pub boarding: Option<BoardResult>,
}

/// What a purge blanked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PurgeSummary {
    pub trips: usize,
    pub tickets: usize,
}

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

/// Where a passenger on the manifest board stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PassengerStatus {
    Boarded,
    NotYet,
    /// A manual check for the ticket waits for staff.
    Manual,
    Refunded,
}

/// One line of a trip's manifest board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Passenger {
    pub ticket: String,
    pub seat: String,
    /// None once purged.
    pub name: Option<String>,
    pub document_type: DocumentType,
    /// None once purged.
    pub document_masked: Option<String>,
    pub child: bool,
    pub status: PassengerStatus,
    /// How the ticket boarded, from its `boarded` event.
    pub method: Option<Method>,
    pub boarded_at: Option<i64>,
}

/// A staff account: the console checks the password against the PHC hash string stored here.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub id: String,
    pub password_hash: String,
    pub role: Role,
}

/// Leaves the hash out, so logging a record never copies it anywhere.
impl std::fmt::Debug for StaffRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffRecord").field("id", &self.id).field("role", &self.role).finish_non_exhaustive()
    }
}

/// The manifest database, one connection. Not `Sync`: one per thread or process.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    busy_timeout: Duration,
}

/// Why an operation failed, before the database path is attached.
enum Fail {
    Sql(rusqlite::Error),
    Rule(String),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

fn rule<T>(reason: String) -> std::result::Result<T, Fail> {
    Err(Fail::Rule(reason))
}

trait OrDb<T> {
    fn or_db(self, store: &Store) -> Result<T>;
}

impl<T, E: Into<Fail>> OrDb<T> for std::result::Result<T, E> {
    fn or_db(self, store: &Store) -> Result<T> {
        self.map_err(|e| store.error(e.into()))
    }
}

impl Store {
    /// Opens (creating and migrating as needed) the database at `path` with default options.
    pub fn open(path: &Path) -> Result<Store> {
        Self::open_with(path, Options::default())
    }

    /// Opens with explicit [`Options`] (tests use a short busy timeout).
    pub fn open_with(path: &Path, options: Options) -> Result<Store> {
        let conn = Connection::open(path).map_err(|e| Error::Database { path: path.into(), reason: format!("cannot open: {e}") })?;
        let store = Store { conn, path: path.into(), busy_timeout: options.busy_timeout };
        store.configure().or_db(&store)?;
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn configure(&self) -> std::result::Result<(), Fail> {
        self.conn.busy_timeout(self.busy_timeout)?;
        let mode: String = self.conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return rule(format!("cannot use write-ahead logging here (journal mode stays '{mode}')"));
        }
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        self.conn.pragma_update(None, "secure_delete", "ON")?;
        Ok(())
    }

    fn migrate(&self) -> Result<()> {
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

    fn error(&self, fail: Fail) -> Error {
        let reason = match fail {
            Fail::Rule(reason) => reason,
            Fail::Sql(e) => match e.sqlite_error_code() {
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => format!(
                    "database is locked: another process kept it busy for longer than the {:.1} s busy timeout; nothing was written",
                    self.busy_timeout.as_secs_f64()
                ),
                Some(ErrorCode::DiskFull) => "database or disk is full: nothing was written; free space on its disk".into(),
                Some(ErrorCode::ReadOnly) => format!("database is read-only ({e}): check the file's and its folder's permissions"),
                _ => match e {
                    rusqlite::Error::FromSqlConversionFailure(_, _, why) => why.to_string(),
                    e => e.to_string(),
                },
            },
        };
        Error::Database { path: self.path.clone(), reason }
    }

    /// Runs `f` in one `IMMEDIATE` transaction: the write lock is taken up front (waiting up to
    /// the busy timeout), so a transaction never fails half-way on a lock; any error rolls back.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> std::result::Result<T, Fail>) -> Result<T> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate).or_db(self)?;
        let out = f(&tx).or_db(self)?;
        tx.commit().or_db(self)?;
        Ok(out)
    }

    // ---- trips ----

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
                    None => rule(format!("no trip {trip_id}")),
                    Some(state) if state == "departed" => Ok(()),
                    Some(state) => rule(format!("trip {trip_id} is {state}, it cannot depart")),
                };
            }
            Ok(())
        })
    }

    // ---- tickets ----

    /// Imports a trip's tickets from the ticketing export; re-importing the same rows changes
    /// nothing.
    ///
    /// Boarded and refunded tickets keep their state (a refund is final; a boarding is a fact).
    /// A newly refunded ticket drops its template and photo and so leaves matching. When the
    /// passenger changes (another name or document number), the old template and photo are
    /// dropped for re-enrolment: staff must never compare a face with someone else's photo.
    /// The whole import is refused, nothing written, when a ticket id belongs to another trip
    /// or appears twice.
    pub fn import_tickets(&self, trip_id: &str, tickets: &[NewTicket], keys: &StationKeys, now: i64) -> Result<ImportSummary> {
        self.write(|tx| {
            let trip_state: Option<String> = tx.query_row("SELECT state FROM trips WHERE id = ?1", [trip_id], |r| r.get(0)).optional()?;
            match trip_state.as_deref() {
                None => return rule(format!("no trip {trip_id}: add the trip before its tickets")),
                Some("purged") => return rule(format!("trip {trip_id} was purged: its manifest can no longer be imported")),
                Some(_) => {}
            }
            let mut seen = HashSet::new();
            let mut summary = ImportSummary::default();
            for ticket in tickets {
                if !seen.insert(ticket.id.as_str()) {
                    return rule(format!("ticket {} appears twice in the import for trip {trip_id}", ticket.id));
                }
                let number = normalise_document(&ticket.document_number);
                let (hash, masked) =
                    if number.is_empty() { (None, None) } else { (Some(keys.document_hash(&number)), Some(mask_document_number(&number))) };
                let old = tx
                    .query_row(
                        "SELECT trip_id, seat, name, document_type, document_hash, child, state FROM tickets WHERE id = ?1",
                        [&ticket.id],
                        |r| {
                            Ok(StoredTicket {
                                trip_id: r.get(0)?,
                                seat: r.get(1)?,
                                name: r.get(2)?,
                                document_type: r.get(3)?,
                                hash: r.get(4)?,
                                child: r.get(5)?,
                                state: r.get(6)?,
                            })
                        },
                    )
                    .optional()?;
                let Some(old) = old else {
                    let state = if ticket.refunded { TicketState::Refunded } else { TicketState::Valid };
                    tx.execute(
                        "INSERT INTO tickets (id, trip_id, seat, name, document_type, document_hash, document_masked, child, state, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        params![ticket.id, trip_id, ticket.seat, ticket.name, ticket.document_type, hash, masked, ticket.child, state, now],
                    )?;
                    if ticket.refunded {
                        summary.refunded += 1;
                    } else {
                        summary.added += 1;
                    }
                    continue;
                };
                if old.trip_id != trip_id {
                    return rule(format!("ticket {} already belongs to trip {}, not {trip_id}", ticket.id, old.trip_id));
                }
                let refund = ticket.refunded && old.state == TicketState::Valid;
                let new_person = old.name.as_deref() != Some(ticket.name.as_str()) || old.hash != hash;
                let changed = new_person
                    || old.seat != ticket.seat
                    || old.document_type != ticket.document_type
                    || old.child != ticket.child;
                if !refund && !changed {
                    summary.unchanged += 1;
                    continue;
                }
                let state = if refund { TicketState::Refunded } else { old.state };
                tx.execute(
                    "UPDATE tickets SET seat = ?2, name = ?3, document_type = ?4, document_hash = ?5, document_masked = ?6,
                            child = ?7, state = ?8,
                            template = CASE WHEN ?9 THEN NULL ELSE template END,
                            template_model = CASE WHEN ?9 THEN NULL ELSE template_model END,
                            photo = CASE WHEN ?9 THEN NULL ELSE photo END,
                            enrol_issue = CASE WHEN ?9 THEN NULL ELSE enrol_issue END,
                            updated_at = ?10
                     WHERE id = ?1",
                    params![ticket.id, ticket.seat, ticket.name, ticket.document_type, hash, masked, ticket.child, state, refund || new_person, now],
                )?;
                if refund {
                    summary.refunded += 1;
                } else {
                    summary.updated += 1;
                }
            }
            Ok(summary)
        })
    }

    /// Stores a ticket's enrolled template, encrypted, and clears any enrolment issue.
    /// A refunded ticket takes no template: the call succeeds and the template is discarded.
    pub fn set_template(&self, ticket_id: &str, template: &[f32], model_id: &str, keys: &StationKeys, now: i64) -> Result<()> {
        let blob = keys.encrypt_template(ticket_id, template);
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE tickets SET template = ?2, template_model = ?3, enrol_issue = NULL, updated_at = ?4
                 WHERE id = ?1 AND state <> 'refunded'",
                params![ticket_id, blob, model_id, now],
            )?;
            require_ticket(tx, ticket_id, changed)
        })
    }

    /// Stores a ticket's ID photo (JPEG bytes), encrypted, for staff at a manual check.
    /// A refunded ticket takes no photo: the call succeeds and the photo is discarded.
    pub fn set_photo(&self, ticket_id: &str, jpeg: &[u8], keys: &StationKeys, now: i64) -> Result<()> {
        let blob = keys.encrypt_photo(ticket_id, jpeg);
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE tickets SET photo = ?2, updated_at = ?3 WHERE id = ?1 AND state <> 'refunded'",
                params![ticket_id, blob, now],
            )?;
            require_ticket(tx, ticket_id, changed)
        })
    }

    /// A ticket's decrypted ID photo (JPEG); None when there is none (no photo enrolled,
    /// refunded, purged) or no such ticket.
    pub fn photo(&self, ticket_id: &str, keys: &StationKeys) -> Result<Option<Vec<u8>>> {
        let blob: Option<Vec<u8>> =
            self.conn.query_row("SELECT photo FROM tickets WHERE id = ?1", [ticket_id], |r| r.get(0)).optional().or_db(self)?.flatten();
        blob.map(|b| keys.decrypt_photo(ticket_id, &b)).transpose()
    }

    /// Whether a ticket has a stored photo (without decrypting it).
    pub fn has_photo(&self, ticket_id: &str) -> Result<bool> {
        let found = self.conn.query_row("SELECT photo IS NOT NULL FROM tickets WHERE id = ?1", [ticket_id], |r| r.get(0)).optional();
        Ok(found.or_db(self)?.unwrap_or(false))
    }

    /// Records why enrolment found no usable face; drops any template the ticket had.
    pub fn set_enrol_issue(&self, ticket_id: &str, reason: &str, now: i64) -> Result<()> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE tickets SET enrol_issue = ?2, template = NULL, template_model = NULL, updated_at = ?3 WHERE id = ?1",
                params![ticket_id, reason, now],
            )?;
            if changed == 0 {
                return rule(format!("no ticket {ticket_id}"));
            }
            Ok(())
        })
    }

    /// The decrypted templates of the given trips' tickets that may be matched: valid ones, and
    /// boarded ones so a second pass is answered "already boarded"; never refunded ones. Only
    /// templates made by `model_id`: another embedder's vectors are not comparable.
    pub fn templates(&self, trip_ids: &[String], model_id: &str, keys: &StationKeys) -> Result<Vec<(TicketRecord, Vec<f32>)>> {
        if trip_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; trip_ids.len()].join(", ");
        let sql = format!(
            "SELECT {TICKET_COLUMNS}, t.template FROM tickets t
             WHERE t.template_model = ? AND t.trip_id IN ({placeholders}) AND t.template IS NOT NULL
                 AND t.state IN ('valid', 'boarded')
             ORDER BY t.trip_id, t.id"
        );
        let mut stmt = self.conn.prepare(&sql).or_db(self)?;
        let bound = std::iter::once(model_id).chain(trip_ids.iter().map(String::as_str));
        let rows = stmt
            .query_map(params_from_iter(bound), |r| Ok((ticket_row(r)?, r.get::<_, Vec<u8>>(10)?)))
            .or_db(self)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .or_db(self)?;
        rows.into_iter()
            .map(|(ticket, blob)| {
                let template = keys.decrypt_template(&ticket.id, &blob)?;
                Ok((ticket, template))
            })
            .collect()
    }

    pub fn ticket(&self, id: &str) -> Result<Option<TicketRecord>> {
        self.conn.query_row(&format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?1"), [id], ticket_row).optional().or_db(self)
    }

    /// A ticket with its trip (to tell a passenger at the wrong lane which gate is theirs).
    pub fn ticket_trip(&self, id: &str) -> Result<Option<(TicketRecord, Trip)>> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {TICKET_COLUMNS}, r.id, r.route, r.departure, r.gate
                     FROM tickets t JOIN trips r ON r.id = t.trip_id WHERE t.id = ?1"
                ),
                [id],
                |r| {
                    let trip = Trip { id: r.get(10)?, route: r.get(11)?, departure: r.get(12)?, gate: r.get(13)? };
                    Ok((ticket_row(r)?, trip))
                },
            )
            .optional()
            .or_db(self)
    }

    /// Tickets whose document number hashes like `number` (an ID-card tap, a typed number).
    pub fn tickets_by_document(&self, number: &str, keys: &StationKeys) -> Result<Vec<TicketRecord>> {
        if normalise_document(number).is_empty() {
            return Ok(Vec::new());
        }
        self.tickets_where("t.document_hash = ?1", &keys.document_hash(number))
    }

    pub fn tickets_of_trip(&self, trip_id: &str) -> Result<Vec<TicketRecord>> {
        self.tickets_where("t.trip_id = ?1", trip_id)
    }

    fn tickets_where(&self, condition: &str, value: &str) -> Result<Vec<TicketRecord>> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE {condition} ORDER BY t.id")).or_db(self)?;
        let rows = stmt.query_map([value], ticket_row).or_db(self)?;
        rows.collect::<rusqlite::Result<_>>().or_db(self)
    }

    // ---- manifest board ----

    /// A trip's tickets as the manifest board shows them, by seat. `query` (trimmed; blank is
    /// none) keeps the tickets whose seat starts with it, or whose name or masked document
    /// number contains it, ignoring ASCII case; its characters match literally (`%` and `_`
    /// included).
    pub fn passengers(&self, trip_id: &str, query: Option<&str>) -> Result<Vec<Passenger>> {
        let pattern = query.map(str::trim).filter(|q| !q.is_empty()).map(escape_like);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                r"SELECT t.id, t.seat, t.name, t.document_type, t.document_masked, t.child, {STATUS_SQL},
                     (SELECT e.method FROM events e WHERE e.trip_id = t.trip_id AND e.ticket_id = t.id AND e.outcome = 'boarded'),
                     t.boarded_at
                 FROM tickets t
                 WHERE t.trip_id = ?1 AND (?2 IS NULL
                     OR t.seat LIKE ?2 || '%' ESCAPE '\'
                     OR t.name LIKE '%' || ?2 || '%' ESCAPE '\'
                     OR t.document_masked LIKE '%' || ?2 || '%' ESCAPE '\')
                 ORDER BY CAST(t.seat AS INTEGER), t.seat, t.id"
            ))
            .or_db(self)?;
        let rows = stmt
            .query_map(params![trip_id, pattern], |r| {
                Ok(Passenger {
                    ticket: r.get(0)?,
                    seat: r.get(1)?,
                    name: r.get(2)?,
                    document_type: r.get(3)?,
                    document_masked: r.get(4)?,
                    child: r.get(5)?,
                    status: r.get(6)?,
                    method: r.get(7)?,
                    boarded_at: r.get(8)?,
                })
            })
            .or_db(self)?;
        rows.collect::<rusqlite::Result<_>>().or_db(self)
    }

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

    // ---- boarding and events ----

    /// Boards a valid ticket and appends its `boarded` event, in one transaction; of any
    /// number of concurrent callers on one ticket, exactly one gets [`BoardResult::Boarded`].
    pub fn board(&self, ticket_id: &str, lane: &str, method: Method, staff: Option<&str>, now: i64) -> Result<BoardResult> {
        self.write(|tx| board_in(tx, ticket_id, lane, method, staff, None, now))
    }

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

    // ---- manual checks ----

    /// Queues a manual check for the console; returns its id. The lane records its own
    /// decision event (`manual_pending`, `spoof_suspected`) with [`Self::record_event`].
    pub fn open_manual_check(&self, lane: &str, trip_id: Option<&str>, ticket_id: Option<&str>, reason: &str, now: i64) -> Result<i64> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO manual_checks (created_at, lane, trip_id, ticket_id, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![now, lane, trip_id, ticket_id, reason],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    pub fn manual_check(&self, id: i64) -> Result<Option<ManualCheck>> {
        manual_check_in(&self.conn, id).or_db(self)
    }

    /// Pending checks, oldest first.
    pub fn pending_manual_checks(&self) -> Result<Vec<ManualCheck>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {MANUAL_COLUMNS} FROM manual_checks WHERE state = 'pending' ORDER BY id"))
            .or_db(self)?;
        let rows = stmt.query_map([], manual_row).or_db(self)?;
        rows.collect::<rusqlite::Result<_>>().or_db(self)
    }

    /// Approves or refuses a pending check, by `staff`, appending a `manual_check_approved` or
    /// `manual_check_refused` event. Approving a check that names a ticket boards it through the
    /// same guarded update as a lane (method `manual`), in the same transaction. `ticket` is the
    /// ticket staff name for a check that had none (a face with no match): the check then
    /// records it and its trip. An unknown ticket, or one other than the check's own, is refused
    /// and nothing is written. A check is resolved once: a second resolution is refused.
    pub fn resolve_manual_check(
        &self,
        id: i64,
        approved: bool,
        staff: &str,
        reason: &str,
        ticket: Option<&str>,
        now: i64,
    ) -> Result<ManualResolution> {
        self.write(|tx| {
            let Some(check) = manual_check_in(tx, id)? else { return rule(format!("no manual check {id}")) };
            if check.state != ManualState::Pending {
                let word = if check.state == ManualState::Approved { "approved" } else { "refused" };
                let by = check.resolved_by.as_deref().unwrap_or("?");
                let at = check.resolved_at.unwrap_or_default();
                return rule(format!("manual check {id} was already {word} by {by} at {at}; it is resolved once"));
            }
            let (ticket_id, trip_id) = resolved_ticket(tx, &check, ticket)?;
            let (state, outcome) =
                if approved { (ManualState::Approved, "manual_check_approved") } else { (ManualState::Refused, "manual_check_refused") };
            tx.execute(
                "UPDATE manual_checks SET state = ?2, resolved_by = ?3, resolved_at = ?4, resolution = ?5, ticket_id = ?6, trip_id = ?7
                 WHERE id = ?1",
                params![id, state, staff, now, reason, ticket_id, trip_id],
            )?;
            let detail = format!("check {id}: {reason}");
            let event = NewEvent {
                at: now,
                lane: &check.lane,
                trip_id: trip_id.as_deref(),
                ticket_id: ticket_id.as_deref(),
                outcome,
                method: Some(Method::Manual),
                staff: Some(staff),
                detail: Some(&detail),
            };
            insert_event(tx, &event)?;
            let boarding = match (&ticket_id, approved) {
                (Some(ticket), true) => Some(board_in(tx, ticket, &check.lane, Method::Manual, Some(staff), Some(&detail), now)?),
                _ => None,
            };
            Ok(ManualResolution { state, boarding })
        })
    }

    // ---- staff accounts ----

    /// Adds a staff account; `password_hash` is the PHC string the console made (argon2).
    /// An id already taken is refused, the existing account untouched.
    pub fn add_staff(&self, id: &str, password_hash: &str, role: Role, now: i64) -> Result<()> {
        self.write(|tx| {
            if id.trim().is_empty() {
                return rule("a staff id cannot be blank".into());
            }
            check_phc(password_hash)?;
            let added = tx.execute(
                "INSERT INTO staff (id, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
                params![id, password_hash, role, now],
            )?;
            if added == 0 {
                return rule(format!("staff id '{id}' already exists; set its password instead of adding it again"));
            }
            Ok(())
        })
    }

    /// Replaces a staff account's password hash; false when there is no such account.
    pub fn set_staff_password(&self, id: &str, password_hash: &str) -> Result<bool> {
        self.write(|tx| {
            check_phc(password_hash)?;
            Ok(tx.execute("UPDATE staff SET password_hash = ?2 WHERE id = ?1", params![id, password_hash])? == 1)
        })
    }

    pub fn staff(&self, id: &str) -> Result<Option<StaffRecord>> {
        self.conn
            .query_row("SELECT id, password_hash, role FROM staff WHERE id = ?1", [id], |r| {
                Ok(StaffRecord { id: r.get(0)?, password_hash: r.get(1)?, role: r.get(2)? })
            })
            .optional()
            .or_db(self)
    }

    // ---- retention ----

    /// Purges the trips that departed more than `retention_s` before `now`: keeps their
    /// anonymous counts in `trip_counts`, blanks names, document hashes and masked numbers, and
    /// deletes templates and photos. Ticket rows, states and events stay (they hold no personal
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

/// The exactly-once guard: only the caller whose update changes the row boards the ticket.
fn board_in(
    tx: &Transaction<'_>,
    ticket_id: &str,
    lane: &str,
    method: Method,
    staff: Option<&str>,
    detail: Option<&str>,
    now: i64,
) -> std::result::Result<BoardResult, Fail> {
    let won = tx.execute(
        "UPDATE tickets SET state = 'boarded', boarded_at = ?2, updated_at = ?2 WHERE id = ?1 AND state = 'valid'",
        params![ticket_id, now],
    )? == 1;
    if won {
        tx.execute(
            "INSERT INTO events (at, lane, trip_id, ticket_id, outcome, method, staff, detail)
             SELECT ?1, ?2, trip_id, id, 'boarded', ?4, ?5, ?6 FROM tickets WHERE id = ?3",
            params![now, lane, ticket_id, method, staff, detail],
        )?;
        return Ok(BoardResult::Boarded);
    }
    // Within this IMMEDIATE transaction the ticket cannot still be valid: it is boarded
    // (boarded_at set, by the schema's check), refunded, or absent.
    let row: Option<(TicketState, Option<i64>)> =
        tx.query_row("SELECT state, boarded_at FROM tickets WHERE id = ?1", [ticket_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    Ok(match row {
        None => BoardResult::UnknownTicket,
        Some((TicketState::Refunded, _)) => BoardResult::Refunded,
        Some((_, at)) => BoardResult::AlreadyBoarded { at: at.unwrap_or(now) },
    })
}

fn insert_event(tx: &Transaction<'_>, e: &NewEvent<'_>) -> std::result::Result<i64, Fail> {
    tx.execute(
        "INSERT INTO events (at, lane, trip_id, ticket_id, outcome, method, staff, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![e.at, e.lane, e.trip_id, e.ticket_id, e.outcome, e.method, e.staff, e.detail],
    )?;
    Ok(tx.last_insert_rowid())
}

/// After an update that skips refunded tickets: nothing changed is fine for a refunded ticket
/// (it keeps nothing), an error for an unknown one.
fn require_ticket(tx: &Transaction<'_>, ticket_id: &str, changed: usize) -> std::result::Result<(), Fail> {
    let exists = changed > 0 || tx.query_row("SELECT 1 FROM tickets WHERE id = ?1", [ticket_id], |_| Ok(())).optional()?.is_some();
    if !exists {
        return rule(format!("no ticket {ticket_id}"));
    }
    Ok(())
}

/// The ticket and trip a resolution is about: the check's own, or the ticket staff name for a
/// check that had none.
fn resolved_ticket(
    tx: &Transaction<'_>,
    check: &ManualCheck,
    named: Option<&str>,
) -> std::result::Result<(Option<String>, Option<String>), Fail> {
    match (check.ticket_id.as_deref(), named) {
        (Some(own), Some(named)) if own != named => {
            rule(format!("manual check {} is for ticket {own}, not {named}; a check's ticket cannot be changed", check.id))
        }
        (None, Some(named)) => {
            let trip: Option<String> = tx.query_row("SELECT trip_id FROM tickets WHERE id = ?1", [named], |r| r.get(0)).optional()?;
            match trip {
                Some(trip) => Ok((Some(named.to_string()), Some(trip))),
                None => rule(format!("no ticket {named} on any manifest here; manual check {} stays pending", check.id)),
            }
        }
        _ => Ok((check.ticket_id.clone(), check.trip_id.clone())),
    }
}

/// Refuses anything but a PHC hash string (`$argon2id$…`), so a password typed into the wrong
/// place is never stored in clear.
fn check_phc(password_hash: &str) -> std::result::Result<(), Fail> {
    if !password_hash.starts_with('$') || password_hash.contains(char::is_whitespace) {
        return rule("a staff password must be stored as a PHC hash string ($argon2id$…), never as the password".into());
    }
    Ok(())
}

/// Turns console search text into a `LIKE` operand (with `ESCAPE '\'`) matching it literally.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

const MANUAL_COLUMNS: &str = "id, created_at, lane, trip_id, ticket_id, reason, state, resolved_by, resolved_at, resolution";

fn manual_check_in(conn: &Connection, id: i64) -> rusqlite::Result<Option<ManualCheck>> {
    conn.query_row(&format!("SELECT {MANUAL_COLUMNS} FROM manual_checks WHERE id = ?1"), [id], manual_row).optional()
}

fn manual_row(r: &Row<'_>) -> rusqlite::Result<ManualCheck> {
    Ok(ManualCheck {
        id: r.get(0)?,
        created_at: r.get(1)?,
        lane: r.get(2)?,
        trip_id: r.get(3)?,
        ticket_id: r.get(4)?,
        reason: r.get(5)?,
        state: r.get(6)?,
        resolved_by: r.get(7)?,
        resolved_at: r.get(8)?,
        resolution: r.get(9)?,
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

fn trip_row(r: &Row<'_>) -> rusqlite::Result<Trip> {
    Ok(Trip { id: r.get(0)?, route: r.get(1)?, departure: r.get(2)?, gate: r.get(3)? })
}

fn ticket_row(r: &Row<'_>) -> rusqlite::Result<TicketRecord> {
    Ok(TicketRecord {
        id: r.get(0)?,
        trip_id: r.get(1)?,
        seat: r.get(2)?,
        name: r.get(3)?,
        document_type: r.get(4)?,
        document_masked: r.get(5)?,
        child: r.get(6)?,
        state: r.get(7)?,
        has_template: r.get(8)?,
        enrol_issue: r.get(9)?,
    })
}

/// What import compares a row against.
struct StoredTicket {
    trip_id: String,
    seat: String,
    name: Option<String>,
    document_type: DocumentType,
    hash: Option<String>,
    child: bool,
    state: TicketState,
}

/// Stores an enum as its snake_case word; an unknown word read back is an error that says so.
macro_rules! sql_text {
    ($ty:ty, $what:literal: $($variant:path => $text:literal),+ $(,)?) => {
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(match self { $($variant => $text),+ }))
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                match value.as_str()? {
                    $($text => Ok($variant),)+
                    other => Err(FromSqlError::Other(format!("unknown {} '{other}' in the database (written by a newer boardcheck?)", $what).into())),
                }
            }
        }
    };
}

sql_text!(DocumentType, "document type":
    DocumentType::IdCard => "id_card",
    DocumentType::Passport => "passport",
    DocumentType::TravelPermit => "travel_permit",
    DocumentType::Other => "other",
);
sql_text!(TicketState, "ticket state":
    TicketState::Valid => "valid",
    TicketState::Boarded => "boarded",
    TicketState::Refunded => "refunded",
);
sql_text!(Method, "boarding method":
    Method::Face => "face",
    Method::TicketFace => "ticket_face",
    Method::Manual => "manual",
);
sql_text!(Role, "staff role":
    Role::Staff => "staff",
    Role::Supervisor => "supervisor",
);
sql_text!(PassengerStatus, "passenger status":
    PassengerStatus::Boarded => "boarded",
    PassengerStatus::NotYet => "not_yet",
    PassengerStatus::Manual => "manual",
    PassengerStatus::Refunded => "refunded",
);
sql_text!(ManualState, "manual check state":
    ManualState::Pending => "pending",
    ManualState::Approved => "approved",
    ManualState::Refused => "refused",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_words_match_serde() {
        for (value, word) in [(Method::Face, "face"), (Method::TicketFace, "ticket_face"), (Method::Manual, "manual")] {
            assert_eq!(serde_json::to_string(&value).expect("serialises"), format!("\"{word}\""));
            assert_eq!(Method::column_result(ValueRef::Text(word.as_bytes())).expect("parses"), value);
        }
        for value in [DocumentType::IdCard, DocumentType::Passport, DocumentType::TravelPermit, DocumentType::Other] {
            let word = serde_json::to_string(&value).expect("serialises");
            let ToSqlOutput::Borrowed(ValueRef::Text(text)) = value.to_sql().expect("to sql") else { panic!("text") };
            assert_eq!(format!("\"{}\"", String::from_utf8_lossy(text)), word);
        }
        for (value, word) in [(Role::Staff, "staff"), (Role::Supervisor, "supervisor")] {
            assert_eq!(serde_json::to_string(&value).expect("serialises"), format!("\"{word}\""));
            assert_eq!(Role::column_result(ValueRef::Text(word.as_bytes())).expect("parses"), value);
        }
        let status = PassengerStatus::column_result(ValueRef::Text(b"not_yet")).expect("parses");
        assert_eq!(serde_json::to_string(&status).expect("serialises"), "\"not_yet\"");
        let err = TicketState::column_result(ValueRef::Text(b"lost")).expect_err("unknown").to_string();
        assert!(err.contains("ticket state 'lost'"), "{err}");
    }

    #[test]
    fn a_full_database_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        let store = Store::open(&path).expect("creates");
        let keys = StationKeys::load_or_create(&dir.path().join("station.key")).expect("key");
        store.upsert_trip(&Trip { id: "G1".into(), route: "r".into(), departure: 0, gate: "1".into() }).expect("trip");
        // Cap the file at its current size, as a full disk would.
        let pages: i64 = store.conn.pragma_query_value(None, "page_count", |r| r.get(0)).expect("reads");
        store.conn.pragma_update(None, "max_page_count", pages).expect("caps");
        let tickets: Vec<NewTicket> = (0..200)
            .map(|i| NewTicket {
                id: format!("T{i}"),
                seat: i.to_string(),
                name: "x".repeat(200),
                document_type: DocumentType::Passport,
                document_number: format!("E{i:08}"),
                child: false,
                refunded: false,
            })
            .collect();
        let err = store.import_tickets("G1", &tickets, &keys, 1).expect_err("full").to_string();
        assert!(err.contains("database or disk is full") && err.contains("m.db"), "{err}");
        assert!(store.tickets_of_trip("G1").expect("reads").is_empty(), "rolled back whole");
    }

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
        assert_eq!(version, 2);
        assert_eq!(store.ticket("T1").expect("reads").expect("kept").name.as_deref(), Some("Li"));
        let keys = StationKeys::load_or_create(&dir.path().join("station.key")).expect("key");
        assert_eq!(store.photo("T1", &keys).expect("reads"), None);
    }

    #[test]
    fn escapes_like_wildcards() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
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
