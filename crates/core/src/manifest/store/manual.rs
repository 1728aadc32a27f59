//! The manual-check queue: checks a lane opens for staff, and their resolution once, an
//! approval boarding the ticket through the same guard as a lane or not resolving at all.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::boarding::{board_in, BoardResult, Boarding};
use super::events::{insert_event, NewEvent};
use super::{clash, missing, rule, Fail, OrDb, Store};
use crate::boarding::{Outcome, StaffReason};
use crate::error::{Kind, Result};
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
    /// Why staff resolved it as they did.
    pub resolution: Option<StaffReason>,
    /// Staff's note in their own words (purged with the trip).
    pub note: Option<String>,
    /// The refusal a supervisor overrode to approve it.
    pub overrode: Option<String>,
}

impl Store {
    /// Queues a manual check for the console and records the lane's decision `event`
    /// (`manual_pending`, `spoof_suspected`) with its id, in one transaction; returns the id.
    pub fn open_manual_check(&self, event: &NewEvent<'_>, reason: &str) -> Result<i64> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO manual_checks (created_at, lane, trip_id, ticket_id, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![event.at, event.lane, event.trip_id, event.ticket_id, reason],
            )?;
            let id = tx.last_insert_rowid();
            insert_event(tx, &NewEvent { check_id: Some(id), ..*event })?;
            Ok(id)
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

    /// Resolves pending check `id` as `event` says (`manual_approved` or `manual_refused`, by
    /// its staff member, about its ticket and trip) for `reason`, keeping staff's `note` with
    /// the check.
    /// An approval boards the event's ticket through the same guarded update as a lane, in the
    /// same transaction: unless it boards now, nothing is written and the check stays pending
    /// (a conflict: resolved meanwhile, or the ticket boarded or refunded meanwhile).
    pub fn resolve_manual_check(&self, id: i64, event: &NewEvent<'_>, reason: StaffReason, note: Option<&str>) -> Result<()> {
        let approved = event.outcome == Outcome::ManualApproved;
        if !approved && event.outcome != Outcome::ManualRefused {
            return Err(self.error(Fail::Rule(Kind::Invalid, format!("'{}' does not resolve a manual check", event.outcome))));
        }
        self.write(|tx| {
            let Some(check) = manual_check_in(tx, id)? else { return missing(format!("no manual check {id}")) };
            if check.state != ManualState::Pending {
                let by = check.resolved_by.as_deref().unwrap_or("?");
                return clash(format!("manual check {id} was already resolved by {by}; it is resolved once"));
            }
            let state = if approved { ManualState::Approved } else { ManualState::Refused };
            tx.execute(
                "UPDATE manual_checks SET state = ?2, resolved_by = ?3, resolved_at = ?4, resolution = ?5, note = ?6,
                        ticket_id = ?7, trip_id = ?8, overrode = ?9
                 WHERE id = ?1",
                params![id, state, event.staff, event.at, reason, note, event.ticket_id, event.trip_id, event.overrode],
            )?;
            insert_event(tx, &NewEvent { check_id: Some(id), ..*event })?;
            if approved {
                let Some(ticket_id) = event.ticket_id else { return rule(format!("approving manual check {id} needs a ticket")) };
                let boarding = Boarding {
                    ticket_id,
                    lane: &check.lane,
                    method: Method::Manual,
                    staff: event.staff,
                    check_id: Some(id),
                    overrode: event.overrode,
                };
                match board_in(tx, &boarding, event.at)? {
                    BoardResult::Boarded => {}
                    other => return clash(format!("ticket {ticket_id} cannot board ({other:?}); manual check {id} stays pending")),
                }
            }
            Ok(())
        })
    }
}

/// Manual-check columns in [`manual_row`]'s order.
const MANUAL_COLUMNS: &str =
    "id, created_at, lane, trip_id, ticket_id, reason, state, resolved_by, resolved_at, resolution, note, overrode";

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
        note: r.get(10)?,
        overrode: r.get(11)?,
    })
}
