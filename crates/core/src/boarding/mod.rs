//! The boarding rules (design brief §1) as pure functions: evidence about one passenger in,
//! one decision out. Nothing here touches the database or the camera, so every rule is tested
//! exhaustively; [`apply`] is the thin step that records a decision in the store.
//!
//! Paths to boarding:
//! 1. **Face only** — open-set 1:N over the templates of the trips boarding now: accept only if
//!    the fused best score clears the identification threshold AND beats the best other ticket
//!    by a margin, over several frames of one track. Repeated failures at a lane within a
//!    few minutes ([`ATTEMPT_WINDOW_S`]) send the next passenger to staff.
//! 2. **Ticket + face** — a QR e-ticket or ID-card tap names the ticket; the live face is
//!    compared 1:1 with that ticket's template, once: a mismatch goes to staff at once.
//! 3. **Manual** — no match, a child, a document without a chip photo, a refusal, a suspected
//!    spoof, or too many failed attempts: staff decide ([`approval`] holds a staff approval to
//!    the same place-and-state checks as a lane).
//!
//! Every acceptance is written as "clears the threshold" (`score >= threshold`), never as "does
//! not fall short", so a NaN — a broken score, vectors of different lengths — can only refuse.
//! Every path shares [`boardable`]: where the ticket's trip stands for this lane ([`Place`])
//! and the ticket's state.

mod apply;
pub mod kiosk;
mod outcome;
mod place;
mod staff_reason;

pub use apply::{apply, lookup_id_card, lookup_ticket, resolve, Decision, Resolution};
pub use outcome::Outcome;
pub use place::{BoardingWindow, LaneScope, Place};
pub use staff_reason::{StaffReason, MAX_NOTE_CHARS};

use serde::Serialize;

use crate::manifest::{Method, TicketRecord, TicketState, Trip};

/// The thresholds a lane decides with (from measurement: README, accuracy).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Fused 1:N score a face must reach. Open-set false accepts grow with the number of
    /// templates searched, so this sits at the 1:1 threshold for FMR 1e-4 on the East-Asian
    /// dev set; with the margin and multi-frame fusion the per-search FPIR is lower still.
    pub identify_threshold: f32,
    /// How far the best ticket must lead the next one.
    pub margin: f32,
    /// 1:1 score for ticket + face.
    pub verify_threshold: f32,
    /// Frames a track needs before a face-only decision.
    pub min_frames: usize,
    /// Share of frames flagged by the anti-spoofing model that makes a track suspect.
    pub spoof_fraction: f32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            identify_threshold: boardcheck_vision::face::embed::VERIFICATION_THRESHOLD,
            margin: 0.05,
            verify_threshold: boardcheck_vision::face::embed::VERIFICATION_THRESHOLD,
            min_frames: 3,
            spoof_fraction: 0.5,
        }
    }
}

impl Policy {
    /// Refuses thresholds no lane should run with: not finite, or outside what a similarity
    /// (−1 to 1) or a fraction can be.
    pub fn check(&self) -> std::result::Result<(), String> {
        let in_range = |name: &str, v: f32, lo: f32, hi: f32| {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!("policy {name} = {v}: a number from {lo} to {hi} is needed"))
            }
        };
        in_range("identify_threshold", self.identify_threshold, -1.0, 1.0)?;
        in_range("verify_threshold", self.verify_threshold, -1.0, 1.0)?;
        in_range("margin", self.margin, 0.0, 2.0)?;
        // Above 0: a fraction of 0 would call every track a spoof.
        in_range("spoof_fraction", self.spoof_fraction, f32::MIN_POSITIVE, 1.0)?;
        if self.min_frames == 0 {
            return Err("policy min_frames = 0: a face-only decision needs at least one frame".into());
        }
        Ok(())
    }
}

/// One candidate template the lane searches: a ticket of a trip boarding now, anywhere in the
/// station (a passenger at the wrong gate is told where to go).
#[derive(Debug, Clone)]
pub struct Candidate {
    pub ticket: TicketRecord,
    /// The ticket's trip.
    pub trip: Trip,
    pub template: Vec<f32>,
}

