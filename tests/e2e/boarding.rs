//! Boarding end to end on real models, real face images and a real SQLite store: a manifest
//! imported from a CSV export with ID-card photos made from the fixtures, then passengers
//! decided by face, by e-ticket and by staff.

use crate::common;

use std::path::Path;

use boardcheck_core::boarding::{
    self, BoardingWindow, Candidate, Evidence, FaceCheck, FrameEvidence, Intent, LaneScope, ManualReason, Outcome, Place, Policy,
    Resolution, StaffReason, MAX_ATTEMPTS,
};
use boardcheck_core::decider::{LocalDecider, Presented, TicketKeys};
use boardcheck_core::manifest::cache::{LaneManifest, ManifestCache};
use boardcheck_core::manifest::import;
use boardcheck_core::manifest::keys::StationKeys;
use boardcheck_core::manifest::store::Store;
use boardcheck_core::manifest::{Method, TicketState, Trip};
use boardcheck_core::ticket::{self, IssuerKey, IssuerKeys, Ticket};
use boardcheck_lane::ingest::ImageFolderSource;
use boardcheck_lane::outputs::DecisionSink;
use boardcheck_lane::pipeline::{self, LaneDecision, LaneOptions};
use boardcheck_vision::face::embed::similarity;
use boardcheck_vision::face::id_photo;
use boardcheck_vision::image_io;
use common::{engine, fixture, main_face};

/// The tests' clock: the real time when the first test asked, so the lane's own clock (the
/// manifest cache picks trips boarding now) agrees with the trips made here.
fn now() -> i64 {
    static NOW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *NOW.get_or_init(boardcheck_core::clock::unix_now)
}

/// The lane at gate 3, boarding from an hour before departure to half an hour after.
fn gate_3() -> LaneScope {
    LaneScope { gate: Some("3".into()), trips: vec![], window: BoardingWindow::minutes(60, 30) }
}

fn place(trip: &Trip) -> Place {
    gate_3().place(trip, now())
}

/// Staff's answer, for the usual reason either way, with their note.
fn resolution<'a>(approve: bool, note: &'a str, ticket: Option<&'a str>) -> Resolution<'a> {
    let reason = if approve { StaffReason::IdDocumentChecked } else { StaffReason::TicketNotValid };
    Resolution { approve, staff: "staff-7", reason, note: Some(note), ticket, overriding: false }
}

/// A lane at gate 3 (trip G3) with trip G7 boarding at gate 7 in the same station.
struct Station {
    _dir: tempfile::TempDir,
    store: Store,
    keys: StationKeys,
    trips: Vec<Trip>,
    dir: std::path::PathBuf,
}

fn write_id_photo(source: &str, out: &Path) {
    let image = image_io::load_rgb(&fixture(source)).expect("fixture");
    let face = main_face(source);
    let photo = id_photo::crop(&image, &face.points).expect("croppable");
    std::fs::write(out, id_photo::encode_jpeg(&photo, 60).expect("jpeg")).expect("writes");
}

