//! The vision core: image in, faces out, each with box, keypoints, quality verdict, liveness
//! score and embedding.
//!
//! ```text
//! image ─► detect ─► landmarks (68) ─► five points ─► align (112×112) ─► quality
//!                                                                   ├─► liveness (face + context)
//!                                                                   └─► embed (batched, L2)
//! ```
//! [`FaceEngine`] is the facade the rest of boardcheck uses; the submodules are the stages.

pub mod align;
pub mod detect;
pub mod draw;
pub mod embed;
pub mod id_photo;
pub mod landmarks;
pub mod liveness;
pub mod quality;
pub mod tensor;

use std::path::Path;

use image::RgbImage;
use serde::Serialize;

use crate::error::Result;
use crate::models::Catalog;
use crate::runtime::{self, OnnxModel, Runtime, RuntimeOptions};
use align::{warp, Affine, Border, FivePoints, Point, ALIGNED_SIZE};
use detect::{rfb::RfbDetector, BBox, Detection, Detector};
use embed::{Embedder, EmbeddingModel};
use landmarks::LandmarkModel;
use liveness::{Liveness, LivenessKind, LivenessModel};
use quality::{QualityIssue, QualityMeasures, QualityPolicy};

/// Which detector finds faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DetectorKind {
    /// RFB-320 (Faceplugin): the most accurate here.
    Rfb,
    /// MediaPipe BlazeFace front (128×128): faces close to the camera.
    BlazefaceFront,
    /// MediaPipe BlazeFace back (256×256): smaller, farther faces.
    BlazefaceBack,
}

/// Which models make the embedding (README, accuracy: each measured on every dev set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum EmbedderKind {
    /// Faceplugin 512-d and MobileFaceNet 192-d, concatenated.
    Fused,
    /// Faceplugin 512-d alone.
    Faceplugin,
    /// MobileFaceNet 192-d alone.
    Mobilefacenet,
    /// SFace 128-d (OpenCV Zoo) alone.
    Sface,
    /// Faceplugin 512-d and SFace 128-d, concatenated.
    FacepluginSface,
    /// All three: Faceplugin, MobileFaceNet and SFace, concatenated: the most accurate
    /// measured, and a lane still keeps pace with a 30 fps camera (README, speed).
    All,
}

impl EmbedderKind {
    /// Its models, in the order their vectors are concatenated.
    pub fn models(self) -> &'static [embed::ModelInput] {
        use embed::{FACEPLUGIN, MOBILEFACENET, SFACE};
        match self {
            EmbedderKind::Fused => &[FACEPLUGIN, MOBILEFACENET],
            EmbedderKind::Faceplugin => &[FACEPLUGIN],
            EmbedderKind::Mobilefacenet => &[MOBILEFACENET],
            EmbedderKind::Sface => &[SFACE],
            EmbedderKind::FacepluginSface => &[FACEPLUGIN, SFACE],
            EmbedderKind::All => &[FACEPLUGIN, MOBILEFACENET, SFACE],
        }
    }
}

/// Everything that shapes the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub detector: DetectorKind,
    pub embedder: EmbedderKind,
    pub flip_fusion: bool,
    pub liveness: Option<LivenessKind>,
    /// Overrides the liveness model's calibrated threshold.
    pub liveness_threshold: Option<f32>,
    pub runtime: RuntimeOptions,
    /// Faces that fail this policy are still returned, with the reason.
    pub quality: QualityPolicy,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            detector: DetectorKind::Rfb,
            embedder: EmbedderKind::All,
            flip_fusion: true,
            liveness: Some(LivenessKind::Antispoof256),
            liveness_threshold: None,
            runtime: RuntimeOptions::default(),
            quality: QualityPolicy::LIVE_PROBE,
        }
    }
}

/// One face found in an image.
#[derive(Debug, Clone, Serialize)]
pub struct Face {
    pub bbox: BBox,
    pub detection_score: f32,
    pub points: FivePoints,
    pub quality: QualityMeasures,
    /// Why the face is not good enough to match, if it is not.
    pub quality_issue: Option<QualityIssue>,
    pub liveness: Option<Liveness>,
    #[serde(skip)]
    pub landmarks: Vec<Point>,
    #[serde(skip)]
    pub embedding: Vec<f32>,
}

impl Face {
    pub fn usable(&self) -> bool {
        self.quality_issue.is_none()
    }
}

/// A detected face after landmarks, alignment and quality: what a tracker follows.
#[derive(Debug, Clone)]
pub struct LocatedFace {
    pub bbox: BBox,
    pub detection_score: f32,
    pub points: FivePoints,
    pub quality: QualityMeasures,
    pub quality_issue: Option<QualityIssue>,
    pub landmarks: Vec<Point>,
    /// The 112×112 crop the embedders take.
    pub aligned: RgbImage,
}

