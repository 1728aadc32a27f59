//! Face detection: boxes, scores and (where the model gives them) keypoints.
//!
//! Two detectors sit behind [`Detector`]: the RFB-320 detector ([`rfb`], the default, most
//! accurate here) and MediaPipe BlazeFace ([`blazeface`], front 128 for kiosk distance,
//! back 256 for farther). Both see the image letterboxed — scaled without distortion and
//! padded — so faces keep their shape. Box decoding and non-maximum suppression are pure
//! functions below, shared by both.

pub mod blazeface;
pub mod rfb;

use image::RgbImage;
use serde::Serialize;

use crate::error::Result;
use crate::face::align::{Affine, Border, Point};
use crate::face::tensor::Normalisation;

/// An axis-aligned box in image pixels, corners (x1, y1) top-left and (x2, y2) bottom-right.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BBox {
    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    pub fn centre(&self) -> Point {
        Point::new((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)
    }

    pub fn iou(&self, other: &BBox) -> f32 {
        let inter = BBox { x1: self.x1.max(other.x1), y1: self.y1.max(other.y1), x2: self.x2.min(other.x2), y2: self.y2.min(other.y2) };
        let union = self.area() + other.area() - inter.area();
        if union <= 0.0 {
            0.0
        } else {
            inter.area() / union
        }
    }

    /// The box mapped through an affine map that only scales and translates.
    pub fn mapped(&self, m: &Affine) -> BBox {
        let (p, q) = (m.apply(Point::new(self.x1, self.y1)), m.apply(Point::new(self.x2, self.y2)));
        BBox { x1: p.x.min(q.x), y1: p.y.min(q.y), x2: p.x.max(q.x), y2: p.y.max(q.y) }
    }
}

/// One detected face.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub bbox: BBox,
    pub score: f32,
    /// BlazeFace's six keypoints (eyes, nose, mouth, ear tragions); RFB gives none.
    pub keypoints: Vec<Point>,
}

/// A face detector.
pub trait Detector: Send + Sync {
    /// Faces in `image`, most confident first.
    fn detect(&self, image: &RgbImage) -> Result<Vec<Detection>>;

    /// The model behind it (for its inference clock).
    fn model(&self) -> &crate::runtime::OnnxModel;
}

/// A letterboxed model input, already a normalised one-image tensor, and the map from its
/// pixels back to the image's.
pub struct Letterbox {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
    pub to_image: Affine,
}

/// Scales `image` to fit `width`×`height` without distortion, centred, padded with `fill`,
/// and normalises it into the tensor `norm` describes. Sampled straight into the tensor in one
/// pass: building the image first and packing it after was most of the detect stage's time.
pub fn letterbox(image: &RgbImage, width: u32, height: u32, fill: [u8; 3], norm: &Normalisation) -> Letterbox {
    let to_image = letterbox_map(image.width(), image.height(), width, height);
    let (shape, data) = norm.warped(image, &to_image, width, height, Border::Constant(fill));
    Letterbox { shape, data, to_image }
}

/// The map from a `width`×`height` letterbox input back to an `image_w`×`image_h` image.
fn letterbox_map(image_w: u32, image_h: u32, width: u32, height: u32) -> Affine {
    let scale = (width as f32 / image_w as f32).min(height as f32 / image_h as f32);
    let pad_x = (width as f32 - image_w as f32 * scale) / 2.0;
    let pad_y = (height as f32 - image_h as f32 * scale) / 2.0;
    Affine::scale_translate(1.0 / scale, 1.0 / scale, -pad_x / scale, -pad_y / scale)
}

/// Greedy non-maximum suppression: keeps the best box of each overlapping group.
pub fn nms(mut candidates: Vec<Detection>, iou_threshold: f32) -> Vec<Detection> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for c in candidates {
        if kept.iter().all(|k| k.bbox.iou(&c.bbox) < iou_threshold) {
            kept.push(c);
        }
    }
    kept
}

