//! The rules, case by case.

use super::*;
use crate::manifest::DocumentType;

fn ticket(id: &str, trip: &str) -> TicketRecord {
    TicketRecord {
        id: id.to_string(),
        trip_id: trip.to_string(),
        seat: "1A".to_string(),
        name: Some("Passenger".to_string()),
        document_type: DocumentType::IdCard,
        document_masked: Some("1101**********1234".to_string()),
        child: false,
        state: TicketState::Valid,
        has_template: true,
        enrol_issue: None,
    }
}

fn candidate(id: &str, trip: &str, gate: &str) -> Candidate {
    Candidate { ticket: ticket(id, trip), gate: gate.to_string(), template: vec![1.0] }
}

fn trip(id: &str, gate: &str) -> Trip {
    Trip { id: id.to_string(), route: "Hefei–Wuhu".to_string(), departure: 0, gate: gate.to_string() }
}

fn frames(n: usize, scores: &[f32]) -> Vec<FrameEvidence> {
    (0..n).map(|_| FrameEvidence { usable: true, spoof: Some(false), scores: scores.to_vec() }).collect()
}

/// Two tickets on trip T1 (served here, gate 3) and one on T2 (gate 7).
fn station() -> Vec<Candidate> {
    vec![candidate("A", "T1", "3"), candidate("B", "T1", "3"), candidate("C", "T2", "7")]
}

fn serves_t1(trip: &str) -> bool {
    trip == "T1"
}

fn face(frames: Vec<FrameEvidence>) -> Intent {
    decide(&Evidence::Face { frames, attempts: 1 }, &station(), &serves_t1, &Policy::default())
}

#[test]
fn a_clear_match_boards_by_face() {
    let intent = face(frames(3, &[0.8, 0.3, 0.2]));
    assert_eq!(intent, Intent::Board { ticket_id: "A".into(), trip_id: "T1".into(), method: Method::Face });
}

#[test]
fn below_the_threshold_is_not_on_the_manifest() {
    assert_eq!(face(frames(3, &[0.5, 0.3, 0.2])), Intent::NotOnManifest);
}

#[test]
fn too_close_to_the_runner_up_goes_to_staff() {
    assert_eq!(face(frames(3, &[0.80, 0.78, 0.2])), Intent::Manual { reason: ManualReason::Ambiguous, ticket_id: None });
}

#[test]
fn scores_are_fused_over_frames() {
    // One frame alone would clear the threshold; the track's mean does not.
    let mut f = frames(2, &[0.35, 0.1, 0.1]);
    f.push(FrameEvidence { usable: true, spoof: Some(false), scores: vec![0.95, 0.1, 0.1] });
    assert_eq!(face(f), Intent::NotOnManifest);
}

#[test]
fn too_few_usable_frames_keeps_looking_then_goes_to_staff() {
    let mut f = frames(2, &[0.9, 0.1, 0.1]);
    f.push(FrameEvidence { usable: false, spoof: Some(false), scores: vec![0.9, 0.1, 0.1] });
    assert_eq!(face(f.clone()), Intent::KeepLooking);
    let tired = decide(&Evidence::Face { frames: f, attempts: MAX_ATTEMPTS }, &station(), &serves_t1, &Policy::default());
    assert_eq!(tired, Intent::Manual { reason: ManualReason::TooManyAttempts, ticket_id: None });
}

#[test]
fn repeated_no_match_goes_to_staff() {
    let intent =
        decide(&Evidence::Face { frames: frames(3, &[0.3, 0.2, 0.1]), attempts: MAX_ATTEMPTS }, &station(), &serves_t1, &Policy::default());
    assert_eq!(intent, Intent::Manual { reason: ManualReason::NoMatch, ticket_id: None });
}

#[test]
fn a_spoofed_track_is_suspected() {
    let f: Vec<FrameEvidence> =
        (0..4).map(|i| FrameEvidence { usable: true, spoof: Some(i % 2 == 0), scores: vec![0.9, 0.1, 0.1] }).collect();
    assert_eq!(face(f), Intent::SpoofSuspected { ticket_id: None });
}

#[test]
fn a_pending_liveness_verdict_is_waited_for_only_if_it_could_change_the_outcome() {
    let with = |verdicts: &[Option<bool>]| {
        face(verdicts.iter().map(|&spoof| FrameEvidence { usable: true, spoof, scores: vec![0.9, 0.1, 0.1] }).collect())
    };
    let board = Intent::Board { ticket_id: "A".into(), trip_id: "T1".into(), method: Method::Face };
    // Two live verdicts of three: the third cannot make half the frames spoofs.
    assert_eq!(with(&[Some(false), Some(false), None]), board);
    // One spoof in: the third decides between boarding and a suspected spoof.
    assert_eq!(with(&[Some(true), Some(false), None]), Intent::KeepLooking);
    assert_eq!(with(&[Some(true), Some(false), Some(false)]), board);
    assert_eq!(with(&[Some(true), Some(false), Some(true)]), Intent::SpoofSuspected { ticket_id: None });
    // Enough spoofs already: pending verdicts cannot undo them.
    assert_eq!(with(&[Some(true), Some(true), None]), Intent::SpoofSuspected { ticket_id: None });
    // Nothing known yet.
    assert_eq!(with(&[None, None, None]), Intent::KeepLooking);
}