/// What one frame of a track showed (every frame the lane hands on passed its quality gate).
#[derive(Debug, Clone, PartialEq)]
pub struct FrameEvidence {
    /// Flagged by the anti-spoofing model; `None` while its verdict is still being computed.
    pub spoof: Option<bool>,
    /// Similarity to each candidate, in candidate order.
    pub scores: Vec<f32>,
}

/// Why a passenger goes to staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ManualReason {
    NoMatch,
    Ambiguous,
    Child,
    NoTemplate,
    FaceMismatch,
    Refused,
    SpoofSuspected,
    TooManyAttempts,
}

impl ManualReason {
    /// The snake_case code, as serde writes it.
    pub fn code(self) -> &'static str {
        match self {
            ManualReason::NoMatch => "no_match",
            ManualReason::Ambiguous => "ambiguous",
            ManualReason::Child => "child",
            ManualReason::NoTemplate => "no_template",
            ManualReason::FaceMismatch => "face_mismatch",
            ManualReason::Refused => "refused",
            ManualReason::SpoofSuspected => "spoof_suspected",
            ManualReason::TooManyAttempts => "too_many_attempts",
        }
    }
}

/// Why a ticket cannot be looked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketProblem {
    /// The token failed verification; the code is the ticket module's (bad_signature, …).
    Token(String),
    /// Not in any manifest loaded here.
    Unknown,
    Refunded,
}

/// Why a known ticket cannot board at this lane now: the lane's answer, and the reason a staff
/// approval is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Unboardable {
    Refunded,
    AlreadyBoarded,
    WrongBus { gate: String },
    NotYetBoarding { departure: i64 },
    Departed { departure: i64 },
}

impl Unboardable {
    /// The snake_case code, as serde writes it.
    pub fn code(&self) -> &'static str {
        match self {
            Unboardable::Refunded => "refunded",
            Unboardable::AlreadyBoarded => "already_boarded",
            Unboardable::WrongBus { .. } => "wrong_bus",
            Unboardable::NotYetBoarding { .. } => "not_yet_boarding",
            Unboardable::Departed { .. } => "departed",
        }
    }

    /// A supervisor may board a ticket anyway when only the place or the time is wrong (a bus
    /// moved to another gate, a late passenger held for); never a refunded or used ticket.
    pub fn overridable(&self) -> bool {
        matches!(self, Unboardable::WrongBus { .. } | Unboardable::NotYetBoarding { .. } | Unboardable::Departed { .. })
    }
}

/// Whether `ticket`, whose trip stands at `place` for this lane, may board: the checks every
/// path shares.
pub fn boardable(ticket: &TicketRecord, place: Place) -> std::result::Result<(), Unboardable> {
    match (ticket.state, place) {
        (TicketState::Refunded, _) => Err(Unboardable::Refunded),
        (TicketState::Boarded, _) => Err(Unboardable::AlreadyBoarded),
        (TicketState::Valid, Place::OtherGate { gate }) => Err(Unboardable::WrongBus { gate }),
        (TicketState::Valid, Place::NotYetBoarding { departure }) => Err(Unboardable::NotYetBoarding { departure }),
        (TicketState::Valid, Place::Departed { departure }) => Err(Unboardable::Departed { departure }),
        (TicketState::Valid, Place::Here) => Ok(()),
    }
}

/// A staff member's approval of `ticket` (trip at `place`): allowed where a lane could board
/// it, or — with `overriding` (a supervisor's explicit override) — where only the gate or the
/// time is wrong. `Ok(Some(refusal))` is an override of that refusal, to be recorded as such.
pub fn approval(ticket: &TicketRecord, place: Place, overriding: bool) -> std::result::Result<Option<Unboardable>, Unboardable> {
    match boardable(ticket, place) {
        Ok(()) => Ok(None),
        Err(refusal) if overriding && refusal.overridable() => Ok(Some(refusal)),
        Err(refusal) => Err(refusal),
    }
}

