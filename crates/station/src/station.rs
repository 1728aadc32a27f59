//! The station service's state and operations, without HTTP: the one store, the lanes it
//! accepts, their live state, and the hub that tells consoles and kiosks what happened.
//!
//! Every decision is an event in the store; a follower thread (`follow_events`)
//! reads new events (written here or by any other process on the same database) and turns
//! them into hub messages, lane state and metrics — so the console shows what is recorded,
//! not what some handler believed it recorded.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::auth::{self, LoginThrottle, Sessions};
use super::config::{LaneEntry, StationConfig};
use super::metrics::Metrics;
use crate::error::{Error, Result};
use boardcheck_api::StageSample;
use boardcheck_core::boarding::kiosk::{self, KioskView};
use boardcheck_core::boarding::{self, Decision};
use boardcheck_core::clock::unix_now;
use boardcheck_core::decider::{LocalDecider, Observation, Presented, TicketKeys};
use boardcheck_core::manifest::cache::LaneManifest;
use boardcheck_core::manifest::keys::StationKeys;
use boardcheck_core::manifest::store::{EventRecord, ManualState, Store};
use boardcheck_core::manifest::{TicketRecord, Trip};
use boardcheck_core::ticket::IssuerKeys;

/// Decisions kept per lane for the console's lane cards.
const LAST_DECISIONS: usize = 10;
/// A lane's candidate templates are reloaded at least this often (trips enter the window).
const MANIFEST_TTL: Duration = Duration::from_secs(15);
/// Staff resolutions kept in memory for lanes to collect.
const RESOLUTIONS_KEPT: usize = 1000;
/// A lane not heard from for this long shows as down.
const LANE_SILENT: i64 = 30;

/// A recorded event as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaneEvent {
    pub id: i64,
    pub at: i64,
    pub lane: String,
    #[serde(flatten)]
    pub decision: Decision,
    pub staff: Option<String>,
    pub kiosk: KioskView,
}

/// What a lane reports about itself.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthReport {
    /// `up` or `down`.
    pub camera: String,
    pub fps: f64,
    pub frames: u64,
    #[serde(default)]
    pub dropped: u64,
    /// Per-stage times since the last report (for the latency histograms).
    #[serde(default)]
    pub samples: Vec<StageSample>,
}

/// A lane's health as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// `up`, `down` or `unknown` (never heard from, or silent too long).
    pub camera: String,
    pub fps: f64,
    pub frames: u64,
    pub dropped: u64,
    pub last_seen: Option<i64>,
}

/// What a lane's kiosk display shows now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KioskState {
    /// `idle`, `pass` or `see_staff`.
    pub state: &'static str,
    pub zh: String,
    pub en: String,
    pub at: i64,
}

impl KioskState {
    fn idle(at: i64) -> Self {
        KioskState { state: "idle", zh: "请正视摄像头".into(), en: "Please look at the camera".into(), at }
    }

    fn showing(view: &KioskView, at: i64) -> Self {
        KioskState { state: if view.pass { "pass" } else { "see_staff" }, zh: view.zh.clone(), en: view.en.clone(), at }
    }
}

/// What consoles and kiosks are told.
#[derive(Debug, Clone)]
pub enum HubEvent {
    Decision(LaneEvent),
    /// The manual queue changed.
    Manual {
        pending: usize,
    },
    Health {
        lane: String,
        health: Health,
    },
    /// A trip's passengers changed.
    Board {
        trip: String,
    },
    Kiosk {
        lane: String,
        kiosk: KioskState,
    },
}

/// One lane the service accepts.
struct Lane {
    entry: LaneEntry,
    token: [u8; 32],
    live: Mutex<LaneLive>,
}

struct LaneLive {
    health: Option<(HealthReport, i64)>,
    last: VecDeque<LaneEvent>,
    kiosk: KioskState,
    /// Candidates cached with when they were loaded and for which embedder.
    manifest: Option<(Instant, String, Arc<LaneManifest>)>,
}

/// A lane card on the console.
#[derive(Debug, Clone, Serialize)]
pub struct LaneView {
    pub lane: String,
    pub gate: Option<String>,
    /// The trips it boards now.
    pub trips: Vec<String>,
    pub health: Health,
    pub last_decisions: Vec<LaneEvent>,
}

