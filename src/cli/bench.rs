//! `boardcheck bench --source PATH`: per-stage and end-to-end latency of the lane pipeline.

use std::process::ExitCode;

use clap::Args;

use super::EngineArgs;
use boardcheck_eval::bench;

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
    let line = |name: &str, p: &bench::Percentiles, note: &str| {
        println!("  {name:<8} p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms{note}", p.p50_ms, p.p95_ms, p.p99_ms)
    };
    for (name, p) in report.stages.iter().chain(std::iter::once((&"e2e".to_string(), &report.e2e))) {
        line(name, p, "");
    }
    let ratio = |e2e: &bench::Percentiles, floor: &bench::Percentiles| {
        let r = |e: f64, f: f64| e / f.max(1e-9);
        format!("p50 {:.2}  p95 {:.2}  p99 {:.2}", r(e2e.p50_ms, floor.p50_ms), r(e2e.p95_ms, floor.p95_ms), r(e2e.p99_ms, floor.p99_ms))
    };
    // The floor, the one back to back beside it, and e2e over each.
    let floors = |e2e: &bench::Percentiles, floor: &bench::Percentiles, back_to_back: Option<&bench::Percentiles>, note: &str| {
        line("floor", floor, note);
        if let Some(back_to_back) = back_to_back {
            line("", back_to_back, " (back to back: caches warm from the frame before)");
        }
        println!("  e2e/floor {}", ratio(e2e, floor));
        if let Some(back_to_back) = back_to_back {
            println!("  e2e/floor back to back {}", ratio(e2e, back_to_back));
        }
    };
    let pace = if report.floor.paced { ", at the source's rate" } else { "" };
    let note = format!(" (raw detector + embedder inference on the same {} frames{pace})", report.floor.frames);
    floors(&report.e2e, &report.floor.percentiles, report.floor.back_to_back.as_ref(), &note);
    let chosen = &report.embedded;
    println!("  the {} frames a face was chosen on (liveness and embedding):", chosen.frames);
    line("e2e", &chosen.e2e, "");
    floors(&chosen.e2e, &chosen.floor, chosen.back_to_back.as_ref(), "");
    line(
        "decision",
        &report.decisions.latency,
        &format!(" ({} tracks: deciding frame's arrival to the recorded decision)", report.decisions.count),
    );
    Ok(ExitCode::SUCCESS)
}
