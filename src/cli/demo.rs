//! `boardcheck demo`: the vision core at work on the fixture faces. (The lane pipeline demo,
//! manifest → video → decisions, takes this command over when the lane exists.)

use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::Args;

use super::EngineArgs;
use boardcheck::face::embed::similarity;
use boardcheck::face::{id_photo, Face, FaceEngine};
use boardcheck::{image_io, paths};

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let fixtures = paths::fixtures(&paths::home()?);
    let engine = args.engine.load()?;
    let threshold = engine.verification_threshold();
    println!("boardcheck demo: embedder {}, 1:1 threshold {threshold:.3}", engine.embedder_id());

    let group = fixtures.join("t1.jpg");
    let faces = engine.analyze(&image_io::load_rgb(&group)?)?;
    let usable = faces.iter().filter(|f| f.usable()).count();
    println!("detect  {}: {} faces, {} usable for matching", group.display(), faces.len(), usable);

    let obama = main_face(&engine, &fixtures.join("obama.jpg"))?;
    let chip = id_photo_face(&engine, &fixtures.join("obama.jpg"))?;
    for (label, a, other) in [
        ("obama.jpg vs obama2.jpg", &obama, "obama2.jpg"),
        ("obama.jpg vs biden.jpg", &obama, "biden.jpg"),
        ("ID photo of obama.jpg vs obama3.jpg", &chip, "obama3.jpg"),
        ("ID photo of obama.jpg vs biden.jpg", &chip, "biden.jpg"),
    ] {
        let b = main_face(&engine, &fixtures.join(other))?;
        let s = similarity(&a.embedding, &b.embedding);
        println!("verify  {label}: similarity {s:.3} → {}", if s >= threshold { "same person" } else { "different people" });
    }
    Ok(ExitCode::SUCCESS)
}

fn main_face(engine: &FaceEngine, path: &std::path::Path) -> anyhow::Result<Face> {
    engine.main_face(&image_io::load_rgb(path)?)?.ok_or_else(|| anyhow!("{}: no face found", path.display()))
}

/// The face of an ID-card chip photo (102×126 JPEG) made from `path`.
fn id_photo_face(engine: &FaceEngine, path: &std::path::Path) -> anyhow::Result<Face> {
    let image = image_io::load_rgb(path)?;
    let face = main_face(engine, path)?;
    let photo = id_photo::crop(&image, &face.points).context("making the ID photo")?;
    let decoded = image_io::decode_rgb(&id_photo::encode_jpeg(&photo, 60)?, path)?;
    engine.main_face(&decoded)?.ok_or_else(|| anyhow!("ID photo of {}: no face found", path.display()))
}
