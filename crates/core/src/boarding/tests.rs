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

fn candidate(id: &str, trip_id: &str, gate: &str) -> Candidate {
    Candidate { ticket: ticket(id, trip_id), trip: trip(trip_id, gate), template: vec![1.0] }
}

fn trip(id: &str, gate: &str) -> Trip {
    Trip { id: id.to_string(), route: "Hefei–Wuhu".to_string(), departure: 0, gate: gate.to_string() }
}

fn frames(n: usize, scores: &[f32]) -> Vec<FrameEvidence> {
    (0..n).map(|_| FrameEvidence { spoof: Some(false), scores: scores.to_vec() }).collect()
}

fn frame(spoof: Option<bool>, scores: &[f32]) -> FrameEvidence {
    FrameEvidence { spoof, scores: scores.to_vec() }
}

/// Two tickets on trip T1 (served here, gate 3) and one on T2 (gate 7).
fn station() -> Vec<Candidate> {
    vec![candidate("A", "T1", "3"), candidate("B", "T1", "3"), candidate("C", "T2", "7")]
}

/// Where trips stand for the lane at gate 3 (trip T1): T1 boards here, T2 at gate 7, T3 (gate 3)
/// later, T4 (gate 3) has gone.
fn place(trip: &Trip) -> Place {
    match trip.id.as_str() {
        "T1" => Place::Here,
        "T3" => Place::NotYetBoarding { departure: 36_000 },
        "T4" => Place::Departed { departure: -259_200 },
        _ => Place::OtherGate { gate: trip.gate.clone() },
    }
}

fn face(frames: Vec<FrameEvidence>) -> Intent {
    decide(&Evidence::Face { frames, failed_attempts: 0 }, &station(), &place, &Policy::default())
}

const NOBODY: Intent = Intent::NotOnManifest { method: Method::Face };

#[test]
fn a_clear_match_boards_by_face() {
    let intent = face(frames(3, &[0.8, 0.3, 0.2]));
    assert_eq!(intent, Intent::Board { ticket_id: "A".into(), trip_id: "T1".into(), method: Method::Face });
}

#[test]
fn below_the_threshold_is_not_on_the_manifest() {
    assert_eq!(face(frames(3, &[0.5, 0.3, 0.2])), NOBODY);
}

#[test]
fn too_close_to_the_runner_up_goes_to_staff() {
    assert_eq!(face(frames(3, &[0.80, 0.78, 0.2])), Intent::Manual { reason: ManualReason::Ambiguous, ticket_id: None });
}

#[test]
fn scores_are_fused_over_frames() {
    // One frame alone would clear the threshold; the track's mean (0.1 short of it) does not.
    let t = Policy::default().identify_threshold;
    let mut f = frames(2, &[t - 0.25, 0.1, 0.1]);
    f.push(frame(Some(false), &[t + 0.2, 0.1, 0.1]));
    assert_eq!(face(f), NOBODY);
}

#[test]
fn too_few_frames_keeps_looking() {
    assert_eq!(face(frames(2, &[0.9, 0.1, 0.1])), Intent::KeepLooking);
}

#[test]
fn repeated_failures_at_a_lane_go_to_staff() {
    let failing = |failed_attempts| {
        decide(&Evidence::Face { frames: frames(3, &[0.3, 0.2, 0.1]), failed_attempts }, &station(), &place, &Policy::default())
    };
    assert_eq!(failing(MAX_ATTEMPTS - 2), NOBODY);
    assert_eq!(failing(MAX_ATTEMPTS - 1), Intent::Manual { reason: ManualReason::TooManyAttempts, ticket_id: None });
    // A clear match is not held back by others' failures.
    let matched =
        decide(&Evidence::Face { frames: frames(3, &[0.9, 0.2, 0.1]), failed_attempts: 9 }, &station(), &place, &Policy::default());
    assert_eq!(matched, Intent::Board { ticket_id: "A".into(), trip_id: "T1".into(), method: Method::Face });
}

#[test]
fn a_spoofed_track_is_suspected() {
    let f: Vec<FrameEvidence> = (0..4).map(|i| frame(Some(i % 2 == 0), &[0.9, 0.1, 0.1])).collect();
    assert_eq!(face(f), Intent::SpoofSuspected { ticket_id: None });
}

#[test]
fn a_pending_liveness_verdict_is_waited_for_only_if_it_could_change_the_outcome() {
    let with = |verdicts: &[Option<bool>]| face(verdicts.iter().map(|&spoof| frame(spoof, &[0.9, 0.1, 0.1])).collect());
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
        |scores: &[f32]| decide(&Evidence::Face { frames: frames(3, scores), failed_attempts: 0 }, &c, &place, &Policy::default());
    assert_eq!(decide_for(&[0.9, 0.1, 0.1]), Intent::AlreadyBoarded { ticket_id: "A".into(), trip_id: "T1".into() });
    assert_eq!(decide_for(&[0.1, 0.9, 0.1]), Intent::Manual { reason: ManualReason::Child, ticket_id: Some("B".into()) });
}

