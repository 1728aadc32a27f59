//! Where a passenger's evidence becomes a recorded decision: [`LocalDecider`] applies the
//! boarding rules against a station store — in a lane's own process, or in the station service
//! on a lane's behalf for each request — so every lane shares one boarding state and the rules
//! are applied by one piece of code. What a lane saw ([`Observation`]) and what it was shown
//! ([`Presented`]) are the same values in both places, and on the wire between them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::boarding::{self, Decision, Evidence, FaceCheck, FrameEvidence, LaneScope, Policy, ATTEMPT_WINDOW_S};
use crate::error::{Error, Result};
use crate::manifest::cache::{LaneManifest, ManifestCache};
use crate::manifest::keys::StationKeys;
use crate::manifest::store::Store;
use crate::manifest::Trip;
use crate::ticket::IssuerKeys;
use boardcheck_vision::face::embed::{check_embedding, similarity};

/// One embedded frame of a track: what the lane saw, without the image.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Flagged by the anti-spoofing model; `None` (JSON null) while its verdict is still
    /// being computed: the rules wait for it only where it could change the outcome.
    pub spoof: Option<bool>,
    /// L2-normalised face embedding, of the lane's embedder (checked where it enters).
    pub embedding: Vec<f32>,
}

/// A ticket shown at the lane.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presented {
    /// A QR e-ticket's text (a scanner types it; or decoded from a frame).
    Qr(String),
    /// An ID card on the reader: its number, and the embedding of its chip photo when the
    /// reader gives the photo (the face is then compared with the chip, not the enrolment).
    IdCard { document_number: String, chip_embedding: Option<Vec<f32>> },
}

/// What a presented ticket needs beyond the lane's manifest: the keys to check it with.
pub struct TicketKeys<'a> {
    pub station: &'a StationKeys,
    pub issuers: &'a IssuerKeys,
}

/// Decides against a station database: in the lane's own process, or in the station service
/// on a lane's behalf.
pub struct LocalDecider<'a> {
    /// The lane manifests, shared by every decision of this process.
    pub cache: &'a ManifestCache,
    pub store: &'a Store,
    pub keys: TicketKeys<'a>,
    pub lane: String,
    /// What the lane boards.
    pub scope: LaneScope,
    /// The lane's embedder: observations are compared with templates made by the same one.
    pub model: String,
    pub policy: Policy,
}

impl LocalDecider<'_> {
    fn manifest(&self, now: i64) -> Result<Arc<LaneManifest>> {
        self.cache.get(self.store, self.keys.station, &self.lane, &self.scope, &self.model, now)
    }

    /// The boarding rules over one track's observations, recorded at `now`. Observations that
    /// are not embeddings of the lane's embedder are refused ([`Kind::Invalid`](crate::error::Kind::Invalid)) and nothing
    /// is recorded.
    pub fn decide_track(&self, observations: &[Observation], now: i64) -> Result<Option<Decision>> {
        let manifest = self.manifest(now)?;
        check_observations(observations, manifest.dim)?;
        let frames = observations
            .iter()
            .map(|o| FrameEvidence {
                spoof: o.spoof,
                scores: manifest.candidates.iter().map(|c| similarity(&o.embedding, &c.template)).collect(),
            })
            .collect();
        let failed_attempts = self.store.failed_face_attempts(&self.lane, now, ATTEMPT_WINDOW_S)?;
        let place = |trip: &Trip| manifest.place(trip, now);
        let intent = boarding::decide(&Evidence::Face { frames, failed_attempts }, &manifest.candidates, &place, &self.policy);
        boarding::apply(self.store, &self.lane, &intent, now)
    }

    /// The rules for a presented ticket: find it (verifying a QR token), compare the face 1:1
    /// with the chip photo or the ticket's enrolled template, record the outcome at `now`.
    pub fn decide_presented(&self, presented: &Presented, observations: &[Observation], now: i64) -> Result<Option<Decision>> {
        let manifest = self.manifest(now)?;
        check_observations(observations, manifest.dim)?;
        let (found, chip) = match presented {
            Presented::Qr(text) => (boarding::lookup_ticket(text, self.keys.issuers, self.store, now)?, None),
            Presented::IdCard { document_number, chip_embedding } => {
                if let Some(chip) = chip_embedding {
                    check_embedding(chip, manifest.dim)
                        .map_err(|fault| Error::invalid(format!("the ID card's chip_embedding: {fault}")))?;
                }
                let found = boarding::lookup_id_card(document_number, self.keys.station, self.store, &manifest.trips, now)?;
                (found, chip_embedding.as_deref())
            }
        };
        let mut face = None;
        let found = found.map(|(mut record, trip)| {
            // A template made by another embedder is not loaded: as if there were none.
            let enrolled = manifest.candidates.iter().find(|c| c.ticket.id == record.id).map(|c| c.template.as_slice());
            let reference = chip.or(enrolled);
            record.has_template = reference.is_some();
            face = reference.and_then(|r| face_check(r, observations, &self.policy));
            (record, trip)
        });
        let place = |trip: &Trip| manifest.place(trip, now);
        let intent = boarding::decide(&Evidence::Ticket { ticket: found, face }, &manifest.candidates, &place, &self.policy);
        boarding::apply(self.store, &self.lane, &intent, now)
    }
}

/// Refuses observations whose embeddings are not what an embedder of `dim` values makes (the
/// wrong length, a value not finite, not unit length): a scaled or broken vector must never
/// reach a similarity.
pub fn check_observations(observations: &[Observation], dim: usize) -> Result<()> {
    for (i, o) in observations.iter().enumerate() {
        check_embedding(&o.embedding, dim).map_err(|fault| Error::invalid(format!("observation {i}'s embedding: {fault}")))?;
    }
    Ok(())
}

/// The live face against one reference: mean similarity over the observations, and whether
/// enough of them were flagged as a spoof — counting a verdict not yet in as one, so staff
/// check rather than a spoof passing. `None` without observations.
fn face_check(reference: &[f32], observations: &[Observation], policy: &Policy) -> Option<FaceCheck> {
    if observations.is_empty() {
        return None;
    }
    let n = observations.len() as f32;
    let score = observations.iter().map(|o| similarity(&o.embedding, reference)).sum::<f32>() / n;
    let spoofed = observations.iter().filter(|o| o.spoof != Some(false)).count() as f32;
    Some(FaceCheck { score, spoof: spoofed >= policy.spoof_fraction * n })
}
