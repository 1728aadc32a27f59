//! # boardcheck-lane
//!
//! The boarding lane as a running program: frames in, one recorded decision per passenger out.
//!
//! - [`ingest`]: frame sources behind one trait (OpenCV `VideoCapture` for devices, RTSP and
//!   files; image folders), reconnecting with back-off; the QR scanner's and ID-card reader's
//!   lines.
//! - [`pipeline`]: the stages on threads joined by one-item [`pipeline::link`]s (latest frame
//!   wins for a live camera), per-stage timings, and the decide stage that hands a track's
//!   observations to a [`decider::Decider`]; one [`pipeline::Shutdown`] signal, so the first
//!   stage error or panic stops the whole lane and is what the run returns.
//! - The [`decider`] seam: the boarding rules against a local store, or the station service.
//! - [`outputs`]: where decisions go (JSON lines, the gate relay, the kiosk file).
//! - [`presented`]: tickets shown at the lane (scanner and ID-card reader lines, a chip
//!   photo's embedding) for the decide stage.
//! - [`config`]: the lane's settings, `lane.toml`.
//! - [`client`]: the lane's side of the station service — a `Decider` that decides through
//!   it, health reports, and the long-poll for staff resolutions.
//!
//! Data flows one way through the lane; the one signal that goes back up is "this track is
//! decided". The lane never opens a listening socket and never imports the station service:
//! it talks to it only through the HTTP types of `boardcheck-api`. A live image is never kept.

pub mod client;
pub mod config;
pub mod decider;
pub mod error;
pub mod ingest;
pub mod outputs;
pub mod pipeline;
pub mod presented;

pub use error::{Error, Result};
