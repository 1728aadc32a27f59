//! The manifest cache a lane matches against: the templates of every trip boarding in the
//! station now, loaded once from the store (decrypted under the station key) and kept in
//! memory, so a 1:N search never waits on the database.

use std::collections::HashSet;

use super::keys::StationKeys;
use super::store::Store;
use super::Trip;
use crate::boarding::Candidate;
use crate::error::Result;

/// Who this lane may board: the candidate templates of every trip boarding in the station now,
/// and which of those trips this lane serves.
pub struct LaneManifest {
    pub candidates: Vec<Candidate>,
    pub served_trips: HashSet<String>,
    /// Every trip boarding in the station now (an ID-card tap finds its ticket among them).
    pub trips: Vec<Trip>,
}

/// The trips among those boarding in the station (`station`) that a lane at `gate`, or named
/// in `trips`, boards.
pub fn served_trips(station: &[Trip], gate: Option<&str>, trips: &[String]) -> HashSet<String> {
    station.iter().filter(|t| trips.contains(&t.id) || gate == Some(t.gate.as_str())).map(|t| t.id.clone()).collect()
}

impl LaneManifest {
    /// The candidates of every trip boarding in the station (`station_trips`) whose templates
    /// were made by `model_id` (the lane's embedder), and the trips this lane serves.
    pub fn load(store: &Store, keys: &StationKeys, station_trips: &[Trip], served: HashSet<String>, model_id: &str) -> Result<Self> {
        let ids: Vec<String> = station_trips.iter().map(|t| t.id.clone()).collect();
        let candidates = store
            .templates(&ids, model_id, keys)?
            .into_iter()
            .map(|(ticket, template)| {
                let gate = station_trips.iter().find(|t| t.id == ticket.trip_id).map(|t| t.gate.clone()).unwrap_or_default();
                Candidate { ticket, gate, template }
            })
            .collect();
        Ok(LaneManifest { candidates, served_trips: served, trips: station_trips.to_vec() })
    }
}