/// A detection after the first of the two landmark passes [`FaceEngine::locate`] makes.
#[derive(Debug, Clone)]
pub struct Glimpse {
    pub detection: Detection,
    /// Between the eye centres of the first pass, in image pixels.
    pub eye_distance_px: f32,
    first: Vec<Point>,
}

/// Images whose longer side is below this are treated as tight crops (ID photos, face crops)
/// and padded before detection, so the face has the margin detectors are trained with.
const TIGHT_CROP_SIDE: u32 = 400;
/// Padding added on each side of a tight crop, as a fraction of its size.
const TIGHT_CROP_PADDING: f32 = 0.3;

/// The loaded vision core.
pub struct FaceEngine {
    detector: Box<dyn Detector>,
    landmarks: LandmarkModel,
    embedder: Embedder,
    liveness: Option<LivenessModel>,
    quality: QualityPolicy,
}

impl FaceEngine {
    /// Loads the runtime library and the models named by `options`, verifying each file.
    pub fn load(home: &Path, options: &EngineOptions) -> Result<Self> {
        let catalog = Catalog::load(home)?;
        let rt = runtime::init(&catalog.runtime_library()?)?;
        let load = |id: &str, shape: &[i64]| OnnxModel::load(rt, id, &catalog.model_path(id)?, shape, options.runtime);
        let detector: Box<dyn Detector> = match options.detector {
            DetectorKind::Rfb => Box::new(RfbDetector::new(load("rfb320", &detect::rfb::INPUT_SHAPE)?)),
            DetectorKind::BlazefaceFront => {
                let v = detect::blazeface::Variant::Front;
                Box::new(detect::blazeface::BlazefaceDetector::new(v, load(v.model_id(), &v.input_shape())?))
            }
            DetectorKind::BlazefaceBack => {
                let v = detect::blazeface::Variant::Back;
                Box::new(detect::blazeface::BlazefaceDetector::new(v, load(v.model_id(), &v.input_shape())?))
            }
        };
        let landmarks = LandmarkModel::new(load("landmark68", &landmarks::INPUT_SHAPE)?);
        let embedder = load_embedder(rt, &catalog, options)?;
        let liveness = match options.liveness {
            Some(kind) => {
                let mut model = LivenessModel::new(kind, load(kind.model_id(), &kind.input_shape())?);
                model.threshold = options.liveness_threshold.unwrap_or(model.threshold);
                Some(model)
            }
            None => None,
        };
        Ok(FaceEngine { detector, landmarks, embedder, liveness, quality: options.quality })
    }

    pub fn embedder_id(&self) -> &str {
        self.embedder.id()
    }

    /// The embedder, for callers that align crops themselves (enrolment, benchmarks).
    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// Time the detector and the embedder have spent in ONNX Runtime so far: the raw-inference
    /// floor that `boardcheck bench` compares the pipeline with.
    pub fn inference_time(&self) -> std::time::Duration {
        self.detector.model().inference_time() + self.embedder.inference_time()
    }

    /// Runs every model once on a blank frame. ONNX Runtime makes its buffers on a session's
    /// first runs, which made the first passenger's embedding take half as long again.
    pub fn warm_up(&self) -> Result<()> {
        let grey = image::Rgb([127, 127, 127]);
        let frame = RgbImage::from_pixel(640, 480, grey);
        let face = BBox { x1: 240.0, y1: 150.0, x2: 400.0, y2: 350.0 };
        self.detector.detect(&frame)?;
        self.landmarks.landmarks(&frame, &face)?;
        self.embed(&[RgbImage::from_pixel(ALIGNED_SIZE, ALIGNED_SIZE, grey)])?;
        self.check_liveness(&frame, &face)?;
        Ok(())
    }

