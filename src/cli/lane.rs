//! `boardcheck lane --config lane.toml`: one boarding lane, camera to decisions. A lane that
//! cannot decide (its store busy, the service gone, a stage failed) exits non-zero with the
//! error on stderr, so systemd or any supervisor restarts it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::Args;

use super::manifest::StoreArgs;
use boardcheck_core::clock::unix_now;
use boardcheck_core::decider::{LocalDecider, TicketKeys};
use boardcheck_core::manifest::cache::ManifestCache;
use boardcheck_core::ticket::IssuerKeys;
use boardcheck_lane::client::workers::Workers;
use boardcheck_lane::client::{ServiceClient, ServiceDecider};
use boardcheck_lane::config::LaneConfig;
use boardcheck_lane::pipeline::{self, LaneOptions, LaneReport};
use boardcheck_lane::{ingest, outputs, presented};
use boardcheck_vision::face::{EngineOptions, FaceEngine};
use boardcheck_vision::paths;

#[derive(Args)]
pub struct LaneArgs {
    /// The lane's configuration (every key optional but which trips it boards).
    #[arg(long)]
    config: PathBuf,
}

/// How often a lane with `qr_from_camera` looks for a QR code: often enough that a code held
/// up is read within a second, rarely enough to leave the CPU to the faces.
const CAMERA_QR_PER_SECOND: f64 = 3.0;

pub fn run(args: LaneArgs) -> anyhow::Result<ExitCode> {
    let config = LaneConfig::load(&args.config)?;
    let mut engine_options = EngineOptions::default();
    engine_options.runtime.intra_threads = config.threads.max(1);
    let engine = Arc::new(FaceEngine::load(&paths::home()?, &engine_options).context("loading the vision core")?);

    let live = ingest::SourceSpec::parse(&config.source)?.is_live();
    let camera_up = Arc::new(AtomicBool::new(true));
    let mut options = LaneOptions { drop_stale: config.drop_stale.unwrap_or(live), ..LaneOptions::default() };
    let source: Box<dyn ingest::FrameSource> = if live {
        // A lane camera is reopened with back-off for as long as the lane runs.
        let (lane, up) = (config.lane.clone(), camera_up.clone());
        let on_status = Box::new(move |status: &ingest::SourceStatus| {
            up.store(matches!(status, ingest::SourceStatus::Up), Ordering::Relaxed);
            eprintln!("lane {lane}: camera {status:?}");
        });
        let camera = ingest::Reconnecting::open(&config.source, ingest::ReconnectPolicy::default(), on_status)?;
        // A lane that stops ends a read waiting out a back-off too.
        options.shutdown.also_stop(camera.stop_handle());
        Box::new(camera)
    } else {
        ingest::open_source(&config.source)?
    };
    let mut sinks = outputs::from_config(&config.outputs);
    if config.qr_from_camera {
        options.qr_per_second = CAMERA_QR_PER_SECOND;
    }
    if let Some(scanner) = &config.scanner {
        options.presented = presented::read(scanner, engine.clone())?;
    }
    let report = match &config.service_url {
        Some(url) => {
            let token = config.token()?.context("token_file")?;
            let mut client = ServiceClient::new(url, &token, engine.embedder_id());
            if let Some(ca_file) = &config.ca_file {
                client = client.pinned(ca_file)?;
            }
            let checks = Arc::new(Mutex::new(HashMap::new()));
            let resolutions = outputs::from_config(&config.outputs);
            // Dropped as this arm ends, whether the lane ended or failed: the service hears the camera is down.
            let _workers = Workers::start(&client, options.live.clone(), camera_up, &options.shutdown, checks.clone(), resolutions)?;
            eprintln!("lane {}: deciding through the station service at {url}", config.lane);
            pipeline::run(&engine, source, &mut ServiceDecider::new(client, checks), &mut sinks, &options)?
        }
        None => {
            let (store, keys) = StoreArgs { db: config.db.clone(), key: config.key.clone() }.open()?;
            // The manifest is read through the cache: trips that open later, re-imports and
            // refunds reach the lane within seconds, without a restart.
            let cache = ManifestCache::default();
            let scope = config.scope();
            let manifest = cache.get(&store, &keys, &config.lane, &scope, engine.embedder_id(), unix_now())?;
            if !manifest.serves_any() {
                tracing::warn!(lane = %config.lane, "no trip boarding at this lane now: passengers are sent to staff until one opens");
            }
            eprintln!(
                "lane {}: {} trips boarding in the station, {} served here now, {} templates",
                config.lane,
                manifest.trips.len(),
                manifest.trips.iter().filter(|t| scope.serves(t)).count(),
                manifest.candidates.len()
            );
            let issuers = match &config.issuer_keys {
                Some(path) => IssuerKeys::load(path)?,
                None => IssuerKeys::default(), // no trusted issuer: every QR e-ticket is refused
            };
            let keys = TicketKeys { station: &keys, issuers: &issuers };
            let (lane, model) = (config.lane.clone(), engine.embedder_id().to_string());
            let mut decider = LocalDecider { cache: &cache, store: &store, keys, lane, scope, model, policy: config.policy };
            pipeline::run(&engine, source, &mut decider, &mut sinks, &options)?
        }
    };
    print_summary(&report);
    Ok(ExitCode::SUCCESS)
}

/// The lane's closing summary on stderr.
pub fn print_summary(report: &LaneReport) {
    eprintln!(
        "{} frames in {:.1} s ({:.1} fps), {} decisions, {} dropped, {} unreadable, {} tracks left undecided, {} not taken by an output",
        report.frames,
        report.wall_s,
        report.frames as f64 / report.wall_s.max(1e-9),
        report.decisions,
        report.dropped,
        report.unreadable_frames,
        report.undecided_tracks.len(),
        report.output_failures
    );
    for s in report.stages.iter().chain(std::iter::once(&report.e2e)) {
        eprintln!("  {:<8} p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms  ({} items)", s.name, s.p50_ms, s.p95_ms, s.p99_ms, s.count);
    }
}
