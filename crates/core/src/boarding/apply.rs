//! Recording a decision: the one place where the rules meet the store. Boarding goes through
//! the store's guarded update, so a ticket boards once even when two lanes decide at the same
//! moment; every outcome becomes an event.

use serde::{Deserialize, Serialize};

use std::collections::HashSet;

use super::{Intent, LaneScope, ManualReason, Outcome, StaffReason, TicketProblem, Unboardable};
use crate::error::{Error, Kind, Result};
use crate::manifest::keys::StationKeys;
use crate::manifest::store::{BoardResult, ManualState, NewEvent, Store};
use crate::manifest::{Method, TicketRecord, TicketState, Trip};
use crate::ticket::{self, IssuerKeys};

/// A recorded decision, as the lane reports it (the kiosk shows only [`super::kiosk::view`]).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub outcome: Outcome,
    pub method: Option<Method>,
    pub ticket: Option<String>,
    pub trip: Option<String>,
    /// For wrong_bus: the gate the passenger should go to.
    pub gate: Option<String>,
    /// For not_yet_boarding: when the bus leaves (unix seconds); boarding opens before it.
    #[serde(default)]
    pub departure: Option<i64>,
    /// Why, as a code: a manual reason, a ticket refusal, or the refusal a supervisor overrode.
    pub reason: Option<String>,
    /// The manual check queued for staff, or resolved by them, if any.
    pub manual_check: Option<i64>,
}

impl Decision {
    pub fn new(outcome: Outcome) -> Self {
        Decision { outcome, method: None, ticket: None, trip: None, gate: None, departure: None, reason: None, manual_check: None }
    }
}

/// Records `intent` for `lane` at `now`. `None` when the intent is to keep looking.
pub fn apply(store: &Store, lane: &str, intent: &Intent, now: i64) -> Result<Option<Decision>> {
    let decision = match intent {
        Intent::KeepLooking => return Ok(None),
        Intent::Board { ticket_id, trip_id, method } => {
            let outcome = match store.board(ticket_id, lane, *method, None, now)? {
                // The store wrote the boarding event in the same transaction.
                BoardResult::Boarded => {
                    return Ok(Some(Decision { method: Some(*method), ..with_ticket(Outcome::Boarded, ticket_id, trip_id) }))
                }
                BoardResult::AlreadyBoarded { .. } => with_ticket(Outcome::AlreadyBoarded, ticket_id, trip_id),
                BoardResult::Refunded => Decision {
                    reason: Some(Unboardable::Refunded.code().to_string()),
                    ..with_ticket(Outcome::TicketInvalid, ticket_id, trip_id)
                },
                BoardResult::UnknownTicket => Decision::new(Outcome::NotOnManifest),
            };
            Decision { method: Some(*method), ..outcome }
        }
        Intent::AlreadyBoarded { ticket_id, trip_id } => with_ticket(Outcome::AlreadyBoarded, ticket_id, trip_id),
        Intent::WrongBus { ticket_id, trip_id, gate } => {
            Decision { gate: Some(gate.clone()), ..with_ticket(Outcome::WrongBus, ticket_id, trip_id) }
        }
        Intent::NotYetBoarding { ticket_id, trip_id, departure } => {
            Decision { departure: Some(*departure), ..with_ticket(Outcome::NotYetBoarding, ticket_id, trip_id) }
        }
        Intent::NotOnManifest { method } => Decision { method: Some(*method), ..Decision::new(Outcome::NotOnManifest) },
        Intent::TicketInvalid { ticket_id, trip_id, reason } => Decision {
            ticket: ticket_id.clone(),
            trip: trip_id.clone(),
            reason: Some(reason.clone()),
            ..Decision::new(Outcome::TicketInvalid)
        },
        Intent::SpoofSuspected { ticket_id } => {
            let decision =
                Decision { reason: Some(ManualReason::SpoofSuspected.code().to_string()), ..Decision::new(Outcome::SpoofSuspected) };
            return queue_manual(store, lane, ticket_id.as_deref(), decision, now).map(Some);
        }
        Intent::Manual { reason, ticket_id } => {
            let decision =
                Decision { method: Some(Method::Manual), reason: Some(reason.code().to_string()), ..Decision::new(Outcome::ManualPending) };
            return queue_manual(store, lane, ticket_id.as_deref(), decision, now).map(Some);
        }
    };
    store.record_event(&event_of(&decision, lane, now))?;
    Ok(Some(decision))
}

