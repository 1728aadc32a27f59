//! Recording a decision: the one place where the rules meet the store. Boarding goes through
//! the store's guarded update, so a ticket boards once even when two lanes decide at the same
//! moment; every outcome becomes an event.

use serde::{Deserialize, Serialize};

use std::collections::HashSet;

use super::{Intent, ManualReason, TicketProblem};
use crate::error::Result;
use crate::manifest::keys::StationKeys;
use crate::manifest::store::{BoardResult, ManualState, NewEvent, Store};
use crate::manifest::{Method, TicketRecord, TicketState, Trip};
use crate::ticket::{self, IssuerKeys};

/// A recorded decision, as the lane reports it (the kiosk shows only [`super::kiosk::view`]).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// boarded, already_boarded, wrong_bus, not_on_manifest, ticket_invalid, spoof_suspected,
    /// manual_pending, manual_approved or manual_refused.
    pub outcome: String,
    pub method: Option<Method>,
    pub ticket: Option<String>,
    pub trip: Option<String>,
    /// For wrong_bus: the gate the passenger should go to.
    pub gate: Option<String>,
    /// Why: a manual reason or a ticket refusal.
    pub reason: Option<String>,
    /// The manual check queued for staff, if any.
    pub manual_check: Option<i64>,
}

impl Decision {
    fn new(outcome: &str) -> Self {
        Decision { outcome: outcome.to_string(), method: None, ticket: None, trip: None, gate: None, reason: None, manual_check: None }
    }
}

/// Records `intent` for `lane` at `now`. `None` when the intent is to keep looking.
pub fn apply(store: &Store, lane: &str, intent: &Intent, now: i64) -> Result<Option<Decision>> {
    let decision = match intent {
        Intent::KeepLooking => return Ok(None),
        Intent::Board { ticket_id, trip_id, method } => {
            let outcome = match store.board(ticket_id, lane, *method, None, now)? {
                // The store wrote the boarding event in the same transaction.
                BoardResult::Boarded => return Ok(Some(Decision { method: Some(*method), ..with_ticket("boarded", ticket_id, trip_id) })),
                BoardResult::AlreadyBoarded { .. } => with_ticket("already_boarded", ticket_id, trip_id),
                BoardResult::Refunded => {
                    Decision { reason: Some("refunded".to_string()), ..with_ticket("ticket_invalid", ticket_id, trip_id) }
                }
                BoardResult::UnknownTicket => Decision::new("not_on_manifest"),
            };
            Decision { method: Some(*method), ..outcome }
        }
        Intent::AlreadyBoarded { ticket_id, trip_id } => with_ticket("already_boarded", ticket_id, trip_id),
        Intent::WrongBus { ticket_id, trip_id, gate } => {
            Decision { gate: Some(gate.clone()), ..with_ticket("wrong_bus", ticket_id, trip_id) }
        }
        Intent::NotOnManifest => Decision::new("not_on_manifest"),
        Intent::TicketInvalid { reason } => Decision { reason: Some(reason.clone()), ..Decision::new("ticket_invalid") },
        Intent::SpoofSuspected { ticket_id } => {
            let check = queue_manual(store, lane, ticket_id.as_deref(), ManualReason::SpoofSuspected, now)?;
            Decision {
                ticket: ticket_id.clone(),
                manual_check: Some(check),
                reason: Some("spoof_suspected".to_string()),
                ..Decision::new("spoof_suspected")
            }
        }
        Intent::Manual { reason, ticket_id } => {
            let check = queue_manual(store, lane, ticket_id.as_deref(), *reason, now)?;
            Decision {
                ticket: ticket_id.clone(),
                manual_check: Some(check),
                method: Some(Method::Manual),
                reason: Some(reason_name(*reason)),
                ..Decision::new("manual_pending")
            }
        }
    };
    store.record_event(&NewEvent {
        at: now,
        lane,
        trip_id: decision.trip.as_deref(),
        ticket_id: decision.ticket.as_deref(),
        outcome: &decision.outcome,
        method: decision.method,
        staff: None,
        detail: decision.reason.as_deref().or(decision.gate.as_deref()),
    })?;
    Ok(Some(decision))
}

