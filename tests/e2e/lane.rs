//! The lane end to end: the demo (fixture manifest → SQLite → pipeline over a rendered video),
//! the pipeline over an image folder with an unreadable frame, and a lane that cannot decide:
//! it stops, says why, reports itself down and exits non-zero.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use boardcheck_core::boarding::{BoardingWindow, Decision, LaneScope, Outcome, Policy};
use boardcheck_core::decider::{LocalDecider, Observation, Presented, TicketKeys};
use boardcheck_core::manifest::cache::ManifestCache;
use boardcheck_core::manifest::keys::StationKeys;
use boardcheck_core::manifest::store::Store;
use boardcheck_core::ticket::IssuerKeys;
use boardcheck_lane::client::workers::Workers;
use boardcheck_lane::client::ServiceClient;
use boardcheck_lane::decider::Decider;
use boardcheck_lane::ingest::{Frame, FrameSource, ImageFolderSource, Paced};
use boardcheck_lane::outputs::{DecisionSink, KioskFile};
use boardcheck_lane::pipeline::{self, LaneOptions, LaneReport};
use boardcheck_lane::{Error, Result};
use common::station::{frames_of, TestStation};
use crossbeam_channel::Receiver;
use image::RgbImage;
use serde_json::Value;

#[test]
fn the_demo_decides_each_passenger_once_in_order() {
    let out = Command::new(env!("CARGO_BIN_EXE_boardcheck")).args(["demo", "--json"]).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let (summary, decisions) = lines.split_last().expect("a summary line");
    assert!(summary.get("summary").is_some(), "last line is the summary: {summary}");
    for d in decisions {
        for key in ["t", "track", "outcome", "method", "ticket", "latency_ms"] {
            assert!(d.get(key).is_some(), "{key} in {d}");
        }
    }
    let outcome_of =
        |ticket: &str| -> Vec<&str> { decisions.iter().filter(|d| d["ticket"] == ticket).filter_map(|d| d["outcome"].as_str()).collect() };
    // The passenger walks up, boards by face; comes back later: already boarded.
    assert_eq!(outcome_of("G3-0801-01"), vec!["boarded", "already_boarded"], "{decisions:?}");
    assert_eq!(outcome_of("G3-0801-02"), vec!["boarded"]);
    // The child goes to staff, who approve.
    assert_eq!(outcome_of("G3-0801-03"), vec!["manual_pending", "manual_approved"]);
    // Never a decision twice for one track, never a ticket boarded twice.
    let mut tracks = HashSet::new();
    for d in decisions.iter().filter(|d| d["track"] != 0) {
        assert!(tracks.insert(d["track"].as_u64()), "track decided twice: {d}");
    }
    let mut boarded: HashMap<&str, usize> = HashMap::new();
    for d in decisions.iter().filter(|d| d["outcome"] == "boarded" || d["outcome"] == "manual_approved") {
        *boarded.entry(d["ticket"].as_str().unwrap_or_default()).or_default() += 1;
    }
    assert!(boarded.values().all(|&n| n == 1), "{boarded:?}");
    // In the order the passengers came.
    let times: Vec<f64> = decisions.iter().filter_map(|d| d["t"].as_f64()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

/// Runs a lane over `source` with an empty manifest (every passenger is searched and recorded
/// as not on it), its store in `dir`, its decisions to `sinks`: the report and the outcomes
/// recorded.
fn run_lane(
    dir: &Path,
    source: Box<dyn FrameSource>,
    sinks: &mut [Box<dyn DecisionSink>],
    options: &LaneOptions,
) -> (LaneReport, Vec<Outcome>) {
    let store = Store::open(&dir.join("lane.db")).expect("store");
    let cache = ManifestCache::default();
    let station_keys = StationKeys::load_or_create(&dir.join("station.key")).expect("station key");
    let issuers = IssuerKeys::default();
    let keys = TicketKeys { station: &station_keys, issuers: &issuers };
    let scope = LaneScope { gate: Some("3".into()), trips: Vec::new(), window: BoardingWindow::minutes(60, 30) };
    let (lane, model) = ("lane-1".to_string(), common::engine().embedder_id().to_string());
    let mut decider = LocalDecider { cache: &cache, store: &store, keys, lane, scope, model, policy: Policy::default() };
    let report = pipeline::run(common::engine(), source, &mut decider, sinks, options).expect("runs to the end");
    let outcomes = store.events_since(0).expect("events").into_iter().map(|e| e.outcome).collect();
    (report, outcomes)
}

#[test]
fn an_unreadable_frame_is_skipped_and_counted_and_the_lane_ends() {
    let dir = frames_of("obama.jpg", 12);
    std::fs::write(dir.path().join("003b.jpg"), b"\xFF\xD8 not a frame").expect("writes");
    let source = Box::new(ImageFolderSource::open(dir.path(), 15.0).expect("opens"));
    let (report, outcomes) = run_lane(dir.path(), source, &mut [], &LaneOptions { drop_stale: false, ..LaneOptions::default() });
    assert_eq!(report.frames, 12);
    assert_eq!(report.unreadable_frames, 1);
    // One passenger, searched against an empty manifest: one decision, not on the manifest.
    assert_eq!(report.decisions, 1, "{report:?}");
    assert_eq!(outcomes, vec![Outcome::NotOnManifest]);
}

#[test]
fn a_live_lane_embeds_no_more_of_a_passenger_once_decided() {
    // Six seconds of one passenger at the kiosk, at a camera's pace: time enough to embed the
    // face the most times a track allows, had the lane not stopped at its decision (and to
    // decide on a busy machine: the default embedder runs three models).
    let dir = frames_of("obama.jpg", 90);
    let source = Box::new(Paced::new(Box::new(ImageFolderSource::open(dir.path(), 15.0).expect("opens"))));
    let options = LaneOptions::default();
    assert!(options.drop_stale, "a live lane");
    let (report, outcomes) = run_lane(dir.path(), source, &mut [], &options);
    assert_eq!(report.decisions, 1, "{report:?}");
    assert_eq!(outcomes.len(), 1);
    let embedded = report.embedded_frames.len();
    assert!((1..options.max_embeds_per_track as usize).contains(&embedded), "{:?}", report.embedded_frames);
}

#[test]
fn a_kiosk_file_that_cannot_be_written_is_counted_and_the_lane_goes_on() {
    let dir = frames_of("obama.jpg", 12);
    // Under a regular file: not writable, whoever runs the test.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"").expect("writes");
    let mut sinks: Vec<Box<dyn DecisionSink>> = vec![Box::new(KioskFile { path: blocker.join("kiosk.json") })];
    let source = Box::new(ImageFolderSource::open(dir.path(), 15.0).expect("opens"));
    let (report, outcomes) = run_lane(dir.path(), source, &mut sinks, &LaneOptions { drop_stale: false, ..LaneOptions::default() });
    assert_eq!((report.decisions, report.output_failures), (1, 1), "{report:?}");
    assert_eq!(outcomes, vec![Outcome::NotOnManifest], "the decision is recorded all the same");
}

/// A camera that never stops by itself: one passenger standing at the kiosk, frame after frame.
struct StandingPassenger {
    frame: RgbImage,
    index: u64,
}

impl FrameSource for StandingPassenger {
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let frame = Frame { index: self.index, timestamp_ms: self.index as f64 * 1000.0 / 15.0, image: self.frame.clone() };
        self.index += 1;
        Ok(Some(frame))
    }

    fn describe(&self) -> String {
        "a passenger at the kiosk".into()
    }
}

/// Starts a live lane (latest frame wins) over a camera that never ends, at a camera's pace, on
/// a thread of its own: its result comes on the receiver, so a lane that never stops fails the
/// test instead of hanging it.
fn start_live_lane(mut decider: impl Decider + Send + 'static, options: LaneOptions) -> Receiver<Result<LaneReport>> {
    let dir = frames_of("obama.jpg", 1);
    let frame = image::open(dir.path().join("000.png")).expect("the frame").to_rgb8();
    let camera = Box::new(Paced::new(Box::new(StandingPassenger { frame, index: 0 })));
    let engine = common::engine();
    assert!(options.drop_stale, "a live lane");
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let _ = tx.send(pipeline::run(engine, camera, &mut decider, &mut [], &options));
    });
    rx
}

