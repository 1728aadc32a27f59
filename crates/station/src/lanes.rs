//! The lanes the service accepts: their tokens, what each boards (its [`LaneScope`]), and what
//! the service keeps about each while it runs — the last health report, the last decisions,
//! what its kiosk shows. (The templates they match against are the station's manifest cache.)

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::auth;
use crate::config::LaneEntry;
use crate::error::{Error, Result};
use crate::lock;
use boardcheck_api::{CameraStatus, Health, HealthReport, KioskState, LaneEvent, LaneView};
use boardcheck_core::boarding::{BoardingWindow, LaneScope};
use boardcheck_core::manifest::keys::read_secret;
use boardcheck_core::manifest::Trip;

/// Decisions kept per lane for the console's lane cards.
const LAST_DECISIONS: usize = 10;
/// A lane not heard from for this long (seconds; it reports every 2 s) shows as unknown, and
/// its kiosk as closed.
const LANE_SILENT: i64 = 10;

/// Every lane of `station.toml`, by name.
pub struct Lanes(HashMap<String, Lane>);

/// One lane the service accepts.
struct Lane {
    entry: LaneEntry,
    /// The digest of its bearer token.
    token: [u8; 32],
    live: Mutex<LaneLive>,
}

struct LaneLive {
    /// The last report (its stage samples gone to the metrics) and when it came.
    health: Option<(HealthReport, i64)>,
    last: VecDeque<LaneEvent>,
    kiosk: KioskState,
}

impl Lanes {
    /// The configured lanes, each with its token (made on first start); kiosks idle since `now`.
    pub fn open(entries: &[LaneEntry], now: i64) -> Result<Lanes> {
        let mut lanes = HashMap::new();
        for entry in entries {
            let token = load_or_create_token(&entry.token_file)?;
            let live = LaneLive { health: None, last: VecDeque::new(), kiosk: KioskState::idle(now) };
            lanes.insert(entry.name.clone(), Lane { entry: entry.clone(), token: auth::token_digest(&token), live: Mutex::new(live) });
        }
        Ok(Lanes(lanes))
    }

    /// The lane a bearer token belongs to.
    pub fn for_token(&self, token: &str) -> Option<String> {
        let digest = auth::token_digest(token);
        self.0.values().find(|l| l.token == digest).map(|l| l.entry.name.clone())
    }

    pub fn contains(&self, lane: &str) -> bool {
        self.0.contains_key(lane)
    }

    /// What `lane` boards, with the station's boarding `window`; `None` for an unknown lane.
    pub fn scope(&self, lane: &str, window: BoardingWindow) -> Option<LaneScope> {
        self.0.get(lane).map(|l| scope_of(&l.entry, window))
    }

    /// Keeps `lane`'s report, received at `now`; its health as the console shows it, `None`
    /// for an unknown lane.
    pub fn report_health(&self, lane: &str, report: HealthReport, now: i64) -> Option<Health> {
        let mut live = lock(&self.0.get(lane)?.live);
        live.health = Some((report, now));
        Some(health_of(live.health.as_ref(), now))
    }

    /// Every lane's card, sorted by name; `station` is the trips boarding now.
    pub fn views(&self, station: &[Trip], now: i64) -> Vec<LaneView> {
        let mut views: Vec<LaneView> = self
            .0
            .values()
            .map(|lane| {
                // The window does not matter here: `station` is the trips boarding now.
                let scope = scope_of(&lane.entry, BoardingWindow::minutes(0, 0));
                let mut trips: Vec<String> = station.iter().filter(|t| scope.serves(t)).map(|t| t.id.clone()).collect();
                trips.sort();
                let live = lock(&lane.live);
                LaneView {
                    lane: lane.entry.name.clone(),
                    gate: lane.entry.gate.clone(),
                    trips,
                    health: health_of(live.health.as_ref(), now),
                    last_decisions: live.last.iter().rev().cloned().collect(),
                }
            })
            .collect();
        views.sort_by(|a, b| a.lane.cmp(&b.lane));
        views
    }

    /// What `lane`'s kiosk shows at `now`: its last answer for a few seconds, then the idle
    /// prompt, or the closed screen while the lane cannot decide (its camera down, or no
    /// report for [`LANE_SILENT`] seconds, or none yet). `None` for an unknown lane.
    pub fn kiosk(&self, lane: &str, now: i64) -> Option<KioskState> {
        let live = lock(&self.0.get(lane)?.live);
        let up = health_of(live.health.as_ref(), now).camera == CameraStatus::Up;
        Some(live.kiosk.at(now, up))
    }

