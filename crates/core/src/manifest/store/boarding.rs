//! The exactly-once boarding guard: one guarded update and its `boarded` event, in one
//! transaction, shared by the lanes and by approved manual checks.

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;

use super::{Fail, Store};
use crate::error::Result;
use crate::manifest::{Method, TicketState};

/// The answer of the guarded boarding update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum BoardResult {
    /// This call boarded the ticket and wrote its `boarded` event.
    Boarded,
    /// Someone boarded it before, at `at` (unix seconds).
    AlreadyBoarded {
        at: i64,
    },
    Refunded,
    UnknownTicket,
}

impl Store {
    /// Boards a valid ticket and appends its `boarded` event, in one transaction; of any
    /// number of concurrent callers on one ticket, exactly one gets [`BoardResult::Boarded`].
    pub fn board(&self, ticket_id: &str, lane: &str, method: Method, staff: Option<&str>, now: i64) -> Result<BoardResult> {
        self.write(|tx| board_in(tx, &Boarding { ticket_id, lane, method, staff, check_id: None, overrode: None }, now))
    }
}

/// Who boards a ticket, how, and on whose word.
pub(super) struct Boarding<'a> {
    pub ticket_id: &'a str,
    pub lane: &'a str,
    pub method: Method,
    pub staff: Option<&'a str>,
    /// The manual check whose approval boards it.
    pub check_id: Option<i64>,
    /// The refusal a supervisor overrode to approve it.
    pub overrode: Option<&'a str>,
}

/// The exactly-once guard: only the caller whose update changes the row boards the ticket.
pub(super) fn board_in(tx: &Transaction<'_>, b: &Boarding<'_>, now: i64) -> std::result::Result<BoardResult, Fail> {
    let won = tx.execute(
        "UPDATE tickets SET state = 'boarded', boarded_at = ?2, updated_at = ?2 WHERE id = ?1 AND state = 'valid'",
        params![b.ticket_id, now],
    )? == 1;
    if won {
        tx.execute(
            "INSERT INTO events (at, lane, trip_id, ticket_id, outcome, method, staff, check_id, overrode)
             SELECT ?1, ?2, trip_id, id, 'boarded', ?4, ?5, ?6, ?7 FROM tickets WHERE id = ?3",
            params![now, b.lane, b.ticket_id, b.method, b.staff, b.check_id, b.overrode],
        )?;
        return Ok(BoardResult::Boarded);
    }
    // Within this IMMEDIATE transaction the ticket cannot still be valid: it is boarded
    // (boarded_at set, by the schema's check), refunded, or absent.
    let row: Option<(TicketState, Option<i64>)> =
        tx.query_row("SELECT state, boarded_at FROM tickets WHERE id = ?1", [b.ticket_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    Ok(match row {
        None => BoardResult::UnknownTicket,
        Some((TicketState::Refunded, _)) => BoardResult::Refunded,
        Some((_, at)) => BoardResult::AlreadyBoarded { at: at.unwrap_or(now) },
    })
}
