//! The station service's state and operations, without HTTP: the one store, the lanes it
//! accepts ([`crate::lanes`]), the staff resolutions waiting for them
//! ([`crate::resolutions`]), and the hub that tells consoles and kiosks what happened
//! ([`crate::hub`]). [`Station`] decides on a lane's behalf, resolves manual checks for staff,
//! and answers the console's reads.
//!
//! Every decision is an event in the store; a follower thread ([`crate::follower`]) reads new
//! events (written here or by any other process on the same database) and turns them into hub
//! messages, lane state and metrics — so the console shows what is recorded, not what some
//! handler believed it recorded.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::auth::{LoginThrottle, Sessions};
use crate::config::StationConfig;
use crate::error::{Error, Result};
use crate::follower;
use crate::hub::{Hub, HubEvent};
use crate::lanes::Lanes;
use crate::lock;
use crate::metrics::Metrics;
use crate::resolutions::Resolutions;
use boardcheck_api::{CameraStatus, HealthReport, KioskState, LaneView, ManualItem, StreamEvent, TicketView, TripView};
use boardcheck_core::boarding::kiosk;
use boardcheck_core::boarding::{self, Decision};
use boardcheck_core::clock::unix_now;
use boardcheck_core::decider::{LocalDecider, Observation, Presented, TicketKeys};
use boardcheck_core::manifest::cache::LaneManifest;
use boardcheck_core::manifest::keys::StationKeys;
use boardcheck_core::manifest::store::{ManualState, Store};
use boardcheck_core::manifest::Trip;
use boardcheck_core::ticket::IssuerKeys;

/// Why a request cannot be done; the HTTP layer turns these into status codes.
#[derive(Debug)]
pub enum Refusal {
    NotFound(String),
    Conflict(String),
    Invalid(String),
    Failed(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Failed(e)
    }
}

impl From<boardcheck_core::Error> for Refusal {
    fn from(e: boardcheck_core::Error) -> Self {
        Refusal::Failed(e.into())
    }
}

pub struct Station {
    pub config: StationConfig,
    pub time_zone: jiff::tz::TimeZone,
    store: Mutex<Store>,
    keys: StationKeys,
    issuers: IssuerKeys,
    pub(crate) lanes: Lanes,
    pub sessions: Sessions,
    pub throttle: LoginThrottle,
    pub metrics: Metrics,
    pub(crate) hub: Hub,
    resolutions: Resolutions,
    /// Nudges the event follower after a write here, so consoles hear at once.
    wake: Sender<()>,
}

impl Station {
    /// Opens the store, loads (or creates) the lane tokens, and starts following the event log.
    pub fn open(config: StationConfig) -> Result<Arc<Station>> {
        if let Some(dir) = config.db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let store = Store::open(&config.db)?;
        let keys = StationKeys::load_or_create(&config.key_path())?;
        let issuers = match &config.issuer_keys {
            Some(path) => IssuerKeys::load(path)?,
            None => IssuerKeys::default(),
        };
        let lanes = Lanes::open(&config.lanes, unix_now())?;
        let time_zone = config.time_zone().map_err(|e| Error::Config { path: "station.toml".into(), reason: e.to_string() })?;
        let (wake, woken) = crossbeam_channel::bounded(1);
        let station = Arc::new(Station {
            sessions: Sessions::new(Duration::from_secs(config.session_minutes.max(1) as u64 * 60)),
            throttle: LoginThrottle::new(config.login_max_failures, Duration::from_secs(config.login_lockout_s)),
            metrics: Metrics::new(),
            time_zone,
            store: Mutex::new(store),
            keys,
            issuers,
            lanes,
            hub: Hub::default(),
            resolutions: Resolutions::default(),
            wake,
            config,
        });
        follower::start(&station, Store::open(&station.config.db)?, woken)?;
        Ok(station)
    }

