//! # boardcheck-eval
//!
//! Measurement, not production: the harnesses behind `boardcheck eval`, `eval --pad`,
//! `bench` and `demo`.
//!
//! - [`accuracy`]: one embedding per image of a labelled data set; TAR at FAR and EER over all
//!   pairs; the boarding protocol (ID photos as templates, open-set 1:N over manifests of 50:
//!   FNIR at FPIR); presentation-attack detection (APCER, BPCER); DET plots.
//! - [`bench`](mod@bench): the lane's per-stage and end-to-end latency over a video or image folder,
//!   with the raw embedder's floor on the same frames.
//! - [`demo_video`]: renders the demo's lane video and ID photos from the fixture photos.
//!
//! Nothing in the product depends on this crate; it may use every layer below it.

pub mod accuracy;
pub mod bench;
pub mod demo_video;
pub mod error;

pub use error::{Error, Result};
