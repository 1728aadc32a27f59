//! The local decider against a real SQLite store: what enters the rules is checked first, so
//! no malformed evidence can board anyone (a seeded generator of broken embeddings, chip
//! photos included); a re-imported ticket's new face is the one matched on the next decision;
//! a ticket of this gate not boarding yet is told so; failed face attempts are limited.

use std::collections::HashSet;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use boardcheck_core::boarding::{BoardingWindow, LaneScope, ManualReason, Outcome, Policy, MAX_ATTEMPTS};
use boardcheck_core::decider::{LocalDecider, Observation, Presented, TicketKeys};
use boardcheck_core::error::Kind;
use boardcheck_core::manifest::cache::ManifestCache;
use boardcheck_core::manifest::keys::StationKeys;
use boardcheck_core::manifest::store::Store;
use boardcheck_core::manifest::{DocumentType, NewTicket, TicketState, Trip};
use boardcheck_core::ticket::IssuerKeys;
use boardcheck_vision::face::embed::{l2_normalise, recipe_dim};

const MODEL: &str = "faceplugin512+mobilefacenet+sface+flip";
const NOW: i64 = 1_760_000_000;

struct Station {
    _dir: tempfile::TempDir,
    store: Store,
    keys: StationKeys,
    issuers: IssuerKeys,
    cache: ManifestCache,
}

fn dim() -> usize {
    recipe_dim(MODEL).expect("a known recipe")
}

/// A random unit vector: a face template.
fn face(rng: &mut StdRng) -> Vec<f32> {
    let mut v: Vec<f32> = (0..dim()).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    l2_normalise(&mut v);
    v
}

fn ticket(id: &str, number: &str) -> NewTicket {
    NewTicket {
        id: id.into(),
        seat: "1".into(),
        name: format!("Passenger {id}"),
        document_type: DocumentType::IdCard,
        document_number: number.into(),
        child: false,
        refunded: false,
    }
}

/// G3 boards at gate 3 now, G7 at gate 7 now, LATER at gate 3 in ten hours; one ticket each
/// (A, S, L), each with a template.
fn station(rng: &mut StdRng) -> (Station, Vec<Vec<f32>>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("m.db")).expect("opens");
    let keys = StationKeys::load_or_create(&dir.path().join("station.key")).expect("key");
    let mut faces = Vec::new();
    for (trip, gate, departure, id, number) in [
        ("G3", "3", NOW + 600, "A", "110101199001010011"),
        ("G7", "7", NOW + 600, "S", "110101199001010022"),
        ("LATER", "3", NOW + 36_000, "L", "110101199001010033"),
    ] {
        store.upsert_trip(&Trip { id: trip.into(), route: "r".into(), departure, gate: gate.into() }).expect("trip");
        store.import_tickets(trip, &[ticket(id, number)], &keys, NOW - 3600).expect("imports");
        let template = face(rng);
        store.set_template(id, &template, MODEL, &keys, NOW - 3600).expect("template");
        faces.push(template);
    }
    let cache = ManifestCache::new(Duration::from_secs(15));
    (Station { _dir: dir, store, keys, issuers: IssuerKeys::default(), cache }, faces)
}

impl Station {
    fn decider(&self, lane: &str) -> LocalDecider<'_> {
        LocalDecider {
            cache: &self.cache,
            store: &self.store,
            keys: TicketKeys { station: &self.keys, issuers: &self.issuers },
            lane: lane.into(),
            scope: LaneScope { gate: Some("3".into()), trips: vec![], window: BoardingWindow::minutes(60, 30) },
            model: MODEL.into(),
            policy: Policy::default(),
        }
    }

    fn boarded(&self) -> HashSet<String> {
        self.store
            .events_since(0)
            .expect("events")
            .into_iter()
            .filter(|e| e.outcome == Outcome::Boarded)
            .filter_map(|e| e.ticket_id)
            .collect()
    }
}

fn live(embedding: Vec<f32>) -> Observation {
    Observation { spoof: Some(false), embedding }
}

/// One way an embedding can be broken, made from a real template.
fn broken(template: &[f32], rng: &mut StdRng) -> Vec<f32> {
    let mut v = template.to_vec();
    match rng.gen_range(0..8) {
        0 => v.iter_mut().for_each(|x| *x *= rng.gen_range(2.0f32..1000.0)), // scaled: scores far above 1
        1 => v[rng.gen_range(0..dim())] = f32::NAN,
        2 => v[rng.gen_range(0..dim())] = if rng.gen() { f32::INFINITY } else { f32::NEG_INFINITY },
        3 => v = vec![1e39f64 as f32; dim()], // what JSON's 1e39 becomes as an f32
        4 => v.truncate(rng.gen_range(0..dim())),
        5 => v.extend((0..rng.gen_range(1..64)).map(|_| rng.gen_range(-1.0f32..1.0))),
        6 => v = vec![1000.0],
        _ => v.iter_mut().for_each(|x| *x = 0.0),
    }
    v
}

