//! The station service's state and operations, without HTTP: the one store, the lanes it
//! accepts ([`crate::lanes`]), the staff resolutions waiting for them
//! ([`crate::resolutions`]), and the hub that tells consoles and kiosks what happened
//! ([`crate::hub`]). [`Station`] decides on a lane's behalf, resolves manual checks for staff,
//! and answers the console's reads.
//!
//! Lane decisions and staff resolutions write through the one writing connection; the
//! console's and the reports' reads each take a read-only connection ([`crate::readers`]), so
//! a month report never makes a lane wait.
//!
//! Every decision is an event in the store; a follower thread ([`crate::follower`]) reads new
//! events (written here or by any other process on the same database) and turns them into hub
//! messages, lane state and metrics — so the console shows what is recorded, not what some
//! handler believed it recorded.

use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicBool, Ordering};
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
use crate::purge::{self, Retention};
use crate::readers::{Reader, Readers};
use crate::reports;
use crate::resolutions::Resolutions;
use boardcheck_api::{
    CameraStatus, HealthReport, KioskState, LaneView, ManualItem, MonthReport, ResolveRequest, RetentionStatus, StreamEvent, TicketView,
    TripView,
};
use boardcheck_core::boarding::kiosk;
use boardcheck_core::boarding::{self, BoardingWindow, Decision, LaneScope, Resolution};
use boardcheck_core::clock::unix_now;
use boardcheck_core::decider::{LocalDecider, Observation, Presented, TicketKeys};
use boardcheck_core::error::Kind;
use boardcheck_core::manifest::cache::ManifestCache;
use boardcheck_core::manifest::keys::StationKeys;
use boardcheck_core::manifest::store::{ManualState, Options, Store};
use boardcheck_core::manifest::{Role, Trip};
use boardcheck_core::ticket::IssuerKeys;
use boardcheck_core::Error as CoreError;

pub struct Station {
    pub config: StationConfig,
    pub time_zone: jiff::tz::TimeZone,
    store: Mutex<Store>,
    /// The file (device, inode) the writer has open: another file at the path (a copy restored
    /// from a backup) means the writer writes where nobody reads.
    writer_file: (u64, u64),
    /// A write failed on the database itself (read-only, vanished, broken): reopen the writer
    /// once the file takes writes again.
    writer_failed: AtomicBool,
    /// The last write found the disk full (cleared by the next decision that succeeds).
    disk_full: AtomicBool,
    /// Read-only connections for the console's and the reports' reads.
    readers: Readers,
    /// The last day and month reports, for their charts.
    recent_days: reports::Recent<jiff::civil::Date, reports::ZonedReport>,
    recent_months: reports::Recent<(i16, i8), MonthReport>,
    keys: StationKeys,
    issuers: IssuerKeys,
    pub(crate) lanes: Lanes,
    pub sessions: Sessions,
    pub throttle: LoginThrottle,
    pub metrics: Metrics,
    pub(crate) hub: Hub,
    resolutions: Resolutions,
    /// The lanes' manifests, shared by every decision the service makes.
    manifests: ManifestCache,
    /// The background purge's last run.
    pub(crate) retention: Retention,
    /// Held, never sent on: dropping the station disconnects it, which ends the purge thread.
    _purge_stop: Sender<()>,
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
        let writer_file = file_identity(&config.db).map_err(|e| Error::io(&config.db, e))?;
        let keys = StationKeys::load_or_create(&config.key_path())?;
        let issuers = match &config.issuer_keys {
            Some(path) => IssuerKeys::load(path)?,
            None => IssuerKeys::default(),
        };
        let lanes = Lanes::open(&config.lanes, unix_now())?;
        let time_zone = config.time_zone().map_err(|e| Error::Config { path: "station.toml".into(), reason: e.to_string() })?;
        let (wake, woken) = crossbeam_channel::bounded(1);
        let (purge_stop, purge_stopped) = crossbeam_channel::bounded(0);
        let station = Arc::new(Station {
            sessions: Sessions::new(Store::open(&config.db)?, Duration::from_secs(config.session_minutes.max(1) as u64 * 60)),
            throttle: LoginThrottle::new(
                config.login_max_failures,
                Duration::from_secs(config.login_lockout_s),
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
            metrics: Metrics::new(),
            time_zone,
            store: Mutex::new(store),
            writer_file,
            writer_failed: AtomicBool::new(false),
            disk_full: AtomicBool::new(false),
            readers: Readers::new(config.db.clone()),
            recent_days: reports::Recent::default(),
            recent_months: reports::Recent::default(),
            keys,
            issuers,
            lanes,
            hub: Hub::default(),
            resolutions: Resolutions::default(),
            manifests: ManifestCache::default(),
            retention: Retention::default(),
            _purge_stop: purge_stop,
            wake,
            config,
        });
        follower::start(&station, Store::open(&station.config.db)?, woken)?;
        purge::start(&station, Store::open(&station.config.db)?, purge_stopped)?;
        Ok(station)
    }

