//! `boardcheck manifest import` and `boardcheck purge`: loading a bus's manifest into the
//! station store, and deleting personal data after departure.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::EngineArgs;
use boardcheck_core::clock::unix_now;
use boardcheck_core::manifest::import::{self, EnrolmentReport};
use boardcheck_core::manifest::keys::StationKeys;
use boardcheck_core::manifest::store::Store;
use boardcheck_core::manifest::Trip;
use boardcheck_vision::face::quality::QualityPolicy;

/// Where the station's database and key live.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// SQLite database (default: $XDG_DATA_HOME/boardcheck/station.db).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Station key file (default: station.key beside the database; created mode 0600).
    #[arg(long)]
    pub key: Option<PathBuf>,
}

impl StoreArgs {
    pub fn db_path(&self) -> anyhow::Result<PathBuf> {
        if let Some(db) = &self.db {
            return Ok(db.clone());
        }
        let data = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .ok_or_else(|| anyhow!("no --db given and neither XDG_DATA_HOME nor HOME is set"))?;
        Ok(data.join("boardcheck").join("station.db"))
    }

    pub fn open(&self) -> anyhow::Result<(Store, StationKeys)> {
        let db = self.db_path()?;
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let key = self.key.clone().unwrap_or_else(|| db.with_file_name("station.key"));
        Ok((Store::open(&db)?, StationKeys::load_or_create(&key)?))
    }
}

#[derive(Subcommand)]
pub enum ManifestCommand {
    /// Import a trip's manifest (CSV or JSON export) and enrol its ID photos.
    Import(ImportArgs),
}

#[derive(Args)]
pub struct ManifestArgs {
    #[command(subcommand)]
    command: ManifestCommand,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The trip the tickets belong to.
    #[arg(long)]
    trip: String,
    /// The ticketing system's export: .csv or .json, one row per ticket.
    #[arg(long)]
    file: PathBuf,
    /// Folder of ID photos (the row's `photo`, or `<ticket_id>.jpg`).
    #[arg(long)]
    photos: Option<PathBuf>,
    /// Route name (required for a new trip).
    #[arg(long)]
    route: Option<String>,
    /// Departure, RFC 3339 or unix seconds (required for a new trip).
    #[arg(long)]
    departure: Option<String>,
    /// Boarding gate (required for a new trip).
    #[arg(long)]
    gate: Option<String>,
    /// Print one JSON object: {"trip":…, "tickets":…, "enrolled":…, "issues":[…]}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Serialize)]
struct ImportReport<'a> {
    trip: &'a str,
    tickets: usize,
    enrolled: usize,
    issues: Vec<&'a EnrolmentReport>,
}

pub fn run(args: ManifestArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ManifestCommand::Import(args) => import_manifest(args),
    }
}

fn import_manifest(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let (store, keys) = args.store.open()?;
    let now = unix_now();
    let trip = merged_trip(&store, &args)?;
    store.upsert_trip(&trip)?;
    let export = import::read_export(&args.file, args.photos.as_deref())?;
    let mut engine_options = args.engine.options();
    engine_options.liveness = None; // an ID photo is a photo by definition
    engine_options.quality = QualityPolicy::ID_PHOTO;
    let engine = boardcheck_vision::face::FaceEngine::load(&boardcheck_vision::paths::home()?, &engine_options)?;
    let bar = super::progress_bar("enrolling");
    let reports = import::import(&store, &keys, &engine, &trip.id, &export, now, &|done, of| super::advance(&bar, done, of))?;
    bar.finish_and_clear();
    let issues: Vec<&EnrolmentReport> = reports.iter().filter(|r| r.issue.is_some()).collect();
    let report = ImportReport { trip: &trip.id, tickets: export.tickets.len(), enrolled: reports.len() - issues.len(), issues };
    if args.json {
        super::print_json(&report)?;
    } else {
        println!("trip {}: {} tickets imported, {} photos enrolled", report.trip, report.tickets, report.enrolled);
        for r in &report.issues {
            println!("  ticket {}: {} (boards by the manual path)", r.ticket_id, r.issue.as_deref().unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The trip from the flags, falling back to what the store has for fields not given.
fn merged_trip(store: &Store, args: &ImportArgs) -> anyhow::Result<Trip> {
    let known = store.trip(&args.trip)?;
    let departure = args.departure.as_deref().map(parse_time).transpose()?;
    match known {
        Some(t) => Ok(Trip {
            id: t.id,
            route: args.route.clone().unwrap_or(t.route),
            departure: departure.unwrap_or(t.departure),
            gate: args.gate.clone().unwrap_or(t.gate),
        }),
        None => {
            let (Some(route), Some(departure), Some(gate)) = (args.route.clone(), departure, args.gate.clone()) else {
                bail!("trip {} is new: give --route, --departure and --gate", args.trip);
            };
            Ok(Trip { id: args.trip.clone(), route, departure, gate })
        }
    }
}

#[derive(Args)]
pub struct PurgeArgs {
    /// Delete personal data of trips that departed longer ago than this many hours.
    #[arg(long, default_value_t = 24)]
    retention_hours: i64,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn purge(args: PurgeArgs) -> anyhow::Result<ExitCode> {
    let (store, _) = args.store.open()?;
    let summary = store.purge(unix_now(), args.retention_hours * 3600)?;
    if args.json {
        super::print_json(&summary)?;
    } else {
        println!("purged {} trips, {} tickets (templates and personal fields deleted; counts kept)", summary.trips, summary.tickets);
    }
    Ok(ExitCode::SUCCESS)
}

/// RFC 3339 or unix seconds.
pub fn parse_time(text: &str) -> anyhow::Result<i64> {
    let secs = boardcheck_core::ticket::time::parse_time(text).map_err(|e| anyhow!(e))?;
    i64::try_from(secs).map_err(|_| anyhow!("'{text}' is too far in the future"))
}
