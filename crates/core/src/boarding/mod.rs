//! The boarding rules (design brief §1) as pure functions: evidence about one passenger in,
//! one decision out. Nothing here touches the database or the camera, so every rule is tested
//! exhaustively; [`apply`] is the thin step that records a decision in the store.
//!
//! Paths to boarding:
//! 1. **Face only** — open-set 1:N over the templates of the trips boarding now: accept only if
//!    the fused best score clears the identification threshold AND beats the best other ticket
//!    by a margin, over several usable frames of one track.
//! 2. **Ticket + face** — a QR e-ticket or ID-card tap names the ticket; the live face is
//!    compared 1:1 with that ticket's template.
//! 3. **Manual** — no match, a child, a document without a chip photo, a refusal, a suspected
//!    spoof, or too many failed attempts: staff decide.

mod apply;
pub mod kiosk;

pub use apply::{apply, lookup_id_card, lookup_ticket, resolve, Decision};

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
    /// Usable frames a track needs before a face-only decision.
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

/// One candidate template the lane searches: a ticket of a trip boarding now, anywhere in the
/// station (a passenger at the wrong gate is told where to go).
#[derive(Debug, Clone)]
pub struct Candidate {
    pub ticket: TicketRecord,
    /// The gate of the ticket's trip.
    pub gate: String,
    pub template: Vec<f32>,
}

/// What one usable-or-not frame of a track showed.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameEvidence {
    /// Passed the quality gate.
    pub usable: bool,
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

/// Why a ticket cannot board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketProblem {
    /// The token failed verification; the reason is the ticket module's (bad_signature, …).
    Token(String),
    /// Not in any manifest loaded here.
    Unknown,
    Refunded,
}