/// What the lane knows about one passenger.
// Made once per decision and handed straight to `decide`: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Evidence {
    /// A face track, without a ticket; `failed_attempts` is how many face decisions at this
    /// lane found nobody within the last [`ATTEMPT_WINDOW_S`].
    Face { frames: Vec<FrameEvidence>, failed_attempts: u32 },
    /// A ticket presented (QR e-ticket or ID-card tap), and the 1:1 face comparison if a face
    /// was seen.
    Ticket { ticket: std::result::Result<(TicketRecord, Trip), TicketProblem>, face: Option<FaceCheck> },
}

/// The live face against one ticket's template.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceCheck {
    pub score: f32,
    pub spoof: bool,
}

/// What the rules conclude, before it is recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum Intent {
    /// Board this ticket (the store's guard may still answer "already boarded").
    Board {
        ticket_id: String,
        trip_id: String,
        method: Method,
    },
    AlreadyBoarded {
        ticket_id: String,
        trip_id: String,
    },
    WrongBus {
        ticket_id: String,
        trip_id: String,
        gate: String,
    },
    NotYetBoarding {
        ticket_id: String,
        trip_id: String,
        departure: i64,
    },
    /// Nobody on the manifests: no face matched (`Face`), or the ticket is not known.
    NotOnManifest {
        method: Method,
    },
    /// The ticket cannot board; `reason` is a code (bad_signature, refunded, departed, …).
    TicketInvalid {
        ticket_id: Option<String>,
        trip_id: Option<String>,
        reason: String,
    },
    /// Spoof suspected: refused here, and a manual check is queued.
    SpoofSuspected {
        ticket_id: Option<String>,
    },
    Manual {
        reason: ManualReason,
        ticket_id: Option<String>,
    },
    /// Not enough frames yet: keep looking.
    KeepLooking,
}

/// Failed face decisions at one lane within [`ATTEMPT_WINDOW_S`] after which the next one goes
/// to staff: a limit on retries, as GB/T 38671 asks of remote face verification, so an impostor
/// cannot try face after face (or photo after photo) at a lane unnoticed.
pub const MAX_ATTEMPTS: u32 = 3;

/// The window, seconds, over which failed face attempts at a lane are counted.
pub const ATTEMPT_WINDOW_S: i64 = 120;

/// The rules. `place` tells where a trip stands for this lane now.
pub fn decide(evidence: &Evidence, candidates: &[Candidate], place: &dyn Fn(&Trip) -> Place, policy: &Policy) -> Intent {
    match evidence {
        Evidence::Face { frames, failed_attempts } => decide_face(frames, *failed_attempts, candidates, place, policy),
        Evidence::Ticket { ticket, face } => decide_ticket(ticket, face.as_ref(), place, policy),
    }
}

fn decide_face(
    frames: &[FrameEvidence],
    failed_attempts: u32,
    candidates: &[Candidate],
    place: &dyn Fn(&Trip) -> Place,
    policy: &Policy,
) -> Intent {
    let spoofed = frames.iter().filter(|f| f.spoof == Some(true)).count() as f32;
    let pending = frames.iter().filter(|f| f.spoof.is_none()).count() as f32;
    let suspect_at = policy.spoof_fraction * frames.len() as f32;
    if !frames.is_empty() && spoofed >= suspect_at {
        return Intent::SpoofSuspected { ticket_id: None };
    }
    // Verdicts still to come could make the track suspect: nothing is decided before them.
    // Otherwise they cannot change the outcome, and the passenger need not wait for them.
    if spoofed + pending >= suspect_at && pending > 0.0 {
        return Intent::KeepLooking;
    }
    if frames.len() < policy.min_frames {
        return Intent::KeepLooking;
    }
    let found = fuse_scores(frames, candidates.len()).and_then(|fused| best_two(&fused));
    let cleared = found.filter(|(_, best, _)| *best >= policy.identify_threshold);
    let Some((best, best_score, second_score)) = cleared else {
        return if failed_attempts + 1 >= MAX_ATTEMPTS {
            Intent::Manual { reason: ManualReason::TooManyAttempts, ticket_id: None }
        } else {
            Intent::NotOnManifest { method: Method::Face }
        };
    };
    let leads = best_score - second_score >= policy.margin;
    if !leads {
        return Intent::Manual { reason: ManualReason::Ambiguous, ticket_id: None };
    }
    let best = &candidates[best];
    placed(&best.ticket, &best.trip, Method::Face, place)
}

