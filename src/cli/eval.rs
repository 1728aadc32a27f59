//! `boardcheck eval`: accuracy on a labelled data set, or presentation-attack figures.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::EngineArgs;
use boardcheck_eval::accuracy::{self, dataset::Dataset, pad, plot, rate_key, EvalOptions, EvalReport};

#[derive(Args)]
pub struct EvalArgs {
    /// DIR/<identity>/<image>, or with --pad DIR/bona-fide and DIR/attack-*.
    #[arg(long)]
    dataset: PathBuf,
    /// Measure presentation-attack detection instead of recognition.
    #[arg(long)]
    pad: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Draw the DET curve to this PNG.
    #[arg(long, value_name = "FILE.png")]
    plot: Option<PathBuf>,
    /// Random manifests drawn for the boarding protocol.
    #[arg(long, default_value_t = EvalOptions::default().trials)]
    trials: usize,
    #[arg(long, default_value_t = EvalOptions::default().seed)]
    seed: u64,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    if args.pad {
        let engine = args.engine.load()?;
        let report = pad::evaluate(&engine, &args.dataset)?;
        if args.json {
            super::print_json(&report)?;
        } else {
            println!(
                "{}: APCER {:.4} (worst species), BPCER {:.4} at threshold {:.3}; EER {:.4} at {:.3} ({} bona fide, {} attacks, {} without a face)",
                report.liveness_model, report.apcer, report.bpcer, report.threshold, report.eer, report.eer_threshold, report.bona_fide, report.attacks, report.no_face
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut engine_args = args.engine.clone();
    engine_args.no_liveness = true; // recognition figures need no anti-spoofing pass
    let engine = engine_args.load()?;
    let dataset = Dataset::open(&args.dataset)?;
    let report = accuracy::evaluate(&engine, &dataset, &EvalOptions { trials: args.trials, seed: args.seed })?;
    if let Some(path) = &args.plot {
        let curves = vec![("pairs".to_string(), report.pairs.det.clone()), ("ID photo vs photos".to_string(), report.id_photo.det.clone())];
        plot::draw_det(path, &curves, &format!("DET: {} ({})", dataset.root.display(), report.embedder))
            .with_context(|| format!("drawing {}", path.display()))?;
    }
    if args.json {
        super::print_json(&report)?;
    } else {
        print_text(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(r: &EvalReport) {
    let fmt = |v: &Option<f64>| v.map_or_else(|| "n/a".to_string(), |x| format!("{:.2} %", 100.0 * x));
    println!("{} with {}: {} identities, {} images, {} without a face", r.dataset, r.embedder, r.identities, r.images, r.no_face);
    for (name, p) in [("pairs", &r.pairs), ("ID photo", &r.id_photo)] {
        let tars: Vec<String> =
            accuracy::FARS.iter().map(|&f| format!("TAR@FAR={}: {}", rate_key(f), fmt(&p.tar_at_far[&rate_key(f)]))).collect();
        println!(
            "  {name}: {} genuine / {} impostor pairs; {}; EER {:.2} %",
            p.genuine_pairs,
            p.impostor_pairs,
            tars.join(", "),
            100.0 * p.eer
        );
    }
    let b = &r.boarding;
    let fnirs: Vec<String> =
        accuracy::FPIRS.iter().map(|&f| format!("FNIR@FPIR={}: {}", rate_key(f), fmt(&b.fnir_at_fpir[&rate_key(f)]))).collect();
    println!(
        "  boarding ({} per manifest, {} trials, {} mated / {} non-mated searches): {}",
        b.manifest_size,
        b.trials,
        b.mated_searches,
        b.nonmated_searches,
        fnirs.join(", ")
    );
}
