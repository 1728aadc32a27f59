//! The manifest store on real SQLite files: idempotent import, personal data at rest, the
//! exactly-once boarding guard across processes, crash safety, the append-only log, manual
//! checks, staff accounts, the console's queries, purge and clear errors.
//!
//! The cross-process tests run this test binary again as child processes (`race_child`,
//! `burst_child`: ignored tests that do nothing without their environment variables).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use boardcheck_core::boarding::{self, BoardingWindow, Intent, LaneScope, ManualReason, Outcome, Resolution, StaffReason};
use boardcheck_core::error::Kind;
use boardcheck_core::manifest::keys::StationKeys;
use boardcheck_core::manifest::store::{
    BoardResult, EventRecord, LiveCounts, ManualState, NewEvent, Options, PassengerStatus, Store, TripCounts,
};
use boardcheck_core::manifest::{DocumentType, Method, NewTicket, Role, TicketState, Trip};

const DEPARTURE: i64 = 1_760_000_000;

struct Fixture {
    dir: tempfile::TempDir,
    db: PathBuf,
    store: Store,
    keys: StationKeys,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("manifest.db");
    let store = Store::open(&db).expect("opens");
    let keys = StationKeys::load_or_create(&dir.path().join("keys").join("station.key")).expect("key");
    store.upsert_trip(&trip("G1", DEPARTURE)).expect("trip");
    Fixture { dir, db, store, keys }
}

fn trip(id: &str, departure: i64) -> Trip {
    Trip { id: id.into(), route: "Hangzhou → Shaoxing".into(), departure, gate: "3".into() }
}

fn ticket(id: &str, seat: &str, name: &str, number: &str) -> NewTicket {
    NewTicket {
        id: id.into(),
        seat: seat.into(),
        name: name.into(),
        document_type: DocumentType::IdCard,
        document_number: number.into(),
        child: false,
        refunded: false,
    }
}

fn numbered(n: usize) -> Vec<NewTicket> {
    (0..n).map(|i| ticket(&format!("T{i}"), &format!("{}", i + 1), &format!("Passenger {i}"), &format!("3301061990010{i:05}"))).collect()
}

fn template(seed: f32) -> Vec<f32> {
    (0..512).map(|i| ((i as f32 + seed) * 0.618).sin() * 0.0441).collect()
}

/// The database file and its WAL and shared-memory files, as bytes.
fn raw_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        if path.exists() {
            bytes.extend(std::fs::read(&path).expect("reads database file"));
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn boarded_events(store: &Store) -> Vec<EventRecord> {
    store.events_since(0).expect("events").into_iter().filter(|e| e.outcome == Outcome::Boarded).collect()
}

/// The lane at gate 3, where G1 leaves, boarding from an hour before departure to half an hour after.
fn gate_3() -> LaneScope {
    LaneScope { gate: Some("3".into()), trips: vec![], window: BoardingWindow::minutes(60, 30) }
}

/// Opens a manual check at `lane` as the lane's rules would, at `now`; its id.
fn open_check(store: &Store, lane: &str, ticket: Option<&str>, reason: ManualReason, now: i64) -> i64 {
    let intent = Intent::Manual { reason, ticket_id: ticket.map(str::to_string) };
    let decision = boarding::apply(store, lane, &intent, now).expect("records").expect("a decision");
    decision.manual_check.expect("a check")
}

/// Staff's note in the resolutions here: it must never reach the event log, and the purge takes it.
const NOTE: &str = "documents seen, Li Lei 11010519491231002X";

fn resolution<'a>(approve: bool, staff: &'a str, ticket: Option<&'a str>) -> Resolution<'a> {
    let reason = if approve { StaffReason::IdDocumentChecked } else { StaffReason::DocumentMismatch };
    Resolution { approve, staff, reason, note: Some(NOTE), ticket, overriding: false }
}

#[test]
fn import_is_idempotent_and_boarded_and_refunded_stay() {
    let f = fixture();
    let mut rows = numbered(4);
    let first = f.store.import_tickets("G1", &rows, &f.keys, 10).expect("imports");
    assert_eq!((first.added, first.updated, first.refunded, first.unchanged), (4, 0, 0, 0));
    let again = f.store.import_tickets("G1", &rows, &f.keys, 20).expect("re-imports");
    assert_eq!((again.added, again.updated, again.refunded, again.unchanged), (0, 0, 0, 4));
    for (i, row) in rows.iter().enumerate() {
        f.store.set_template(&row.id, &template(i as f32), "mobilefacenet", &f.keys, 30).expect("template");
    }
    assert_eq!(f.store.board("T0", "lane-1", Method::Face, None, 40).expect("boards"), BoardResult::Boarded);

    // T0: boarded, then the export says refunded: a boarding is a fact, it stays.
    // T1: refunded now: leaves matching. T2: moved seat: updated, same person keeps the template.
    // T3: another passenger on the ticket: updated, the old face is dropped for re-enrolment.
    rows[0].refunded = true;
    rows[1].refunded = true;
    rows[2].seat = "12".into();
    rows[3].name = "Someone Else".into();
    let changed = f.store.import_tickets("G1", &rows, &f.keys, 50).expect("re-imports");
    assert_eq!((changed.added, changed.updated, changed.refunded, changed.unchanged), (0, 2, 1, 1));

    let state = |id: &str| f.store.ticket(id).expect("reads").expect("exists");
    assert_eq!(state("T0").state, TicketState::Boarded);
    assert!(state("T0").has_template, "boarded stays matchable: a second pass says already boarded");
    assert_eq!(state("T1").state, TicketState::Refunded);
    assert!(!state("T1").has_template);
    assert_eq!(state("T2").seat, "12");
    assert!(state("T2").has_template);
    assert!(!state("T3").has_template);

    let matchable: Vec<String> =
        f.store.templates(&["G1".into()], "mobilefacenet", &f.keys).expect("templates").into_iter().map(|(t, _)| t.id).collect();
    assert_eq!(matchable, ["T0", "T2"]);
    assert_eq!(f.store.board("T1", "lane-1", Method::Face, None, 60).expect("answers"), BoardResult::Refunded);

    // A refund is final: the export un-refunding it changes nothing, and it takes no template.
    rows[1].refunded = false;
    let last = f.store.import_tickets("G1", &rows, &f.keys, 70).expect("re-imports");
    assert_eq!((last.added, last.updated, last.refunded, last.unchanged), (0, 0, 0, 4));
    f.store.set_template("T1", &template(1.0), "mobilefacenet", &f.keys, 80).expect("accepted, discarded");
    assert!(!state("T1").has_template);
    assert_eq!(f.store.tickets_of_trip("G1").expect("lists").len(), 4);
}

#[test]
fn import_refuses_another_trips_ticket_duplicates_and_unknown_trips() {
    let f = fixture();
    f.store.upsert_trip(&trip("G2", DEPARTURE + 3600)).expect("trip");
    f.store.import_tickets("G1", &[ticket("T1", "1", "Li Lei", "110101199003071234")], &f.keys, 1).expect("imports");

    let clash = [ticket("T9", "9", "Han Mei", "110101199003075678"), ticket("T1", "1", "Li Lei", "110101199003071234")];
    let err = f.store.import_tickets("G2", &clash, &f.keys, 2).expect_err("refused");
    assert_eq!(err.kind(), Kind::Conflict);
    assert!(err.to_string().contains("ticket T1 already belongs to trip G1, not G2"), "{err}");
    assert_eq!(f.store.ticket("T9").expect("reads"), None, "the refused import wrote nothing");

    let twice = [ticket("T5", "5", "A", "1"), ticket("T5", "6", "B", "2")];
    let err = f.store.import_tickets("G2", &twice, &f.keys, 3).expect_err("refused").to_string();
    assert!(err.contains("ticket T5 appears twice"), "{err}");

    let err = f.store.import_tickets("G404", &[], &f.keys, 4).expect_err("refused").to_string();
    assert!(err.contains("no trip G404"), "{err}");
}

#[test]
fn document_number_is_never_stored_in_clear() {
    let f = fixture();
    let number = "11010519491231002X";
    f.store.import_tickets("G1", &[ticket("T1", "1", "Li Lei", "11010519491231002x")], &f.keys, 1).expect("imports");

    let found = f.store.tickets_by_document(" 110105 19491231002X ", &f.keys).expect("looks up");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].document_masked.as_deref(), Some("1101**********002X"));
    let other_station = StationKeys::load_or_create(&f.dir.path().join("other.key")).expect("key");
    assert!(f.store.tickets_by_document(number, &other_station).expect("looks up").is_empty(), "the hash is keyed");

    let raw = raw_bytes(&f.db);
    assert!(contains(&raw, b"Li Lei"), "sanity: the raw scan sees stored text");
    for form in [number, "11010519491231002x", "110105194912310"] {
        assert!(!contains(&raw, form.as_bytes()), "{form} found in the database files");
    }
}