#[test]
fn no_malformed_embedding_ever_boards_anyone() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let (station, faces) = station(&mut rng);
    let decider = station.decider("lane-3");
    for case in 0..400 {
        let target = &faces[rng.gen_range(0..faces.len())];
        let frames = rng.gen_range(1..6);
        // Some frames genuine, at least one broken, in any order.
        let mut observations: Vec<Observation> = (0..frames).map(|_| live(target.clone())).collect();
        let at = rng.gen_range(0..frames);
        observations[at] = live(broken(target, &mut rng));
        let answer = decider.decide_track(&observations, NOW);
        let err = answer.expect_err(&format!("case {case}: a broken observation must be refused"));
        assert_eq!(err.kind(), Kind::Invalid, "case {case}: {err}");
        // The chip photo of an ID card, broken, with the genuine face in view.
        let chip = broken(&faces[0], &mut rng);
        let card = Presented::IdCard { document_number: "110101199001010011".into(), chip_embedding: Some(chip) };
        let err = decider.decide_presented(&card, &[live(faces[0].clone())], NOW).expect_err("a broken chip embedding is refused");
        assert_eq!(err.kind(), Kind::Invalid, "case {case}: {err}");
    }
    assert!(station.boarded().is_empty(), "nobody boarded");
    assert!(station.store.events_since(0).expect("events").is_empty(), "nothing was recorded for refused evidence");
    // Sanity: the same station boards a genuine face.
    let genuine: Vec<Observation> = (0..3).map(|_| live(faces[0].clone())).collect();
    let decision = decider.decide_track(&genuine, NOW).expect("decides").expect("a decision");
    assert_eq!((decision.outcome, decision.ticket.as_deref()), (Outcome::Boarded, Some("A")));
}

#[test]
fn a_re_imported_ticket_boards_its_new_passenger_not_the_old_face() {
    let mut rng = StdRng::seed_from_u64(7);
    let (station, faces) = station(&mut rng);
    let decider = station.decider("lane-3");
    let three = |v: &Vec<f32>| -> Vec<Observation> { (0..3).map(|_| live(v.clone())).collect() };
    // The manifest is loaded (and cached) by a first decision: a stranger, not on it.
    let stranger = face(&mut rng);
    let first = decider.decide_track(&three(&stranger), NOW).expect("decides").expect("a decision");
    assert_eq!(first.outcome, Outcome::NotOnManifest);
    // The ticket passes to another passenger (a re-import with their ID photo), by another
    // process, within the cache's time-to-live.
    let other = Store::open(station.store.path()).expect("a second connection");
    let new_face = face(&mut rng);
    other.set_template("A", &new_face, MODEL, &station.keys, NOW).expect("re-enrols");
    let old = decider.decide_track(&three(&faces[0]), NOW + 1).expect("decides").expect("a decision");
    assert_ne!(old.outcome, Outcome::Boarded, "the old passenger's face no longer boards ticket A");
    let new = decider.decide_track(&three(&new_face), NOW + 2).expect("decides").expect("a decision");
    assert_eq!((new.outcome, new.ticket.as_deref()), (Outcome::Boarded, Some("A")));
}

#[test]
fn a_ticket_of_this_gate_not_boarding_yet_says_when_and_a_ticket_of_another_gate_says_where() {
    let mut rng = StdRng::seed_from_u64(11);
    let (station, faces) = station(&mut rng);
    let decider = station.decider("lane-3");
    let card = |number: &str| Presented::IdCard { document_number: number.into(), chip_embedding: None };
    let later = decider.decide_presented(&card("110101199001010033"), &[live(faces[2].clone())], NOW).expect("decides").expect("one");
    assert_eq!((later.outcome, later.departure, later.gate.as_deref()), (Outcome::NotYetBoarding, Some(NOW + 36_000), None));
    let seven = decider.decide_presented(&card("110101199001010022"), &[live(faces[1].clone())], NOW).expect("decides").expect("one");
    assert_eq!((seven.outcome, seven.gate.as_deref()), (Outcome::WrongBus, Some("7")));
    assert_eq!(station.store.ticket("L").expect("reads").expect("exists").state, TicketState::Valid);
}

#[test]
fn repeated_failed_faces_at_a_lane_go_to_staff_and_the_count_starts_again() {
    let mut rng = StdRng::seed_from_u64(13);
    let (station, _) = station(&mut rng);
    let decider = station.decider("lane-3");
    let mut outcomes = Vec::new();
    for i in 0..(2 * MAX_ATTEMPTS as i64) {
        let stranger: Vec<Observation> = {
            let v = face(&mut rng);
            (0..3).map(|_| live(v.clone())).collect()
        };
        let decision = decider.decide_track(&stranger, NOW + 10 * i).expect("decides").expect("a decision");
        outcomes.push((decision.outcome, decision.reason));
    }
    let nobody = (Outcome::NotOnManifest, None);
    let staff = (Outcome::ManualPending, Some(ManualReason::TooManyAttempts.code().to_string()));
    assert_eq!(outcomes, [nobody.clone(), nobody.clone(), staff.clone(), nobody.clone(), nobody, staff]);
    // Another lane's failures are its own.
    let elsewhere = station.decider("lane-4");
    let v = face(&mut rng);
    let decision = elsewhere.decide_track(&[live(v.clone()), live(v.clone()), live(v)], NOW + 100).expect("decides").expect("one");
    assert_eq!(decision.outcome, Outcome::NotOnManifest);
}
