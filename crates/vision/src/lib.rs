//! # boardcheck-vision
//!
//! The vision core: from an image to faces that can be compared. It owns ONNX Runtime
//! ([`runtime`], the only module that touches `ort`), the pinned model catalog ([`models`]:
//! `models/models.toml`, every file's SHA-256 checked before it is loaded), image decoding with
//! limits ([`image_io`]: bad input is an error naming the file), the face pipeline behind one
//! facade, [`face::FaceEngine`] (detect → landmarks → align → quality, liveness, embed), and
//! IoU tracking ([`track`]) so that one passenger is one track.
//!
//! It knows nothing of passengers, tickets or stations: no database, no HTTP, no command line
//! (the engine choices derive `clap::ValueEnum` only behind the `clap` feature, for the
//! binary). Everything above it — the boarding rules, the lane, the service, the harnesses —
//! sees faces only through this crate.

pub mod error;
pub mod face;
pub mod image_io;
pub mod models;
pub mod paths;
pub mod runtime;
pub mod track;

pub use error::{Error, Result};