/// The event that records `decision`: codes and ids only, never free text (the log is kept).
fn event_of<'a>(decision: &'a Decision, lane: &'a str, now: i64) -> NewEvent<'a> {
    NewEvent {
        at: now,
        lane,
        trip_id: decision.trip.as_deref(),
        ticket_id: decision.ticket.as_deref(),
        outcome: decision.outcome,
        method: decision.method,
        staff: None,
        detail: decision.reason.as_deref().or(decision.gate.as_deref()),
        check_id: decision.manual_check,
        overrode: None,
    }
}

/// A staff member's answer to a manual check.
#[derive(Debug, Clone, Copy)]
pub struct Resolution<'a> {
    pub approve: bool,
    /// The staff member's id (their own login).
    pub staff: &'a str,
    /// Why, from the fixed list: recorded in the event log.
    pub reason: StaffReason,
    /// Anything to add, in their own words: kept with the check (purged with the trip), never
    /// in the event log.
    pub note: Option<&'a str>,
    /// The passenger's ticket, for a check that had none (a face with no match).
    pub ticket: Option<&'a str>,
    /// A supervisor's explicit override of a wrong-gate or boarding-time refusal.
    pub overriding: bool,
}

/// Records a staff resolution of the pending manual check `check_id`, opened at a lane that
/// boards `scope`. An approval boards a ticket, under the same checks as a lane
/// ([`super::approval`]): a refunded, used, other-gate or out-of-window ticket is refused with
/// its reason ([`Kind::Conflict`](crate::error::Kind)), nothing is written, and the check stays
/// open for staff to retry (or a supervisor to override where that is allowed).
pub fn resolve(store: &Store, check_id: i64, scope: &LaneScope, resolution: &Resolution<'_>, now: i64) -> Result<Decision> {
    let note = resolution.reason.check_note(resolution.approve, resolution.note)?;
    let check = store.manual_check(check_id)?.ok_or_else(|| Error::not_found(format!("no manual check {check_id}")))?;
    if check.state != ManualState::Pending {
        let by = check.resolved_by.as_deref().unwrap_or("?");
        return Err(Error::conflict(format!("manual check {check_id} was already resolved by {by}")));
    }
    let ticket_id = match (check.ticket_id.as_deref(), resolution.ticket) {
        (Some(own), Some(named)) if own != named => {
            return Err(Error::invalid(format!(
                "manual check {check_id} is for ticket {own}, not {named}; a check's ticket cannot be changed"
            )))
        }
        (own, named) => own.or(named),
    };
    let mut overrode = None;
    let mut trip = check.trip_id.clone();
    if resolution.approve {
        let ticket_id = ticket_id.ok_or_else(|| {
            Error::invalid(format!(
                "manual check {check_id} names no ticket: to approve, name the passenger's ticket (every boarding is on a ticket)"
            ))
        })?;
        let (record, ticket_trip) =
            store.ticket_trip(ticket_id)?.ok_or_else(|| Error::not_found(format!("no ticket '{ticket_id}' on any manifest here")))?;
        overrode = boarding_approval(&record, &ticket_trip, scope, resolution.overriding, now)?;
        trip = Some(ticket_trip.id);
    }
    let outcome = if resolution.approve { Outcome::ManualApproved } else { Outcome::ManualRefused };
    let event = NewEvent {
        at: now,
        lane: &check.lane,
        trip_id: trip.as_deref(),
        ticket_id,
        outcome,
        method: Some(Method::Manual),
        staff: Some(resolution.staff),
        detail: Some(resolution.reason.code()),
        check_id: Some(check_id),
        overrode: overrode.as_ref().map(Unboardable::code),
    };
    store.resolve_manual_check(check_id, &event, resolution.reason, note.as_deref())?;
    Ok(Decision {
        method: Some(Method::Manual),
        ticket: ticket_id.map(str::to_string),
        trip,
        reason: overrode.as_ref().map(|o| o.code().to_string()),
        manual_check: Some(check_id),
        ..Decision::new(outcome)
    })
}

