//! Face embeddings: aligned 112×112 crops in, L2-normalised vectors out, in batches.
//!
//! An [`Embedder`] may concatenate several models (each part normalised first, so each
//! weighs the same) and fuse each face with its mirror image; both measured better than a
//! single model alone (README, accuracy table). Similarity is the dot product.

use image::RgbImage;
use rayon::prelude::*;

use super::tensor::{Channels, Layout, Normalisation};
use crate::error::{Error, Result};
use crate::runtime::OnnxModel;

/// Faces per inference call: large enough to amortise the call, small enough to keep the
/// latency of one batch low.
const MAX_BATCH: usize = 16;

/// See [`Embedder::threshold`]. Measured for the default recipe (all three models, mirror
/// fusion) as the similarity at FMR 1e-4 over the East-Asian dev sets pooled: `boardcheck eval`
/// on kpop + casia + lfw-eastasian as one set (52 identities, 114,212 impostor pairs) gives
/// 0.527, rounded up (kpop alone 0.546, lfw-eastasian 0.426; README, accuracy).
pub const VERIFICATION_THRESHOLD: f32 = 0.53;

/// Values per face of each embedding model, by catalog id: a recipe's dimension is the sum
/// of its parts', so a station can check an embedding it did not compute.
pub const MODEL_DIMS: [(&str, usize); 3] = [(FACEPLUGIN.id, FACEPLUGIN.dim), (MOBILEFACENET.id, MOBILEFACENET.dim), (SFACE.id, SFACE.dim)];

/// How one embedding model is fed: the facts of its training, stated once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelInput {
    /// Its id in the model catalog.
    pub id: &'static str,
    /// Input tensor shape, batch first (-1: any).
    pub shape: [i64; 4],
    pub normalisation: Normalisation,
    /// Values per face.
    pub dim: usize,
}

/// Faceplugin's feature model: BGR, (x − 127) / 128 (measured: RGB loses ~2 points).
pub const FACEPLUGIN: ModelInput = ModelInput {
    id: "faceplugin512",
    shape: [-1, 3, 112, 112],
    normalisation: Normalisation { channels: Channels::Bgr, layout: Layout::Nchw, mean: 127.0, std: 128.0 },
    dim: 512,
};

pub const MOBILEFACENET: ModelInput = ModelInput {
    id: "mobilefacenet",
    shape: [-1, 112, 112, 3],
    normalisation: Normalisation { channels: Channels::Rgb, layout: Layout::Nhwc, mean: 127.5, std: 128.0 },
    dim: 192,
};

/// OpenCV Zoo's SFace: RGB pixels as they are, (x − 127.5) / 128 happens inside its graph
/// (measured: BGR loses 13 points of TAR on K-pop).
pub const SFACE: ModelInput = ModelInput {
    id: "sface",
    shape: [-1, 3, 112, 112],
    normalisation: Normalisation { channels: Channels::Rgb, layout: Layout::Nchw, mean: 0.0, std: 1.0 },
    dim: 128,
};

/// How far from 1 an L2-normalised embedding's length may be (f32 rounding over the default's
/// 832 values stays below 1e-5; a vector scaled by any other factor is far outside).
pub const UNIT_NORM_TOLERANCE: f32 = 1e-3;

/// Why an embedding cannot be compared with the templates.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmbeddingFault {
    #[error("{got} values, {expected} expected for this embedder")]
    Dimension { expected: usize, got: usize },
    #[error("value {index} is not a finite number")]
    NotFinite { index: usize },
    #[error("its length is {norm}, not 1: an embedding is L2-normalised")]
    NotUnit { norm: f32 },
}

/// Checks that `v` is what an embedder of `dim` values per face makes: the right length, every
/// value finite, unit length. Every embedding that enters the boarding rules passes here first.
pub fn check_embedding(v: &[f32], dim: usize) -> std::result::Result<(), EmbeddingFault> {
    if v.len() != dim {
        return Err(EmbeddingFault::Dimension { expected: dim, got: v.len() });
    }
    if let Some(index) = v.iter().position(|x| !x.is_finite()) {
        return Err(EmbeddingFault::NotFinite { index });
    }
    // In f64: the squares of finite f32 values near f32::MAX would overflow in f32.
    let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    if (norm - 1.0).abs() > f64::from(UNIT_NORM_TOLERANCE) {
        return Err(EmbeddingFault::NotUnit { norm: norm as f32 });
    }
    Ok(())
}

/// The values per face of the embedding recipe named `id` (as [`Embedder::id`] names it:
/// model ids joined by `+`, and `flip` for mirror fusion, which adds none). `None` for a
/// recipe with a model this build does not know.
pub fn recipe_dim(id: &str) -> Option<usize> {
    id.split('+').filter(|part| *part != "flip").map(|part| MODEL_DIMS.iter().find(|(m, _)| *m == part).map(|(_, d)| *d)).sum()
}

/// One embedding model with its input recipe.
pub struct EmbeddingModel {
    model: OnnxModel,
    normalisation: Normalisation,
    dim: usize,
}

impl EmbeddingModel {
    pub fn new(model: OnnxModel, input: &ModelInput) -> Self {
        EmbeddingModel { model, normalisation: input.normalisation, dim: input.dim }
    }

    /// Raw (unnormalised) embeddings of equally sized crops.
    fn run(&self, crops: &[RgbImage]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(crops.len());
        for chunk in crops.chunks(MAX_BATCH) {
            let (shape, data) = self.normalisation.batch(chunk);
            let outputs = self.model.run(&shape, data)?;
            let values = match outputs.first() {
                Some(o) if o.data.len() == chunk.len() * self.dim => &o.data,
                _ => {
                    return Err(Error::Inference {
                        id: self.model.id().to_string(),
                        reason: format!("expected {} values per face", self.dim),
                    })
                }
            };
            out.extend(values.chunks_exact(self.dim).map(<[f32]>::to_vec));
        }
        Ok(out)
    }
}

