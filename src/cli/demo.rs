//! `boardcheck demo`: the main job, end to end on the embedded default. From the fixture
//! faces it makes two trips' manifests (ID-card-like photos) and a lane video of passengers
//! walking up; imports the manifests into a fresh SQLite file; runs the lane over the video;
//! a staff member resolves the manual checks; one line per passenger decision and a summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::lane::print_summary;
use boardcheck_core::boarding::{self, kiosk, BoardingWindow, LaneScope, Policy, Resolution, StaffReason};
use boardcheck_core::clock::unix_now;
use boardcheck_core::decider::{LocalDecider, TicketKeys};
use boardcheck_core::manifest::cache::ManifestCache;
use boardcheck_core::manifest::import::{self, Export};
use boardcheck_core::manifest::keys::StationKeys;
use boardcheck_core::manifest::store::Store;
use boardcheck_core::manifest::{DocumentType, NewTicket, Trip};
use boardcheck_core::ticket::IssuerKeys;
use boardcheck_eval::demo_video::{self, DemoPassenger, Presentation};
use boardcheck_lane::outputs::DecisionSink;
use boardcheck_lane::pipeline::{self, LaneDecision, LaneOptions};
use boardcheck_vision::face::quality::QualityPolicy;
use boardcheck_vision::face::{EngineOptions, FaceEngine};
use boardcheck_vision::paths;

#[derive(Args)]
pub struct DemoArgs {
    /// One JSON object per decision, then `{"summary":…}`.
    #[arg(long)]
    json: bool,
    /// Keep the demo's database and key here instead of a temporary folder.
    #[arg(long)]
    keep: Option<PathBuf>,
}

/// A ticket of the demo: who, which trip, and the photo its ID-card picture is made from.
struct DemoTicket {
    id: &'static str,
    trip: &'static str,
    seat: &'static str,
    name: &'static str,
    child: bool,
    photo: &'static str,
    face: usize,
}

const TICKETS: [DemoTicket; 5] = [
    DemoTicket { id: "G3-0801-01", trip: "G3-0801", seat: "01", name: "Barack Obama", child: false, photo: "obama.jpg", face: 0 },
    DemoTicket { id: "G3-0801-02", trip: "G3-0801", seat: "02", name: "Joe Biden", child: false, photo: "biden.jpg", face: 0 },
    DemoTicket { id: "G3-0801-03", trip: "G3-0801", seat: "03", name: "Child passenger", child: true, photo: "sample6.jpg", face: 1 },
    DemoTicket { id: "G3-0801-04", trip: "G3-0801", seat: "04", name: "Phone holder", child: false, photo: "sample2.jpg", face: 1 },
    DemoTicket { id: "G7-0830-11", trip: "G7-0830", seat: "11", name: "Tom Hanks", child: false, photo: "Tom_Hanks_54745.png", face: 0 },
];

/// Bump when the tickets, the walk order or the rendering change: the generated files are
/// made once per version.
const DEMO_VERSION: u32 = 3;