#[test]
fn templates_are_encrypted_at_rest_and_round_trip() {
    let f = fixture();
    f.store.import_tickets("G1", &numbered(2), &f.keys, 1).expect("imports");
    let known = template(7.0);
    f.store.set_template("T0", &known, "mobilefacenet", &f.keys, 2).expect("stores");

    let plain: Vec<u8> = known.iter().flat_map(|v| v.to_le_bytes()).collect();
    let raw = raw_bytes(&f.db);
    for chunk in plain.chunks(16) {
        assert!(!contains(&raw, chunk), "16 bytes of the template's floats found in the database files");
    }
    let loaded = f.store.templates(&["G1".into()], "mobilefacenet", &f.keys).expect("decrypts");
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].0.id, "T0");
    assert_eq!(loaded[0].1, known);
    // Another embedder's lane gets none of them: its vectors are not comparable.
    assert!(f.store.templates(&["G1".into()], "faceplugin512", &f.keys).expect("reads").is_empty());

    // A template copied onto another ticket's row does not decrypt there.
    let raw_conn = rusqlite::Connection::open(&f.db).expect("opens");
    raw_conn
        .execute("UPDATE tickets SET template = (SELECT template FROM tickets WHERE id = 'T0'), template_model = 'mobilefacenet' WHERE id = 'T1'", [])
        .expect("copies");
    let err = f.store.templates(&["G1".into()], "mobilefacenet", &f.keys).expect_err("refused").to_string();
    assert!(err.contains("ticket T1") && err.contains("station.key"), "{err}");

    f.store.set_enrol_issue("T1", "no face found in the photo", 3).expect("records");
    let t1 = f.store.ticket("T1").expect("reads").expect("exists");
    assert!(!t1.has_template && t1.enrol_issue.as_deref() == Some("no face found in the photo"));
    assert!(f.store.set_template("T404", &known, "m", &f.keys, 4).expect_err("unknown").to_string().contains("no ticket T404"));
}

#[test]
fn boards_once_then_already_boarded() {
    let f = fixture();
    f.store.import_tickets("G1", &numbered(2), &f.keys, 1).expect("imports");
    assert_eq!(f.store.board("T0", "lane-2", Method::TicketFace, None, 100).expect("boards"), BoardResult::Boarded);
    assert_eq!(f.store.board("T0", "lane-1", Method::Face, None, 130).expect("answers"), BoardResult::AlreadyBoarded { at: 100 });
    assert_eq!(f.store.board("T404", "lane-1", Method::Face, None, 140).expect("answers"), BoardResult::UnknownTicket);

    let boarded = boarded_events(&f.store);
    assert_eq!(boarded.len(), 1);
    let e = &boarded[0];
    assert_eq!(
        (e.at, e.lane.as_str(), e.trip_id.as_deref(), e.ticket_id.as_deref(), e.method),
        (100, "lane-2", Some("G1"), Some("T0"), Some(Method::TicketFace))
    );

    let wrong_bus = NewEvent {
        at: 150,
        lane: "lane-1",
        trip_id: Some("G1"),
        ticket_id: Some("T1"),
        outcome: Outcome::WrongBus,
        method: Some(Method::TicketFace),
        staff: None,
        detail: Some("3"),
        check_id: None,
        overrode: None,
    };
    let id = f.store.record_event(&wrong_bus).expect("records");
    let since = f.store.events_since(id - 1).expect("events");
    assert_eq!(since.len(), 1);
    assert_eq!((since[0].id, since[0].outcome, since[0].detail.as_deref()), (id, Outcome::WrongBus, Some("3")));
    let forged = NewEvent { outcome: Outcome::Boarded, ..wrong_bus };
    assert!(f.store.record_event(&forged).expect_err("refused").to_string().contains("only by board()"));
    assert_eq!(f.store.ticket("T1").expect("reads").expect("exists").state, TicketState::Valid);
}