/// The embedding recipe used for matching: which models, concatenated, with or without
/// mirror fusion. Templates made by different recipes are not comparable; [`Embedder::id`]
/// names the recipe so stored templates can say which made them.
pub struct Embedder {
    id: String,
    parts: Vec<EmbeddingModel>,
    flip_fusion: bool,
}

impl Embedder {
    pub fn new(id: String, parts: Vec<EmbeddingModel>, flip_fusion: bool) -> Self {
        Embedder { id, parts, flip_fusion }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The similarity at which two faces are called the same person in 1:1 checks. Set for a
    /// false-match rate of 1e-4 on the East-Asian dev sets, whose impostors score far higher
    /// than CelebA's ([`VERIFICATION_THRESHOLD`]).
    pub fn threshold(&self) -> f32 {
        VERIFICATION_THRESHOLD
    }

    pub fn dim(&self) -> usize {
        self.parts.iter().map(|p| p.dim).sum()
    }

    /// Time its models have spent in ONNX Runtime so far.
    pub fn inference_time(&self) -> std::time::Duration {
        self.parts.iter().map(|p| p.model.inference_time()).sum()
    }

    /// L2-normalised embeddings of aligned 112×112 face crops, one per crop.
    pub fn embed(&self, aligned: &[RgbImage]) -> Result<Vec<Vec<f32>>> {
        let mut inputs: Vec<RgbImage> = aligned.to_vec();
        if self.flip_fusion {
            inputs.extend(aligned.iter().map(image::imageops::flip_horizontal));
        }
        let mut fused = vec![Vec::with_capacity(self.dim()); aligned.len()];
        // The models are independent: one per core at once (each with its own inference threads).
        let outputs: Vec<Vec<Vec<f32>>> = self.parts.par_iter().map(|part| part.run(&inputs)).collect::<Result<_>>()?;
        for raw in outputs {
            for (i, target) in fused.iter_mut().enumerate() {
                let mut v = raw[i].clone();
                if self.flip_fusion {
                    v.iter_mut().zip(&raw[i + aligned.len()]).for_each(|(a, b)| *a += b);
                }
                l2_normalise(&mut v);
                target.extend(v);
            }
        }
        fused.iter_mut().for_each(|v| l2_normalise(v));
        // A model that gave NaN or all zeros for a face must not reach the rules.
        let dim = self.dim();
        for v in &fused {
            check_embedding(v, dim)
                .map_err(|fault| Error::Inference { id: self.id.clone(), reason: format!("an embedding is unusable: {fault}") })?;
        }
        Ok(fused)
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn l2_normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity of two L2-normalised embeddings; NaN when their lengths differ (they
/// are not comparable, and the boarding rules accept a score only when it clears a threshold,
/// which NaN never does).
pub fn similarity(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::NAN;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_vectors_have_unit_length() {
        let mut v = vec![3.0, 4.0];
        l2_normalise(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        assert!((similarity(&v, &v) - 1.0).abs() < 1e-6);
        let mut zero = vec![0.0; 3];
        l2_normalise(&mut zero);
        assert_eq!(zero, vec![0.0; 3]);
    }

    #[test]
    fn vectors_of_different_lengths_are_not_comparable() {
        // Truncating would score [1, 0] against [1, 0, …] as a perfect match.
        assert!(similarity(&[1.0, 0.0], &[1.0, 0.0, 0.0]).is_nan());
        assert!(similarity(&[1.0], &[]).is_nan());
    }

    #[test]
    fn only_unit_finite_vectors_of_the_right_length_pass() {
        let mut v = vec![0.3f32; 704];
        l2_normalise(&mut v);
        assert_eq!(check_embedding(&v, 704), Ok(()));
        assert_eq!(check_embedding(&v, 512), Err(EmbeddingFault::Dimension { expected: 512, got: 704 }));
        assert!(matches!(check_embedding(&[1000.0], 1), Err(EmbeddingFault::NotUnit { .. })));
        assert!(matches!(check_embedding(&vec![f32::INFINITY; 704], 704), Err(EmbeddingFault::NotFinite { index: 0 })));
        let scaled: Vec<f32> = v.iter().map(|x| x * 100.0).collect();
        assert!(matches!(check_embedding(&scaled, 704), Err(EmbeddingFault::NotUnit { .. })));
        let mut nan = v.clone();
        nan[17] = f32::NAN;
        assert_eq!(check_embedding(&nan, 704), Err(EmbeddingFault::NotFinite { index: 17 }));
        assert!(matches!(check_embedding(&[0.0; 4], 4), Err(EmbeddingFault::NotUnit { .. })));
    }

    #[test]
    fn a_recipe_names_its_dimension() {
        assert_eq!(recipe_dim("faceplugin512+mobilefacenet+flip"), Some(704));
        assert_eq!(recipe_dim("faceplugin512+mobilefacenet"), Some(704));
        assert_eq!(recipe_dim("mobilefacenet+flip"), Some(192));
        assert_eq!(recipe_dim("sface+flip"), Some(128));
        assert_eq!(recipe_dim("faceplugin512+sface+flip"), Some(640));
        assert_eq!(recipe_dim("faceplugin512+mobilefacenet+sface+flip"), Some(832));
        assert_eq!(recipe_dim("licensed-arcface"), None);
    }
}
