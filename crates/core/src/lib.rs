//! # boardcheck-core
//!
//! What a boarding decision is, and where it is recorded. It owns:
//!
//! - [`boarding`]: the boarding rules as pure functions over evidence (a face track, a ticket
//!   shown with the face, a request for staff) → an intent, and [`boarding::apply`], the one
//!   step that records it as a [`boarding::Decision`]; the kiosk's pass / see-staff view.
//! - [`decider`]: [`decider::LocalDecider`], which applies the rules to what a lane saw
//!   ([`decider::Observation`]) or was shown ([`decider::Presented`]) against a store — in the
//!   lane's own process, or in the station service on a lane's behalf.
//! - [`manifest`]: trips and tickets with encrypted templates in SQLite, split by concern
//!   (schema, tickets and templates, the exactly-once boarding guard, the append-only event
//!   log, manual checks, staff accounts, retention); the import of the ticketing export; the
//!   manifest cache a lane matches against ([`manifest::cache::LaneManifest`]).
//! - [`ticket`]: the SM2-signed e-ticket QR token: issue, decode, verify.
//! - [`clock`]: unix time at the edges; every rule takes `now` as an argument.
//!
//! It uses the vision core only to enrol ID photos and to compare embeddings. It must never
//! import a frame source, a thread pipeline, HTTP, a command-line type, or the evaluation
//! harnesses: those are layers above it.

pub mod boarding;
pub mod clock;
pub mod decider;
pub mod error;
pub mod manifest;
pub mod ticket;

pub use error::{Error, Result};