#[test]
fn events_are_append_only() {
    let f = fixture();
    f.store.import_tickets("G1", &numbered(1), &f.keys, 1).expect("imports");
    f.store.board("T0", "lane-1", Method::Face, None, 2).expect("boards");
    let raw = rusqlite::Connection::open(&f.db).expect("opens");
    for sql in ["UPDATE events SET outcome = 'refused'", "DELETE FROM events", "UPDATE events SET detail = 'x' WHERE id = 1"] {
        let err = raw.execute(sql, []).expect_err("rejected").to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(boarded_events(&f.store).len(), 1);
}

#[test]
fn manual_check_approval_boards_and_a_check_resolves_once() {
    let f = fixture();
    f.store.import_tickets("G1", &numbered(3), &f.keys, 1).expect("imports");
    let now = DEPARTURE - 600;
    let check = open_check(&f.store, "lane-1", Some("T0"), ManualReason::Child, now);
    let pending = f.store.pending_manual_checks().expect("lists");
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].id, pending[0].state, pending[0].reason.as_str()), (check, ManualState::Pending, "child"));

    let approved = boarding::resolve(&f.store, check, &gate_3(), &resolution(true, "staff-7", None), now + 10).expect("resolves");
    assert_eq!((approved.outcome, approved.manual_check), (Outcome::ManualApproved, Some(check)));
    assert_eq!(f.store.ticket("T0").expect("reads").expect("exists").state, TicketState::Boarded);
    let resolved = f.store.manual_check(check).expect("reads").expect("exists");
    assert_eq!(
        (resolved.state, resolved.resolved_by.as_deref(), resolved.resolved_at, resolved.resolution, resolved.note.as_deref()),
        (ManualState::Approved, Some("staff-7"), Some(now + 10), Some(StaffReason::IdDocumentChecked), Some(NOTE))
    );
    // The log records the reason's code, never staff's words.
    let logged = f.store.events_since(0).expect("events").into_iter().find(|e| e.outcome == Outcome::ManualApproved).expect("logged");
    assert_eq!((logged.check_id, logged.detail.as_deref()), (Some(check), Some("id_document_checked")));
    // A reason must explain the answer, and `other` must say why.
    let wrong_side = Resolution { reason: StaffReason::NoDocument, ..resolution(true, "staff-7", None) };
    let err = boarding::resolve(&f.store, check, &gate_3(), &wrong_side, now + 15).expect_err("refused");
    assert_eq!(err.kind(), Kind::Invalid, "{err}");

    let err = boarding::resolve(&f.store, check, &gate_3(), &resolution(false, "staff-8", None), now + 20).expect_err("refused");
    assert_eq!(err.kind(), Kind::Conflict);
    assert!(err.to_string().contains(&format!("manual check {check} was already resolved by staff-7")), "{err}");
    assert!(f.store.pending_manual_checks().expect("lists").is_empty());

    let refused_check = open_check(&f.store, "lane-1", Some("T1"), ManualReason::SpoofSuspected, now + 30);
    let refused = boarding::resolve(&f.store, refused_check, &gate_3(), &resolution(false, "staff-7", None), now + 40).expect("resolves");
    assert_eq!(refused.outcome, Outcome::ManualRefused);
    assert_eq!(f.store.ticket("T1").expect("reads").expect("exists").state, TicketState::Valid);

    // Approving a ticket that already boarded boards nobody, writes nothing, keeps the check open.
    let second = open_check(&f.store, "lane-1", Some("T0"), ManualReason::FaceMismatch, now + 50);
    let before = f.store.events_since(0).expect("events").len();
    let err = boarding::resolve(&f.store, second, &gate_3(), &resolution(true, "staff-7", None), now + 60).expect_err("refused");
    assert_eq!(err.kind(), Kind::Conflict);
    assert!(err.to_string().starts_with("already_boarded:"), "{err}");
    assert_eq!(f.store.events_since(0).expect("events").len(), before, "nothing written");
    assert_eq!(f.store.manual_check(second).expect("reads").expect("exists").state, ManualState::Pending);

    let outcomes: Vec<(Outcome, Option<String>, Option<i64>)> =
        f.store.events_since(0).expect("events").into_iter().map(|e| (e.outcome, e.staff, e.check_id)).collect();
    let staff = || Some("staff-7".to_string());
    assert_eq!(
        outcomes,
        [
            (Outcome::ManualPending, None, Some(check)),
            (Outcome::ManualApproved, staff(), Some(check)),
            (Outcome::Boarded, staff(), Some(check)),
            (Outcome::ManualPending, None, Some(refused_check)),
            (Outcome::ManualRefused, staff(), Some(refused_check)),
            (Outcome::ManualPending, None, Some(second)),
        ]
    );
    assert!(
        f.store.events_since(0).expect("events").iter().all(|e| e.detail.as_deref() != Some("documents seen")),
        "no free text in the log"
    );
    let err = boarding::resolve(&f.store, 999, &gate_3(), &resolution(true, "staff-7", None), now).expect_err("refused");
    assert_eq!(err.kind(), Kind::NotFound);
}

