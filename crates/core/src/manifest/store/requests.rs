//! Lane requests answered, by the lane's own request id: a lane that retries after a lost
//! reply gets the decision it was first given (the passenger it just boarded is "boarded",
//! not "already boarded"), and nothing is decided or recorded twice.

use rusqlite::{params, OptionalExtension};

use super::{OrDb, Store};
use crate::boarding::Decision;
use crate::error::{Error, Result};

/// Answers are kept this long: a lane retries within seconds.
const KEEP_ANSWERS_S: i64 = 86_400;

impl Store {
    /// The decision `lane` was given for `request_id`, if any.
    pub fn lane_answer(&self, lane: &str, request_id: &str) -> Result<Option<Decision>> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT decision FROM lane_requests WHERE lane = ?1 AND request_id = ?2", params![lane, request_id], |r| r.get(0))
            .optional()
            .or_db(self)?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| Error::invalid(format!("the kept answer to {lane}'s request {request_id}: {e}"))))
            .transpose()
    }

    /// Keeps `decision` as the answer to `lane`'s `request_id`, and forgets answers older than
    /// a day (a lane retries within seconds).
    pub fn keep_lane_answer(&self, lane: &str, request_id: &str, decision: &Decision, now: i64) -> Result<()> {
        let json = serde_json::to_string(decision).map_err(|e| Error::invalid(format!("a decision as JSON: {e}")))?;
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO lane_requests (lane, request_id, at, decision) VALUES (?1, ?2, ?3, ?4)",
                params![lane, request_id, now, json],
            )?;
            tx.execute("DELETE FROM lane_requests WHERE at < ?1", [now - KEEP_ANSWERS_S])?;
            Ok(())
        })
    }
}