/// Whether staff may board `ticket` at a lane of `scope`: `Ok(Some(refusal))` when a supervisor
/// overrides that refusal; an error with the refusal's reason otherwise.
fn boarding_approval(ticket: &TicketRecord, trip: &Trip, scope: &LaneScope, overriding: bool, now: i64) -> Result<Option<Unboardable>> {
    super::approval(ticket, scope.place(trip, now), overriding).map_err(|refusal| {
        let id = &ticket.id;
        let why = match &refusal {
            Unboardable::Refunded => format!("ticket {id} was refunded"),
            Unboardable::AlreadyBoarded => format!("ticket {id} has already boarded"),
            Unboardable::WrongBus { gate } => format!("ticket {id} is for trip {} at gate {gate}, not a trip of this lane", trip.id),
            Unboardable::NotYetBoarding { .. } => format!("trip {} of ticket {id} is not boarding yet", trip.id),
            Unboardable::Departed { .. } => format!("trip {} of ticket {id} has departed", trip.id),
        };
        let remedy = if refusal.overridable() { "; a supervisor may override it, with a reason" } else { "" };
        Error::Refused { kind: Kind::Conflict, reason: format!("{}: {why}; the check stays open{remedy}", refusal.code()) }
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
            tracing::warn!(token_trip = %ticket.trip_id, manifest_trip = %record.trip_id, ticket = %record.id, "a signed token names another trip than the manifest");
            Err(TicketProblem::Token("trip_mismatch".to_string()))
        }
        Some(found) => Ok(found),
    })
}

/// The ticket of an ID card tapped at the lane (the reader gives the document number), looked
/// up by the keyed document hash. Several tickets (a return trip, a later bus) resolve to the
/// one on a trip boarding in the station now (`station_trips`) that departs first; failing
/// that, the next to depart after `now`, so the passenger hears when and where it boards.
pub fn lookup_id_card(
    document_number: &str,
    keys: &StationKeys,
    store: &Store,
    station_trips: &[Trip],
    now: i64,
) -> Result<std::result::Result<(TicketRecord, Trip), TicketProblem>> {
    let mut found = Vec::new();
    for ticket in store.tickets_by_document(document_number, keys)? {
        found.extend(store.ticket_trip(&ticket.id)?);
    }
    let boarding_now = |trip: &Trip| station_trips.iter().any(|t| t.id == trip.id);
    found.retain(|(_, trip)| boarding_now(trip) || trip.departure >= now);
    found.sort_by_key(|(_, trip)| (!boarding_now(trip), trip.departure));
    Ok(match found.into_iter().next() {
        None => Err(TicketProblem::Unknown),
        Some((record, _)) if record.state == TicketState::Refunded => Err(TicketProblem::Refunded),
        Some(found) => Ok(found),
    })
}

fn with_ticket(outcome: Outcome, ticket_id: &str, trip_id: &str) -> Decision {
    Decision { ticket: Some(ticket_id.to_string()), trip: Some(trip_id.to_string()), ..Decision::new(outcome) }
}

/// Queues a manual check for `decision` (spoof_suspected or manual_pending) and records its
/// event, in one transaction.
fn queue_manual(store: &Store, lane: &str, ticket_id: Option<&str>, mut decision: Decision, now: i64) -> Result<Decision> {
    let trip_id = match ticket_id {
        Some(id) => store.ticket(id)?.map(|t| t.trip_id),
        None => None,
    };
    decision.ticket = ticket_id.map(str::to_string);
    decision.trip = trip_id;
    let check = store.open_manual_check(&event_of(&decision, lane, now), decision.reason.as_deref().unwrap_or_default())?;
    decision.manual_check = Some(check);
    Ok(decision)
}