    /// The store, for one short operation. A poisoned lock (a panic mid-operation) still
    /// holds a consistent database: SQLite rolled the transaction back.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<HubEvent> {
        self.hub.subscribe()
    }

    fn written(&self) {
        let _ = self.wake.try_send(()); // a wake-up already pending is enough
    }

    // ---- lanes ----

    /// The lane a bearer token belongs to.
    pub fn lane_for_token(&self, token: &str) -> Option<String> {
        self.lanes.for_token(token)
    }

    /// A lane's observations of one track made by embedder `model`, with the ticket shown if
    /// any → its decision (`None`: keep looking).
    pub fn decide(
        &self,
        lane: &str,
        model: &str,
        presented: Option<&Presented>,
        observations: &[Observation],
    ) -> std::result::Result<Option<Decision>, Refusal> {
        let started = Instant::now();
        let manifest = self.lane_manifest(lane, model)?;
        let dims = manifest.candidates.first().map(|c| c.template.len());
        for o in observations {
            if o.embedding.iter().any(|v| !v.is_finite()) || dims.is_some_and(|d| d != o.embedding.len()) {
                return Err(Refusal::Invalid(format!(
                    "an observation's embedding has {} values (finite ones expected, {} per template here)",
                    o.embedding.len(),
                    dims.unwrap_or_default()
                )));
            }
        }
        let decision = {
            let store = self.store();
            let keys = TicketKeys { station: &self.keys, issuers: &self.issuers };
            let decider = LocalDecider { manifest: &manifest, store: &store, keys, lane: lane.to_string(), policy: self.config.policy };
            match presented {
                Some(ticket) => decider.decide_presented(ticket, observations, unix_now())?,
                None => decider.decide_track(observations, unix_now())?,
            }
        };
        self.metrics.decide_seconds.observe(started.elapsed().as_secs_f64());
        if decision.as_ref().is_some_and(|d| d.outcome == "boarded") {
            self.lanes.forget_manifests(); // ticket states changed
        }
        if decision.is_some() {
            self.written();
        }
        Ok(decision)
    }

    /// The candidates `lane` matches against, for embedder `model`.
    fn lane_manifest(&self, lane: &str, model: &str) -> std::result::Result<Arc<LaneManifest>, Refusal> {
        if !self.lanes.contains(lane) {
            return Err(Refusal::NotFound(format!("no lane '{lane}'")));
        }
        if let Some(manifest) = self.lanes.cached_manifest(lane, model) {
            return Ok(manifest);
        }
        let store = self.store();
        let station = self.trips_boarding(&store)?;
        let served = self.lanes.served(lane, &station);
        let manifest = Arc::new(LaneManifest::load(&store, &self.keys, &station, served, model)?);
        self.lanes.keep_manifest(lane, model, manifest.clone());
        Ok(manifest)
    }

    /// The trips boarding in the station now.
    fn trips_boarding(&self, store: &Store) -> Result<Vec<Trip>> {
        Ok(store.trips_boarding(unix_now(), self.config.window_before_min * 60, self.config.window_after_min * 60)?)
    }

    pub fn report_health(&self, lane: &str, mut report: HealthReport) {
        // The stage times go to the histograms; the lane keeps the rest.
        let samples = std::mem::take(&mut report.samples);
        let Some(health) = self.lanes.report_health(lane, report, unix_now()) else { return };
        for sample in &samples {
            self.metrics.stage_seconds.with_label_values(&[lane, &sample.stage]).observe(sample.ms / 1000.0);
        }
        self.metrics.lane_up.with_label_values(&[lane]).set(i64::from(health.camera == CameraStatus::Up));
        self.metrics.lane_fps.with_label_values(&[lane]).set(health.fps);
        self.hub.send(HubEvent::Console(StreamEvent::Health { lane: lane.to_string(), health }));
    }

    pub fn lanes(&self) -> Result<Vec<LaneView>> {
        let station = self.trips_boarding(&self.store())?;
        Ok(self.lanes.views(&station, unix_now()))
    }

    pub fn kiosk(&self, lane: &str) -> Option<KioskState> {
        self.lanes.kiosk(lane)
    }

    /// Staff resolutions of `lane`'s manual checks after number `after`, and the last number.
    pub fn lane_results(&self, lane: &str, after: u64) -> (u64, Vec<Decision>) {
        self.resolutions.after(lane, after)
    }

    // ---- staff ----

    pub fn manual_queue(&self) -> Result<Vec<ManualItem>> {
        let store = self.store();
        store
            .pending_manual_checks()?
            .into_iter()
            .map(|check| {
                let found = match &check.ticket_id {
                    Some(id) => store.ticket_trip(id)?,
                    None => None,
                };
                let (ticket, trip) = match found {
                    Some((record, trip)) => (Some(TicketView { has_photo: store.has_photo(&record.id)?, record }), Some(trip)),
                    None => (None, None),
                };
                Ok(ManualItem { id: check.id, created_at: check.created_at, lane: check.lane, reason: check.reason, ticket, trip })
            })
            .collect()
    }

    /// The manifest photo of a pending check's ticket.
    pub fn manual_photo(&self, check_id: i64) -> Result<Option<Vec<u8>>> {
        let store = self.store();
        match store.manual_check(check_id)?.and_then(|c| c.ticket_id) {
            Some(ticket) => Ok(store.photo(&ticket, &self.keys)?),
            None => Ok(None),
        }
    }

    /// A staff member's answer to a manual check, audited with their id and reason.
    pub fn resolve(
        &self,
        check_id: i64,
        approve: bool,
        staff: &str,
        reason: &str,
        ticket: Option<&str>,
    ) -> std::result::Result<Decision, Refusal> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Refusal::Invalid("say why: a reason is required for every override".into()));
        }
        let ticket = ticket.map(str::trim).filter(|t| !t.is_empty());
        let (lane, decision) = {
            let store = self.store();
            let check = store.manual_check(check_id)?.ok_or_else(|| Refusal::NotFound(format!("no manual check {check_id}")))?;
            if check.state != ManualState::Pending {
                let by = check.resolved_by.unwrap_or_default();
                return Err(Refusal::Conflict(format!("manual check {check_id} was already resolved by {by}")));
            }
            if let Some(named) = ticket {
                if check.ticket_id.as_deref().is_some_and(|t| t != named) {
                    return Err(Refusal::Invalid(format!("manual check {check_id} is for another ticket; it cannot be switched")));
                }
                if store.ticket(named)?.is_none() {
                    return Err(Refusal::NotFound(format!("no ticket '{named}' on any manifest here")));
                }
            }
            let decision = boarding::resolve(&store, check_id, approve, staff, reason, ticket, unix_now())?;
            (check.lane, decision)
        };
        // The kiosk shows the resolution's own decision: an approval that could not board
        // (already boarded) must not show "pass" (the follower leaves resolutions to this).
        let kiosk = KioskState::showing(&kiosk::view(&decision), unix_now());
        if self.lanes.show(&lane, kiosk.clone()) {
            self.hub.send(HubEvent::Kiosk { lane: lane.clone(), kiosk });
        }
        self.resolutions.push(lane, decision.clone());
        self.lanes.forget_manifests();
        self.written();
        Ok(decision)
    }

    // ---- manifest board ----

    /// Trips boarding now and departing in the next `ahead_s`, with live counts.
    pub fn trips(&self, ahead_s: i64) -> Result<Vec<TripView>> {
        let now = unix_now();
        let store = self.store();
        store
            .trips_between(now - self.config.window_after_min * 60, now + ahead_s)?
            .into_iter()
            .map(|trip| {
                let counts = store.live_counts(&trip.id)?;
                let boarding = trip.departure - now <= self.config.window_before_min * 60;
                Ok(TripView { trip, boarding, counts })
            })
            .collect()
    }
}