#[test]
fn an_empty_manifest_finds_nobody() {
    let intent = decide(&Evidence::Face { frames: frames(3, &[]), failed_attempts: 0 }, &[], &place, &Policy::default());
    assert_eq!(intent, NOBODY);
}

fn with_ticket(found: Result<(TicketRecord, Trip), TicketProblem>, face: Option<FaceCheck>) -> Intent {
    decide(&Evidence::Ticket { ticket: found, face }, &station(), &place, &Policy::default())
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
    let invalid = |reason: &str| Intent::TicketInvalid { ticket_id: None, trip_id: None, reason: reason.into() };
    assert_eq!(with_ticket(Err(TicketProblem::Token("bad_signature".into())), None), invalid("bad_signature"));
    assert_eq!(with_ticket(Err(TicketProblem::Refunded), None), invalid("refunded"));
    assert_eq!(with_ticket(Err(TicketProblem::Unknown), None), Intent::NotOnManifest { method: Method::TicketFace });
    let intent = with_ticket(Ok((ticket("C", "T2"), trip("T2", "7"))), Some(FaceCheck { score: 0.9, spoof: false }));
    assert_eq!(intent, Intent::WrongBus { ticket_id: "C".into(), trip_id: "T2".into(), gate: "7".into() });
    let mut used = ticket("A", "T1");
    used.state = TicketState::Boarded;
    assert_eq!(with_ticket(Ok((used, trip("T1", "3"))), None), Intent::AlreadyBoarded { ticket_id: "A".into(), trip_id: "T1".into() });
}

#[test]
fn a_ticket_of_this_gate_not_boarding_yet_is_told_so_not_sent_to_its_own_gate() {
    let live = Some(FaceCheck { score: 0.9, spoof: false });
    let later = with_ticket(Ok((ticket("L", "T3"), trip("T3", "3"))), live);
    assert_eq!(later, Intent::NotYetBoarding { ticket_id: "L".into(), trip_id: "T3".into(), departure: 36_000 });
    let gone = with_ticket(Ok((ticket("G", "T4"), trip("T4", "3"))), live);
    assert_eq!(gone, Intent::TicketInvalid { ticket_id: Some("G".into()), trip_id: Some("T4".into()), reason: "departed".into() });
}

#[test]
fn staff_approve_only_what_a_lane_could_board_and_supervisors_override_only_place_and_time() {
    let valid = ticket("A", "T1");
    assert_eq!(approval(&valid, Place::Here, false), Ok(None));
    let other = Place::OtherGate { gate: "7".into() };
    assert_eq!(approval(&valid, other.clone(), false), Err(Unboardable::WrongBus { gate: "7".into() }));
    assert_eq!(approval(&valid, other, true), Ok(Some(Unboardable::WrongBus { gate: "7".into() })));
    let later = Place::NotYetBoarding { departure: 36_000 };
    assert_eq!(approval(&valid, later.clone(), false), Err(Unboardable::NotYetBoarding { departure: 36_000 }));
    assert_eq!(approval(&valid, later, true), Ok(Some(Unboardable::NotYetBoarding { departure: 36_000 })));
    assert_eq!(approval(&valid, Place::Departed { departure: 1 }, false), Err(Unboardable::Departed { departure: 1 }));
    let mut refunded = ticket("R", "T1");
    refunded.state = TicketState::Refunded;
    assert_eq!(approval(&refunded, Place::Here, true), Err(Unboardable::Refunded), "an override never revives a refund");
    let mut used = ticket("U", "T1");
    used.state = TicketState::Boarded;
    assert_eq!(approval(&used, Place::Here, true), Err(Unboardable::AlreadyBoarded));
}

#[test]
fn nan_scores_never_board() {
    // Today's `score < threshold` let NaN through: NaN < t is false.
    let nan = f32::NAN;
    assert_eq!(face(frames(3, &[nan, nan, nan])), NOBODY);
    assert_eq!(face(frames(3, &[nan, 0.1, 0.1])), NOBODY);
    assert_eq!(face(frames(3, &[0.9, nan, 0.1])), NOBODY, "a broken runner-up makes the margin unknowable");
    assert_eq!(face(frames(3, &[0.9, 0.1])), NOBODY, "a frame that does not score every candidate");
    let intent = with_ticket(Ok((ticket("A", "T1"), trip("T1", "3"))), Some(FaceCheck { score: nan, spoof: false }));
    assert_eq!(intent, Intent::Manual { reason: ManualReason::FaceMismatch, ticket_id: Some("A".into()) });
}

#[test]
fn out_of_range_policies_are_refused() {
    assert_eq!(Policy::default().check(), Ok(()));
    assert!(Policy { identify_threshold: f32::NAN, ..Policy::default() }.check().is_err());
    assert!(Policy { margin: -0.1, ..Policy::default() }.check().is_err());
    assert!(Policy { spoof_fraction: 0.0, ..Policy::default() }.check().is_err());
    assert!(Policy { min_frames: 0, ..Policy::default() }.check().is_err());
}