#[test]
fn purge_blanks_personal_data_and_keeps_counts() {
    let f = fixture();
    f.store.upsert_trip(&trip("G2", DEPARTURE + 86_400)).expect("later trip");
    let mut rows = numbered(5);
    rows[0].name = "王小明".into();
    rows[4].refunded = true;
    f.store.import_tickets("G1", &rows, &f.keys, 1).expect("imports");
    f.store.import_tickets("G2", &[ticket("L1", "1", "李四", "330106199001019999")], &f.keys, 1).expect("imports");
    for (i, row) in rows.iter().enumerate().take(4) {
        f.store.set_template(&row.id, &template(i as f32), "mobilefacenet", &f.keys, 2).expect("template");
    }
    f.store.board("T0", "lane-1", Method::Face, None, DEPARTURE - 600).expect("boards");
    f.store.board("T1", "lane-1", Method::TicketFace, None, DEPARTURE - 500).expect("boards");
    let check = open_check(&f.store, "lane-1", Some("T2"), ManualReason::NoTemplate, DEPARTURE - 400);
    boarding::resolve(&f.store, check, &gate_3(), &resolution(true, "staff-1", None), DEPARTURE - 300).expect("resolves");
    assert!(contains(&raw_bytes(&f.db), NOTE.as_bytes()), "sanity: the raw scan sees staff's note");

    let sealed: Vec<u8> = rusqlite::Connection::open(&f.db)
        .expect("opens")
        .query_row("SELECT template FROM tickets WHERE id = 'T0'", [], |r| r.get(0))
        .expect("an encrypted template");
    assert!(contains(&raw_bytes(&f.db), &sealed[..32]), "sanity: the raw scan sees the encrypted template");

    assert_eq!(f.store.purge(DEPARTURE + 3000, 3600).expect("purges").trips, 0, "within the retention");
    let summary = f.store.purge(DEPARTURE + 3601, 3600).expect("purges");
    assert_eq!((summary.trips, summary.tickets), (1, 5));

    for t in f.store.tickets_of_trip("G1").expect("lists") {
        assert!(t.name.is_none() && t.document_masked.is_none() && !t.has_template, "{t:?}");
    }
    assert_eq!(f.store.ticket("T0").expect("reads").expect("exists").state, TicketState::Boarded, "states stay for reports");
    assert!(f.store.templates(&["G1".into()], "mobilefacenet", &f.keys).expect("templates").is_empty());
    assert!(f.store.tickets_by_document(&rows[0].document_number, &f.keys).expect("looks up").is_empty());
    assert_eq!(
        f.store.trip_counts("G1").expect("reads"),
        Some(TripCounts { passengers: 4, boarded_face: 1, boarded_ticket_face: 1, boarded_manual: 1, refunded: 1 })
    );
    assert_eq!(f.store.ticket("L1").expect("reads").expect("exists").name.as_deref(), Some("李四"), "the later trip is kept");

    let raw = raw_bytes(&f.db);
    let hash = f.keys.document_hash(&rows[0].document_number);
    assert!(!contains(&raw, "王小明".as_bytes()), "name left in the database files");
    assert!(!contains(&raw, hash.as_bytes()), "document hash left in the database files");
    assert!(!contains(&raw, b"Passenger 3"), "name left in the database files");
    assert!(!contains(&raw, NOTE.as_bytes()), "staff's note left in the database files");
    let check = f.store.manual_check(check).expect("reads").expect("kept for reports");
    assert_eq!((check.resolution, check.note), (Some(StaffReason::IdDocumentChecked), None), "the code stays, the words go");
    assert!(!contains(&raw, &sealed[..32]), "encrypted template left in the database files");
    assert!(contains(&raw, "李四".as_bytes()), "sanity: the raw scan sees the kept trip");
    assert_eq!(f.store.purge(DEPARTURE + 7200, 3600).expect("purges").trips, 0, "purged once");
    let err = f.store.import_tickets("G1", &rows, &f.keys, DEPARTURE + 7300).expect_err("refused").to_string();
    assert!(err.contains("purged"), "{err}");
}

#[test]
fn photos_are_encrypted_and_leave_with_a_refund_a_new_passenger_or_the_purge() {
    let f = fixture();
    let mut rows = numbered(3);
    f.store.import_tickets("G1", &rows, &f.keys, 1).expect("imports");
    let photo = |id: &str| -> Vec<u8> { format!("JPEG photo of ticket {id}, recognisable in the raw file").into_bytes() };
    for row in &rows {
        f.store.set_photo(&row.id, &photo(&row.id), &f.keys, 2).expect("stores");
    }
    assert_eq!(f.store.photo("T0", &f.keys).expect("decrypts"), Some(photo("T0")));
    assert!(!contains(&raw_bytes(&f.db), b"JPEG photo of ticket"), "a photo found in clear in the database files");
    let other_station = StationKeys::load_or_create(&f.dir.path().join("other.key")).expect("key");
    let err = f.store.photo("T0", &other_station).expect_err("another key").to_string();
    assert!(err.contains("photo of ticket T0"), "{err}");
    assert_eq!(f.store.photo("T404", &f.keys).expect("answers"), None);
    let err = f.store.set_photo("T404", &photo("T404"), &f.keys, 3).expect_err("unknown").to_string();
    assert!(err.contains("no ticket T404"), "{err}");

    // T1 refunded, T2 passed to someone else: neither keeps a photo; T0 keeps its own.
    rows[1].refunded = true;
    rows[2].name = "Someone Else".into();
    f.store.import_tickets("G1", &rows, &f.keys, 4).expect("re-imports");
    assert_eq!(f.store.photo("T1", &f.keys).expect("reads"), None);
    assert_eq!(f.store.photo("T2", &f.keys).expect("reads"), None, "never someone else's photo");
    assert_eq!(f.store.photo("T0", &f.keys).expect("reads"), Some(photo("T0")));
    f.store.set_photo("T1", &photo("T1"), &f.keys, 5).expect("accepted, discarded");
    assert_eq!(f.store.photo("T1", &f.keys).expect("reads"), None, "a refunded ticket takes no photo");
    let raw = rusqlite::Connection::open(&f.db).expect("opens");
    let err = raw.execute("UPDATE tickets SET photo = x'00' WHERE id = 'T1'", []).expect_err("schema refuses").to_string();
    assert!(err.contains("CHECK"), "{err}");

    let sealed: Vec<u8> = raw.query_row("SELECT photo FROM tickets WHERE id = 'T0'", [], |r| r.get(0)).expect("an encrypted photo");
    assert!(contains(&raw_bytes(&f.db), &sealed[..32]), "sanity: the raw scan sees the encrypted photo");
    f.store.purge(DEPARTURE + 3601, 3600).expect("purges");
    assert_eq!(f.store.photo("T0", &f.keys).expect("reads"), None);
    assert!(!contains(&raw_bytes(&f.db), &sealed[..32]), "encrypted photo left in the database files");
}

