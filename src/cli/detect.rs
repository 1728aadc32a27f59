//! `boardcheck detect IMAGE`: the faces in an image, with quality and liveness.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::EngineArgs;
use boardcheck_vision::face::Face;
use boardcheck_vision::image_io;

#[derive(Args)]
pub struct DetectArgs {
    image: PathBuf,
    /// Print `{"image":…, "faces":[…]}`.
    #[arg(long)]
    json: bool,
    /// Write a copy of the image with boxes and keypoints drawn on it.
    #[arg(long, value_name = "OUT.png")]
    draw: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Serialize)]
struct Report<'a> {
    image: &'a std::path::Path,
    width: u32,
    height: u32,
    faces: &'a [Face],
}

pub fn run(args: DetectArgs) -> anyhow::Result<ExitCode> {
    let engine = args.engine.load()?;
    let image = image_io::load_rgb(&args.image)?;
    let faces = engine.analyze(&image)?;
    if let Some(out) = &args.draw {
        boardcheck_vision::face::draw::faces(&image, &faces).save(out).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    }
    if args.json {
        super::print_json(&Report { image: &args.image, width: image.width(), height: image.height(), faces: &faces })?;
    } else {
        println!("{}: {} face(s)", args.image.display(), faces.len());
        for (i, f) in faces.iter().enumerate() {
            let verdict = f.quality_issue.map_or_else(|| "usable".to_string(), |q| q.to_string());
            let live = f
                .liveness
                .map_or_else(String::new, |l| format!(", spoof score {:.2}{}", l.spoof_score, if l.live { "" } else { " (SPOOF?)" }));
            println!(
                "  #{i}: box ({:.0},{:.0})-({:.0},{:.0}) score {:.2}, eyes {:.0} px, {verdict}{live}",
                f.bbox.x1, f.bbox.y1, f.bbox.x2, f.bbox.y2, f.detection_score, f.quality.eye_distance_px
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
