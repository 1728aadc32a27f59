//! The manifest board: a trip's passengers, where each stands, and the console's search.

use rusqlite::params;
use serde::Serialize;

use super::{OrDb, Store};
use crate::error::Result;
use crate::manifest::{DocumentType, Method};

/// A ticket's [`PassengerStatus`] word, for a query over `tickets t`: a boarding or a refund is
/// final, so a pending check only shows for a ticket still valid.
pub(super) const STATUS_SQL: &str = "CASE
    WHEN t.state = 'refunded' THEN 'refunded'
    WHEN t.state = 'boarded' THEN 'boarded'
    WHEN EXISTS (SELECT 1 FROM manual_checks m WHERE m.state = 'pending' AND m.ticket_id = t.id) THEN 'manual'
    ELSE 'not_yet' END";

/// Where a passenger on the manifest board stands.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PassengerStatus {
    Boarded,
    NotYet,
    /// A manual check for the ticket waits for staff.
    Manual,
    Refunded,
}

/// One line of a trip's manifest board.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Passenger {
    pub ticket: String,
    pub seat: String,
    /// None once purged.
    pub name: Option<String>,
    pub document_type: DocumentType,
    /// None once purged.
    pub document_masked: Option<String>,
    pub child: bool,
    pub status: PassengerStatus,
    /// How the ticket boarded, from its `boarded` event.
    pub method: Option<Method>,
    pub boarded_at: Option<i64>,
}

impl Store {
    /// A trip's tickets as the manifest board shows them, by seat. `query` (trimmed; blank is
    /// none) keeps the tickets whose seat starts with it, or whose name or masked document
    /// number contains it, ignoring ASCII case; its characters match literally (`%` and `_`
    /// included).
    pub fn passengers(&self, trip_id: &str, query: Option<&str>) -> Result<Vec<Passenger>> {
        let pattern = query.map(str::trim).filter(|q| !q.is_empty()).map(escape_like);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                r"SELECT t.id, t.seat, t.name, t.document_type, t.document_masked, t.child, {STATUS_SQL},
                     (SELECT e.method FROM events e WHERE e.trip_id = t.trip_id AND e.ticket_id = t.id AND e.outcome = 'boarded'),
                     t.boarded_at
                 FROM tickets t
                 WHERE t.trip_id = ?1 AND (?2 IS NULL
                     OR t.seat LIKE ?2 || '%' ESCAPE '\'
                     OR t.name LIKE '%' || ?2 || '%' ESCAPE '\'
                     OR t.document_masked LIKE '%' || ?2 || '%' ESCAPE '\')
                 ORDER BY CAST(t.seat AS INTEGER), t.seat, t.id"
            ))
            .or_db(self)?;
        let rows = stmt
            .query_map(params![trip_id, pattern], |r| {
                Ok(Passenger {
                    ticket: r.get(0)?,
                    seat: r.get(1)?,
                    name: r.get(2)?,
                    document_type: r.get(3)?,
                    document_masked: r.get(4)?,
                    child: r.get(5)?,
                    status: r.get(6)?,
                    method: r.get(7)?,
                    boarded_at: r.get(8)?,
                })
            })
            .or_db(self)?;
        rows.collect::<rusqlite::Result<_>>().or_db(self)
    }
}

/// Turns console search text into a `LIKE` operand (with `ESCAPE '\'`) matching it literally.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_wildcards() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }
}
