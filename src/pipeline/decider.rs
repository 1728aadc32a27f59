//! Where a track's evidence becomes a recorded decision: against the station database in this
//! process ([`LocalDecider`]), or through the station service ([`crate::console::client`]),
//! which runs the same [`decide_track`] on its side so every lane shares one boarding state.

use serde::{Deserialize, Serialize};

use super::LaneManifest;
use crate::boarding::{self, Decision, Evidence, FrameEvidence, Policy};
use crate::clock::unix_now;
use crate::error::Result;
use crate::face::embed::similarity;
use crate::manifest::store::Store;

/// One embedded frame of a track: what the lane saw, without the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Flagged by the anti-spoofing model.
    pub spoof: bool,
    /// L2-normalised face embedding.
    pub embedding: Vec<f32>,
}

/// Decides on a track from all its observations so far.
pub trait Decider {
    /// `None`: not enough evidence yet, keep looking.
    fn decide(&mut self, track: u64, observations: &[Observation]) -> Result<Option<Decision>>;
}

/// The boarding rules over one track's observations against `manifest`, recorded in `store`.
pub fn decide_track(
    manifest: &LaneManifest,
    store: &Store,
    lane: &str,
    policy: &Policy,
    observations: &[Observation],
    now: i64,
) -> Result<Option<Decision>> {
    let frames = observations
        .iter()
        .map(|o| FrameEvidence {
            usable: true,
            spoof: o.spoof,
            scores: manifest.candidates.iter().map(|c| similarity(&o.embedding, &c.template)).collect(),
        })
        .collect();
    let serves = |trip: &str| manifest.served_trips.contains(trip);
    let intent = boarding::decide(&Evidence::Face { frames, attempts: 1 }, &manifest.candidates, &serves, policy);
    boarding::apply(store, lane, &intent, now)
}

/// Decides in this process, against the station database opened here.
pub struct LocalDecider<'a> {
    pub manifest: &'a LaneManifest,
    pub store: &'a Store,
    pub lane: String,
    pub policy: Policy,
}

impl Decider for LocalDecider<'_> {
    fn decide(&mut self, _track: u64, observations: &[Observation]) -> Result<Option<Decision>> {
        decide_track(self.manifest, self.store, &self.lane, &self.policy, observations, unix_now())
    }
}
