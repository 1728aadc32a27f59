//! `boardcheck bench --source PATH`: per-stage and end-to-end latency of the lane pipeline.

use std::process::ExitCode;

use clap::Args;

use super::EngineArgs;
use boardcheck::bench;

#[derive(Args)]
pub struct BenchArgs {
    /// A video file or an image folder.
    #[arg(long)]
    source: String,
    /// Stop after this many frames.
    #[arg(long)]
    frames: Option<u64>,
    /// Feed frames at the source's own frame rate, as a camera would (default: as fast as
    /// they decode, to measure throughput).
    #[arg(long)]
    realtime: bool,
    /// Print `{"frames":…, "fps":…, "dropped":…, "stages":{…}, "e2e":{…}, "floor":{…}}`.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let mut engine_args = args.engine.clone();
    // One session per model: a lane has one camera, the stages run one frame each at a time.
    engine_args.sessions = Some(1);
    let engine = engine_args.load()?;
    let threads = engine_args.threads.unwrap_or(1);
    let report = bench::run(&engine, &args.source, args.frames, threads, args.realtime)?;
    if args.json {
        super::print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: {} frames, {:.1} fps end to end, {} dropped ({} inference thread(s))",
        report.source, report.frames, report.fps, report.dropped, threads
    );
    for (name, p) in report.stages.iter().chain(std::iter::once((&"e2e".to_string(), &report.e2e))) {
        println!("  {name:<8} p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms", p.p50_ms, p.p95_ms, p.p99_ms);
    }
    let floor = &report.floor;
    println!(
        "  floor    p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms (raw detector + embedder inference on the same {} frames)",
        floor.p50_ms, floor.p95_ms, floor.p99_ms, floor.frames
    );
    let ratio = |e2e: f64, floor: f64| e2e / floor.max(1e-9);
    println!(
        "  e2e/floor p50 {:.2}  p95 {:.2}  p99 {:.2}",
        ratio(report.e2e.p50_ms, floor.p50_ms),
        ratio(report.e2e.p95_ms, floor.p95_ms),
        ratio(report.e2e.p99_ms, floor.p99_ms)
    );
    Ok(ExitCode::SUCCESS)
}