    /// Sets what `lane`'s kiosk shows; false for an unknown lane.
    pub fn show(&self, lane: &str, kiosk: KioskState) -> bool {
        self.0.get(lane).map(|l| lock(&l.live).kiosk = kiosk).is_some()
    }

    /// Adds a decision to its lane's card; false for an unknown lane.
    pub fn remember(&self, event: LaneEvent) -> bool {
        let Some(lane) = self.0.get(&event.lane) else { return false };
        let mut live = lock(&lane.live);
        live.last.push_back(event);
        while live.last.len() > LAST_DECISIONS {
            live.last.pop_front();
        }
        true
    }
}

fn scope_of(lane: &LaneEntry, window: BoardingWindow) -> LaneScope {
    LaneScope { gate: lane.gate.clone(), trips: lane.trips.clone(), window }
}

fn health_of(report: Option<&(HealthReport, i64)>, now: i64) -> Health {
    match report {
        None => Health { camera: CameraStatus::Unknown, fps: 0.0, frames: 0, dropped: 0, last_seen: None },
        Some((r, seen)) => Health {
            camera: if now - seen > LANE_SILENT { CameraStatus::Unknown } else { r.camera.into() },
            fps: r.fps,
            frames: r.frames,
            dropped: r.dropped.unwrap_or_default(),
            last_seen: Some(*seen),
        },
    }
}

/// A lane's token: made and written (mode 0600) on first start, then read from its file, which
/// group and others must not be able to read.
fn load_or_create_token(path: &Path) -> Result<Zeroizing<String>> {
    if !path.exists() {
        write_private(path, &auth::random_token())?;
    }
    let token = read_secret(path, "lane token")?;
    if token.len() < 32 {
        return Err(Error::Config {
            path: path.to_path_buf(),
            reason: "a lane token must be at least 32 characters (delete the file to have one made)".into(),
        });
    }
    Ok(token)
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use boardcheck_api::{Camera, KioskMode};
    use boardcheck_core::boarding::kiosk::KioskView;

    fn lanes(dir: &Path) -> Lanes {
        let entry = LaneEntry { name: "lane-1".into(), gate: Some("3".into()), trips: vec![], token_file: dir.join("lane-1.token") };
        Lanes::open(&[entry], 0).expect("opens")
    }

    fn report(camera: Camera) -> HealthReport {
        HealthReport { camera, fps: 15.0, frames: 30, dropped: None, samples: vec![] }
    }

    #[test]
    fn a_kiosk_is_closed_until_its_lane_reports_a_camera_up_and_again_when_it_goes_down_or_silent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lanes = lanes(dir.path());
        let mode = |now| lanes.kiosk("lane-1", now).expect("a lane").state;
        assert_eq!(mode(1), KioskMode::Closed, "never heard from: it cannot decide");
        lanes.report_health("lane-1", report(Camera::Up), 2);
        assert_eq!(mode(3), KioskMode::Idle);
        assert_eq!(mode(2 + LANE_SILENT + 1), KioskMode::Closed, "silent");
        lanes.report_health("lane-1", report(Camera::Down), 20);
        assert_eq!(mode(21), KioskMode::Closed, "camera down");
        assert!(lanes.kiosk("lane-9", 21).is_none());
    }

    #[test]
    fn a_kiosk_that_connects_after_an_answer_expired_shows_the_prompt_not_the_old_pass() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lanes = lanes(dir.path());
        lanes.report_health("lane-1", report(Camera::Up), 100);
        let view = KioskView { pass: true, zh: "请通行".into(), en: "Please board".into() };
        lanes.show("lane-1", KioskState::showing(&view, 100));
        assert_eq!(lanes.kiosk("lane-1", 101).expect("a lane").state, KioskMode::Pass);
        lanes.report_health("lane-1", report(Camera::Up), 160);
        assert_eq!(lanes.kiosk("lane-1", 165).expect("a lane").state, KioskMode::Idle, "65 s later: no pass for whoever stands there");
    }

    #[test]
    fn a_token_file_is_made_private_and_one_others_may_read_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lane-1.token");
        let made = load_or_create_token(&path).expect("made");
        assert_eq!(std::fs::metadata(&path).expect("exists").permissions().mode() & 0o777, 0o600);
        assert_eq!(*load_or_create_token(&path).expect("read back"), *made);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = load_or_create_token(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("lane-1.token") && err.contains("lane token") && err.contains("chmod 600"), "{err}");
        std::fs::write(&path, "short\n").expect("writes");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let err = load_or_create_token(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("at least 32 characters"), "{err}");
    }
}