/// What the lane knows about one passenger.
#[derive(Debug, Clone)]
pub enum Evidence {
    /// A face track, without a ticket.
    Face { frames: Vec<FrameEvidence>, attempts: u32 },
    /// A ticket presented (QR e-ticket or ID-card tap), and the 1:1 face comparison if a face
    /// was seen.
    Ticket { ticket: Result<(TicketRecord, Trip), TicketProblem>, face: Option<FaceCheck> },
    /// The passenger asks for, or needs, a person (no face capture, foreign document).
    Manual { reason: ManualReason, ticket: Option<TicketRecord> },
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
    NotOnManifest,
    TicketInvalid {
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
    /// Not enough usable frames yet: keep looking.
    KeepLooking,
}

/// More failed face attempts than this send the passenger to staff.
pub const MAX_ATTEMPTS: u32 = 3;

/// The rules. `serves` tells whether this lane boards a trip.
pub fn decide(evidence: &Evidence, candidates: &[Candidate], serves: &dyn Fn(&str) -> bool, policy: &Policy) -> Intent {
    match evidence {
        Evidence::Face { frames, attempts } => decide_face(frames, *attempts, candidates, serves, policy),
        Evidence::Ticket { ticket, face } => decide_ticket(ticket, face.as_ref(), serves, policy),
        Evidence::Manual { reason, ticket } => Intent::Manual { reason: *reason, ticket_id: ticket.as_ref().map(|t| t.id.clone()) },
    }
}

fn decide_face(
    frames: &[FrameEvidence],
    attempts: u32,
    candidates: &[Candidate],
    serves: &dyn Fn(&str) -> bool,
    policy: &Policy,
) -> Intent {
    let usable: Vec<&FrameEvidence> = frames.iter().filter(|f| f.usable).collect();
    let spoofed = usable.iter().filter(|f| f.spoof == Some(true)).count() as f32;
    let pending = usable.iter().filter(|f| f.spoof.is_none()).count() as f32;
    let suspect_at = policy.spoof_fraction * usable.len() as f32;
    if !usable.is_empty() && spoofed >= suspect_at {
        return Intent::SpoofSuspected { ticket_id: None };
    }
    // Verdicts still to come could make the track suspect: nothing is decided before them.
    // Otherwise they cannot change the outcome, and the passenger need not wait for them.
    if spoofed + pending >= suspect_at && pending > 0.0 {
        return Intent::KeepLooking;
    }
    if usable.len() < policy.min_frames {
        return if attempts >= MAX_ATTEMPTS {
            Intent::Manual { reason: ManualReason::TooManyAttempts, ticket_id: None }
        } else {
            Intent::KeepLooking
        };
    }
    let fused = fuse_scores(&usable, candidates.len());
    let Some((best, best_score, second_score)) = best_two(&fused) else { return Intent::NotOnManifest };
    if best_score < policy.identify_threshold {
        return if attempts >= MAX_ATTEMPTS {
            Intent::Manual { reason: ManualReason::NoMatch, ticket_id: None }
        } else {
            Intent::NotOnManifest
        };
    }
    if best_score - second_score < policy.margin {
        return Intent::Manual { reason: ManualReason::Ambiguous, ticket_id: None };
    }
    let best = &candidates[best];
    ticket_outcome(&best.ticket, &best.ticket.trip_id, &best.gate, Method::Face, serves)
}

/// The state-and-place checks every path shares once a ticket is known.
fn ticket_outcome(ticket: &TicketRecord, trip_id: &str, gate: &str, method: Method, serves: &dyn Fn(&str) -> bool) -> Intent {
    let (ticket_id, trip_id) = (ticket.id.clone(), trip_id.to_string());
    match ticket.state {
        TicketState::Refunded => Intent::TicketInvalid { reason: "refunded".to_string() },
        TicketState::Boarded => Intent::AlreadyBoarded { ticket_id, trip_id },
        TicketState::Valid if !serves(&trip_id) => Intent::WrongBus { ticket_id, trip_id, gate: gate.to_string() },
        TicketState::Valid if ticket.child => Intent::Manual { reason: ManualReason::Child, ticket_id: Some(ticket_id) },
        TicketState::Valid => Intent::Board { ticket_id, trip_id, method },
    }
}

fn decide_ticket(
    ticket: &Result<(TicketRecord, Trip), TicketProblem>,
    face: Option<&FaceCheck>,
    serves: &dyn Fn(&str) -> bool,
    policy: &Policy,
) -> Intent {
    let (record, trip) = match ticket {
        Ok(found) => found,
        Err(TicketProblem::Token(reason)) => return Intent::TicketInvalid { reason: reason.clone() },
        Err(TicketProblem::Unknown) => return Intent::NotOnManifest,
        Err(TicketProblem::Refunded) => return Intent::TicketInvalid { reason: "refunded".to_string() },
    };
    let placed = ticket_outcome(record, &trip.id, &trip.gate, Method::TicketFace, serves);
    if !matches!(placed, Intent::Board { .. }) {
        return placed;
    }
    let ticket_id = Some(record.id.clone());
    match face {
        _ if !record.has_template => Intent::Manual { reason: ManualReason::NoTemplate, ticket_id },
        None => Intent::Manual { reason: ManualReason::Refused, ticket_id },
        Some(f) if f.spoof => Intent::SpoofSuspected { ticket_id },
        Some(f) if f.score < policy.verify_threshold => Intent::Manual { reason: ManualReason::FaceMismatch, ticket_id },
        Some(_) => placed,
    }
}

/// Mean score per candidate over the usable frames: one bad frame does not decide.
fn fuse_scores(frames: &[&FrameEvidence], candidates: usize) -> Vec<f32> {
    let mut sums = vec![0.0f32; candidates];
    for f in frames {
        for (s, v) in sums.iter_mut().zip(&f.scores) {
            *s += v;
        }
    }
    sums.iter().map(|s| s / frames.len().max(1) as f32).collect()
}

/// Index and score of the best candidate and the runner-up's score (−1 with one candidate).
fn best_two(scores: &[f32]) -> Option<(usize, f32, f32)> {
    let (best, &best_score) = scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    let second = scores.iter().enumerate().filter(|(i, _)| *i != best).map(|(_, &s)| s).fold(-1.0f32, f32::max);
    Some((best, best_score, second))
}

#[cfg(test)]
mod tests;