#[test]
fn staff_accounts_are_added_once_and_hold_only_a_hash() {
    let f = fixture();
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    f.store.add_staff("li", hash, Role::Supervisor, 1).expect("adds");
    let li = f.store.staff("li").expect("reads").expect("exists");
    assert_eq!((li.id.as_str(), li.password_hash.as_str(), li.role), ("li", hash, Role::Supervisor));
    assert!(!format!("{li:?}").contains("argon2"), "Debug leaves the hash out");

    let err = f.store.add_staff("li", "$argon2id$other", Role::Staff, 2).expect_err("taken");
    assert_eq!(err.kind(), Kind::Conflict);
    assert!(err.to_string().contains("staff id 'li' already exists"), "{err}");
    assert_eq!(f.store.staff("li").expect("reads"), Some(li), "the existing account is untouched");

    let new_hash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA";
    assert!(f.store.set_staff_password("li", new_hash).expect("sets"));
    assert_eq!(f.store.staff("li").expect("reads").expect("exists").password_hash, new_hash);
    assert!(!f.store.set_staff_password("nobody", new_hash).expect("answers"), "no such account");
    assert_eq!(f.store.staff("nobody").expect("reads"), None);

    for (id, hash) in [("wang", "hunter2"), ("wang", ""), ("  ", new_hash)] {
        assert!(f.store.add_staff(id, hash, Role::Staff, 3).is_err(), "{id:?} {hash:?} refused");
    }
    let err = f.store.set_staff_password("li", "hunter2").expect_err("a password in clear").to_string();
    assert!(err.contains("PHC hash string"), "{err}");
    assert_eq!(f.store.staff("wang").expect("reads"), None);
    f.store.add_staff("wang", new_hash, Role::Staff, 4).expect("adds");
    assert_eq!(f.store.staff("wang").expect("reads").expect("exists").role, Role::Staff);
}

#[test]
fn staff_naming_the_ticket_of_an_unmatched_face_boards_it_once() {
    let f = fixture();
    f.store.import_tickets("G1", &numbered(2), &f.keys, 1).expect("imports");
    let now = DEPARTURE - 600;
    let check = open_check(&f.store, "lane-1", None, ManualReason::NoMatch, now);
    let events = f.store.events_since(0).expect("events").len();

    let err = boarding::resolve(&f.store, check, &gate_3(), &resolution(true, "staff-7", Some("T404")), now).expect_err("unknown");
    assert_eq!(err.kind(), Kind::NotFound);
    assert!(err.to_string().contains("no ticket 'T404'"), "{err}");
    let err = boarding::resolve(&f.store, check, &gate_3(), &resolution(true, "staff-7", None), now).expect_err("no ticket");
    assert!(err.to_string().contains("name the passenger's ticket"), "{err}");
    let untouched = f.store.manual_check(check).expect("reads").expect("exists");
    assert_eq!((untouched.state, untouched.ticket_id), (ManualState::Pending, None));
    assert_eq!(f.store.events_since(0).expect("events").len(), events, "nothing written");

    let approved = boarding::resolve(&f.store, check, &gate_3(), &resolution(true, "staff-7", Some("T0")), now + 30).expect("resolves");
    assert_eq!((approved.outcome, approved.ticket.as_deref(), approved.trip.as_deref()), (Outcome::ManualApproved, Some("T0"), Some("G1")));
    let resolved = f.store.manual_check(check).expect("reads").expect("exists");
    assert_eq!((resolved.ticket_id.as_deref(), resolved.trip_id.as_deref()), (Some("T0"), Some("G1")));
    assert_eq!(f.store.ticket("T0").expect("reads").expect("exists").state, TicketState::Boarded);

    // The same passenger again at another lane, approved naming the same ticket: never twice,
    // and that check stays open.
    let second = open_check(&f.store, "lane-2", None, ManualReason::NoMatch, now + 40);
    let err = boarding::resolve(&f.store, second, &gate_3(), &resolution(true, "staff-8", Some("T0")), now + 50).expect_err("twice");
    assert_eq!(err.kind(), Kind::Conflict);
    assert_eq!(f.store.manual_check(second).expect("reads").expect("exists").state, ManualState::Pending);
    let boarded = boarded_events(&f.store);
    assert_eq!(boarded.len(), 1);
    assert_eq!(
        (boarded[0].lane.as_str(), boarded[0].ticket_id.as_deref(), boarded[0].staff.as_deref(), boarded[0].method),
        ("lane-1", Some("T0"), Some("staff-7"), Some(Method::Manual))
    );

    // A check about one ticket cannot be resolved for another; naming its own is fine.
    let own = open_check(&f.store, "lane-1", Some("T1"), ManualReason::Child, now + 60);
    let err = boarding::resolve(&f.store, own, &gate_3(), &resolution(true, "staff-7", Some("T0")), now + 70).expect_err("switched");
    assert!(err.to_string().contains(&format!("manual check {own} is for ticket T1, not T0")), "{err}");
    let own_resolved = boarding::resolve(&f.store, own, &gate_3(), &resolution(true, "staff-7", Some("T1")), now + 80).expect("resolves");
    assert_eq!(own_resolved.outcome, Outcome::ManualApproved);
    assert_eq!(boarded_events(&f.store).len(), 2);
}

