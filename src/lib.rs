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
//! ingest ─► pipeline: detect ─► track ─► assess (quality, choice) ─► embed (+ liveness) ─► decide ─► sinks
//!                     face::*   track                                                      boarding  (gate, kiosk)
//!                                                                                            │
//! ticketing export ─► manifest::import ─► manifest::store (SQLite) ◄─────────────────────────┘
//! QR / scanner text ─► ticket ─────────────────────────┘       │   (locally, or through
//!                                                              ▼    console::client)
//!                               console: staff console, kiosk pages, lane API, reports
//! ```
//! - [`paths`], [`models`] and [`runtime`]: where files live, the pinned model catalog
//!   (`models/models.toml`, checked by SHA-256 before loading), and ONNX Runtime — the only
//!   module that touches `ort`.
//! - [`image_io`]: decoding with limits; bad input is an error naming the file.
//! - [`face`]: the vision core behind one facade, [`face::FaceEngine`]: detect → landmarks →
//!   align → quality, liveness, embed.
//! - [`ingest`]: frame sources (camera, RTSP, file, image folder); live ones reconnect with
//!   back-off; the QR scanner's and ID-card reader's lines.
//! - [`track`]: IoU tracking, so one passenger is one decision.
//! - [`pipeline`]: the lane's stages on threads joined by one-item links (latest frame wins
//!   for cameras); per-stage timings; `lane.toml`; decision sinks; the [`pipeline::Decider`]
//!   that turns a track, or a ticket shown with the face in view, into a recorded decision
//!   (against the database here, or through the station service).
//! - [`boarding`]: the boarding rules as pure functions over evidence, and the one step that
//!   records a decision; the kiosk's pass / see-staff view.
//! - [`manifest`]: trips, tickets with encrypted face templates, the append-only event log and
//!   the manual-check queue in one SQLite database; boarding is exactly-once; purge after
//!   departure.
//! - [`ticket`]: the SM2-signed e-ticket QR token: issue, decode, verify.
//! - [`console`]: the station service (`boardcheck serve`): the one owner of the database
//!   that lanes decide through ([`pipeline::Decider`]), the staff console and kiosk pages,
//!   sessions, reports and metrics.
//! - [`eval`] and [`bench`](mod@bench): accuracy harnesses (pairs, boarding protocol, presentation attacks)
//!   and the lane latency harness.
//! - [`demo_video`]: renders the demo's lane video and ID photos from the fixture photos.
//! - [`clock`]: unix time at the edges; every rule takes `now` as an argument.
//! - `cli` (in `src/main.rs` and `src/cli/`): the command line, thin over the library.

pub mod bench;
pub mod boarding;
pub mod clock;
pub mod console;
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