/// A staff member's answer to a manual check, recorded (and the ticket boarded on approval).
/// `ticket` names the passenger's ticket when the check had none (a face with no match).
pub fn resolve(
    store: &Store,
    check_id: i64,
    approved: bool,
    staff: &str,
    reason: &str,
    ticket: Option<&str>,
    now: i64,
) -> Result<Decision> {
    let resolution = store.resolve_manual_check(check_id, approved, staff, reason, ticket, now)?;
    let check = store.manual_check(check_id)?;
    let outcome = match (resolution.state, resolution.boarding) {
        // Approved, but another lane boarded the ticket meanwhile: say so, never twice.
        (ManualState::Approved, Some(BoardResult::AlreadyBoarded { .. })) => "already_boarded",
        // Approval cannot revive a refunded ticket: the kiosk must not show "pass".
        (ManualState::Approved, Some(BoardResult::Refunded)) => "ticket_invalid",
        (ManualState::Approved, _) => "manual_approved",
        _ => "manual_refused",
    };
    Ok(Decision {
        method: Some(Method::Manual),
        ticket: check.as_ref().and_then(|c| c.ticket_id.clone()),
        trip: check.and_then(|c| c.trip_id),
        reason: Some(reason.to_string()),
        manual_check: Some(check_id),
        ..Decision::new(outcome)
    })
}

/// The ticket a scanned e-ticket names, as the rules need it: verified against the trusted
/// issuer keys at `now`, then looked up in the store. A replay is not refused here but by the
/// store's state (the rules say "already boarded"), so a second lane sees the same answer.
pub fn lookup_ticket(
    scanned: &str,
    issuers: &IssuerKeys,
    store: &Store,
    now: i64,
) -> Result<std::result::Result<(TicketRecord, Trip), TicketProblem>> {
    let ticket = match ticket::verify(scanned, issuers, now, None, &HashSet::new()) {
        Ok(ticket) => ticket,
        Err(refused) => return Ok(Err(TicketProblem::Token(refused.reason.code().to_string()))),
    };
    Ok(match store.ticket_trip(&ticket.ticket_id)? {
        None => Err(TicketProblem::Unknown),
        Some((record, _)) if record.state == TicketState::Refunded => Err(TicketProblem::Refunded),
        // The token names the trip; the manifest must agree, or the token is not for this ticket.
        Some((record, trip)) if trip.id != ticket.trip_id => {
            Err(TicketProblem::Token(format!("trip mismatch: token {}, manifest {}", ticket.trip_id, record.trip_id)))
        }
        Some(found) => Ok(found),
    })
}

/// The ticket of an ID card tapped at the lane (the reader gives the document number): the
/// passenger's ticket on a trip boarding now, looked up by the keyed document hash. Several
/// tickets (a return trip, a later bus) resolve to the one on `station_trips` departing first.
pub fn lookup_id_card(
    document_number: &str,
    keys: &StationKeys,
    store: &Store,
    station_trips: &[Trip],
) -> Result<std::result::Result<(TicketRecord, Trip), TicketProblem>> {
    let mut found: Vec<(TicketRecord, Trip)> = store
        .tickets_by_document(document_number, keys)?
        .into_iter()
        .filter_map(|t| station_trips.iter().find(|trip| trip.id == t.trip_id).map(|trip| (t, trip.clone())))
        .collect();
    found.sort_by_key(|(_, trip)| trip.departure);
    Ok(match found.into_iter().next() {
        None => Err(TicketProblem::Unknown),
        Some((record, _)) if record.state == TicketState::Refunded => Err(TicketProblem::Refunded),
        Some(found) => Ok(found),
    })
}

fn with_ticket(outcome: &str, ticket_id: &str, trip_id: &str) -> Decision {
    Decision { ticket: Some(ticket_id.to_string()), trip: Some(trip_id.to_string()), ..Decision::new(outcome) }
}

fn queue_manual(store: &Store, lane: &str, ticket_id: Option<&str>, reason: ManualReason, now: i64) -> Result<i64> {
    let trip_id = match ticket_id {
        Some(id) => store.ticket(id)?.map(|t| t.trip_id),
        None => None,
    };
    store.open_manual_check(lane, trip_id.as_deref(), ticket_id, &reason_name(reason), now)
}

fn reason_name(reason: ManualReason) -> String {
    serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}
