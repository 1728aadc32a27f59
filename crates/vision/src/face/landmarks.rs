//! The 68-point landmark model (Faceplugin): the detector box, stretched to 64×64 grey
//! `/256`, gives 68 points in box-relative [0, 1] coordinates. The five alignment points come
//! from them: eyelid points averaged for the eye centres, nose tip, and each mouth corner
//! averaged with the inner-lip corner next to it.

use image::{Rgb, RgbImage};

use super::align::{warp_rows, Affine, Border, FivePoints, Point};
use super::detect::BBox;
use super::tensor::luma;
use crate::error::{Error, Result};
use crate::runtime::OnnxModel;

const SIZE: u32 = 64;
pub const INPUT_SHAPE: [i64; 4] = [1, 1, SIZE as i64, SIZE as i64];

pub struct LandmarkModel {
    model: OnnxModel,
}

impl LandmarkModel {
    pub fn new(model: OnnxModel) -> Self {
        LandmarkModel { model }
    }

    /// The 68 landmarks of the face in `bbox`, in image pixels, in two passes: the second runs
    /// on the box moved to centre on the first pass's points. The model expects a face centred
    /// in its box, and detector boxes sit off-centre (RFB's include the forehead); the second
    /// pass measured +2.6 points TAR @ FAR 1e-3 on the East-Asian dev set (README).
    pub fn landmarks(&self, image: &RgbImage, bbox: &BBox) -> Result<Vec<Point>> {
        let first = self.first_pass(image, bbox)?;
        self.second_pass(image, bbox, &first)
    }

    /// The first pass alone, on the detector's box: close enough to tell the face's size.
    pub fn first_pass(&self, image: &RgbImage, bbox: &BBox) -> Result<Vec<Point>> {
        self.landmarks_in_box(image, bbox)
    }

    /// The second pass, on `bbox` moved to centre on the first pass's points.
    pub fn second_pass(&self, image: &RgbImage, bbox: &BBox, first: &[Point]) -> Result<Vec<Point>> {
        self.landmarks_in_box(image, &centred_on(bbox, first))
    }

    /// One pass of the model on `bbox`.
    fn landmarks_in_box(&self, image: &RgbImage, bbox: &BBox) -> Result<Vec<Point>> {
        let to_image = Affine::rect_to_output(bbox.x1, bbox.y1, bbox.width(), bbox.height(), SIZE, SIZE);
        let mut data = Vec::with_capacity((SIZE * SIZE) as usize);
        warp_rows(image, &to_image, SIZE, SIZE, Border::Replicate, |_, row| data.extend(row.iter().map(|&p| luma(&Rgb(p)) / 256.0)));
        let outputs = self.model.run(&[1, 1, SIZE as usize, SIZE as usize], data)?;
        let raw = match outputs.first() {
            Some(o) if o.data.len() == 136 => &o.data,
            _ => return Err(Error::Inference { id: self.model.id().to_string(), reason: "expected 136 landmark values".to_string() }),
        };
        Ok(raw.chunks_exact(2).map(|xy| Point::new(bbox.x1 + xy[0] * bbox.width(), bbox.y1 + xy[1] * bbox.height())).collect())
    }
}

/// `bbox` moved (same size) so that its centre is the centre of the points' extent.
fn centred_on(bbox: &BBox, points: &[Point]) -> BBox {
    let (mut x1, mut y1, mut x2, mut y2) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in points {
        (x1, y1, x2, y2) = (x1.min(p.x), y1.min(p.y), x2.max(p.x), y2.max(p.y));
    }
    if points.is_empty() {
        return *bbox;
    }
    let c = bbox.centre();
    let (dx, dy) = ((x1 + x2) / 2.0 - c.x, (y1 + y2) / 2.0 - c.y);
    BBox { x1: bbox.x1 + dx, y1: bbox.y1 + dy, x2: bbox.x2 + dx, y2: bbox.y2 + dy }
}

/// The five alignment points from the 68-point (iBUG 300-W) layout.
pub fn five_points(l: &[Point]) -> Option<FivePoints> {
    if l.len() != 68 {
        return None;
    }
    let mean = |idx: &[usize]| {
        let n = idx.len() as f32;
        Point::new(idx.iter().map(|&i| l[i].x).sum::<f32>() / n, idx.iter().map(|&i| l[i].y).sum::<f32>() / n)
    };
    Some(FivePoints {
        left_eye: mean(&[37, 38, 40, 41]),
        right_eye: mean(&[43, 44, 46, 47]),
        nose: l[30],
        mouth_left: mean(&[48, 60]),
        mouth_right: mean(&[54, 64]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_box_moves_to_centre_on_the_points() {
        let bbox = BBox { x1: 0.0, y1: 0.0, x2: 10.0, y2: 20.0 };
        let points = [Point::new(4.0, 12.0), Point::new(8.0, 16.0)];
        assert_eq!(centred_on(&bbox, &points), BBox { x1: 1.0, y1: 4.0, x2: 11.0, y2: 24.0 });
        assert_eq!(centred_on(&bbox, &[]), bbox);
    }

    #[test]
    fn five_points_from_68() {
        let mut l: Vec<Point> = (0..68).map(|i| Point::new(i as f32, 0.0)).collect();
        l[30] = Point::new(5.0, 6.0);
        let five = five_points(&l).expect("68 points");
        assert_eq!(five.left_eye, Point::new(39.0, 0.0));
        assert_eq!(five.right_eye, Point::new(45.0, 0.0));
        assert_eq!(five.nose, Point::new(5.0, 6.0));
        assert_eq!(five.mouth_left, Point::new(54.0, 0.0));
        assert_eq!(five_points(&l[..10]), None);
    }
}
