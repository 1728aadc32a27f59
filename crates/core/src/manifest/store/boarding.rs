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
        self.write(|tx| board_in(tx, ticket_id, lane, method, staff, None, now))
    }
}

/// The exactly-once guard: only the caller whose update changes the row boards the ticket.
pub(super) fn board_in(
    tx: &Transaction<'_>,
    ticket_id: &str,
    lane: &str,
    method: Method,
    staff: Option<&str>,
    detail: Option<&str>,
    now: i64,
) -> std::result::Result<BoardResult, Fail> {
    let won = tx.execute(
        "UPDATE tickets SET state = 'boarded', boarded_at = ?2, updated_at = ?2 WHERE id = ?1 AND state = 'valid'",
        params![ticket_id, now],
    )? == 1;
    if won {
        tx.execute(
            "INSERT INTO events (at, lane, trip_id, ticket_id, outcome, method, staff, detail)
             SELECT ?1, ?2, trip_id, id, 'boarded', ?4, ?5, ?6 FROM tickets WHERE id = ?3",
            params![now, lane, ticket_id, method, staff, detail],
        )?;
        return Ok(BoardResult::Boarded);
    }
    // Within this IMMEDIATE transaction the ticket cannot still be valid: it is boarded
    // (boarded_at set, by the schema's check), refunded, or absent.
    let row: Option<(TicketState, Option<i64>)> =
        tx.query_row("SELECT state, boarded_at FROM tickets WHERE id = ?1", [ticket_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    Ok(match row {
        None => BoardResult::UnknownTicket,
        Some((TicketState::Refunded, _)) => BoardResult::Refunded,
        Some((_, at)) => BoardResult::AlreadyBoarded { at: at.unwrap_or(now) },
    })
}
