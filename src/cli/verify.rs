//! `boardcheck verify A B`: is the main face of A the same person as the main face of B?

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Args;
use serde::Serialize;

use super::EngineArgs;
use boardcheck_vision::face::embed::similarity;
use boardcheck_vision::image_io;

#[derive(Args)]
pub struct VerifyArgs {
    a: PathBuf,
    b: PathBuf,
    /// Print `{"similarity":…, "same":…, "threshold":…}`.
    #[arg(long)]
    json: bool,
    /// Decision threshold (default: the calibrated one for the embedder).
    #[arg(long)]
    threshold: Option<f32>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Serialize)]
struct Verdict {
    similarity: f32,
    same: bool,
    threshold: f32,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let engine = args.engine.load()?;
    let mut embeddings = Vec::with_capacity(2);
    for path in [&args.a, &args.b] {
        let image = image_io::load_rgb(path)?;
        let face = engine.main_face(&image)?.ok_or_else(|| anyhow!("{}: no face found", path.display()))?;
        embeddings.push(face.embedding);
    }
    let threshold = args.threshold.unwrap_or_else(|| engine.verification_threshold());
    let s = similarity(&embeddings[0], &embeddings[1]);
    let verdict = Verdict { similarity: s, same: s >= threshold, threshold };
    if args.json {
        super::print_json(&verdict)?;
    } else {
        println!("{} (similarity {:.3}, threshold {:.3})", if verdict.same { "same person" } else { "different people" }, s, threshold);
    }
    Ok(ExitCode::SUCCESS)
}
