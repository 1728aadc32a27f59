//! The e-ticket QR token: issue, decode (from a photo or a USB scanner's keyboard text) and
//! verify. The JT/T 1306 QR layout is not public, so boardcheck defines its own.
//!
//! ## Token
//! A binary payload in a fixed field order, signed with SM2 (GB/T 32918, the national
//! signature standard, so a Chinese operator's key management can hold the key), written as
//! `BC1.` + base64url without padding. Integers are big-endian; strings are UTF-8 with a
//! one-byte length.
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 1 | version, `0x01` |
//! | 1 | 4 | issuer key id: SM3 of the SEC1 compressed public key, first 4 bytes |
//! | 5 | 4 | not before, unix seconds (u32) |
//! | 9 | 4 | not after, unix seconds (u32), inclusive |
//! | 13 | 1 + n | ticket id, n ≤ 64 |
//! | … | 1 + n | trip id, n ≤ 64 |
//! | … | 1 + n | seat, n ≤ 64 |
//! | … | 1 + n | document hash, n = 0 (none) or 16 |
//! | end − 64 | 64 | SM2 signature `r‖s` over every byte before it (signer id `1234567812345678`) |
//!
//! Why this shape:
//! - **Small.** A ticket with a 16-character ticket id, a 14-character trip id and a document
//!   hash is 130 bytes, 178 characters: a version-9 QR code (53×53 modules) at
//!   error-correction level M, easy for a phone screen and a lane scanner. Times are u32
//!   (good until 2106; a later version byte can widen them) and the key id is 4 bytes, since
//!   a station trusts a handful of issuers and a collision only costs an `unknown_key`.
//! - **Typeable.** USB scanners "type" the code as keyboard text. base64url is letters,
//!   digits, `-` and `_`: no spaces, nothing a trim eats. `BC1.` marks where the token
//!   starts, so a scanner's prefix or trailing CR/LF/TAB is ignored. It is case-sensitive,
//!   so a scanner must not be set to force upper or lower case.
//! - **Nothing personal.** The ID number is never in the token, only
//!   [`document::hash_document`]: HMAC-SM3 under the issuer's secret pepper, cut to 16 bytes.
//!   A plain or per-ticket-salted hash would not do: an 18-digit ID number has only ≈2³⁷
//!   plausible values (region, birth date, sequence; the check digit follows), which a
//!   laptop walks through in hours. The pepper is shared with the lanes that compare a tapped ID card
//!   against the ticket, never with passengers.
//! - **Signature last**, over the exact bytes before it, so verification needs no
//!   canonicalisation, and every field is read only after the signature holds.
//!
//! [`verify`] refuses with one specific [`Refusal`], checked in this order: garbage, unknown
//! key, bad signature, not yet valid, expired, other trip, already used.

pub mod document;
pub mod keys;
pub mod qr;
pub mod time;
mod token;

use std::collections::HashSet;

use serde::Serialize;

pub use document::{hash_document, DocumentHash, Pepper};
pub use keys::{keygen, IssuerKey, IssuerKeys, KeyId};
pub use qr::{decode_qr, render_qr};
pub use token::{IssueError, PREFIX};

/// What a ticket says. [`IssuerKey::issue`] signs it; [`verify`] gives it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub ticket_id: String,
    pub trip_id: String,
    pub seat: String,
    /// [`hash_document`] of the passenger's ID number, when the ticket is bound to one.
    pub document_hash: Option<DocumentHash>,
    /// Unix seconds, as the store counts them; the ticket is valid from `not_before` to
    /// `not_after`, both included.
    pub not_before: i64,
    pub not_after: i64,
    /// The key that signed it.
    pub issuer: KeyId,
}

/// Why a token does not board.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a token: no `BC1.` prefix, bad encoding, wrong version, truncated, bad field.
    #[error("not a boardcheck e-ticket ({0})")]
    Garbage(&'static str),
    #[error("signed by issuer key {0}, which this station does not trust")]
    UnknownKey(KeyId),
    #[error("signature does not match the ticket")]
    BadSignature,
    #[error("not valid before {not_before} (unix seconds)")]
    NotYetValid { not_before: i64 },
    #[error("expired at {not_after} (unix seconds)")]
    Expired { not_after: i64 },
    #[error("ticket is for trip {actual}, not {expected}")]
    OtherTrip { expected: String, actual: String },
    #[error("ticket already used")]
    AlreadyUsed,
}

impl Refusal {
    /// The short snake_case name scripts and the kiosk see.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Garbage(_) => "garbage",
            Refusal::UnknownKey(_) => "unknown_key",
            Refusal::BadSignature => "bad_signature",
            Refusal::NotYetValid { .. } => "not_yet_valid",
            Refusal::Expired { .. } => "expired",
            Refusal::OtherTrip { .. } => "other_trip",
            Refusal::AlreadyUsed => "already_used",
        }
    }
}

/// A refusal, with the ticket when its signature held (expired, other trip, already used):
/// staff may act on an authentic ticket's fields, never on a forged one's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refused {
    pub reason: Refusal,
    pub ticket: Option<Box<Ticket>>,
}

impl From<Refusal> for Refused {
    fn from(reason: Refusal) -> Self {
        Refused { reason, ticket: None }
    }
}

/// Which tickets have boarded already; the manifest store answers from its events.
pub trait UsedTickets {
    fn is_used(&self, ticket_id: &str) -> bool;
}

/// In memory: the ticket ids that have boarded.
impl UsedTickets for HashSet<String> {
    fn is_used(&self, ticket_id: &str) -> bool {
        self.contains(ticket_id)
    }
}

/// Checks a token as a scanner or [`decode_qr`] gave it, at unix time `now`, for the trip
/// boarding here (`None`: any trip). Pure: recording the boarding is the caller's job.
pub fn verify(scanned: &str, keys: &IssuerKeys, now: i64, trip: Option<&str>, used: &dyn UsedTickets) -> Result<Ticket, Refused> {
    let bytes = token::from_text(scanned).map_err(Refusal::Garbage)?;
    let signed = token::parse(&bytes).map_err(Refusal::Garbage)?;
    keys.check_signature(&signed)?;
    let ticket = signed.ticket;
    let refusal = if now < ticket.not_before {
        Refusal::NotYetValid { not_before: ticket.not_before }
    } else if now > ticket.not_after {
        Refusal::Expired { not_after: ticket.not_after }
    } else if let Some(expected) = trip.filter(|&t| t != ticket.trip_id) {
        Refusal::OtherTrip { expected: expected.to_owned(), actual: ticket.trip_id.clone() }
    } else if used.is_used(&ticket.ticket_id) {
        Refusal::AlreadyUsed
    } else {
        return Ok(ticket);
    };
    Err(Refused { reason: refusal, ticket: Some(Box::new(ticket)) })
}
