//! The manifest: who may board which bus. Trips, tickets with their enrolled face templates,
//! the append-only event log and the manual-check queue, in one SQLite database (WAL).
//!
//! - [`store`]: schema, migrations and every state change, each in one transaction.
//! - [`keys`]: the station secret that encrypts templates and ID photos (AES-256-GCM) and keys
//!   the document-number hashes; the database alone reveals none of them.
//! - [`import`]: the ticketing system's export (CSV or JSON) and enrolment of ID photos.
//!
//! Personal data is minimised (PIPL): a document number is stored only as a keyed hash plus a
//! masked form (`1101**********1234`); templates and the ID photo staff see at a manual check
//! (a small JPEG, at most 256 px a side) only encrypted; a refunded ticket, or one passed to
//! another passenger, loses its template and photo at once; and [`store::Store::purge`] deletes
//! templates, photos and personal fields once a trip has departed longer than the retention.

pub mod cache;
pub mod import;
pub mod keys;
pub mod store;

use serde::{Deserialize, Serialize};

/// A departure.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trip {
    pub id: String,
    pub route: String,
    /// Scheduled departure, unix seconds.
    pub departure: i64,
    pub gate: String,
}

/// Identity document kinds, as the ticketing export names them.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// Resident identity card (居民身份证): has a chip photo, face check possible.
    IdCard,
    Passport,
    /// Mainland travel permit for Hong Kong, Macao or Taiwan residents.
    TravelPermit,
    Other,
}

/// Where a ticket stands.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Valid,
    Boarded,
    /// Refunded or cancelled: out of matching, cannot board.
    Refunded,
}

/// A ticket as imported (before hashing and enrolment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTicket {
    pub id: String,
    pub seat: String,
    pub name: String,
    pub document_type: DocumentType,
    pub document_number: String,
    pub child: bool,
    pub refunded: bool,
}

/// A stored ticket, without its template.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketRecord {
    pub id: String,
    pub trip_id: String,
    pub seat: String,
    /// None once purged.
    pub name: Option<String>,
    pub document_type: DocumentType,
    /// e.g. `1101**********1234`; None once purged.
    pub document_masked: Option<String>,
    pub child: bool,
    pub state: TicketState,
    /// Whether an enrolled face template exists.
    pub has_template: bool,
    /// Why enrolment found no usable face, if it did not.
    pub enrol_issue: Option<String>,
}

/// How a passenger boarded (or was checked).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Face,
    TicketFace,
    Manual,
}

/// What a staff account may do on the console.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Resolves manual checks, sees the manifest board.
    Staff,
    /// Also sees the reports.
    Supervisor,
}

/// The documented masked form: first four and last four characters kept.
pub fn mask_document_number(number: &str) -> String {
    let chars: Vec<char> = number.trim().chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_an_id_number_like_the_design_says() {
        assert_eq!(mask_document_number("110101199003071234"), "1101**********1234");
        assert_eq!(mask_document_number("E1234567"), "********");
    }
}