#[test]
fn staff_approvals_board_only_what_the_lane_could_and_supervisors_override_place_and_time_on_the_record() {
    let f = fixture();
    let later = DEPARTURE + 10 * 3600;
    f.store.upsert_trip(&Trip { id: "G7".into(), route: "r".into(), departure: DEPARTURE, gate: "7".into() }).expect("trip");
    f.store.upsert_trip(&trip("LATE", later)).expect("trip");
    f.store.import_tickets("G1", &numbered(1), &f.keys, 1).expect("imports");
    f.store.import_tickets("G7", &[ticket("S0", "1", "Seven", "330106199001019999")], &f.keys, 1).expect("imports");
    f.store.import_tickets("LATE", &[ticket("L0", "1", "Later", "330106199001018888")], &f.keys, 1).expect("imports");
    let mut refund = ticket("R0", "2", "Refunded", "330106199001017777");
    refund.refunded = true;
    f.store.import_tickets("G1", &[ticket("T0", "1", "Passenger 0", "3301061990010000000"), refund], &f.keys, 1).expect("imports");
    let now = DEPARTURE - 600;
    let try_approve = |ticket: &str, overriding: bool, at: i64| {
        let check = open_check(&f.store, "lane-1", None, ManualReason::NoMatch, at);
        let resolution = Resolution { overriding, ..resolution(true, "sup-1", Some(ticket)) };
        (check, boarding::resolve(&f.store, check, &gate_3(), &resolution, at))
    };
    for (ticket, code) in [("S0", "wrong_bus"), ("L0", "not_yet_boarding"), ("R0", "refunded")] {
        let (check, answer) = try_approve(ticket, false, now);
        let err = answer.expect_err("refused");
        assert_eq!(err.kind(), Kind::Conflict, "{ticket}");
        assert!(err.to_string().starts_with(&format!("{code}:")), "{ticket}: {err}");
        assert_eq!(f.store.manual_check(check).expect("reads").expect("exists").state, ManualState::Pending, "{ticket}: stays open");
        assert_ne!(f.store.ticket(ticket).expect("reads").expect("exists").state, TicketState::Boarded);
    }
    // Three days after departure: departed.
    let (_, gone) = try_approve("T0", false, DEPARTURE + 3 * 86_400);
    assert!(gone.expect_err("departed").to_string().starts_with("departed:"));
    // A supervisor's override of the gate: boards, and the log says it was an override.
    let (check, overridden) = try_approve("S0", true, now);
    let overridden = overridden.expect("overrides");
    assert_eq!((overridden.outcome, overridden.reason.as_deref()), (Outcome::ManualApproved, Some("wrong_bus")));
    let events = f.store.events_since(0).expect("events");
    let recorded: Vec<(Outcome, Option<&str>)> =
        events.iter().filter(|e| e.check_id == Some(check)).map(|e| (e.outcome, e.overrode.as_deref())).collect();
    assert_eq!(
        recorded,
        [(Outcome::ManualPending, None), (Outcome::ManualApproved, Some("wrong_bus")), (Outcome::Boarded, Some("wrong_bus"))]
    );
    assert_eq!(f.store.manual_check(check).expect("reads").expect("exists").overrode.as_deref(), Some("wrong_bus"));
    // No override revives a refunded ticket.
    let (_, refunded) = try_approve("R0", true, now);
    assert!(refunded.expect_err("refunded").to_string().starts_with("refunded:"));
}

/// G1: T1 (1A) boarded by face, T2 (1B) at a manual check, T3 (12) and T4 (2) not yet, T5 (3)
/// refunded; T1 also has a pending check (a second pass), which changes nothing. G2 has another
/// "Li Lei".
fn board_fixture() -> Fixture {
    let f = fixture();
    f.store.upsert_trip(&trip("G2", DEPARTURE + 3600)).expect("trip");
    let mut rows = vec![
        ticket("T1", "1A", "Li Lei", "330106199001010011"),
        ticket("T2", "1B", "Han Mei", "330106199001015678"),
        ticket("T3", "12", "Wang_Fang", "330106199001010033"),
        ticket("T4", "2", "100% Zhang", "330106199001010044"),
        ticket("T5", "3", "Zhao Lei", "330106199001010055"),
    ];
    rows[4].refunded = true;
    f.store.import_tickets("G1", &rows, &f.keys, 1).expect("imports");
    f.store.import_tickets("G2", &[ticket("L1", "1A", "Li Lei", "330106199001019999")], &f.keys, 1).expect("imports");
    f.store.board("T1", "lane-1", Method::Face, None, 100).expect("boards");
    open_check(&f.store, "lane-1", Some("T2"), ManualReason::Child, 110);
    open_check(&f.store, "lane-2", Some("T1"), ManualReason::SpoofSuspected, 120);
    open_check(&f.store, "lane-2", Some("T5"), ManualReason::NoTemplate, 130);
    f
}

fn tickets_found(store: &Store, query: Option<&str>) -> Vec<String> {
    store.passengers("G1", query).expect("searches").into_iter().map(|p| p.ticket).collect()
}

#[test]
fn the_manifest_board_lists_passengers_by_seat_with_their_status() {
    let f = board_fixture();
    let all = f.store.passengers("G1", None).expect("lists");
    let lines: Vec<_> = all.iter().map(|p| (p.ticket.as_str(), p.seat.as_str(), p.status, p.method, p.boarded_at)).collect();
    assert_eq!(
        lines,
        [
            ("T1", "1A", PassengerStatus::Boarded, Some(Method::Face), Some(100)),
            ("T2", "1B", PassengerStatus::Manual, None, None),
            ("T4", "2", PassengerStatus::NotYet, None, None),
            ("T5", "3", PassengerStatus::Refunded, None, None),
            ("T3", "12", PassengerStatus::NotYet, None, None),
        ]
    );
    assert_eq!((all[0].name.as_deref(), all[0].document_masked.as_deref()), (Some("Li Lei"), Some("3301**********0011")));
    assert_eq!(tickets_found(&f.store, Some("1a")), ["T1"], "a seat by prefix, any case");
    assert_eq!(tickets_found(&f.store, Some("12")), ["T3"], "a seat exactly");
    assert_eq!(tickets_found(&f.store, Some(" LEI ")), ["T1", "T5"], "a name by substring, any case, trimmed");
    assert_eq!(tickets_found(&f.store, Some("5678")), ["T2"], "a masked document number by substring");
    assert_eq!(tickets_found(&f.store, Some("  ")), tickets_found(&f.store, None), "blank is no filter");
    assert!(f.store.passengers("G404", None).expect("lists").is_empty());
}

