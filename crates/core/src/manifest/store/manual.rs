//! The manual-check queue: checks a lane opens for staff, and their resolution once, an
//! approval boarding the ticket through the same guard as a lane.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use serde::Serialize;

use super::boarding::{board_in, BoardResult};
use super::events::{insert_event, NewEvent};
use super::{rule, Fail, OrDb, Store};
use crate::error::Result;
use crate::manifest::Method;

/// Where a manual check stands: pending until staff resolve it, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ManualState {
    Pending,
    Approved,
    Refused,
}

/// A manual check on the console's queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManualCheck {
    pub id: i64,
    pub created_at: i64,
    pub lane: String,
    pub trip_id: Option<String>,
    pub ticket_id: Option<String>,
    pub reason: String,
    pub state: ManualState,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<i64>,
    pub resolution: Option<String>,
}

/// How a manual check was resolved; `boarding` is the guarded update's answer when an
/// approved check named a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ManualResolution {
    pub state: ManualState,
    pub boarding: Option<BoardResult>,
}

impl Store {
    /// Queues a manual check for the console; returns its id. The lane records its own
    /// decision event (`manual_pending`, `spoof_suspected`) with [`Self::record_event`].
    pub fn open_manual_check(&self, lane: &str, trip_id: Option<&str>, ticket_id: Option<&str>, reason: &str, now: i64) -> Result<i64> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO manual_checks (created_at, lane, trip_id, ticket_id, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![now, lane, trip_id, ticket_id, reason],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    pub fn manual_check(&self, id: i64) -> Result<Option<ManualCheck>> {
        manual_check_in(&self.conn, id).or_db(self)
    }

    /// Pending checks, oldest first.
    pub fn pending_manual_checks(&self) -> Result<Vec<ManualCheck>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {MANUAL_COLUMNS} FROM manual_checks WHERE state = 'pending' ORDER BY id"))
            .or_db(self)?;
        let rows = stmt.query_map([], manual_row).or_db(self)?;
        rows.collect::<rusqlite::Result<_>>().or_db(self)
    }

    /// Approves or refuses a pending check, by `staff`, appending a `manual_check_approved` or
    /// `manual_check_refused` event. Approving a check that names a ticket boards it through the
    /// same guarded update as a lane (method `manual`), in the same transaction. `ticket` is the
    /// ticket staff name for a check that had none (a face with no match): the check then
    /// records it and its trip. An unknown ticket, or one other than the check's own, is refused
    /// and nothing is written. A check is resolved once: a second resolution is refused.
    pub fn resolve_manual_check(
        &self,
        id: i64,
        approved: bool,
        staff: &str,
        reason: &str,
        ticket: Option<&str>,
        now: i64,
    ) -> Result<ManualResolution> {
        self.write(|tx| {
            let Some(check) = manual_check_in(tx, id)? else { return rule(format!("no manual check {id}")) };
            if check.state != ManualState::Pending {
                let word = if check.state == ManualState::Approved { "approved" } else { "refused" };
                let by = check.resolved_by.as_deref().unwrap_or("?");
                let at = check.resolved_at.unwrap_or_default();
                return rule(format!("manual check {id} was already {word} by {by} at {at}; it is resolved once"));
            }
            let (ticket_id, trip_id) = resolved_ticket(tx, &check, ticket)?;
            let (state, outcome) =
                if approved { (ManualState::Approved, "manual_check_approved") } else { (ManualState::Refused, "manual_check_refused") };
            tx.execute(
                "UPDATE manual_checks SET state = ?2, resolved_by = ?3, resolved_at = ?4, resolution = ?5, ticket_id = ?6, trip_id = ?7
                 WHERE id = ?1",
                params![id, state, staff, now, reason, ticket_id, trip_id],
            )?;
            let detail = format!("check {id}: {reason}");
            let event = NewEvent {
                at: now,
                lane: &check.lane,
                trip_id: trip_id.as_deref(),
                ticket_id: ticket_id.as_deref(),
                outcome,
                method: Some(Method::Manual),
                staff: Some(staff),
                detail: Some(&detail),
            };
            insert_event(tx, &event)?;
            let boarding = match (&ticket_id, approved) {
                (Some(ticket), true) => Some(board_in(tx, ticket, &check.lane, Method::Manual, Some(staff), Some(&detail), now)?),
                _ => None,
            };
            Ok(ManualResolution { state, boarding })
        })
    }
}

/// The ticket and trip a resolution is about: the check's own, or the ticket staff name for a
/// check that had none.
fn resolved_ticket(
    tx: &Transaction<'_>,
    check: &ManualCheck,
    named: Option<&str>,
) -> std::result::Result<(Option<String>, Option<String>), Fail> {
    match (check.ticket_id.as_deref(), named) {
        (Some(own), Some(named)) if own != named => {
            rule(format!("manual check {} is for ticket {own}, not {named}; a check's ticket cannot be changed", check.id))
        }
        (None, Some(named)) => {
            let trip: Option<String> = tx.query_row("SELECT trip_id FROM tickets WHERE id = ?1", [named], |r| r.get(0)).optional()?;
            match trip {
                Some(trip) => Ok((Some(named.to_string()), Some(trip))),
                None => rule(format!("no ticket {named} on any manifest here; manual check {} stays pending", check.id)),
            }
        }
        _ => Ok((check.ticket_id.clone(), check.trip_id.clone())),
    }
}

/// Manual-check columns in [`manual_row`]'s order.
const MANUAL_COLUMNS: &str = "id, created_at, lane, trip_id, ticket_id, reason, state, resolved_by, resolved_at, resolution";

fn manual_check_in(conn: &Connection, id: i64) -> rusqlite::Result<Option<ManualCheck>> {
    conn.query_row(&format!("SELECT {MANUAL_COLUMNS} FROM manual_checks WHERE id = ?1"), [id], manual_row).optional()
}

fn manual_row(r: &Row<'_>) -> rusqlite::Result<ManualCheck> {
    Ok(ManualCheck {
        id: r.get(0)?,
        created_at: r.get(1)?,
        lane: r.get(2)?,
        trip_id: r.get(3)?,
        ticket_id: r.get(4)?,
        reason: r.get(5)?,
        state: r.get(6)?,
        resolved_by: r.get(7)?,
        resolved_at: r.get(8)?,
        resolution: r.get(9)?,
    })
}
