//! What enrolment stores on a ticket: its face template and ID photo, both encrypted under the
//! station key, or why no usable face was found; and the templates a lane matches against.

use rusqlite::{params, params_from_iter, OptionalExtension, Transaction};

use super::tickets::{ticket_row, TICKET_COLUMNS};
use super::{missing, Fail, OrDb, Store};
use crate::error::Result;
use crate::manifest::keys::StationKeys;
use crate::manifest::TicketRecord;

impl Store {
    /// Stores a ticket's enrolled template, encrypted, and clears any enrolment issue.
    /// A refunded ticket takes no template: the call succeeds and the template is discarded.
    pub fn set_template(&self, ticket_id: &str, template: &[f32], model_id: &str, keys: &StationKeys, now: i64) -> Result<()> {
        let blob = keys.encrypt_template(ticket_id, template);
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE tickets SET template = ?2, template_model = ?3, enrol_issue = NULL, updated_at = ?4
                 WHERE id = ?1 AND state <> 'refunded'",
                params![ticket_id, blob, model_id, now],
            )?;
            require_ticket(tx, ticket_id, changed)
        })
    }

    /// Stores a ticket's ID photo (JPEG bytes), encrypted, for staff at a manual check.
    /// A refunded ticket takes no photo: the call succeeds and the photo is discarded.
    pub fn set_photo(&self, ticket_id: &str, jpeg: &[u8], keys: &StationKeys, now: i64) -> Result<()> {
        let blob = keys.encrypt_photo(ticket_id, jpeg);
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE tickets SET photo = ?2, updated_at = ?3 WHERE id = ?1 AND state <> 'refunded'",
                params![ticket_id, blob, now],
            )?;
            require_ticket(tx, ticket_id, changed)
        })
    }

    /// A ticket's decrypted ID photo (JPEG); None when there is none (no photo enrolled,
    /// refunded, purged) or no such ticket.
    pub fn photo(&self, ticket_id: &str, keys: &StationKeys) -> Result<Option<Vec<u8>>> {
        let blob: Option<Vec<u8>> =
            self.conn.query_row("SELECT photo FROM tickets WHERE id = ?1", [ticket_id], |r| r.get(0)).optional().or_db(self)?.flatten();
        blob.map(|b| keys.decrypt_photo(ticket_id, &b)).transpose()
    }

    /// Whether a ticket has a stored photo (without decrypting it).
    pub fn has_photo(&self, ticket_id: &str) -> Result<bool> {
        let found = self.conn.query_row("SELECT photo IS NOT NULL FROM tickets WHERE id = ?1", [ticket_id], |r| r.get(0)).optional();
        Ok(found.or_db(self)?.unwrap_or(false))
    }

    /// Records why enrolment found no usable face; drops any template the ticket had.
    pub fn set_enrol_issue(&self, ticket_id: &str, reason: &str, now: i64) -> Result<()> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE tickets SET enrol_issue = ?2, template = NULL, template_model = NULL, updated_at = ?3 WHERE id = ?1",
                params![ticket_id, reason, now],
            )?;
            if changed == 0 {
                return missing(format!("no ticket {ticket_id}"));
            }
            Ok(())
        })
    }

    /// The decrypted templates of the given trips' tickets that may be matched: valid ones, and
    /// boarded ones so a second pass is answered "already boarded"; never refunded ones. Only
    /// templates made by `model_id`: another embedder's vectors are not comparable.
    pub fn templates(&self, trip_ids: &[String], model_id: &str, keys: &StationKeys) -> Result<Vec<(TicketRecord, Vec<f32>)>> {
        if trip_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; trip_ids.len()].join(", ");
        let sql = format!(
            "SELECT {TICKET_COLUMNS}, t.template FROM tickets t
             WHERE t.template_model = ? AND t.trip_id IN ({placeholders}) AND t.template IS NOT NULL
                 AND t.state IN ('valid', 'boarded')
             ORDER BY t.trip_id, t.id"
        );
        let mut stmt = self.conn.prepare(&sql).or_db(self)?;
        let bound = std::iter::once(model_id).chain(trip_ids.iter().map(String::as_str));
        let rows = stmt
            .query_map(params_from_iter(bound), |r| Ok((ticket_row(r)?, r.get::<_, Vec<u8>>(10)?)))
            .or_db(self)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .or_db(self)?;
        rows.into_iter()
            .map(|(ticket, blob)| {
                let template = keys.decrypt_template(&ticket.id, &blob)?;
                Ok((ticket, template))
            })
            .collect()
    }
}

/// After an update that skips refunded tickets: nothing changed is fine for a refunded ticket
/// (it keeps nothing), an error for an unknown one.
fn require_ticket(tx: &Transaction<'_>, ticket_id: &str, changed: usize) -> std::result::Result<(), Fail> {
    let exists = changed > 0 || tx.query_row("SELECT 1 FROM tickets WHERE id = ?1", [ticket_id], |_| Ok(())).optional()?.is_some();
    if !exists {
        return missing(format!("no ticket {ticket_id}"));
    }
    Ok(())
}