#[test]
fn board_searches_match_literally_and_cannot_inject_sql() {
    let f = board_fixture();
    assert_eq!(tickets_found(&f.store, Some("%")), ["T4"], "% is a character, not a wildcard");
    assert_eq!(tickets_found(&f.store, Some("_")), ["T3"], "_ is a character, not a wildcard");
    assert_eq!(tickets_found(&f.store, Some("g_f")), ["T3"]);
    assert!(tickets_found(&f.store, Some("gxf")).is_empty(), "_ does not match any character");
    for attack in ["' OR '1'='1", "' OR 1=1 --", "\"; DROP TABLE tickets; --", "1A' --", "\\", "\\%", "%' OR name LIKE '%"] {
        assert!(tickets_found(&f.store, Some(attack)).is_empty(), "{attack} found something");
    }
    assert_eq!(f.store.tickets_of_trip("G1").expect("tickets intact").len(), 5);
    assert_eq!(f.store.pending_manual_checks().expect("checks intact").len(), 3);
    let raw = rusqlite::Connection::open(&f.db).expect("opens");
    let tables: i64 = raw
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('tickets', 'trips', 'events')", [], |r| r.get(0))
        .expect("reads");
    assert_eq!(tables, 3);
}

#[test]
fn live_counts_add_up_and_follow_the_board() {
    let f = board_fixture();
    let counts = f.store.live_counts("G1").expect("counts");
    let expected = LiveCounts {
        passengers: 4,
        boarded: 1,
        not_yet: 2,
        manual_pending: 1,
        boarded_face: 1,
        boarded_ticket_face: 0,
        boarded_manual: 0,
        refunded: 1,
    };
    assert_eq!(counts, expected);
    f.store.board("T3", "lane-2", Method::TicketFace, None, 200).expect("boards");
    let check = f.store.pending_manual_checks().expect("lists").into_iter().find(|c| c.ticket_id.as_deref() == Some("T2")).expect("T2's");
    // The fixture's clock is not the trips': a supervisor's override of the boarding time.
    let overriding = Resolution { overriding: true, ..resolution(true, "staff-7", None) };
    boarding::resolve(&f.store, check.id, &gate_3(), &overriding, 210).expect("resolves");
    let counts = f.store.live_counts("G1").expect("counts");
    assert_eq!(counts, LiveCounts { boarded: 3, not_yet: 1, manual_pending: 0, boarded_ticket_face: 1, boarded_manual: 1, ..expected });
    assert_eq!(counts.passengers, counts.boarded + counts.not_yet + counts.manual_pending);
    assert_eq!(counts.boarded, counts.boarded_face + counts.boarded_ticket_face + counts.boarded_manual);
}

#[test]
fn trips_between_are_by_departure_and_leave_purged_ones_to_reports() {
    let f = fixture();
    for (id, offset) in [("later", 7200), ("earlier", -7200), ("outside", 90_000)] {
        f.store.upsert_trip(&trip(id, DEPARTURE + offset)).expect("trip");
    }
    let ids = |trips: Vec<Trip>| -> Vec<String> { trips.into_iter().map(|t| t.id).collect() };
    assert_eq!(ids(f.store.trips_between(DEPARTURE - 7200, DEPARTURE + 7200).expect("lists")), ["earlier", "G1", "later"]);
    f.store.purge(DEPARTURE - 7200 + 3601, 3600).expect("purges");
    assert_eq!(ids(f.store.trips_between(DEPARTURE - 7200, DEPARTURE + 7200).expect("lists")), ["G1", "later"]);
    assert_eq!(ids(f.store.all_trips_between(DEPARTURE - 7200, DEPARTURE + 7200).expect("lists")), ["earlier", "G1", "later"]);
}

#[test]
fn trips_boarding_are_the_open_ones_in_the_window() {
    let f = fixture();
    for (id, offset) in [("early", -3600), ("late", 7200), ("soon", 1200), ("gone", 300)] {
        f.store.upsert_trip(&trip(id, DEPARTURE + offset)).expect("trip");
    }
    f.store.mark_departed("gone").expect("departs");
    let ids: Vec<String> = f.store.trips_boarding(DEPARTURE, 1800, 600).expect("lists").into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["G1", "soon"]);
    let moved = Trip { gate: "7".into(), ..trip("G1", DEPARTURE) };
    f.store.upsert_trip(&moved).expect("updates");
    assert_eq!(f.store.trip("G1").expect("reads"), Some(moved));
    let (ticket, trip) = {
        f.store.import_tickets("G1", &numbered(1), &f.keys, 1).expect("imports");
        f.store.ticket_trip("T0").expect("reads").expect("exists")
    };
    assert_eq!((ticket.trip_id.as_str(), trip.gate.as_str()), ("G1", "7"));
}

#[test]
fn locked_database_is_a_clear_error_after_the_busy_timeout() {
    let f = fixture();
    f.store.import_tickets("G1", &numbered(1), &f.keys, 1).expect("imports");
    let lane = Store::open_with(&f.db, Options { busy_timeout: Duration::from_millis(300) }).expect("opens");
    let holder = rusqlite::Connection::open(&f.db).expect("opens");
    holder.execute_batch("BEGIN EXCLUSIVE").expect("locks");

    let start = Instant::now();
    let err = lane.board("T0", "lane-1", Method::Face, None, 2).expect_err("locked").to_string();
    assert!(start.elapsed() >= Duration::from_millis(300), "gave up after {:?}", start.elapsed());
    assert!(err.contains("database is locked") && err.contains(&f.db.display().to_string()), "{err}");

    holder.execute_batch("ROLLBACK").expect("unlocks");
    assert_eq!(lane.board("T0", "lane-1", Method::Face, None, 3).expect("boards"), BoardResult::Boarded);
}

#[test]
fn unknown_words_and_newer_schemas_are_clear_errors() {
    let f = fixture();
    f.store.import_tickets("G1", &numbered(1), &f.keys, 1).expect("imports");
    let raw = rusqlite::Connection::open(&f.db).expect("opens");
    raw.execute_batch("PRAGMA ignore_check_constraints = ON; UPDATE tickets SET state = 'lost' WHERE id = 'T0';").expect("corrupts");
    let err = f.store.ticket("T0").expect_err("refused").to_string();
    assert!(err.contains("unknown ticket state 'lost'") && err.contains("manifest.db"), "{err}");

    raw.execute_batch("PRAGMA user_version = 99").expect("sets");
    let err = Store::open(&f.db).err().expect("refused").to_string();
    assert!(err.contains("schema version 99"), "{err}");
}