fn station() -> Station {
    let dir = tempfile::tempdir().expect("tempdir");
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(&photos).expect("mkdir");
    write_id_photo("obama.jpg", &photos.join("G3-01.jpg"));
    write_id_photo("biden.jpg", &photos.join("G3-02.jpg"));
    write_id_photo("Tom_Hanks_54745.png", &photos.join("G7-01.jpg"));
    // A "photo" with no face in it: that ticket can only board through staff.
    image::RgbImage::from_pixel(102, 126, image::Rgb([200, 200, 200])).save(photos.join("G3-03.jpg")).expect("saves");
    let g3 = dir.path().join("g3.csv");
    std::fs::write(
        &g3,
        "ticket_id,seat,name,document_type,document_number,child,refunded\n\
         G3-01,01,Barack Obama,id_card,110101196108041234,0,0\n\
         G3-02,02,Joe Biden,id_card,110101194211201234,0,0\n\
         G3-03,03,Grey Card,id_card,110101199001011234,0,0\n",
    )
    .expect("writes");
    let g7 = dir.path().join("g7.csv");
    std::fs::write(&g7, "ticket_id,seat,name,document_type,document_number\nG7-01,01,Tom Hanks,passport,E12345678\n").expect("writes");

    let store = Store::open(&dir.path().join("station.db")).expect("store");
    let keys = StationKeys::load_or_create(&dir.path().join("station.key")).expect("keys");
    let trips = vec![
        Trip { id: "G3".into(), route: "Hefei → Wuhu".into(), departure: now() + 1200, gate: "3".into() },
        Trip { id: "G7".into(), route: "Hefei → Nanjing".into(), departure: now() + 3000, gate: "7".into() },
    ];
    for (trip, export) in trips.iter().zip([&g3, &g7]) {
        store.upsert_trip(trip).expect("trip");
        let export = import::read_export(export, Some(&photos)).expect("export parses");
        let reports = import::import(&store, &keys, engine(), &trip.id, &export, now(), &|_, _| {}).expect("imports");
        for r in &reports {
            assert_eq!(r.issue.is_some(), r.ticket_id == "G3-03", "{r:?}");
        }
    }
    let dir_path = dir.path().to_path_buf();
    Station { _dir: dir, store, keys, trips, dir: dir_path }
}

impl Station {
    fn candidates(&self) -> Vec<Candidate> {
        LaneManifest::load(&self.store, &self.keys, &self.trips, gate_3(), engine().embedder_id()).expect("templates").candidates
    }

    /// Three frames of `photo`'s face at the gate-3 lane, after `failed_attempts` there.
    fn face_intent(&self, photo: &str, failed_attempts: u32) -> Intent {
        let probe = main_face(photo).embedding;
        let candidates = self.candidates();
        let scores: Vec<f32> = candidates.iter().map(|c| similarity(&probe, &c.template)).collect();
        let frames = vec![FrameEvidence { spoof: Some(false), scores }; 3];
        boarding::decide(&Evidence::Face { frames, failed_attempts }, &candidates, &place, &Policy::default())
    }

    fn record(&self, intent: &Intent) -> boarding::Decision {
        boarding::apply(&self.store, "lane-1", intent, now()).expect("recorded").expect("a decision")
    }
}

#[test]
fn faces_board_once_and_only_at_their_own_gate() {
    let s = station();
    let first = s.record(&s.face_intent("obama2.jpg", 0));
    assert_eq!((first.outcome, first.ticket.as_deref()), (Outcome::Boarded, Some("G3-01")));
    let again = s.record(&s.face_intent("obama3.jpg", 0));
    assert_eq!((again.outcome, again.ticket.as_deref()), (Outcome::AlreadyBoarded, Some("G3-01")));
    let hanks = s.record(&s.face_intent("Tom_Hanks_54745.png", 0));
    assert_eq!((hanks.outcome, hanks.gate.as_deref()), (Outcome::WrongBus, Some("7")));
    assert_eq!(s.store.ticket("G7-01").expect("reads").expect("exists").state, TicketState::Valid, "not boarded at the wrong gate");
    let biden = s.record(&s.face_intent("biden.jpg", 0));
    assert_eq!((biden.outcome, biden.ticket.as_deref()), (Outcome::Boarded, Some("G3-02")));
    let boarded: Vec<_> = s.store.events_since(0).expect("events").into_iter().filter(|e| e.outcome == Outcome::Boarded).collect();
    assert_eq!(boarded.len(), 2, "one boarding event per boarded passenger");
}

