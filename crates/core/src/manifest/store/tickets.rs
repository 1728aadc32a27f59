//! Tickets: the import of a trip's tickets from the ticketing export (diffed against what is
//! stored, so a re-import changes nothing), and finding tickets by id, trip or document number.

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::{clash, missing, rule, OrDb, Store};
use crate::error::Result;
use crate::manifest::keys::{normalise_document, StationKeys};
use crate::manifest::{mask_document_number, DocumentType, NewTicket, TicketRecord, TicketState, Trip};

/// Ticket columns in [`ticket_row`]'s order, for a query over `tickets t`.
pub(super) const TICKET_COLUMNS: &str =
    "t.id, t.trip_id, t.seat, t.name, t.document_type, t.document_masked, t.child, t.state, t.template IS NOT NULL, t.enrol_issue";

/// What an import changed. Every row counts once: `refunded` are rows that became refunded
/// (new or not), `added` other new rows, `updated` existing rows with changed fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub added: usize,
    pub updated: usize,
    pub refunded: usize,
    pub unchanged: usize,
}

impl Store {
    /// Imports a trip's tickets from the ticketing export; re-importing the same rows changes
    /// nothing.
    ///
    /// Boarded and refunded tickets keep their state (a refund is final; a boarding is a fact).
    /// A newly refunded ticket drops its template and photo and so leaves matching. When the
    /// passenger changes (another name or document number), the old template and photo are
    /// dropped for re-enrolment: staff must never compare a face with someone else's photo.
    /// The whole import is refused, nothing written, when a ticket id belongs to another trip
    /// or appears twice.
    pub fn import_tickets(&self, trip_id: &str, tickets: &[NewTicket], keys: &StationKeys, now: i64) -> Result<ImportSummary> {
        self.write(|tx| {
            let trip_state: Option<String> = tx.query_row("SELECT state FROM trips WHERE id = ?1", [trip_id], |r| r.get(0)).optional()?;
            match trip_state.as_deref() {
                None => return missing(format!("no trip {trip_id}: add the trip before its tickets")),
                Some("purged") => return clash(format!("trip {trip_id} was purged: its manifest can no longer be imported")),
                Some(_) => {}
            }
            let mut seen = HashSet::new();
            let mut summary = ImportSummary::default();
            for ticket in tickets {
                if !seen.insert(ticket.id.as_str()) {
                    return rule(format!("ticket {} appears twice in the import for trip {trip_id}", ticket.id));
                }
                let number = normalise_document(&ticket.document_number);
                let (hash, masked) =
                    if number.is_empty() { (None, None) } else { (Some(keys.document_hash(&number)), Some(mask_document_number(&number))) };
                let old = tx
                    .query_row(
                        "SELECT trip_id, seat, name, document_type, document_hash, child, state FROM tickets WHERE id = ?1",
                        [&ticket.id],
                        |r| {
                            Ok(StoredTicket {
                                trip_id: r.get(0)?,
                                seat: r.get(1)?,
                                name: r.get(2)?,
                                document_type: r.get(3)?,
                                hash: r.get(4)?,
                                child: r.get(5)?,
                                state: r.get(6)?,
                            })
                        },
                    )
                    .optional()?;
                let Some(old) = old else {
                    let state = if ticket.refunded { TicketState::Refunded } else { TicketState::Valid };
                    tx.execute(
                        "INSERT INTO tickets (id, trip_id, seat, name, document_type, document_hash, document_masked, child, state, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        params![ticket.id, trip_id, ticket.seat, ticket.name, ticket.document_type, hash, masked, ticket.child, state, now],
                    )?;
                    if ticket.refunded {
                        summary.refunded += 1;
                    } else {
                        summary.added += 1;
                    }
                    continue;
                };
                if old.trip_id != trip_id {
                    return clash(format!("ticket {} already belongs to trip {}, not {trip_id}", ticket.id, old.trip_id));
                }
                let refund = ticket.refunded && old.state == TicketState::Valid;
                let new_person = old.name.as_deref() != Some(ticket.name.as_str()) || old.hash != hash;
                let changed = new_person
                    || old.seat != ticket.seat
                    || old.document_type != ticket.document_type
                    || old.child != ticket.child;
                if !refund && !changed {
                    summary.unchanged += 1;
                    continue;
                }
                let state = if refund { TicketState::Refunded } else { old.state };
                tx.execute(
                    "UPDATE tickets SET seat = ?2, name = ?3, document_type = ?4, document_hash = ?5, document_masked = ?6,
                            child = ?7, state = ?8,
                            template = CASE WHEN ?9 THEN NULL ELSE template END,
                            template_model = CASE WHEN ?9 THEN NULL ELSE template_model END,
                            photo = CASE WHEN ?9 THEN NULL ELSE photo END,
                            enrol_issue = CASE WHEN ?9 THEN NULL ELSE enrol_issue END,
                            updated_at = ?10
                     WHERE id = ?1",
                    params![ticket.id, ticket.seat, ticket.name, ticket.document_type, hash, masked, ticket.child, state, refund || new_person, now],
                )?;
                if refund {
                    summary.refunded += 1;
                } else {
                    summary.updated += 1;
                }
            }
            Ok(summary)
        })
    }

    pub fn ticket(&self, id: &str) -> Result<Option<TicketRecord>> {
        self.conn.query_row(&format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?1"), [id], ticket_row).optional().or_db(self)
    }

    /// A ticket with its trip (to tell a passenger at the wrong lane which gate is theirs).
    pub fn ticket_trip(&self, id: &str) -> Result<Option<(TicketRecord, Trip)>> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {TICKET_COLUMNS}, r.id, r.route, r.departure, r.gate
                     FROM tickets t JOIN trips r ON r.id = t.trip_id WHERE t.id = ?1"
                ),
                [id],
                |r| {
                    let trip = Trip { id: r.get(10)?, route: r.get(11)?, departure: r.get(12)?, gate: r.get(13)? };
                    Ok((ticket_row(r)?, trip))
                },
            )
            .optional()
            .or_db(self)
    }

    /// Tickets whose document number hashes like `number` (an ID-card tap, a typed number).
    pub fn tickets_by_document(&self, number: &str, keys: &StationKeys) -> Result<Vec<TicketRecord>> {
        if normalise_document(number).is_empty() {
            return Ok(Vec::new());
        }
        self.tickets_where("t.document_hash = ?1", &keys.document_hash(number))
    }

    pub fn tickets_of_trip(&self, trip_id: &str) -> Result<Vec<TicketRecord>> {
        self.tickets_where("t.trip_id = ?1", trip_id)
    }

    fn tickets_where(&self, condition: &str, value: &str) -> Result<Vec<TicketRecord>> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE {condition} ORDER BY t.id")).or_db(self)?;
        let rows = stmt.query_map([value], ticket_row).or_db(self)?;
        rows.collect::<rusqlite::Result<_>>().or_db(self)
    }
}

pub(super) fn ticket_row(r: &Row<'_>) -> rusqlite::Result<TicketRecord> {
    Ok(TicketRecord {
        id: r.get(0)?,
        trip_id: r.get(1)?,
        seat: r.get(2)?,
        name: r.get(3)?,
        document_type: r.get(4)?,
        document_masked: r.get(5)?,
        child: r.get(6)?,
        state: r.get(7)?,
        has_template: r.get(8)?,
        enrol_issue: r.get(9)?,
    })
}

/// What import compares a row against.
struct StoredTicket {
    trip_id: String,
    seat: String,
    name: Option<String>,
    document_type: DocumentType,
    hash: Option<String>,
    child: bool,
    state: TicketState,
}
