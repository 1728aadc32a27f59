//! Accuracy harnesses behind `boardcheck eval`.
//!
//! - Verification pairs: every genuine and every impostor pair of main-face embeddings →
//!   TAR at fixed FARs, EER, DET curve.
//! - ID photo: each identity's first image made into a 102×126 JPEG chip photo
//!   ([`boardcheck_vision::face::id_photo`]) against that identity's other photos, and everyone else's.
//! - Boarding protocol: those ID photos enrolled as the manifest of a bus (50 random
//!   identities), the other photos as probes, open-set 1:N → FNIR at fixed FPIRs.
//! - Presentation attacks ([`pad`]): APCER / BPCER of the liveness model.

pub mod boarding;
pub mod dataset;
pub mod metrics;
pub mod pad;
pub mod plot;

use std::collections::BTreeMap;

use image::RgbImage;
use indicatif::{ParallelProgressIterator, ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use boardcheck_vision::face::embed::similarity;
use boardcheck_vision::face::{id_photo, FaceEngine};
use boardcheck_vision::image_io;
use boarding::{BoardingScores, Enrolled, Probe};
use dataset::Dataset;
use metrics::DetPoint;

/// False accept rates reported for verification pairs.
pub const FARS: [f64; 3] = [1e-2, 1e-3, 1e-4];
/// False positive identification rates reported for the boarding protocol.
pub const FPIRS: [f64; 2] = [1e-2, 1e-3];
/// Passengers on one simulated bus manifest.
pub const MANIFEST_SIZE: usize = 50;

/// How the evaluation runs.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Random manifests drawn for the boarding protocol.
    pub trials: usize,
    pub seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions { trials: 200, seed: 20_201_130 }
    }
}

/// Embeddings of one sample: its main face, and for an identity's first image, its ID photo.
#[derive(Debug, Clone, Default)]
struct SampleEmbeddings {
    face: Option<Vec<f32>>,
    id_photo: Option<Vec<f32>>,
}

