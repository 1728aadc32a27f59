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
//! the caller, so tests and replays control the clock. A service that writes and reads at once
//! keeps one writing connection and opens readers with [`Store::open_read_only`]: in WAL mode
//! a reader sees the last commit and never waits behind the writer, nor it behind a reader.
//!
//! One file per concern, each adding its methods to [`Store`]:
//! - this file: opening and configuring the connection, the `IMMEDIATE` write transaction and
//!   the errors that name the database file;
//! - `schema`: tables, triggers and migrations;
//! - `words`: how enums are stored (snake_case words);
//! - `trips`: trips and their boarding windows;
//! - `tickets`: importing a trip's tickets, and finding tickets;
//! - `templates`: encrypted face templates and ID photos, and enrolment issues;
//! - `boarding`: the exactly-once boarding guard;
//! - `events`: the append-only event log;
//! - `manual`: the manual-check queue;
//! - `requests`: lane requests answered, so a retry gets the first answer;
//! - `staff`: staff accounts;
//! - `sessions`: staff sessions, by the digest of their cookie;
//! - `passengers`: the manifest board's passenger list and its search;
//! - `counts`: a trip's counts, for reports and the manifest board;
//! - `retention`: the purge of personal data.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Error, Kind, Result, StoreFault};

mod boarding;
mod counts;
mod events;
mod manual;
mod passengers;
mod requests;
mod retention;
mod schema;
mod sessions;
mod staff;
mod templates;
mod tickets;
mod trips;
mod words;

pub use boarding::BoardResult;
pub use counts::{LiveCounts, TripCounts, TripFigures};
pub use events::{EventRecord, NewEvent};
pub use manual::{ManualCheck, ManualState};
pub use passengers::{Passenger, PassengerStatus};
pub use retention::PurgeSummary;
pub use schema::SCHEMA_VERSION;
pub use staff::StaffRecord;
pub use tickets::ImportSummary;

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

/// The manifest database, one connection. Not `Sync`: one per thread or process.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    busy_timeout: Duration,
}