/// Weighted NMS (BlazeFace's "blending"): each group's box and keypoints become the
/// score-weighted mean of its members, which steadies boxes from frame to frame.
pub fn weighted_nms(mut candidates: Vec<Detection>, iou_threshold: f32) -> Vec<Detection> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(best) = candidates.first().cloned() {
        let (group, rest): (Vec<Detection>, Vec<Detection>) = candidates.into_iter().partition(|c| c.bbox.iou(&best.bbox) >= iou_threshold);
        candidates = rest;
        let total: f32 = group.iter().map(|d| d.score).sum();
        let mean = |f: &dyn Fn(&Detection) -> f32| group.iter().map(|d| f(d) * d.score).sum::<f32>() / total;
        let bbox = BBox { x1: mean(&|d| d.bbox.x1), y1: mean(&|d| d.bbox.y1), x2: mean(&|d| d.bbox.x2), y2: mean(&|d| d.bbox.y2) };
        let keypoints = (0..best.keypoints.len()).map(|k| Point::new(mean(&|d| d.keypoints[k].x), mean(&|d| d.keypoints[k].y))).collect();
        out.push(Detection { bbox, score: best.score, keypoints });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::align::warp;
    use crate::face::tensor::{Channels, Layout};

    fn det(x1: f32, score: f32) -> Detection {
        Detection { bbox: BBox { x1, y1: 0.0, x2: x1 + 10.0, y2: 10.0 }, score, keypoints: vec![Point::new(x1, 5.0)] }
    }

    #[test]
    fn iou_of_boxes() {
        let a = BBox { x1: 0.0, y1: 0.0, x2: 10.0, y2: 10.0 };
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&BBox { x1: 20.0, y1: 0.0, x2: 30.0, y2: 10.0 }), 0.0);
        let half = BBox { x1: 5.0, y1: 0.0, x2: 15.0, y2: 10.0 };
        assert!((a.iou(&half) - 50.0 / 150.0).abs() < 1e-6);
    }

    #[test]
    fn nms_keeps_the_best_of_each_group() {
        let kept = nms(vec![det(0.0, 0.6), det(1.0, 0.9), det(50.0, 0.7)], 0.4);
        assert_eq!(kept.iter().map(|d| d.score).collect::<Vec<_>>(), vec![0.9, 0.7]);
    }

    #[test]
    fn weighted_nms_blends_a_group() {
        let kept = weighted_nms(vec![det(0.0, 0.5), det(2.0, 0.5), det(50.0, 0.7)], 0.5);
        assert_eq!(kept.len(), 2);
        let blended = kept.iter().find(|d| d.bbox.x1 < 10.0).expect("group near 0");
        assert!((blended.bbox.x1 - 1.0).abs() < 1e-6);
        assert!((blended.keypoints[0].x - 1.0).abs() < 1e-6);
    }

    #[test]
    fn letterbox_maps_back_to_the_image() {
        let img = RgbImage::new(640, 240);
        let norm = Normalisation { channels: Channels::Rgb, layout: Layout::Nchw, mean: 0.0, std: 1.0 };
        let lb = letterbox(&img, 320, 240, [0, 0, 0], &norm);
        assert_eq!((lb.shape.as_slice(), lb.data.len()), ([1, 3, 240, 320].as_slice(), 3 * 320 * 240));
        // 640×240 scales by 0.5 to 320×120, centred with 60 rows of padding above.
        let p = lb.to_image.apply(Point::new(160.0, 120.0));
        assert!((p.x - 320.0).abs() < 1e-3 && (p.y - 120.0).abs() < 1e-3);
        assert!((lb.to_image.apply(Point::new(0.0, 60.0)).y).abs() < 1e-3);
    }

    #[test]
    fn letterbox_tensor_is_the_letterboxed_image_normalised() {
        let img = RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 256) as u8]));
        let norm = Normalisation { channels: Channels::Rgb, layout: Layout::Nchw, mean: 127.0, std: 128.0 };
        let lb = letterbox(&img, 320, 240, [127, 127, 127], &norm);
        let image = warp(&img, &lb.to_image, 320, 240, Border::Constant([127, 127, 127]));
        assert_eq!((lb.shape, lb.data), norm.batch(&[image]));
    }
}