    /// The store, for one short operation. A poisoned lock (a panic mid-operation) still
    /// holds a consistent database: SQLite rolled the transaction back.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// A read-only connection for one read (a console view, a report): it never waits for the
    /// writer, and the writer never waits for it.
    pub fn reader(&self) -> Result<Reader<'_>> {
        self.readers.get()
    }

    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<HubEvent> {
        self.hub.subscribe()
    }

    /// Notes how a write through the writer went, for [`Station::store_health`].
    fn watched<T>(&self, result: Result<T>) -> Result<T> {
        match &result {
            Ok(_) => self.disk_full.store(false, Ordering::Relaxed),
            Err(Error::Core(e @ CoreError::Database { .. })) => match e.kind() {
                Kind::Full => self.disk_full.store(true, Ordering::Relaxed),
                Kind::Busy => {}
                _ => self.writer_failed.store(true, Ordering::Relaxed),
            },
            Err(_) => {}
        }
        result
    }

    /// Whether the store takes writes now; why not, in words for `/healthz` (no path: the log
    /// has it). Nothing needs fixing here once the file is fixed (made writable again, moved
    /// back): the connections hold the same file. A writer whose writes failed on the file
    /// itself (opened while read-only) is reopened once the file takes writes again, so the
    /// station recovers without a restart.
    ///
    /// Another file at the path (a copy restored while the service ran) is reported and not
    /// reopened: the connections still open on the old file share its WAL by name, and the last
    /// to close would delete the new file's log. That takes a restart.
    ///
    /// A file marked read-only counts as read-only even where this process (root) could still
    /// write it: someone marked it so it would not change.
    pub fn store_health(&self) -> std::result::Result<(), String> {
        let path = &self.config.db;
        let identity = file_identity(path).map_err(|e| {
            tracing::warn!(path = %path.display(), error = %e, "health: the database file is missing");
            format!("the database file is missing or unreadable ({})", e.kind())
        })?;
        if identity != self.writer_file {
            return Err("the database file was replaced while the service had it open: restart the service to use it".into());
        }
        if std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly()) {
            return Err("the database file is read-only".into());
        }
        Store::probe_writable(path, Options::default()).map_err(|e| {
            tracing::warn!(error = %e, "health: the database takes no writes");
            without_path(e)
        })?;
        if self.writer_failed.load(Ordering::Relaxed) {
            let mut writer = self.store();
            *writer = Store::open(path).map_err(|e| format!("cannot reopen the database: {}", without_path(e)))?;
            self.writer_failed.store(false, Ordering::Relaxed);
            tracing::info!(path = %path.display(), "reopened the database for writing");
        }
        if self.disk_full.load(Ordering::Relaxed) {
            return Err("the last write found the disk full; free space on its disk".into());
        }
        Ok(())
    }

    fn written(&self) {
        let _ = self.wake.try_send(()); // a wake-up already pending is enough
    }

    // ---- lanes ----

    /// The lane a bearer token belongs to.
    pub fn lane_for_token(&self, token: &str) -> Option<String> {
        self.lanes.for_token(token)
    }

    /// What `lane` boards: its gate or trips, in the station's boarding window.
    fn scope(&self, lane: &str) -> LaneScope {
        let window = BoardingWindow::minutes(self.config.window_before_min, self.config.window_after_min);
        // A lane not configured here (one deciding in its own process) serves no trip: staff
        // may refuse its checks, and only a supervisor's override approves one.
        self.lanes.scope(lane, window).unwrap_or(LaneScope { gate: None, trips: Vec::new(), window })
    }

    /// A lane's observations of one track made by embedder `model`, with the ticket shown if
    /// any → its decision (`None`: keep looking). A request the lane names (`request_id`) is
    /// decided once: asked again (a retry after a lost reply), it gets its first answer.
    pub fn decide(
        &self,
        lane: &str,
        model: &str,
        request_id: Option<&str>,
        presented: Option<&Presented>,
        observations: &[Observation],
    ) -> Result<Option<Decision>> {
        let started = Instant::now();
        if !self.lanes.contains(lane) {
            return Err(CoreError::not_found(format!("no lane '{lane}'")).into());
        }
        let decision = self.watched((|| -> Result<Option<Decision>> {
            let store = self.store();
            if let Some(answer) = request_id.map(|id| store.lane_answer(lane, id)).transpose()?.flatten() {
                return Ok(Some(answer));
            }
            let keys = TicketKeys { station: &self.keys, issuers: &self.issuers };
            let decider = LocalDecider {
                cache: &self.manifests,
                store: &store,
                keys,
                lane: lane.to_string(),
                scope: self.scope(lane),
                model: model.to_string(),
                policy: self.config.policy,
            };
            let now = unix_now();
            let decision = match presented {
                Some(ticket) => decider.decide_presented(ticket, observations, now)?,
                None => decider.decide_track(observations, now)?,
            };
            if let (Some(id), Some(decision)) = (request_id, &decision) {
                store.keep_lane_answer(lane, id, decision, now)?;
            }
            Ok(decision)
        })())?;
        self.metrics.decide_seconds.observe(started.elapsed().as_secs_f64());
        if decision.is_some() {
            self.written();
        }
        Ok(decision)
    }

    /// The trips boarding in the station now.
    fn trips_boarding(&self, store: &Store) -> Result<Vec<Trip>> {
        Ok(store.trips_boarding(unix_now(), self.config.window_before_min * 60, self.config.window_after_min * 60)?)
    }

    pub fn report_health(&self, lane: &str, mut report: HealthReport) {
        // The stage times go to the histograms; the lane keeps the rest.
        let samples = std::mem::take(&mut report.samples);
        let Some(health) = self.lanes.report_health(lane, report, unix_now()) else { return };
        // Lane names come from station.toml and stages from a closed list: the label values
        // are bounded whatever a lane sends; a time that is not a time is left out.
        for sample in samples.iter().filter(|s| s.ms.is_finite() && s.ms >= 0.0) {
            self.metrics.stage_seconds.with_label_values(&[lane, sample.stage.word()]).observe(sample.ms / 1000.0);
        }
        self.metrics.lane_up.with_label_values(&[lane]).set(i64::from(health.camera == CameraStatus::Up));
        self.metrics.lane_fps.with_label_values(&[lane]).set(health.fps);
        self.hub.send(HubEvent::Console(StreamEvent::Health { lane: lane.to_string(), health }));
    }

    pub fn lanes(&self) -> Result<Vec<LaneView>> {
        let station = self.trips_boarding(&*self.reader()?)?;
        Ok(self.lanes.views(&station, unix_now()))
    }

    /// What `lane`'s kiosk shows now; `None` for an unknown lane.
    pub fn kiosk(&self, lane: &str) -> Option<KioskState> {
        self.lanes.kiosk(lane, unix_now())
    }

    /// Staff resolutions of `lane`'s manual checks after number `after`, and the last number.
    pub fn lane_results(&self, lane: &str, after: u64) -> (u64, Vec<Decision>) {
        self.resolutions.after(lane, after)
    }

    // ---- staff ----

    pub fn manual_queue(&self) -> Result<Vec<ManualItem>> {
        let store = self.reader()?;
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
        let store = self.reader()?;
        // Only while staff need it: a resolved check's photo is nobody's business any more.
        let pending = store.manual_check(check_id)?.filter(|c| c.state == ManualState::Pending);
        match pending.and_then(|c| c.ticket_id) {
            Some(ticket) => Ok(store.photo(&ticket, &self.keys)?),
            None => Ok(None),
        }
    }

    /// A staff member's answer to a manual check, audited with their id and reason (a code
    /// from the fixed list; their note is kept with the check until the purge). Any staff
    /// member may resolve any lane's checks (the station's staff work every lane); a check is
    /// resolved once, and a colleague's consoles hear of it at once (the event log's follower
    /// updates the queue; resolving it again is refused, naming who did). An approval boards
    /// only what the check's lane could board; `overriding` a wrong-gate or boarding-time
    /// refusal is for supervisors, and is recorded as an override.
    pub fn resolve(&self, check_id: i64, staff: (&str, Role), request: &ResolveRequest) -> Result<Decision> {
        let ResolveRequest { approve, reason, ref note, ref ticket, overriding } = *request;
        if overriding && staff.1 != Role::Supervisor {
            return Err(CoreError::Refused { kind: Kind::Forbidden, reason: "only a supervisor may override a refusal".into() }.into());
        }
        let ticket = ticket.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let (lane, decision, seat) = self.watched((|| -> Result<(String, Decision, Option<String>)> {
            let store = self.store();
            let lane =
                store.manual_check(check_id)?.map(|c| c.lane).ok_or_else(|| CoreError::not_found(format!("no manual check {check_id}")))?;
            let resolution = Resolution { approve, staff: staff.0, reason, note: note.as_deref(), ticket, overriding };
            let decision = boarding::resolve(&store, check_id, &self.scope(&lane), &resolution, unix_now())?;
            let seat = match decision.ticket.as_deref() {
                Some(ticket) if decision.outcome.passes() => store.ticket(ticket)?.map(|t| t.seat),
                _ => None,
            };
            Ok((lane.clone(), decision, seat))
        })())?;
        // The kiosk shows the resolution's own decision (the follower leaves resolutions to this),
        // an approval addressed to its passenger by seat.
        let view = kiosk::view(&decision);
        let view = match seat.as_deref() {
            Some(seat) => kiosk::addressed_to_seat(view, seat),
            None => view,
        };
        let kiosk = KioskState::showing(&view, unix_now());
        if self.lanes.show(&lane, kiosk.clone()) {
            self.hub.send(HubEvent::Kiosk { lane: lane.clone(), kiosk });
        }
        self.resolutions.push(lane, decision.clone());
        self.written();
        Ok(decision)
    }

    /// How the retention promise is being kept.
    pub fn retention(&self) -> RetentionStatus {
        self.retention.status(self.config.retention_hours)
    }

    // ---- reports ----

    /// The trips departing on `date` in the station's zone, on a reader; its chart reuses it.
    pub fn day_report(&self, date: jiff::civil::Date) -> Result<reports::ZonedReport> {
        self.recent_days.get(&*self.reader()?, date, |store| reports::day_report(store, date, &self.time_zone))
    }

    /// The monthly summary, days in the station's zone, on a reader; its chart reuses it.
    pub fn month_report(&self, year: i16, month: i8) -> Result<MonthReport> {
        self.recent_months.get(&*self.reader()?, (year, month), |store| reports::month_report(store, year, month, &self.time_zone))
    }

    /// One trip's figures (None: no such trip), on a reader.
    pub fn trip_report(&self, trip_id: &str) -> Result<Option<reports::ZonedReport>> {
        reports::trip_report(&*self.reader()?, trip_id)
    }

    // ---- manifest board ----

    /// Trips boarding now and departing in the next `ahead_s`, with live counts.
    pub fn trips(&self, ahead_s: i64) -> Result<Vec<TripView>> {
        let now = unix_now();
        let store = self.reader()?;
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

/// A store failure in words without the database's path (the log has it).
fn without_path(e: CoreError) -> String {
    match e {
        CoreError::Database { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// The file at `path`: its device and inode.
fn file_identity(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    std::fs::metadata(path).map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LaneEntry;

    fn station(dir: &std::path::Path) -> Arc<Station> {
        let lane = LaneEntry { name: "lane-1".into(), gate: Some("3".into()), trips: vec![], token_file: dir.join("lane-1.token") };
        Station::open(StationConfig { db: dir.join("station.db"), lanes: vec![lane], ..StationConfig::default() }).expect("opens")
    }

    #[test]
    fn console_and_report_reads_never_wait_for_the_writer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let station = station(dir.path());
        // The writing connection held, as by a lane's decision (or, before, by a long report).
        let writer = station.store();
        let (done, finished) = std::sync::mpsc::channel();
        let reading = station.clone();
        std::thread::spawn(move || {
            let reads = (
                reading.manual_queue().map(drop),
                reading.trips(3600).map(drop),
                reading.lanes().map(drop),
                reading.day_report(jiff::civil::date(2025, 10, 9)).map(drop),
                reading.month_report(2025, 10).map(drop),
                reading.trip_report("G1").map(drop),
            );
            let _ = done.send(format!("{reads:?}"));
        });
        let reads = finished.recv_timeout(Duration::from_secs(30)).expect("the reads finished while the writer was held");
        drop(writer);
        assert_eq!(reads, "(Ok(()), Ok(()), Ok(()), Ok(()), Ok(()), Ok(()))");
    }

    fn set_mode(path: &std::path::Path, mode: u32) {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn health_reports_a_read_only_or_vanished_database_and_recovers_without_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let station = station(dir.path());
        let db = dir.path().join("station.db");
        assert_eq!(station.store_health(), Ok(()));

        set_mode(&db, 0o444);
        let why = station.store_health().expect_err("read-only");
        assert!(why.contains("read-only") && !why.contains("station.db"), "{why}");
        set_mode(&db, 0o644);
        assert_eq!(station.store_health(), Ok(()));

        let away = dir.path().join("moved.db");
        std::fs::rename(&db, &away).expect("moves");
        let why = station.store_health().expect_err("vanished");
        assert!(why.contains("missing"), "{why}");
        std::fs::rename(&away, &db).expect("moves back");
        assert_eq!(station.store_health(), Ok(()));
        let trip = Trip { id: "G9".into(), route: "r".into(), departure: 0, gate: "3".into() };
        station.store().upsert_trip(&trip).expect("writes");
        assert!(Store::open(&db).expect("opens").trip("G9").expect("reads").is_some(), "the write reached the file");

        // A copy put in its place is another file: reported, not written behind its back.
        std::fs::copy(&db, &away).expect("copies");
        std::fs::rename(&away, &db).expect("replaces");
        let why = station.store_health().expect_err("replaced");
        assert!(why.contains("replaced"), "{why}");
    }
}
