//! Command-line interface (design brief §3). JSON goes to stdout, logs and progress to stderr.

mod bench;
mod demo;
mod detect;
mod eval;
mod lane;
mod manifest;
mod serve;
mod ticket;
mod verify;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use boardcheck_vision::face::liveness::LivenessKind;
use boardcheck_vision::face::{DetectorKind, EmbedderKind, EngineOptions, FaceEngine};
use boardcheck_vision::paths;

#[derive(Parser)]
#[command(name = "boardcheck", version, about = "Face-recognition boarding check for bus-station boarding lanes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The main job: fixture manifest → SQLite → lane pipeline over a video → decisions.
    Demo(demo::DemoArgs),
    /// Import a trip's manifest and enrol its ID photos.
    Manifest(manifest::ManifestArgs),
    /// Run one boarding lane from its lane.toml.
    Lane(lane::LaneArgs),
    /// The station service: staff console, kiosk pages, and the API the lanes decide through.
    Serve(serve::ServeArgs),
    /// Staff accounts of the console.
    Staff(serve::StaffArgs),
    /// Per-stage and end-to-end latency of the lane pipeline over a video or image folder.
    Bench(bench::BenchArgs),
    /// Delete templates and personal data of departed trips (keeping anonymous counts).
    Purge(manifest::PurgeArgs),
    /// Compare the main faces of two images (1:1).
    Verify(verify::VerifyArgs),
    /// Find faces in an image and report box, keypoints, quality and liveness.
    Detect(detect::DetectArgs),
    /// Measure accuracy on a labelled data set (or presentation-attack detection with --pad).
    Eval(eval::EvalArgs),
    /// QR e-tickets: make issuer keys, issue and verify tokens.
    Ticket(ticket::TicketArgs),
}

/// Engine choices shared by every command that runs the vision core.
#[derive(Args, Debug, Clone)]
pub struct EngineArgs {
    /// Face detector.
    #[arg(long, value_enum, default_value_t = DetectorKind::Rfb)]
    detector: DetectorKind,
    /// Embedding models.
    #[arg(long, value_enum, default_value_t = EngineOptions::default().embedder)]
    embedder: EmbedderKind,
    /// Embed each face without its mirror image.
    #[arg(long)]
    no_flip: bool,
    /// Anti-spoofing model.
    #[arg(long, value_enum, default_value_t = LivenessKind::Antispoof256)]
    liveness: LivenessKind,
    /// Spoof score at or above which a face is called an attack (default: the model's calibrated one).
    #[arg(long)]
    liveness_threshold: Option<f32>,
    /// Skip the anti-spoofing model.
    #[arg(long)]
    no_liveness: bool,
    /// Threads per inference (ONNX Runtime intra-op threads).
    #[arg(long)]
    threads: Option<usize>,
    /// Sessions per model: inferences of one model that may run at once (default: one per core).
    #[arg(skip)]
    sessions: Option<usize>,
}

impl EngineArgs {
    pub fn options(&self) -> EngineOptions {
        let mut options = EngineOptions {
            detector: self.detector,
            embedder: self.embedder,
            flip_fusion: !self.no_flip,
            liveness: (!self.no_liveness).then_some(self.liveness),
            ..EngineOptions::default()
        };
        options.liveness_threshold = self.liveness_threshold;
        if let Some(threads) = self.threads {
            options.runtime.intra_threads = threads;
        }
        if let Some(sessions) = self.sessions {
            options.runtime.sessions = sessions;
        }
        options
    }

    pub fn load(&self) -> anyhow::Result<FaceEngine> {
        let home = paths::home()?;
        FaceEngine::load(&home, &self.options()).context("loading the vision core")
    }
}

/// A progress bar on stderr for work measured as it goes (hidden when stderr is not a terminal).
pub fn progress_bar(what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Moves `bar` to `done` of `of`, as a library's progress callback reports it.
pub fn advance(bar: &indicatif::ProgressBar, done: usize, of: usize) {
    bar.set_length(of as u64);
    bar.set_position(done as u64);
}

/// Prints `value` as one line of JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

pub fn run() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("BOARDCHECK_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Manifest(args) => manifest::run(args),
        Command::Lane(args) => lane::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Staff(args) => serve::staff(args),
        Command::Bench(args) => bench::run(args),
        Command::Purge(args) => manifest::purge(args),
        Command::Verify(args) => verify::run(args),
        Command::Detect(args) => detect::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Ticket(args) => ticket::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("boardcheck: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