/// The intent for a known ticket by its state and place: boarding, or why not.
fn placed(ticket: &TicketRecord, trip: &Trip, method: Method, place: &dyn Fn(&Trip) -> Place) -> Intent {
    let (ticket_id, trip_id) = (ticket.id.clone(), trip.id.clone());
    match boardable(ticket, place(trip)) {
        Ok(()) if ticket.child => Intent::Manual { reason: ManualReason::Child, ticket_id: Some(ticket_id) },
        Ok(()) => Intent::Board { ticket_id, trip_id, method },
        Err(Unboardable::AlreadyBoarded) => Intent::AlreadyBoarded { ticket_id, trip_id },
        Err(Unboardable::WrongBus { gate }) => Intent::WrongBus { ticket_id, trip_id, gate },
        Err(Unboardable::NotYetBoarding { departure }) => Intent::NotYetBoarding { ticket_id, trip_id, departure },
        Err(refusal @ (Unboardable::Refunded | Unboardable::Departed { .. })) => {
            Intent::TicketInvalid { ticket_id: Some(ticket_id), trip_id: Some(trip_id), reason: refusal.code().to_string() }
        }
    }
}

fn decide_ticket(
    ticket: &std::result::Result<(TicketRecord, Trip), TicketProblem>,
    face: Option<&FaceCheck>,
    place: &dyn Fn(&Trip) -> Place,
    policy: &Policy,
) -> Intent {
    let invalid = |reason: &str| Intent::TicketInvalid { ticket_id: None, trip_id: None, reason: reason.to_string() };
    let (record, trip) = match ticket {
        Ok(found) => found,
        Err(TicketProblem::Token(reason)) => return invalid(reason),
        Err(TicketProblem::Unknown) => return Intent::NotOnManifest { method: Method::TicketFace },
        Err(TicketProblem::Refunded) => return invalid(Unboardable::Refunded.code()),
    };
    let placed = placed(record, trip, Method::TicketFace, place);
    if !matches!(placed, Intent::Board { .. }) {
        return placed;
    }
    let ticket_id = Some(record.id.clone());
    match face {
        _ if !record.has_template => Intent::Manual { reason: ManualReason::NoTemplate, ticket_id },
        None => Intent::Manual { reason: ManualReason::Refused, ticket_id },
        Some(f) if f.spoof => Intent::SpoofSuspected { ticket_id },
        Some(f) if f.score >= policy.verify_threshold => placed,
        Some(_) => Intent::Manual { reason: ManualReason::FaceMismatch, ticket_id },
    }
}

/// Mean score per candidate over the frames: one bad frame does not decide. `None` when a
/// frame does not score every candidate exactly once, or any score is not finite: such
/// evidence is broken, and broken evidence boards nobody.
fn fuse_scores(frames: &[FrameEvidence], candidates: usize) -> Option<Vec<f32>> {
    let mut sums = vec![0.0f32; candidates];
    for f in frames {
        if f.scores.len() != candidates || f.scores.iter().any(|v| !v.is_finite()) {
            return None;
        }
        for (s, v) in sums.iter_mut().zip(&f.scores) {
            *s += v;
        }
    }
    Some(sums.iter().map(|s| s / frames.len().max(1) as f32).collect())
}

/// Index and score of the best candidate and the runner-up's score (−1 with one candidate).
fn best_two(scores: &[f32]) -> Option<(usize, f32, f32)> {
    let (best, &best_score) = scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    let second = scores.iter().enumerate().filter(|(i, _)| *i != best).map(|(_, &s)| s).fold(-1.0f32, f32::max);
    Some((best, best_score, second))
}

#[cfg(test)]
mod tests;
