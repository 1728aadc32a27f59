//! # boardcheck
//!
//! The engine behind a bus-station boarding lane: faces seen by the lane camera are matched
//! against the ID-card photos on the manifest of the departing bus, and whoever cannot be
//! matched goes to the staff (QR e-ticket plus a manual ID check).
//!
//! ## Architecture
//! Data flows one way, from pixels to a recorded decision:
//!
//! ```text
//! image_io ─► face::detect ─► face::landmarks ─► face::align ─► face::quality
//!                                                         ├─► face::liveness
//!                                                         └─► face::embed ─► (manifest, boarding)
//! ```
//! - [`paths`], [`models`] and [`runtime`]: where files live, the pinned model catalog
//!   (`models/models.toml`, checked by SHA-256 before loading), and ONNX Runtime — the only
//!   module that touches `ort`.
//! - [`image_io`]: decoding with limits; bad input is an error naming the file.
//! - [`face`]: the vision core behind one facade, [`face::FaceEngine`].
//! - [`ingest`]: frame sources (camera, RTSP, file, image folder); live ones reconnect with back-off.
//! - [`manifest`]: trips, tickets with encrypted face templates, the append-only event log and
//!   the manual-check queue in one SQLite database; boarding is exactly-once; purge after departure.
//! - [`demo_video`]: renders the demo's lane video and ID photos from the fixture photos.
//! - [`eval`]: accuracy harnesses (`boardcheck eval`): verification pairs, the boarding
//!   protocol (open-set 1:N over 50-passenger manifests of ID photos) and presentation attacks.
//! - `cli` (in `src/main.rs` and `src/cli/`): the command line, thin over the library.

pub mod bench;
pub mod boarding;
pub mod clock;
pub mod demo_video;
pub mod error;
pub mod eval;
pub mod face;
pub mod image_io;
pub mod ingest;
pub mod manifest;
pub mod models;
pub mod paths;
pub mod pipeline;
pub mod runtime;
pub mod ticket;
pub mod track;

pub use error::{Error, Result};
