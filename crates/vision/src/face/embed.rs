//! Face embeddings: aligned 112×112 crops in, L2-normalised vectors out, in batches.
//!
//! An [`Embedder`] may concatenate several models (each part normalised first, so each
//! weighs the same) and fuse each face with its mirror image; both measured better than a
//! single model alone (README, accuracy table). Similarity is the dot product.

use image::RgbImage;
use rayon::prelude::*;

use super::tensor::Normalisation;
use crate::error::{Error, Result};
use crate::runtime::OnnxModel;

/// Faces per inference call: large enough to amortise the call, small enough to keep the
/// latency of one batch low.
const MAX_BATCH: usize = 16;

/// See [`Embedder::threshold`]; measured for the default recipe (fused, with mirror fusion).
pub const VERIFICATION_THRESHOLD: f32 = 0.58;

/// One embedding model with its input recipe.
pub struct EmbeddingModel {
    model: OnnxModel,
    normalisation: Normalisation,
    dim: usize,
}

impl EmbeddingModel {
    pub fn new(model: OnnxModel, normalisation: Normalisation, dim: usize) -> Self {
        EmbeddingModel { model, normalisation, dim }
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
    /// false-match rate of 1e-4 on the East-Asian dev set, whose impostors score far higher
    /// than CelebA's (threshold at FMR 1e-4: 0.577 there, 0.469 on CelebA; README, accuracy).
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

/// Cosine similarity of two L2-normalised embeddings.
pub fn similarity(a: &[f32], b: &[f32]) -> f32 {
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
}
