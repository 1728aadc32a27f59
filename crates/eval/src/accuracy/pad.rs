//! Presentation-attack detection figures (ISO/IEC 30107-3) behind `boardcheck eval --pad`:
//! `DIR/bona-fide/*` are live captures, each `DIR/attack-<species>/*` one kind of attack.

use std::path::{Path, PathBuf};

use indicatif::ParallelProgressIterator;
use rayon::prelude::*;
use serde::Serialize;

use super::dataset::{is_image, read_dir};
use super::metrics;
use crate::error::{Error, Result};
use boardcheck_vision::face::FaceEngine;
use boardcheck_vision::image_io;

#[derive(Debug, Clone, Serialize)]
pub struct PadReport {
    pub dataset: String,
    pub liveness_model: String,
    /// The threshold the figures are measured at: the engine's shipped default.
    pub threshold: f32,
    /// Attack presentations accepted as live, worst species.
    pub apcer: f64,
    /// Live presentations refused as attacks.
    pub bpcer: f64,
    pub apcer_by_species: Vec<(String, f64)>,
    /// The threshold where worst-species APCER equals BPCER on this data, and that rate.
    pub eer_threshold: f32,
    pub eer: f64,
    pub bona_fide: usize,
    pub attacks: usize,
    /// Images with no face found (left out of the rates).
    pub no_face: usize,
}

/// Scores every image and measures APCER/BPCER at the engine's threshold.
pub fn evaluate(engine: &FaceEngine, root: &Path) -> Result<PadReport> {
    let bad = |reason: String| Error::Dataset { path: root.to_path_buf(), reason };
    let liveness_model = engine.liveness_id().ok_or_else(|| bad("the engine has no liveness model".to_string()))?;
    let threshold = engine.liveness_threshold().unwrap_or(0.5);
    let bona_paths = images_in(&root.join("bona-fide"))?;
    let mut species: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for dir in read_dir(root)? {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(kind) = name.strip_prefix("attack-") {
            species.push((kind.to_string(), images_in(&dir)?));
        }
    }
    if bona_paths.is_empty() || species.iter().all(|(_, p)| p.is_empty()) {
        return Err(bad("needs bona-fide/ and attack-*/ folders with images".to_string()));
    }

    let total = bona_paths.len() + species.iter().map(|(_, p)| p.len()).sum::<usize>();
    let progress = super::progress_bar(total as u64, "liveness");
    let score_all = |paths: &[PathBuf]| -> Result<Vec<Option<f32>>> {
        paths.par_iter().progress_with(progress.clone()).map(|p| spoof_score(engine, p)).collect()
    };
    let bona = score_all(&bona_paths)?;
    let mut attacks = Vec::with_capacity(species.len());
    for (name, paths) in &species {
        attacks.push((name.clone(), score_all(paths)?));
    }
    progress.finish_and_clear();

    let no_face = bona.iter().chain(attacks.iter().flat_map(|(_, s)| s)).filter(|s| s.is_none()).count();
    let bona: Vec<f32> = bona.into_iter().flatten().collect();
    let attacks: Vec<(String, Vec<f32>)> = attacks.into_iter().map(|(n, s)| (n, s.into_iter().flatten().collect())).collect();
    let errors = metrics::pad_errors(&bona, &attacks, threshold);
    let eer_threshold = metrics::pad_eer_threshold(&bona, &attacks);
    let at_eer = metrics::pad_errors(&bona, &attacks, eer_threshold);
    Ok(PadReport {
        dataset: root.display().to_string(),
        liveness_model: liveness_model.to_string(),
        threshold,
        apcer: errors.apcer,
        bpcer: errors.bpcer,
        apcer_by_species: errors.apcer_by_species,
        eer_threshold,
        eer: (at_eer.apcer + at_eer.bpcer) / 2.0,
        bona_fide: bona.len(),
        attacks: attacks.iter().map(|(_, s)| s.len()).sum(),
        no_face,
    })
}

fn spoof_score(engine: &FaceEngine, path: &Path) -> Result<Option<f32>> {
    let image = image_io::load_rgb(path)?;
    Ok(engine.main_face(&image)?.and_then(|f| f.liveness).map(|l| l.spoof_score))
}

fn images_in(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(read_dir(dir)?.into_iter().filter(|p| is_image(p)).collect())
}
