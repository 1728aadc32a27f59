//! The lane end to end: the demo (fixture manifest → SQLite → pipeline over a rendered video)
//! and the pipeline over an image folder with an unreadable frame.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use boardcheck_core::boarding::{BoardingWindow, LaneScope, Outcome, Policy};
use boardcheck_core::decider::{LocalDecider, TicketKeys};
use boardcheck_core::manifest::cache::ManifestCache;
use boardcheck_core::manifest::keys::StationKeys;
use boardcheck_core::manifest::store::Store;
use boardcheck_core::ticket::IssuerKeys;
use boardcheck_lane::ingest::{FrameSource, ImageFolderSource, Paced};
use boardcheck_lane::pipeline::{self, LaneOptions, LaneReport};
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
/// as not on it), its store in `dir`: the report and the outcomes recorded.
fn run_lane(dir: &Path, source: Box<dyn FrameSource>, options: &LaneOptions) -> (LaneReport, Vec<Outcome>) {
    let store = Store::open(&dir.join("lane.db")).expect("store");
    let cache = ManifestCache::default();
    let station_keys = StationKeys::load_or_create(&dir.join("station.key")).expect("station key");
    let issuers = IssuerKeys::default();
    let keys = TicketKeys { station: &station_keys, issuers: &issuers };
    let scope = LaneScope { gate: Some("3".into()), trips: Vec::new(), window: BoardingWindow::minutes(60, 30) };
    let (lane, model) = ("lane-1".to_string(), common::engine().embedder_id().to_string());
    let mut decider = LocalDecider { cache: &cache, store: &store, keys, lane, scope, model, policy: Policy::default() };
    let report = pipeline::run(common::engine(), source, &mut decider, &mut [], options).expect("runs to the end");
    let outcomes = store.events_since(0).expect("events").into_iter().map(|e| e.outcome).collect();
    (report, outcomes)
}

#[test]
fn an_unreadable_frame_is_skipped_and_counted_and_the_lane_ends() {
    let dir = common::station::frames_of("obama.jpg", 12);
    std::fs::write(dir.path().join("003b.jpg"), b"\xFF\xD8 not a frame").expect("writes");
    let source = Box::new(ImageFolderSource::open(dir.path(), 15.0).expect("opens"));
    let (report, outcomes) = run_lane(dir.path(), source, &LaneOptions { drop_stale: false, ..LaneOptions::default() });
    assert_eq!(report.frames, 12);
    assert_eq!(report.unreadable_frames, 1);
    // One passenger, searched against an empty manifest: one decision, not on the manifest.
    assert_eq!(report.decisions, 1, "{report:?}");
    assert_eq!(outcomes, vec![Outcome::NotOnManifest]);
}

#[test]
fn a_live_lane_embeds_no_more_of_a_passenger_once_decided() {
    // Three seconds of one passenger at the kiosk, at a camera's pace: time enough to embed
    // the face the most times a track allows, had the lane not stopped at its decision.
    let dir = common::station::frames_of("obama.jpg", 45);
    let source = Box::new(Paced::new(Box::new(ImageFolderSource::open(dir.path(), 15.0).expect("opens"))));
    let options = LaneOptions::default();
    assert!(options.drop_stale, "a live lane");
    let (report, outcomes) = run_lane(dir.path(), source, &options);
    assert_eq!(report.decisions, 1, "{report:?}");
    assert_eq!(outcomes.len(), 1);
    let embedded = report.embedded_frames.len();
    assert!((1..options.max_embeds_per_track as usize).contains(&embedded), "{:?}", report.embedded_frames);
}