    /// The anti-spoofing model in use, if any.
    pub fn liveness_id(&self) -> Option<&'static str> {
        self.liveness.as_ref().map(|l| l.kind().model_id())
    }

    /// Spoof score at or above which a face is called an attack.
    pub fn liveness_threshold(&self) -> Option<f32> {
        self.liveness.as_ref().map(|l| l.threshold)
    }

    /// The 1:1 decision threshold calibrated for this embedder (see [`embed::Embedder::threshold`]).
    pub fn verification_threshold(&self) -> f32 {
        self.embedder.threshold()
    }

    /// All faces in `image`, most confident detection first: every stage on every face.
    pub fn analyze(&self, image: &RgbImage) -> Result<Vec<Face>> {
        let mut located = Vec::new();
        for d in self.detect(image)? {
            located.extend(self.locate(image, &d)?);
        }
        let crops: Vec<RgbImage> = located.iter().map(|l| l.aligned.clone()).collect();
        let embeddings = self.embed(&crops)?;
        located
            .into_iter()
            .zip(embeddings)
            .map(|(l, embedding)| {
                let liveness = self.check_liveness(image, &l.bbox)?;
                Ok(Face {
                    bbox: l.bbox,
                    detection_score: l.detection_score,
                    points: l.points,
                    quality: l.quality,
                    quality_issue: l.quality_issue,
                    liveness,
                    landmarks: l.landmarks,
                    embedding,
                })
            })
            .collect()
    }

    /// Landmarks, alignment and quality for one detection (the stages after detection that
    /// every tracked face goes through; liveness and embedding are chosen per track).
    pub fn locate(&self, image: &RgbImage, detection: &Detection) -> Result<Option<LocatedFace>> {
        match self.glimpse(image, detection)? {
            Some(glimpse) => self.locate_glimpsed(image, &glimpse),
            None => Ok(None),
        }
    }

    /// The first landmark pass on a detection: the face's size at half the cost of
    /// [`FaceEngine::locate`], for a lane that waits for a face to stop approaching.
    pub fn glimpse(&self, image: &RgbImage, detection: &Detection) -> Result<Option<Glimpse>> {
        let first = self.landmarks.first_pass(image, &detection.bbox)?;
        let Some(points) = landmarks::five_points(&first) else { return Ok(None) };
        Ok(Some(Glimpse { detection: detection.clone(), eye_distance_px: points.eye_distance(), first }))
    }

    /// [`FaceEngine::locate`] after its first landmark pass.
    pub fn locate_glimpsed(&self, image: &RgbImage, glimpse: &Glimpse) -> Result<Option<LocatedFace>> {
        let detection = &glimpse.detection;
        let landmarks = self.landmarks.second_pass(image, &detection.bbox, &glimpse.first)?;
        let Some(points) = landmarks::five_points(&landmarks) else { return Ok(None) };
        let Some(aligned) = aligned_crop(image, &points) else { return Ok(None) };
        let quality = quality::measure(&points, &aligned);
        Ok(Some(LocatedFace {
            bbox: detection.bbox,
            detection_score: detection.score,
            points,
            quality_issue: self.quality.check(&quality),
            quality,
            landmarks,
            aligned,
        }))
    }

    /// The anti-spoofing verdict for the face in `bbox` (None without a liveness model).
    pub fn check_liveness(&self, image: &RgbImage, bbox: &BBox) -> Result<Option<Liveness>> {
        self.liveness.as_ref().map(|model| model.check(image, bbox)).transpose()
    }

    /// Embeddings of aligned crops, in one batch.
    pub fn embed(&self, aligned: &[RgbImage]) -> Result<Vec<Vec<f32>>> {
        self.embedder.embed(aligned)
    }

    /// The main face of an image: the largest one.
    pub fn main_face(&self, image: &RgbImage) -> Result<Option<Face>> {
        Ok(self.analyze(image)?.into_iter().max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area())))
    }

    /// Detects faces; a tight crop is padded first and the boxes mapped back.
    pub fn detect(&self, image: &RgbImage) -> Result<Vec<detect::Detection>> {
        if image.width().max(image.height()) >= TIGHT_CROP_SIDE {
            return self.detector.detect(image);
        }
        let (pad_x, pad_y) = ((image.width() as f32 * TIGHT_CROP_PADDING).round(), (image.height() as f32 * TIGHT_CROP_PADDING).round());
        let (w, h) = (image.width() + 2 * pad_x as u32, image.height() + 2 * pad_y as u32);
        let padded = warp(image, &Affine::scale_translate(1.0, 1.0, -pad_x, -pad_y), w, h, Border::Constant([127, 127, 127]));
        let back = Affine::scale_translate(1.0, 1.0, -pad_x, -pad_y);
        Ok(self
            .detector
            .detect(&padded)?
            .into_iter()
            .map(|mut d| {
                d.bbox = d.bbox.mapped(&back);
                d.keypoints.iter_mut().for_each(|p| *p = back.apply(*p));
                d
            })
            .collect())
    }
}

/// The 112×112 crop that puts `points` on the ArcFace template: what the embedders take.
/// Black outside the image, as the embedders were trained (OpenCV `warpAffine` default):
/// replicated edges cost 3 points of TAR on tight crops (README, accuracy).
pub fn aligned_crop(image: &RgbImage, points: &FivePoints) -> Option<RgbImage> {
    let to_image = align::alignment(points)?;
    Some(warp(image, &to_image, ALIGNED_SIZE, ALIGNED_SIZE, Border::Constant([0, 0, 0])))
}

fn load_embedder(rt: Runtime, catalog: &Catalog, options: &EngineOptions) -> Result<Embedder> {
    let models = options.embedder.models();
    let parts = models
        .iter()
        .map(|input| {
            let model = OnnxModel::load(rt, input.id, &catalog.model_path(input.id)?, &input.shape, options.runtime)?;
            Ok(EmbeddingModel::new(model, input))
        })
        .collect::<Result<Vec<_>>>()?;
    let name = models.iter().map(|m| m.id).collect::<Vec<_>>().join("+");
    let id = if options.flip_fusion { format!("{name}+flip") } else { name };
    Ok(Embedder::new(id, parts, options.flip_fusion))
}
