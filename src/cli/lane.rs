//! `boardcheck lane --config lane.toml`: one boarding lane, camera to decisions.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::manifest::StoreArgs;
use boardcheck::clock::unix_now;
use boardcheck::face::{EngineOptions, FaceEngine};
use boardcheck::ingest;
use boardcheck::paths;
use boardcheck::pipeline::config::LaneConfig;
use boardcheck::pipeline::sinks::{JsonLines, KioskFile, Relay};
use boardcheck::pipeline::{self, DecisionSink, LaneManifest, LaneOptions, LaneReport};

#[derive(Args)]
pub struct LaneArgs {
    /// The lane's configuration (every key optional but which trips it boards).
    #[arg(long)]
    config: PathBuf,
}

pub fn run(args: LaneArgs) -> anyhow::Result<ExitCode> {
    let config = LaneConfig::load(&args.config)?;
    let (store, keys) = StoreArgs { db: config.db.clone(), key: config.key.clone() }.open()?;
    let mut engine_options = EngineOptions::default();
    engine_options.runtime.intra_threads = config.threads.max(1);
    let engine = FaceEngine::load(&paths::home()?, &engine_options).context("loading the vision core")?;

    let now = unix_now();
    let station = store.trips_boarding(now, config.window_before_min * 60, config.window_after_min * 60)?;
    let served: HashSet<String> = station
        .iter()
        .filter(|t| config.trips.contains(&t.id) || config.gate.as_deref() == Some(t.gate.as_str()))
        .map(|t| t.id.clone())
        .collect();
    if served.is_empty() {
        tracing::warn!(lane = %config.lane, "no trip boarding at this lane now: every passenger will be sent to staff");
    }
    let manifest = LaneManifest::load(&store, &keys, &station, served)?;
    eprintln!(
        "lane {}: {} trips boarding in the station, {} served here, {} templates",
        config.lane,
        station.len(),
        manifest.served_trips.len(),
        manifest.candidates.len()
    );

    let live = ingest::SourceSpec::parse(&config.source)?.is_live();
    let source: Box<dyn ingest::FrameSource> = if live {
        // A lane camera is reopened with back-off for as long as the lane runs.
        let lane = config.lane.clone();
        let on_status = Box::new(move |status: &ingest::SourceStatus| eprintln!("lane {lane}: camera {status:?}"));
        Box::new(ingest::Reconnecting::open(&config.source, ingest::ReconnectPolicy::default(), on_status)?)
    } else {
        ingest::open_source(&config.source)?
    };
    let mut sinks: Vec<Box<dyn DecisionSink>> = Vec::new();
    if config.outputs.stdout_json {
        sinks.push(Box::new(JsonLines));
    }
    if let Some(url) = &config.outputs.relay_url {
        sinks.push(Box::new(Relay::new(url.clone())));
    }
    if let Some(path) = &config.outputs.kiosk_file {
        sinks.push(Box::new(KioskFile { path: path.clone() }));
    }
    let options = LaneOptions {
        lane: config.lane.clone(),
        policy: config.policy,
        drop_stale: config.drop_stale.unwrap_or(live),
        ..LaneOptions::default()
    };
    let report = pipeline::run(&engine, source, &manifest, &store, &mut sinks, &options)?;
    print_summary(&report);
    Ok(ExitCode::SUCCESS)
}

/// The lane's closing summary on stderr.
pub fn print_summary(report: &LaneReport) {
    eprintln!(
        "{} frames in {:.1} s ({:.1} fps), {} decisions, {} dropped, {} unreadable, {} tracks left undecided",
        report.frames,
        report.wall_s,
        report.frames as f64 / report.wall_s.max(1e-9),
        report.decisions,
        report.dropped,
        report.unreadable_frames,
        report.undecided_tracks.len()
    );
    for s in report.stages.iter().chain(std::iter::once(&report.e2e)) {
        eprintln!("  {:<8} p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms  ({} items)", s.name, s.p50_ms, s.p95_ms, s.p99_ms, s.count);
    }
}