/// Why an operation failed, before the database path is attached.
enum Fail {
    Sql(rusqlite::Error),
    /// The request broke a rule: refused, of this kind, with this reason.
    Rule(Kind, String),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

/// Creates the database file, if there is none, readable by its owner only: it holds names,
/// document hashes and (encrypted) templates. SQLite creates the `-wal` and `-shm` files with
/// the database file's mode, so they are private too.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

/// Refuses a malformed request, with a reason in words shown as is.
fn rule<T>(reason: String) -> std::result::Result<T, Fail> {
    Err(Fail::Rule(Kind::Invalid, reason))
}

/// Refuses a request for something that does not exist.
fn missing<T>(reason: String) -> std::result::Result<T, Fail> {
    Err(Fail::Rule(Kind::NotFound, reason))
}

/// Refuses a request that collides with the current state.
fn clash<T>(reason: String) -> std::result::Result<T, Fail> {
    Err(Fail::Rule(Kind::Conflict, reason))
}

/// Turns any failure into an [`Error`] that names the database file (see `Store::error`).
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
        create_private(path).map_err(|e| Error::io(path, e))?;
        let conn = Connection::open(path).map_err(|e| Error::Database {
            path: path.into(),
            fault: StoreFault::Broken,
            reason: format!("cannot open: {e}"),
        })?;
        let store = Store { conn, path: path.into(), busy_timeout: options.busy_timeout };
        store.configure().or_db(&store)?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens a read-only connection to the existing database at `path`, already created and
    /// migrated by a writer: reports and console reads run on one beside the writer (WAL).
    /// Any write through it fails as "read-only".
    pub fn open_read_only(path: &Path, options: Options) -> Result<Store> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| Error::Database {
            path: path.into(),
            fault: StoreFault::Broken,
            reason: format!("cannot open for reading: {e}"),
        })?;
        let store = Store { conn, path: path.into(), busy_timeout: options.busy_timeout };
        store.conn.busy_timeout(store.busy_timeout).or_db(&store)?;
        let version: i64 = store.conn.pragma_query_value(None, "user_version", |r| r.get(0)).or_db(&store)?;
        if version != SCHEMA_VERSION {
            return Err(store.error(Fail::Rule(
                Kind::Failed,
                format!("schema version {version}, not {SCHEMA_VERSION}: a reader cannot migrate; open it read-write first"),
            )));
        }
        Ok(store)
    }

    /// Whether the existing database at `path` takes writes now, checked on a connection of
    /// its own: it must open read-write (not fall back to read-only) and take the write lock.
    /// Nothing is written. The error says why not (read-only, missing, locked).
    pub fn probe_writable(path: &Path, options: Options) -> Result<()> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(|e| {
            Error::Database { path: path.into(), fault: StoreFault::Broken, reason: format!("cannot open for writing: {e}") }
        })?;
        let store = Store { conn, path: path.into(), busy_timeout: options.busy_timeout };
        store.conn.busy_timeout(store.busy_timeout).or_db(&store)?;
        store.conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK").or_db(&store)
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

    fn error(&self, fail: Fail) -> Error {
        let e = match fail {
            Fail::Rule(kind, reason) => return Error::Refused { kind, reason },
            Fail::Sql(e) => e,
        };
        let (fault, reason) = match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => (
                StoreFault::Busy,
                format!(
                    "database is locked: another process kept it busy for longer than the {:.1} s busy timeout; nothing was written",
                    self.busy_timeout.as_secs_f64()
                ),
            ),
            Some(ErrorCode::DiskFull) => (StoreFault::Full, "database or disk is full: nothing was written; free space on its disk".into()),
            Some(ErrorCode::ReadOnly) => {
                (StoreFault::Broken, format!("database is read-only ({e}): check the file's and its folder's permissions"))
            }
            _ => match e {
                rusqlite::Error::FromSqlConversionFailure(_, _, why) => (StoreFault::Broken, why.to_string()),
                e => (StoreFault::Broken, e.to_string()),
            },
        };
        Error::Database { path: self.path.clone(), fault, reason }
    }

    /// Runs `f` in one `IMMEDIATE` transaction: the write lock is taken up front (waiting up to
    /// the busy timeout), so a transaction never fails half-way on a lock; any error rolls back.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> std::result::Result<T, Fail>) -> Result<T> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate).or_db(self)?;
        let out = f(&tx).or_db(self)?;
        tx.commit().or_db(self)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::keys::StationKeys;
    use crate::manifest::{DocumentType, NewTicket, Trip};

    #[test]
    fn the_database_and_its_log_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        let store = Store::open(&path).expect("creates");
        store.upsert_trip(&Trip { id: "G1".into(), route: "r".into(), departure: 0, gate: "1".into() }).expect("writes");
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.path().join(format!("m.db{suffix}"));
            let mode = std::fs::metadata(&file).expect("exists").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
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
        let err = store.import_tickets("G1", &tickets, &keys, 1).expect_err("full");
        assert_eq!(err.kind(), Kind::Full);
        let err = err.to_string();
        assert!(err.contains("database or disk is full") && err.contains("m.db"), "{err}");
        assert!(store.tickets_of_trip("G1").expect("reads").is_empty(), "rolled back whole");
    }

    #[test]
    fn a_reader_sees_commits_reads_beside_a_writer_and_cannot_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        let writer = Store::open(&path).expect("creates");
        let reader = Store::open_read_only(&path, Options::default()).expect("opens");
        writer.upsert_trip(&Trip { id: "G1".into(), route: "r".into(), departure: 0, gate: "1".into() }).expect("trip");
        // A write transaction left open does not stop the reader (WAL): it sees the last commit.
        writer.conn.execute_batch("BEGIN IMMEDIATE").expect("holds the write lock");
        writer.conn.execute("INSERT INTO trips (id, route, departure, gate) VALUES ('G2', 'r', 0, '1')", []).expect("writes");
        assert!(reader.trip("G1").expect("reads beside the writer").is_some());
        assert!(reader.trip("G2").expect("reads").is_none(), "not committed yet");
        writer.conn.execute_batch("ROLLBACK").expect("releases");
        let err = reader.upsert_trip(&Trip { id: "G3".into(), route: "r".into(), departure: 0, gate: "1".into() }).expect_err("read-only");
        assert!(err.to_string().contains("read-only"), "{err}");
    }
}