/// How long a live lane may take to stop once its decider has failed: it should be a fraction
/// of a second (a frame, a model run), but the test machine may be loaded.
const STOPS_WITHIN: Duration = Duration::from_secs(20);
/// How long a live lane may take to reach its first decision, models warmed up.
const DECIDES_WITHIN: Duration = Duration::from_secs(60);

/// Rules whose store or service has gone: every question is an error, and it notes when.
#[derive(Clone, Default)]
struct Unanswerable {
    failed_at: Arc<Mutex<Option<Instant>>>,
    /// Only a ticket's question fails; a face's is "keep looking".
    only_tickets: bool,
}

impl Unanswerable {
    fn fail(&self) -> Result<Option<Decision>> {
        self.failed_at.lock().expect("lock").get_or_insert_with(Instant::now);
        Err(Error::Service { url: "http://station".into(), reason: "no answer for a minute".into() })
    }

    /// Waits for the lane's result: it must come within [`STOPS_WITHIN`] of the failure.
    fn lane_result(&self, lane: &Receiver<Result<LaneReport>>) -> Result<LaneReport> {
        let result = lane.recv_timeout(DECIDES_WITHIN + STOPS_WITHIN).expect("the lane stops instead of running on undecided");
        let failed_at = self.failed_at.lock().expect("lock").expect("the decider was asked");
        assert!(failed_at.elapsed() < STOPS_WITHIN, "stopped {:?} after the failure", failed_at.elapsed());
        result
    }
}