#[test]
fn a_face_of_another_trip_is_sent_to_its_gate() {
    let intent = face(frames(3, &[0.2, 0.1, 0.85]));
    assert_eq!(intent, Intent::WrongBus { ticket_id: "C".into(), trip_id: "T2".into(), gate: "7".into() });
}

#[test]
fn a_boarded_ticket_is_already_boarded_and_a_child_goes_to_staff() {
    let mut c = station();
    c[0].ticket.state = TicketState::Boarded;
    c[1].ticket.child = true;
    let decide_for =
        |scores: &[f32]| decide(&Evidence::Face { frames: frames(3, scores), attempts: 1 }, &c, &serves_t1, &Policy::default());
    assert_eq!(decide_for(&[0.9, 0.1, 0.1]), Intent::AlreadyBoarded { ticket_id: "A".into(), trip_id: "T1".into() });
    assert_eq!(decide_for(&[0.1, 0.9, 0.1]), Intent::Manual { reason: ManualReason::Child, ticket_id: Some("B".into()) });
}

#[test]
fn an_empty_manifest_finds_nobody() {
    let intent = decide(&Evidence::Face { frames: frames(3, &[]), attempts: 1 }, &[], &serves_t1, &Policy::default());
    assert_eq!(intent, Intent::NotOnManifest);
}

fn with_ticket(found: Result<(TicketRecord, Trip), TicketProblem>, face: Option<FaceCheck>) -> Intent {
    decide(&Evidence::Ticket { ticket: found, face }, &station(), &serves_t1, &Policy::default())
}

#[test]
fn ticket_and_matching_face_boards() {
    let intent = with_ticket(Ok((ticket("A", "T1"), trip("T1", "3"))), Some(FaceCheck { score: 0.7, spoof: false }));
    assert_eq!(intent, Intent::Board { ticket_id: "A".into(), trip_id: "T1".into(), method: Method::TicketFace });
}

#[test]
fn ticket_with_a_different_face_goes_to_staff() {
    let intent = with_ticket(Ok((ticket("A", "T1"), trip("T1", "3"))), Some(FaceCheck { score: 0.2, spoof: false }));
    assert_eq!(intent, Intent::Manual { reason: ManualReason::FaceMismatch, ticket_id: Some("A".into()) });
}

#[test]
fn ticket_without_face_capture_or_template_goes_to_staff() {
    assert_eq!(
        with_ticket(Ok((ticket("A", "T1"), trip("T1", "3"))), None),
        Intent::Manual { reason: ManualReason::Refused, ticket_id: Some("A".into()) }
    );
    let mut foreign = ticket("A", "T1");
    foreign.document_type = DocumentType::Passport;
    foreign.has_template = false;
    let intent = with_ticket(Ok((foreign, trip("T1", "3"))), Some(FaceCheck { score: 0.9, spoof: false }));
    assert_eq!(intent, Intent::Manual { reason: ManualReason::NoTemplate, ticket_id: Some("A".into()) });
}

#[test]
fn ticket_with_a_spoofed_face_is_suspected() {
    let intent = with_ticket(Ok((ticket("A", "T1"), trip("T1", "3"))), Some(FaceCheck { score: 0.9, spoof: true }));
    assert_eq!(intent, Intent::SpoofSuspected { ticket_id: Some("A".into()) });
}

#[test]
fn ticket_problems_are_named() {
    assert_eq!(
        with_ticket(Err(TicketProblem::Token("bad_signature".into())), None),
        Intent::TicketInvalid { reason: "bad_signature".into() }
    );
    assert_eq!(with_ticket(Err(TicketProblem::Refunded), None), Intent::TicketInvalid { reason: "refunded".into() });
    assert_eq!(with_ticket(Err(TicketProblem::Unknown), None), Intent::NotOnManifest);
    let intent = with_ticket(Ok((ticket("C", "T2"), trip("T2", "7"))), Some(FaceCheck { score: 0.9, spoof: false }));
    assert_eq!(intent, Intent::WrongBus { ticket_id: "C".into(), trip_id: "T2".into(), gate: "7".into() });
    let mut used = ticket("A", "T1");
    used.state = TicketState::Boarded;
    assert_eq!(with_ticket(Ok((used, trip("T1", "3"))), None), Intent::AlreadyBoarded { ticket_id: "A".into(), trip_id: "T1".into() });
}

#[test]
fn asking_for_a_person_queues_a_manual_check() {
    let intent = decide(
        &Evidence::Manual { reason: ManualReason::Refused, ticket: Some(ticket("A", "T1")) },
        &station(),
        &serves_t1,
        &Policy::default(),
    );
    assert_eq!(intent, Intent::Manual { reason: ManualReason::Refused, ticket_id: Some("A".into()) });
}