/// Who walks up to lane 1 (gate 3), in order, and what should happen.
fn walk_order(fixtures: &Path) -> Vec<DemoPassenger> {
    let live = |label: &str, photo: &str, face: usize| DemoPassenger { face, ..DemoPassenger::new(label, fixtures.join(photo)) };
    vec![
        live("obama: on the manifest → boarded", "obama2.jpg", 0),
        live("biden: on the manifest → boarded", "biden.jpg", 0),
        live("stranger: no ticket → not on manifest", "sample6.jpg", 2),
        live("tom hanks: ticket for gate 7 → wrong bus", "Tom_Hanks_54745.png", 0),
        live("obama again → already boarded", "obama3.jpg", 0),
        live("child ticket → manual check", "sample6.jpg", 1),
        DemoPassenger { presentation: Presentation::ScreenReplay, ..live("photo on a phone → spoof suspected", "sample2.jpg", 1) },
    ]
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let home = paths::home()?;
    let fixtures = paths::fixtures(&home);
    let generated = home.join("fixtures").join("generated").join(format!("demo-v{DEMO_VERSION}"));
    let engine = FaceEngine::load(&home, &EngineOptions::default()).context("loading the vision core")?;
    let video = prepare_fixtures(&engine, &fixtures, &generated)?;

    let temp = tempfile::tempdir()?;
    let dir = args.keep.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("station.db");
    if db.exists() {
        anyhow::bail!("{} exists: the demo starts from a fresh database", db.display());
    }
    let store = Store::open(&db)?;
    let keys = StationKeys::load_or_create(&dir.join("station.key"))?;
    let now = unix_now();
    let trips = [
        Trip { id: "G3-0801".to_string(), route: "Hefei → Wuhu".to_string(), departure: now + 20 * 60, gate: "3".to_string() },
        Trip { id: "G7-0830".to_string(), route: "Hefei → Nanjing".to_string(), departure: now + 50 * 60, gate: "7".to_string() },
    ];
    let id_photo_engine =
        FaceEngine::load(&home, &EngineOptions { liveness: None, quality: QualityPolicy::ID_PHOTO, ..EngineOptions::default() })?;
    for trip in &trips {
        store.upsert_trip(trip)?;
        let export = demo_export(&trip.id, &generated);
        let reports = import::import(&store, &keys, &id_photo_engine, &trip.id, &export, now, &|_, _| {})?;
        for r in reports.iter().filter(|r| r.issue.is_some()) {
            eprintln!("demo: ticket {} not enrolled: {}", r.ticket_id, r.issue.as_deref().unwrap_or_default());
        }
    }
    if !args.json {
        println!("boardcheck demo: {} tickets on 2 trips imported into {}; lane 1 boards gate 3", TICKETS.len(), db.display());
    }

    let scope = LaneScope { gate: Some("3".to_string()), trips: Vec::new(), window: BoardingWindow::minutes(60, 30) };
    let cache = ManifestCache::default();
    let mut sinks: Vec<Box<dyn DecisionSink>> = vec![Box::new(DemoPrinter { json: args.json, outcomes: BTreeMap::new() })];
    let options = LaneOptions { drop_stale: false, ..LaneOptions::default() };
    let issuers = IssuerKeys::default(); // the demo's passengers show no e-tickets
    let keys = TicketKeys { station: &keys, issuers: &issuers };
    let (lane, model) = ("lane-1".to_string(), engine.embedder_id().to_string());
    let mut decider = LocalDecider { cache: &cache, store: &store, keys, lane, scope: scope.clone(), model, policy: Policy::default() };
    let source = boardcheck_lane::ingest::open_source(&video.to_string_lossy())?;
    let report = pipeline::run(&engine, source, &mut decider, &mut sinks, &options)?;

    // The staff console's part: a supervisor checks the child's ID by hand and approves.
    let mut staff_decisions = Vec::new();
    for check in store.pending_manual_checks()? {
        if check.reason == "child" {
            let resolution = Resolution {
                approve: true,
                staff: "demo-staff",
                reason: StaffReason::ChildWithGuardian,
                note: None,
                ticket: None,
                overriding: false,
            };
            let decision = boarding::resolve(&store, check.id, &scope, &resolution, unix_now())?;
            staff_decisions.push(decision);
        }
    }
    // Staff answer after the video ends; the line says so with the video's end time.
    let end_t = report.frames as f64 / demo_video::FPS;
    for decision in &staff_decisions {
        let line = LaneDecision { t: end_t, track: 0, kiosk: kiosk::view(decision), decision: decision.clone(), latency_ms: 0.0 };
        sinks[0].emit(&line)?;
    }

    let events = store.events_since(0)?;
    let mut by_outcome: BTreeMap<String, usize> = BTreeMap::new();
    for e in &events {
        *by_outcome.entry(e.outcome.word().to_string()).or_default() += 1;
    }
    let wall_s = started.elapsed().as_secs_f64();
    if args.json {
        let summary = serde_json::json!({ "summary": {
            "decisions": report.decisions + staff_decisions.len(),
            "events_by_outcome": by_outcome,
            "frames": report.frames,
            "fps": report.frames as f64 / report.wall_s.max(1e-9),
            "stages": report.stages,
            "e2e": report.e2e,
            "undecided_tracks": report.undecided_tracks.len(),
            "wall_s": wall_s,
        }});
        println!("{summary}");
    } else {
        println!("summary: {} decisions; events {:?}; demo took {wall_s:.1} s", report.decisions + staff_decisions.len(), by_outcome);
        print_summary(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// The demo's ID photos and video, made once into `generated` (git-ignored) from the fixtures.
fn prepare_fixtures(engine: &FaceEngine, fixtures: &Path, generated: &Path) -> anyhow::Result<PathBuf> {
    let video = generated.join("lane1.avi");
    let photos: Vec<PathBuf> = TICKETS.iter().map(|t| generated.join(format!("{}.jpg", t.id))).collect();
    if video.is_file() && photos.iter().all(|p| p.is_file()) {
        return Ok(video);
    }
    std::fs::create_dir_all(generated).with_context(|| format!("creating {}", generated.display()))?;
    for (ticket, out) in TICKETS.iter().zip(&photos) {
        demo_video::write_id_photo(engine, &fixtures.join(ticket.photo), ticket.face, out)?;
    }
    let partial = generated.join("lane1.partial.avi");
    demo_video::render_video(engine, &walk_order(fixtures), &partial, 20_201_130)?;
    std::fs::rename(&partial, &video).with_context(|| format!("moving {} into place", partial.display()))?;
    Ok(video)
}

/// The ticketing export of one demo trip, photos from the generated folder.
fn demo_export(trip: &str, generated: &Path) -> Export {
    let rows: Vec<&DemoTicket> = TICKETS.iter().filter(|t| t.trip == trip).collect();
    Export {
        tickets: rows
            .iter()
            .enumerate()
            .map(|(i, t)| NewTicket {
                id: t.id.to_string(),
                seat: t.seat.to_string(),
                name: t.name.to_string(),
                document_type: DocumentType::IdCard,
                document_number: format!("34010119850101{:04}", 1000 + i),
                child: t.child,
                refunded: false,
            })
            .collect(),
        photos: rows.iter().map(|t| Some(generated.join(format!("{}.jpg", t.id)))).collect(),
    }
}

/// Prints each decision: a line for people, or the JSON object the issue specifies.
struct DemoPrinter {
    json: bool,
    outcomes: BTreeMap<String, usize>,
}

impl DecisionSink for DemoPrinter {
    fn emit(&mut self, d: &LaneDecision) -> boardcheck_lane::Result<()> {
        *self.outcomes.entry(d.decision.outcome.word().to_string()).or_default() += 1;
        let method =
            d.decision.method.map(|m| serde_json::to_value(m).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default());
        if self.json {
            let line = serde_json::json!({
                "t": (d.t * 100.0).round() / 100.0,
                "track": d.track,
                "outcome": d.decision.outcome,
                "method": method,
                "ticket": d.decision.ticket,
                "latency_ms": (d.latency_ms * 10.0).round() / 10.0,
            });
            println!("{line}");
        } else {
            let detail = d
                .decision
                .gate
                .as_ref()
                .map(|g| format!(" (gate {g})"))
                .or_else(|| d.decision.reason.as_ref().map(|r| format!(" ({r})")))
                .unwrap_or_default();
            println!(
                "t={:>5.1}s track {:>2}: {:<16} {:<11} ticket {:<11} {:>6.0} ms  kiosk: {}{}",
                d.t,
                d.track,
                d.decision.outcome,
                method.as_deref().unwrap_or("-"),
                d.decision.ticket.as_deref().unwrap_or("-"),
                d.latency_ms,
                d.kiosk.en,
                detail
            );
        }
        Ok(())
    }
}