/// A ticket as staff see it on the queue (masked number, no template).
#[derive(Debug, Clone, Serialize)]
pub struct TicketView {
    #[serde(flatten)]
    pub record: TicketRecord,
    pub has_photo: bool,
}

/// A pending manual check on the console.
#[derive(Debug, Clone, Serialize)]
pub struct ManualItem {
    pub id: i64,
    pub created_at: i64,
    pub lane: String,
    pub reason: String,
    pub ticket: Option<TicketView>,
    pub trip: Option<Trip>,
}

/// Why a staff request cannot be done; the HTTP layer turns these into status codes.
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
    lanes: HashMap<String, Lane>,
    pub sessions: Sessions,
    pub throttle: LoginThrottle,
    pub metrics: Metrics,
    hub: broadcast::Sender<HubEvent>,
    /// Staff resolutions numbered in order, for the lanes to collect.
    resolutions: Mutex<VecDeque<(u64, String, Decision)>>,
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
        let now = unix_now();
        let mut lanes = HashMap::new();
        for entry in &config.lanes {
            let token = load_or_create_token(&entry.token_file)?;
            let live = LaneLive { health: None, last: VecDeque::new(), kiosk: KioskState::idle(now), manifest: None };
            lanes.insert(entry.name.clone(), Lane { entry: entry.clone(), token: auth::token_digest(&token), live: Mutex::new(live) });
        }
        let time_zone = config.time_zone().map_err(|e| Error::Config { path: "station.toml".into(), reason: e.to_string() })?;
        let (hub, _) = broadcast::channel(1024);
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
            hub,
            resolutions: Mutex::new(VecDeque::new()),
            wake,
            config,
        });
        let follower = Store::open(&station.config.db)?;
        let weak = Arc::downgrade(&station);
        std::thread::Builder::new()
            .name("event-follower".into())
            .spawn(move || follow_events(weak, follower, woken))
            .map_err(|e| Error::io("<event follower thread>", e))?;
        Ok(station)
    }

    /// The store, for one short operation. A poisoned lock (a panic mid-operation) still
    /// holds a consistent database: SQLite rolled the transaction back.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn keys(&self) -> &StationKeys {
        &self.keys
    }

    pub fn subscribe(&self) -> broadcast::Receiver<HubEvent> {
        self.hub.subscribe()
    }

    fn written(&self) {
        let _ = self.wake.try_send(()); // a wake-up already pending is enough
    }

    // ---- lanes ----

    /// The lane a bearer token belongs to.
    pub fn lane_for_token(&self, token: &str) -> Option<String> {
        let digest = auth::token_digest(token);
        self.lanes.values().find(|l| l.token == digest).map(|l| l.entry.name.clone())
    }

    pub fn has_lane(&self, lane: &str) -> bool {
        self.lanes.contains_key(lane)
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
            self.forget_manifests(); // ticket states changed
        }
        if decision.is_some() {
            self.written();
        }
        Ok(decision)
    }

    fn lane_manifest(&self, name: &str, model: &str) -> std::result::Result<Arc<LaneManifest>, Refusal> {
        let lane = self.lanes.get(name).ok_or_else(|| Refusal::NotFound(format!("no lane '{name}'")))?;
        if let Some((loaded, cached_model, manifest)) = &lock(&lane.live).manifest {
            if loaded.elapsed() < MANIFEST_TTL && cached_model == model {
                return Ok(manifest.clone());
            }
        }
        let store = self.store();
        let station = self.trips_boarding(&store)?;
        let served = served_by(&lane.entry, &station);
        let manifest = Arc::new(LaneManifest::load(&store, &self.keys, &station, served, model)?);
        lock(&lane.live).manifest = Some((Instant::now(), model.to_string(), manifest.clone()));
        Ok(manifest)
    }

    /// The trips boarding in the station now.
    fn trips_boarding(&self, store: &Store) -> Result<Vec<Trip>> {
        Ok(store.trips_boarding(unix_now(), self.config.window_before_min * 60, self.config.window_after_min * 60)?)
    }

    fn forget_manifests(&self) {
        for lane in self.lanes.values() {
            lock(&lane.live).manifest = None;
        }
    }

    pub fn report_health(&self, lane: &str, report: HealthReport) {
        let Some(entry) = self.lanes.get(lane) else { return };
        for sample in &report.samples {
            self.metrics.stage_seconds.with_label_values(&[lane, &sample.stage]).observe(sample.ms / 1000.0);
        }
        let now = unix_now();
        let health = {
            let mut live = lock(&entry.live);
            live.health = Some((HealthReport { samples: Vec::new(), ..report }, now));
            health_of(live.health.as_ref(), now)
        };
        self.metrics.lane_up.with_label_values(&[lane]).set(i64::from(health.camera == "up"));
        self.metrics.lane_fps.with_label_values(&[lane]).set(health.fps);
        let _ = self.hub.send(HubEvent::Health { lane: lane.to_string(), health });
    }

    pub fn lanes(&self) -> Result<Vec<LaneView>> {
        let now = unix_now();
        let station = self.trips_boarding(&self.store())?;
        let mut views = Vec::new();
        for lane in self.lanes.values() {
            let mut trips: Vec<String> = served_by(&lane.entry, &station).into_iter().collect();
            trips.sort();
            let live = lock(&lane.live);
            views.push(LaneView {
                lane: lane.entry.name.clone(),
                gate: lane.entry.gate.clone(),
                trips,
                health: health_of(live.health.as_ref(), now),
                last_decisions: live.last.iter().rev().cloned().collect(),
            });
        }
        views.sort_by(|a, b| a.lane.cmp(&b.lane));
        Ok(views)
    }

    pub fn kiosk(&self, lane: &str) -> Option<KioskState> {
        self.lanes.get(lane).map(|l| lock(&l.live).kiosk.clone())
    }

    /// Staff resolutions of `lane`'s manual checks after number `after`, and the last number.
    pub fn lane_results(&self, lane: &str, after: u64) -> (u64, Vec<Decision>) {
        let resolutions = lock(&self.resolutions);
        let last = resolutions.back().map_or(0, |(seq, _, _)| *seq);
        // A lane ahead of the service's numbering saw an earlier run of it: start over.
        let after = if after > last { 0 } else { after };
        let decisions = resolutions.iter().filter(|(seq, l, _)| *seq > after && l == lane).map(|(_, _, d)| d.clone()).collect();
        (last, decisions)
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
        if let Some(entry) = self.lanes.get(&lane) {
            let kiosk = KioskState::showing(&kiosk::view(&decision), unix_now());
            lock(&entry.live).kiosk = kiosk.clone();
            let _ = self.hub.send(HubEvent::Kiosk { lane: lane.clone(), kiosk });
        }
        {
            // Kept for the lane to collect (it long-polls); only the latest few matter.
            let mut resolutions = lock(&self.resolutions);
            let seq = resolutions.back().map_or(1, |(seq, _, _)| seq + 1);
            resolutions.push_back((seq, lane, decision.clone()));
            while resolutions.len() > RESOLUTIONS_KEPT {
                resolutions.pop_front();
            }
        }
        self.forget_manifests();
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

/// A trip on the manifest board.
#[derive(Debug, Clone, Serialize)]
pub struct TripView {
    #[serde(flatten)]
    pub trip: Trip,
    /// Inside the boarding window now (else: next).
    pub boarding: bool,
    pub counts: boardcheck_core::manifest::store::LiveCounts,
}

/// The trips among `station`'s that `lane` boards.
fn served_by(lane: &LaneEntry, station: &[Trip]) -> HashSet<String> {
    boardcheck_core::manifest::cache::served_trips(station, lane.gate.as_deref(), &lane.trips)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn health_of(report: Option<&(HealthReport, i64)>, now: i64) -> Health {
    match report {
        None => Health { camera: "unknown".into(), fps: 0.0, frames: 0, dropped: 0, last_seen: None },
        Some((r, seen)) => Health {
            camera: if now - seen > LANE_SILENT { "unknown".into() } else { r.camera.clone() },
            fps: r.fps,
            frames: r.frames,
            dropped: r.dropped,
            last_seen: Some(*seen),
        },
    }
}

/// The decision an event records, in the words a lane uses.
pub fn decision_of(e: &EventRecord) -> Decision {
    let outcome = match e.outcome.as_str() {
        "manual_check_approved" => "manual_approved",
        "manual_check_refused" => "manual_refused",
        other => other,
    };
    let detail = e.detail.clone();
    let (gate, reason, manual_check) = match (outcome, resolution_detail(detail.as_deref())) {
        ("wrong_bus", _) => (detail, None, None),
        (_, Some((check, said))) => (None, Some(said.to_string()), Some(check)),
        _ => (None, detail, None),
    };
    Decision {
        outcome: outcome.to_string(),
        method: e.method,
        ticket: e.ticket_id.clone(),
        trip: e.trip_id.clone(),
        gate,
        reason,
        manual_check,
    }
}

/// Staff resolutions, as the store names their events.
fn is_resolution(outcome: &str) -> bool {
    matches!(outcome, "manual_check_approved" | "manual_check_refused")
}

/// The check and the staff's reason in a resolution's detail, which the store writes as
/// `check {id}: {reason}`.
fn resolution_detail(detail: Option<&str>) -> Option<(i64, &str)> {
    let (id, said) = detail?.strip_prefix("check ")?.split_once(": ")?;
    Some((id.parse().ok()?, said))
}

/// Follows the event log until the station is dropped: new events become hub messages, lane
/// state and metrics. The log before start only fills the lane cards.
fn follow_events(station: std::sync::Weak<Station>, store: Store, woken: Receiver<()>) {
    let mut last = 0;
    let mut first = true;
    loop {
        let Some(station) = station.upgrade() else { return };
        match store.events_since(last) {
            Ok(events) => {
                for event in &events {
                    station.take_event(event, !first);
                }
                last = events.last().map_or(last, |e| e.id);
                if events.iter().any(|e| e.outcome != "boarded" || e.staff.is_none()) || first {
                    station.publish_queue(&store);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the event log; retrying"),
        }
        first = false;
        drop(station);
        let _ = woken.recv_timeout(Duration::from_millis(500));
    }
}

impl Station {
    fn take_event(&self, event: &EventRecord, live: bool) {
        let decision = decision_of(event);
        let view = kiosk::view(&decision);
        let lane_event =
            LaneEvent { id: event.id, at: event.at, lane: event.lane.clone(), decision, staff: event.staff.clone(), kiosk: view };
        // A staff approval writes its resolution and then the boarding: the lane shows one.
        let shown = !(event.outcome == "boarded" && event.staff.is_some());
        if let Some(lane) = self.lanes.get(&event.lane).filter(|_| shown) {
            let mut state = lock(&lane.live);
            state.last.push_back(lane_event.clone());
            while state.last.len() > LAST_DECISIONS {
                state.last.pop_front();
            }
            // A resolution's kiosk message comes from its decision ([`Self::resolve`]): an
            // approval that could not board (already boarded) must not show "pass".
            if live && !is_resolution(&event.outcome) {
                state.kiosk = KioskState::showing(&lane_event.kiosk, event.at);
                let _ = self.hub.send(HubEvent::Kiosk { lane: event.lane.clone(), kiosk: state.kiosk.clone() });
            }
        }
        if !live {
            return;
        }
        if shown {
            self.metrics.decisions.with_label_values(&[&event.lane, &lane_event.decision.outcome]).inc();
        }
        if let Some(trip) = &event.trip_id {
            let _ = self.hub.send(HubEvent::Board { trip: trip.clone() });
        }
        if shown {
            let _ = self.hub.send(HubEvent::Decision(lane_event));
        }
    }

    fn publish_queue(&self, store: &Store) {
        match store.pending_manual_checks() {
            Ok(pending) => {
                self.metrics.manual_queue.set(pending.len() as i64);
                let _ = self.hub.send(HubEvent::Manual { pending: pending.len() });
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the manual queue"),
        }
    }
}

/// A lane's token: read from its file, or made and written (mode 0600) on first start.
fn load_or_create_token(path: &Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().len() >= 32 => Ok(text.trim().to_string()),
        Ok(_) => Err(Error::Config {
            path: path.to_path_buf(),
            reason: "a lane token must be at least 32 characters (delete the file to have one made)".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = auth::random_token();
            write_private(path, &token)?;
            Ok(token)
        }
        Err(e) => Err(Error::io(path, e)),
    }
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| Error::io(path, e))?;
    writeln!(file, "{text}").map_err(|e| Error::io(path, e))
}