#[test]
fn an_id_card_tap_finds_the_ticket_and_the_face_is_checked_one_to_one() {
    let s = station();
    let found = boarding::lookup_id_card("110101194211201234", &s.keys, &s.store, &s.trips, now()).expect("looks up");
    let (record, trip) = found.clone().expect("Biden's ticket");
    assert_eq!((record.id.as_str(), trip.id.as_str()), ("G3-02", "G3"));
    let template = s.candidates().into_iter().find(|c| c.ticket.id == "G3-02").expect("enrolled").template;
    let check = |photo: &str| {
        let score = similarity(&main_face(photo).embedding, &template);
        let evidence = Evidence::Ticket { ticket: found.clone(), face: Some(FaceCheck { score, spoof: false }) };
        boarding::decide(&evidence, &s.candidates(), &place, &Policy::default())
    };
    assert!(matches!(check("biden.jpg"), Intent::Board { .. }));
    assert_eq!(check("obama2.jpg"), Intent::Manual { reason: ManualReason::FaceMismatch, ticket_id: Some("G3-02".into()) });
    let unknown = boarding::lookup_id_card("110101200001011234", &s.keys, &s.store, &s.trips, now()).expect("looks up");
    assert_eq!(unknown, Err(boardcheck_core::boarding::TicketProblem::Unknown));
}

#[test]
fn an_unknown_face_goes_to_staff_who_decide() {
    let s = station();
    assert_eq!(s.face_intent("t1.jpg", 0), Intent::NotOnManifest { method: Method::Face });
    let intent = s.face_intent("t1.jpg", MAX_ATTEMPTS - 1);
    assert_eq!(intent, Intent::Manual { reason: ManualReason::TooManyAttempts, ticket_id: None });
    let pending = s.record(&intent);
    assert_eq!(pending.outcome, Outcome::ManualPending);
    let check = pending.manual_check.expect("queued");
    let refused =
        boarding::resolve(&s.store, check, &gate_3(), &resolution(false, "no ticket for this bus", None), now() + 30).expect("resolves");
    assert_eq!(refused.outcome, Outcome::ManualRefused);
    let again = boarding::resolve(&s.store, check, &gate_3(), &resolution(true, "changed my mind", None), now() + 60);
    assert!(again.is_err(), "a check is resolved once");
    // The same passenger comes back with an ID card staff find on the manifest: approved, boarded.
    let again = s.record(&intent).manual_check.expect("queued");
    let approved = boarding::resolve(&s.store, again, &gate_3(), &resolution(true, "ID checked: seat 03", Some("G3-03")), now() + 90)
        .expect("resolves");
    assert_eq!((approved.outcome, approved.ticket.as_deref()), (Outcome::ManualApproved, Some("G3-03")));
    assert_eq!(s.store.ticket("G3-03").expect("reads").expect("exists").state, TicketState::Boarded);
}

/// A ticket issuer for the station: its signing key, and the keys that verify its tickets.
fn issuer(s: &Station) -> (IssuerKey, IssuerKeys) {
    let issuer_dir = s.dir.join("issuer");
    let key_id = ticket::keygen(&issuer_dir).expect("keygen");
    let key = IssuerKey::load(&issuer_dir.join(format!("{key_id}.key"))).expect("key");
    (key, IssuerKeys::load(&issuer_dir).expect("issuer keys"))
}

/// A signed e-ticket token for `seat` on trip G3, valid over `(not_before, not_after)`.
fn g3_ticket(key: &IssuerKey, ticket_id: &str, seat: &str, (not_before, not_after): (i64, i64)) -> String {
    let t = Ticket {
        ticket_id: ticket_id.into(),
        trip_id: "G3".into(),
        seat: seat.into(),
        document_hash: None,
        not_before: not_before as _,
        not_after: not_after as _,
        issuer: key.key_id(),
    };
    key.issue(&t).expect("issues")
}

