//! The manifest cache a lane matches against: the templates of every trip boarding in the
//! station now, loaded from the store (decrypted under the station key) and kept in memory, so
//! a 1:N search never waits on the database — and never goes stale. One [`ManifestCache`]
//! serves a lane deciding in its own process and the station service deciding for its lanes.
//!
//! A cached manifest is used only while the store's manifest version is the one it was loaded
//! at, and for at most the time-to-live. The version is bumped by triggers on every change to
//! a trip or a ticket, whichever process makes it (an import, a refund, a boarding, a purge),
//! so a re-imported ticket's new face is the one matched at the next decision; the
//! time-to-live brings in trips as their boarding window opens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::keys::StationKeys;
use super::store::Store;
use super::Trip;
use crate::boarding::{Candidate, LaneScope, Place};
use crate::error::{Error, Result};
use boardcheck_vision::face::embed::{check_embedding, recipe_dim};

/// Who this lane may board: the candidate templates of every trip boarding in the station now,
/// and what the lane serves.
pub struct LaneManifest {
    pub candidates: Vec<Candidate>,
    pub scope: LaneScope,
    /// Every trip boarding in the station now (an ID-card tap finds its ticket among them).
    pub trips: Vec<Trip>,
    /// The embedder the templates were made by, and its values per face.
    pub model: String,
    pub dim: usize,
}

impl LaneManifest {
    /// The candidates of every trip boarding in the station (`station_trips`) whose templates
    /// were made by `model` (the lane's embedder), for a lane of `scope`. A template that is
    /// not a unit vector of the embedder's dimension is left out, loudly: it could only ever
    /// match wrongly.
    pub fn load(store: &Store, keys: &StationKeys, station_trips: &[Trip], scope: LaneScope, model: &str) -> Result<Self> {
        let dim = recipe_dim(model).ok_or_else(|| Error::invalid(format!("embedder '{model}' is not one this station knows")))?;
        let ids: Vec<String> = station_trips.iter().map(|t| t.id.clone()).collect();
        let mut candidates = Vec::new();
        for (ticket, template) in store.templates(&ids, model, keys)? {
            if let Err(fault) = check_embedding(&template, dim) {
                tracing::error!(ticket = %ticket.id, %fault, "a stored template is unusable; the ticket boards only through staff");
                continue;
            }
            if let Some(trip) = station_trips.iter().find(|t| t.id == ticket.trip_id) {
                candidates.push(Candidate { ticket, trip: trip.clone(), template });
            }
        }
        Ok(LaneManifest { candidates, scope, trips: station_trips.to_vec(), model: model.to_string(), dim })
    }

    /// Whether any trip boarding now is one this lane serves.
    pub fn serves_any(&self) -> bool {
        self.trips.iter().any(|t| self.scope.serves(t))
    }

    /// Where `trip` stands for this lane at `now`.
    pub fn place(&self, trip: &Trip, now: i64) -> Place {
        self.scope.place(trip, now)
    }
}

/// How long a manifest is used at most before it is loaded again: trips enter their boarding
/// window within this of its opening.
pub const MANIFEST_TTL: Duration = Duration::from_secs(15);

/// Lane manifests by lane and embedder, each kept while the store's manifest is unchanged and
/// for at most a time-to-live.
pub struct ManifestCache {
    ttl: Duration,
    kept: Mutex<HashMap<(String, String), Kept>>,
}

struct Kept {
    version: i64,
    loaded: Instant,
    manifest: Arc<LaneManifest>,
}

impl Default for ManifestCache {
    fn default() -> Self {
        ManifestCache::new(MANIFEST_TTL)
    }
}

impl ManifestCache {
    /// Trips enter their boarding window as time passes: a manifest is reloaded at least every
    /// `ttl` even when nothing in the store changed.
    pub fn new(ttl: Duration) -> Self {
        ManifestCache { ttl, kept: Mutex::new(HashMap::new()) }
    }

    /// `lane`'s manifest for embedder `model`: cached, or loaded from `store` at `now`.
    pub fn get(
        &self,
        store: &Store,
        keys: &StationKeys,
        lane: &str,
        scope: &LaneScope,
        model: &str,
        now: i64,
    ) -> Result<Arc<LaneManifest>> {
        // Read before loading: a change made meanwhile leaves the entry older than the store,
        // and the next call loads again.
        let version = store.manifest_version()?;
        let key = (lane.to_string(), model.to_string());
        let mut kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(k) = kept.get(&key) {
            if k.version == version && k.loaded.elapsed() < self.ttl && k.manifest.scope == *scope {
                return Ok(k.manifest.clone());
            }
        }
        let trips = store.trips_boarding(now, scope.window.before_s, scope.window.after_s)?;
        let manifest = Arc::new(LaneManifest::load(store, keys, &trips, scope.clone(), model)?);
        kept.insert(key, Kept { version, loaded: Instant::now(), manifest: manifest.clone() });
        Ok(manifest)
    }
}