impl Decider for Unanswerable {
    fn decide(&mut self, _: u64, _: &[Observation]) -> Result<Option<Decision>> {
        if self.only_tickets {
            return Ok(None);
        }
        self.fail()
    }

    fn present(&mut self, _: u64, _: &Presented, _: &[Observation]) -> Result<Option<Decision>> {
        self.fail()
    }
}

#[test]
fn a_live_lane_whose_decider_fails_stops_with_that_error() {
    let decider = Unanswerable::default();
    let lane = start_live_lane(decider.clone(), LaneOptions::default());
    match decider.lane_result(&lane) {
        Err(Error::Stage { stage: "decide", error }) => {
            assert_eq!(error.to_string(), "station service http://station: no answer for a minute")
        }
        other => panic!("the decide stage's error: {other:?}"),
    }
}

/// Rules that panic, as a bug or a broken store might make them.
struct Panicking;

impl Decider for Panicking {
    fn decide(&mut self, _: u64, _: &[Observation]) -> Result<Option<Decision>> {
        panic!("the rules met a case they never expected")
    }

    fn present(&mut self, _: u64, _: &Presented, _: &[Observation]) -> Result<Option<Decision>> {
        panic!("the rules met a case they never expected")
    }
}

#[test]
fn a_live_lane_whose_decider_panics_stops_naming_the_stage() {
    let lane = start_live_lane(Panicking, LaneOptions::default());
    let result = lane.recv_timeout(DECIDES_WITHIN + STOPS_WITHIN).expect("the lane stops instead of hanging");
    match result {
        Err(Error::Panicked { stage: "decide", message }) => assert_eq!(message, "the rules met a case they never expected"),
        other => panic!("the decide stage's panic: {other:?}"),
    }
}