#[test]
fn an_eticket_without_a_usable_photo_boards_through_staff_and_only_once() {
    let s = station();
    let (key, issuers) = issuer(&s);
    let token = |ticket_id: &str, not_after: i64| g3_ticket(&key, ticket_id, "03", (now() - 3600, not_after));
    let decide = |scanned: &str, face: Option<FaceCheck>| {
        let found = boarding::lookup_ticket(scanned, &issuers, &s.store, now()).expect("looks up");
        boarding::decide(&Evidence::Ticket { ticket: found, face }, &s.candidates(), &place, &Policy::default())
    };
    let valid = token("G3-03", now() + 3600);
    let face = Some(FaceCheck { score: 0.0, spoof: false });
    let intent = decide(&valid, face);
    assert_eq!(intent, Intent::Manual { reason: ManualReason::NoTemplate, ticket_id: Some("G3-03".into()) });
    let pending = s.record(&intent);
    let check = pending.manual_check.expect("queued");
    let approved =
        boarding::resolve(&s.store, check, &gate_3(), &resolution(true, "ID checked by hand", None), now() + 20).expect("resolves");
    assert_eq!((approved.outcome, approved.ticket.as_deref()), (Outcome::ManualApproved, Some("G3-03")));
    assert_eq!(s.store.ticket("G3-03").expect("reads").expect("exists").state, TicketState::Boarded);
    // The same token again: a replay.
    assert_eq!(decide(&valid, face), Intent::AlreadyBoarded { ticket_id: "G3-03".into(), trip_id: "G3".into() });
    // Tampered and expired tokens are refused with their reasons.
    let mut tampered: Vec<char> = token("G3-02", now() + 3600).chars().collect();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    assert!(
        matches!(decide(&tampered, face), Intent::TicketInvalid { ref reason, .. } if reason == "bad_signature" || reason == "garbage")
    );
    let expired = Intent::TicketInvalid { ticket_id: None, trip_id: None, reason: "expired".into() };
    assert_eq!(decide(&token("G3-02", now() - 60), face), expired);
    // A valid ticket and the passenger's own face: 1:1 boards.
    let biden = main_face("biden.jpg").embedding;
    let template = s.candidates().into_iter().find(|c| c.ticket.id == "G3-02").expect("enrolled").template;
    let check = FaceCheck { score: similarity(&biden, &template), spoof: false };
    assert_eq!(
        decide(&token("G3-02", now() + 3600), Some(check)),
        Intent::Board { ticket_id: "G3-02".into(), trip_id: "G3".into(), method: Method::TicketFace }
    );
}

/// Runs a lane at gate 3 over `frames` with `shown` presented at the start; its decisions.
fn lane_with_ticket(s: &Station, frames: &Path, shown: Presented) -> Vec<LaneDecision> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    tx.send(shown).expect("queued");
    run_lane(
        s,
        frames,
        LaneOptions { drop_stale: false, presented: rx, ..LaneOptions::default() },
        &IssuerKeys::default(),
        Policy::default(),
    )
}

fn run_lane(s: &Station, frames: &Path, options: LaneOptions, issuers: &IssuerKeys, policy: Policy) -> Vec<LaneDecision> {
    struct Collect(std::sync::Arc<std::sync::Mutex<Vec<LaneDecision>>>);
    impl DecisionSink for Collect {
        fn emit(&mut self, d: &LaneDecision) -> boardcheck_lane::Result<()> {
            self.0.lock().expect("lock").push(d.clone());
            Ok(())
        }
    }
    let cache = ManifestCache::default();
    let keys = TicketKeys { station: &s.keys, issuers };
    let model = engine().embedder_id().to_string();
    let mut decider = LocalDecider { cache: &cache, store: &s.store, keys, lane: "lane-1".into(), scope: gate_3(), model, policy };
    let decisions = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut sinks: Vec<Box<dyn DecisionSink>> = vec![Box::new(Collect(decisions.clone()))];
    let source = Box::new(ImageFolderSource::open(frames, 15.0).expect("frames"));
    pipeline::run(engine(), source, &mut decider, &mut sinks, &options).expect("runs");
    let decided = decisions.lock().expect("lock").clone();
    decided
}