// ---- across processes ----

fn spawn_child(test: &str, env: &[(&str, String)]) -> (Child, Lines<BufReader<ChildStdout>>) {
    let exe = std::env::current_exe().expect("test binary");
    let mut command = Command::new(exe);
    command.args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"]).stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("spawns the test binary");
    let stdout = child.stdout.take().expect("piped");
    (child, BufReader::new(stdout).lines())
}

/// What follows `prefix` on the next line the child wrote with it; None at end of output.
/// (The first report shares its line with libtest's `test race_child ... `.)
fn next_report(lines: &mut Lines<BufReader<ChildStdout>>, prefix: &str) -> Option<String> {
    lines.map_while(Result::ok).find_map(|line| line.split_once(prefix).map(|(_, report)| report.to_string()))
}

#[test]
fn two_lanes_racing_on_one_ticket_board_it_exactly_once() {
    const ROUNDS: usize = 20;
    let f = fixture();
    f.store.import_tickets("G1", &numbered(ROUNDS), &f.keys, 1).expect("imports");
    for round in 0..ROUNDS {
        let go = f.dir.path().join(format!("go-{round}"));
        let mut lanes: Vec<_> = (0..2)
            .map(|lane| {
                let env = [
                    ("BOARDCHECK_RACE_DB", f.db.display().to_string()),
                    ("BOARDCHECK_RACE_TICKET", format!("T{round}")),
                    ("BOARDCHECK_RACE_LANE", format!("lane-{lane}")),
                    ("BOARDCHECK_RACE_GO", go.display().to_string()),
                ];
                spawn_child("race_child", &env)
            })
            .collect();
        // Barrier: both lanes have opened the store before either may board.
        for (_, lines) in &mut lanes {
            assert_eq!(next_report(lines, "race: ").as_deref(), Some("ready"));
        }
        std::fs::write(&go, b"").expect("go");
        let mut results = Vec::new();
        for (mut child, mut lines) in lanes {
            results.push(next_report(&mut lines, "race: ").expect("a result"));
            assert!(child.wait().expect("waits").success());
        }
        results.sort();
        assert!(
            results[0].starts_with("AlreadyBoarded") && results[1] == "Boarded",
            "round {round}: exactly one lane boards, got {results:?}"
        );
    }
    let boarded = boarded_events(&f.store);
    assert_eq!(boarded.len(), ROUNDS);
    let tickets: HashSet<_> = boarded.iter().filter_map(|e| e.ticket_id.clone()).collect();
    assert_eq!(tickets.len(), ROUNDS, "one boarded event per ticket");
}

#[test]
#[ignore = "child process of two_lanes_racing_on_one_ticket_board_it_exactly_once"]
fn race_child() {
    let Ok(db) = std::env::var("BOARDCHECK_RACE_DB") else { return };
    let var = |key: &str| std::env::var(key).expect("set by the parent");
    let (ticket, lane, go) = (var("BOARDCHECK_RACE_TICKET"), var("BOARDCHECK_RACE_LANE"), PathBuf::from(var("BOARDCHECK_RACE_GO")));
    let store = Store::open(Path::new(&db)).expect("opens");
    println!("race: ready");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !go.exists() {
        assert!(Instant::now() < deadline, "no go from the parent");
        std::thread::yield_now();
    }
    let result = store.board(&ticket, &lane, Method::Face, None, DEPARTURE).expect("boards");
    println!("race: {result:?}");
}

#[test]
fn kill_9_mid_burst_loses_no_reported_boarding() {
    const TICKETS: usize = 5000;
    const REPORTS: usize = 40;
    let f = fixture();
    f.store.import_tickets("G1", &numbered(TICKETS), &f.keys, 1).expect("imports");
    let (mut child, mut lines) = spawn_child("burst_child", &[("BOARDCHECK_BURST_DB", f.db.display().to_string())]);
    let mut reported = Vec::new();
    while reported.len() < REPORTS {
        reported.push(next_report(&mut lines, "burst: ").expect("the child reports boardings"));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    drop(f.store);

    let store = Store::open(&f.db).expect("reopens after the kill");
    let boarded_tickets: HashSet<String> =
        store.tickets_of_trip("G1").expect("lists").into_iter().filter(|t| t.state == TicketState::Boarded).map(|t| t.id).collect();
    let events: Vec<String> = boarded_events(&store).into_iter().filter_map(|e| e.ticket_id).collect();
    for id in &reported {
        assert!(boarded_tickets.contains(id), "{id} was reported boarded but is not");
    }
    assert!(boarded_tickets.len() < TICKETS, "killed mid-burst");
    assert_eq!(events.len(), boarded_tickets.len(), "one event per boarded ticket");
    assert_eq!(
        events.iter().cloned().collect::<HashSet<_>>(),
        boarded_tickets,
        "no boarding without its event, no event without its boarding"
    );
    let raw = rusqlite::Connection::open(&f.db).expect("opens");
    let check: String = raw.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("checks");
    assert_eq!(check, "ok");
}

#[test]
#[ignore = "child process of kill_9_mid_burst_loses_no_reported_boarding"]
fn burst_child() {
    let Ok(db) = std::env::var("BOARDCHECK_BURST_DB") else { return };
    let store = Store::open(Path::new(&db)).expect("opens");
    for i in 0.. {
        let id = format!("T{i}");
        match store.board(&id, "lane-1", Method::Face, None, DEPARTURE).expect("boards") {
            BoardResult::Boarded => println!("burst: {id}"),
            BoardResult::UnknownTicket => break,
            other => panic!("{id}: {other:?}"),
        }
    }
}

#[test]
fn templates_of_no_trip_and_unknown_documents_are_empty() {
    let f = fixture();
    assert!(f.store.templates(&[], "mobilefacenet", &f.keys).expect("templates").is_empty());
    assert!(f.store.tickets_by_document("  ", &f.keys).expect("looks up").is_empty());
    assert_eq!(f.store.ticket_trip("T404").expect("reads"), None);
}