/// Verification figures over one set of pairs.
#[derive(Debug, Clone, Serialize)]
pub struct PairsReport {
    pub genuine_pairs: usize,
    pub impostor_pairs: usize,
    /// Keys "1e-2", "1e-3", "1e-4"; null where the impostor count is too small to measure.
    pub tar_at_far: BTreeMap<String, Option<f64>>,
    pub threshold_at_far: BTreeMap<String, Option<f32>>,
    pub eer: f64,
    #[serde(skip)]
    pub det: Vec<DetPoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BoardingReport {
    pub manifest_size: usize,
    pub trials: usize,
    pub mated_searches: usize,
    pub nonmated_searches: usize,
    /// Keys "1e-2", "1e-3": the fraction of manifest passengers not matched (or matched to
    /// someone else) when the threshold lets that fraction of strangers through.
    pub fnir_at_fpir: BTreeMap<String, Option<f64>>,
    pub threshold_at_fpir: BTreeMap<String, Option<f32>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub dataset: String,
    pub embedder: String,
    pub identities: usize,
    pub images: usize,
    /// Images in which no face was found (left out of every pair).
    pub no_face: usize,
    /// Identities whose ID photo yielded no face (left out of the ID-photo and boarding figures).
    pub id_photo_no_face: usize,
    #[serde(flatten)]
    pub pairs: PairsReport,
    pub id_photo: PairsReport,
    pub boarding: BoardingReport,
}

/// Runs all verification and boarding figures over `dataset`.
pub fn evaluate(engine: &FaceEngine, dataset: &Dataset, options: &EvalOptions) -> Result<EvalReport> {
    let first_of_identity = first_images(dataset);
    let progress = progress_bar(dataset.samples.len() as u64, "embedding");
    let embedded: Vec<SampleEmbeddings> = dataset
        .samples
        .par_iter()
        .enumerate()
        .progress_with(progress)
        .map(|(i, sample)| embed_sample(engine, &sample.path, first_of_identity.contains(&i)))
        .collect::<Result<_>>()?;

    let labelled: Vec<(usize, &[f32])> =
        dataset.samples.iter().zip(&embedded).filter_map(|(s, e)| e.face.as_deref().map(|f| (s.identity, f))).collect();
    let pairs = pairs_report(&labelled);

    // ID photos against each identity's other photos.
    let enrolled: Vec<Enrolled> = dataset
        .samples
        .iter()
        .zip(&embedded)
        .filter_map(|(s, e)| e.id_photo.as_deref().map(|t| Enrolled { identity: s.identity, template: t }))
        .collect();
    let probes: Vec<Probe> = dataset
        .samples
        .iter()
        .enumerate()
        .zip(&embedded)
        .filter(|((i, _), _)| !first_of_identity.contains(i))
        .filter_map(|((_, s), e)| e.face.as_deref().map(|f| Probe { identity: s.identity, embedding: f }))
        .collect();
    let id_photo = id_photo_report(&enrolled, &probes);

    let manifest_size = MANIFEST_SIZE.min(enrolled.len() / 2).max(1);
    let scores = boarding::sample(&enrolled, &probes, manifest_size, options.trials, options.seed)?;
    let boarding = boarding_report(&scores, manifest_size, options.trials);

    Ok(EvalReport {
        dataset: dataset.root.display().to_string(),
        embedder: engine.embedder_id().to_string(),
        identities: dataset.identities.len(),
        images: dataset.samples.len(),
        no_face: embedded.iter().filter(|e| e.face.is_none()).count(),
        id_photo_no_face: first_of_identity.len() - enrolled.len(),
        pairs,
        id_photo,
        boarding,
    })
}

/// Indices of each identity's first image by file name (samples are sorted that way).
fn first_images(dataset: &Dataset) -> std::collections::HashSet<usize> {
    let mut seen = std::collections::HashSet::new();
    (0..dataset.samples.len()).filter(|&i| seen.insert(dataset.samples[i].identity)).collect()
}

fn embed_sample(engine: &FaceEngine, path: &std::path::Path, make_id_photo: bool) -> Result<SampleEmbeddings> {
    let image = image_io::load_rgb(path)?;
    let Some(face) = engine.main_face(&image)? else { return Ok(SampleEmbeddings::default()) };
    let id_photo = if make_id_photo { id_photo_embedding(engine, &image, &face.points, path)? } else { None };
    Ok(SampleEmbeddings { face: Some(face.embedding), id_photo })
}

/// The embedding of an ID-card chip photo made from `image`: cropped, JPEG-compressed at a
/// quality between 40 and 75 that varies by photo (as card chips do), decoded, re-detected.
fn id_photo_embedding(
    engine: &FaceEngine,
    image: &RgbImage,
    points: &boardcheck_vision::face::align::FivePoints,
    path: &std::path::Path,
) -> Result<Option<Vec<f32>>> {
    let Some(photo) = id_photo::crop(image, points) else { return Ok(None) };
    let quality = 40 + (fnv1a(path.to_string_lossy().as_bytes()) % 36) as u8;
    let jpeg = id_photo::encode_jpeg(&photo, quality)?;
    let decoded = image_io::decode_rgb(&jpeg, path)?;
    Ok(engine.main_face(&decoded)?.map(|f| f.embedding))
}

/// A stable hash, so the same photo always gets the same JPEG quality.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

fn pairs_report(labelled: &[(usize, &[f32])]) -> PairsReport {
    let mut genuine = Vec::new();
    let mut impostor = Vec::new();
    for (i, (id_a, a)) in labelled.iter().enumerate() {
        for (id_b, b) in &labelled[i + 1..] {
            let s = similarity(a, b);
            if id_a == id_b {
                genuine.push(s)
            } else {
                impostor.push(s)
            }
        }
    }
    summarise_pairs(&genuine, &mut impostor)
}

fn id_photo_report(enrolled: &[Enrolled], probes: &[Probe]) -> PairsReport {
    let mut genuine = Vec::new();
    let mut impostor = Vec::new();
    for e in enrolled {
        for p in probes {
            let s = similarity(e.template, p.embedding);
            if e.identity == p.identity {
                genuine.push(s)
            } else {
                impostor.push(s)
            }
        }
    }
    summarise_pairs(&genuine, &mut impostor)
}

fn summarise_pairs(genuine: &[f32], impostor: &mut [f32]) -> PairsReport {
    PairsReport {
        genuine_pairs: genuine.len(),
        impostor_pairs: impostor.len(),
        tar_at_far: FARS.iter().map(|&far| (rate_key(far), metrics::tar_at_far(genuine, impostor, far))).collect(),
        threshold_at_far: FARS.iter().map(|&far| (rate_key(far), metrics::threshold_at_far(impostor, far))).collect(),
        eer: metrics::eer(genuine, impostor).eer,
        det: metrics::det_curve(genuine, impostor, 200),
    }
}

fn boarding_report(scores: &BoardingScores, manifest_size: usize, trials: usize) -> BoardingReport {
    BoardingReport {
        manifest_size,
        trials,
        mated_searches: scores.mated.len(),
        nonmated_searches: scores.nonmated_best.len(),
        fnir_at_fpir: FPIRS.iter().map(|&r| (rate_key(r), metrics::fnir_at_fpir(&scores.mated, &scores.nonmated_best, r))).collect(),
        threshold_at_fpir: FPIRS.iter().map(|&r| (rate_key(r), metrics::fpir_threshold(&scores.nonmated_best, r))).collect(),
    }
}

/// "1e-3" for 0.001: the keys of the JSON report.
pub fn rate_key(rate: f64) -> String {
    format!("1e{}", rate.log10().round() as i32)
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}