#[test]
fn an_id_card_tap_at_the_lane_is_decided_with_the_face_in_front_of_it() {
    let s = station();
    let frames = common::station::frames_of("biden.jpg", 12);
    let tapped = Presented::IdCard { document_number: "110101194211201234".into(), chip_embedding: None };
    let decisions = lane_with_ticket(&s, frames.path(), tapped);
    let seen: Vec<(Outcome, Option<&str>)> = decisions.iter().map(|d| (d.decision.outcome, d.decision.ticket.as_deref())).collect();
    assert_eq!(seen, vec![(Outcome::Boarded, Some("G3-02"))], "one decision, by ticket and face");
    assert_eq!(decisions[0].decision.method, Some(Method::TicketFace));

    // Someone else's card in front of Biden's face, with that card's chip photo: 1:1 fails.
    let obama_chip = main_face("obama.jpg").embedding;
    let frames = common::station::frames_of("biden.jpg", 12);
    let wrong = Presented::IdCard { document_number: "110101196108041234".into(), chip_embedding: Some(obama_chip) };
    let decisions = lane_with_ticket(&s, frames.path(), wrong);
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(decisions[0].decision.outcome, Outcome::ManualPending);
    assert_eq!(decisions[0].decision.reason.as_deref(), Some("face_mismatch"));
}

#[test]
fn a_ticket_shown_with_no_face_in_view_goes_to_staff() {
    let s = station();
    let frames = tempfile::tempdir().expect("tempdir");
    for i in 0..5 {
        image::RgbImage::from_pixel(640, 480, image::Rgb([90, 90, 90])).save(frames.path().join(format!("{i}.png"))).expect("saves");
    }
    let tapped = Presented::IdCard { document_number: "110101194211201234".into(), chip_embedding: None };
    let decisions = lane_with_ticket(&s, frames.path(), tapped);
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!((decisions[0].decision.outcome, decisions[0].decision.reason.as_deref()), (Outcome::ManualPending, Some("refused")));
    assert_eq!(decisions[0].track, 0, "no face track");
}

#[test]
fn an_eticket_held_up_to_the_camera_is_read_and_checked_against_the_face() {
    let s = station();
    let (key, issuers) = issuer(&s);
    let now = boardcheck_core::clock::unix_now();
    let code = ticket::render_qr(&g3_ticket(&key, "G3-02", "02", (now - 3600, now + 3600))).expect("fits");
    // Biden holds his phone up beside his face.
    let face = image::imageops::resize(
        &image_io::load_rgb(&fixture("biden.jpg")).expect("fixture"),
        455,
        568,
        image::imageops::FilterType::Triangle,
    );
    let (width, height) = (480 + code.width() + 20, (code.height() + 40).max(600));
    let mut frame = image::RgbImage::from_pixel(width, height, image::Rgb([128, 128, 128]));
    image::imageops::overlay(&mut frame, &face, 0, 16);
    image::imageops::overlay(&mut frame, &image::DynamicImage::ImageLuma8(code).to_rgb8(), 480, 20);
    assert_eq!(ticket::decode_qr(&frame).len(), 1, "the code reads in the frame");
    let frames = tempfile::tempdir().expect("tempdir");
    for i in 0..10 {
        frame.save(frames.path().join(format!("{i:03}.png"))).expect("saves");
    }
    // Faces alone never decide here (min_frames out of reach): only the ticket path can.
    let policy = Policy { min_frames: 1000, ..Policy::default() };
    let options = LaneOptions { drop_stale: false, qr_per_second: 1000.0, ..LaneOptions::default() };
    let decisions = run_lane(&s, frames.path(), options, &issuers, policy);
    let seen: Vec<(Outcome, Option<&str>)> = decisions.iter().map(|d| (d.decision.outcome, d.decision.ticket.as_deref())).collect();
    assert_eq!(seen, vec![(Outcome::Boarded, Some("G3-02"))], "read once, boarded once");
    assert_eq!(decisions[0].decision.method, Some(Method::TicketFace));
}