/// The station's metric `name` for `lane`, as it serves it now.
fn lane_metric(station: &TestStation, name: &str, lane: &str) -> Option<f64> {
    let mut answer = ureq::get(&format!("{}/metrics", station.url)).call().expect("metrics answer");
    let text = answer.body_mut().read_to_string().expect("text");
    let key = format!("{name}{{lane=\"{lane}\"}} ");
    text.lines().find_map(|l| l.split_once(&key)).and_then(|(_, value)| value.trim().parse().ok())
}

/// Polls `check` every 100 ms for up to `within`; whether it held.
fn eventually(within: Duration, check: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn a_lane_that_fails_reports_itself_down_to_the_service_and_stays_down() {
    let station = TestStation::start();
    let client = ServiceClient::new(&station.url, &station.lane_token("lane-1"), common::engine().embedder_id());
    let (ticket_tx, ticket_rx) = crossbeam_channel::bounded(1);
    let options = LaneOptions { presented: ticket_rx, ..LaneOptions::default() };
    let camera_up = Arc::new(AtomicBool::new(true));
    let workers =
        Workers::start(&client, options.live.clone(), camera_up, &options.shutdown, Arc::default(), Vec::new()).expect("workers start");
    let decider = Unanswerable { only_tickets: true, ..Unanswerable::default() };
    let lane = start_live_lane(decider.clone(), options);
    let up = || {
        lane_metric(&station, "lane_camera_up", "lane-1") == Some(1.0)
            && lane_metric(&station, "lane_fps", "lane-1").is_some_and(|fps| fps > 0.0)
    };
    assert!(eventually(DECIDES_WITHIN, up), "the running lane reports its camera up, with frames");
    // A ticket shown: the rules cannot answer, and the lane fails.
    ticket_tx.send(Presented::Qr("BC1.ticket".into())).expect("the lane takes tickets");
    assert!(matches!(decider.lane_result(&lane), Err(Error::Stage { stage: "decide", .. })));
    let down =
        || lane_metric(&station, "lane_camera_up", "lane-1") == Some(0.0) && lane_metric(&station, "lane_fps", "lane-1") == Some(0.0);
    assert!(eventually(Duration::from_secs(2), down), "reported down within 2 s of stopping");
    // The health worker stopped with the lane: no report says it is up again.
    std::thread::sleep(Duration::from_secs(5));
    assert!(down(), "still down");
    drop(workers);
}

/// A second process holding the database's write lock, as a stuck maintenance job might.
struct Locker(std::process::Child);

impl Locker {
    fn hold(db: &Path) -> Locker {
        let script = "import sqlite3, sys\n\
                      db = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
                      db.execute('BEGIN IMMEDIATE')\n\
                      print('locked', flush=True)\n\
                      sys.stdin.read()\n";
        let mut child = Command::new("python3")
            .args(["-c", script, &db.to_string_lossy()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut said = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut said).expect("reads");
        assert_eq!(said.trim(), "locked", "the database is locked");
        Locker(child)
    }
}

impl Drop for Locker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `boardcheck lane` over a recording, its database kept busy past the busy timeout by another
/// process: the process exits non-zero, the error on stderr naming the stage and the cause, so a
/// supervisor restarts it.
#[test]
fn a_lane_process_whose_database_stays_busy_exits_non_zero_saying_why() {
    let dir = frames_of("obama.jpg", 30);
    let db = dir.path().join("lane.db");
    drop(Store::open(&db).expect("creates the database"));
    let config = dir.path().join("lane.toml");
    let text = format!("source = \"{}\"\ndb = \"{}\"\ngate = \"3\"\n", dir.path().display(), db.display());
    std::fs::write(&config, text).expect("writes lane.toml");
    let _locker = Locker::hold(&db);
    let out = common::boardcheck(&["lane", "--config", &config.to_string_lossy()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("boardcheck: error: lane stage decide: ") && stderr.contains("database is locked"), "{stderr}");
}
