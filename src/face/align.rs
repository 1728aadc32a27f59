//! Geometry of face crops: affine sampling of an image, and the similarity transform that maps
//! five facial keypoints onto the 112×112 ArcFace template.
//!
//! Every crop boardcheck feeds a model (detector letterbox, landmark box, liveness context,
//! aligned face) is one [`warp`] with bilinear sampling, like OpenCV's `INTER_LINEAR`, which
//! is what these models were trained with.

use image::{Rgb, RgbImage};

/// A point in image pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub fn new(x: f32, y: f32) -> Self {
        Point { x, y }
    }

    pub fn distance(self, other: Point) -> f32 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }

    pub fn midpoint(self, other: Point) -> Point {
        Point::new((self.x + other.x) / 2.0, (self.y + other.y) / 2.0)
    }
}

/// The five alignment keypoints: eye centres, nose tip, mouth corners (image left to right).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FivePoints {
    pub left_eye: Point,
    pub right_eye: Point,
    pub nose: Point,
    pub mouth_left: Point,
    pub mouth_right: Point,
}

impl FivePoints {
    pub fn as_array(&self) -> [Point; 5] {
        [self.left_eye, self.right_eye, self.nose, self.mouth_left, self.mouth_right]
    }

    pub fn eye_distance(&self) -> f32 {
        self.left_eye.distance(self.right_eye)
    }
}

/// Side of the aligned face crop the embedders take.
pub const ALIGNED_SIZE: u32 = 112;

/// The ArcFace 112×112 template positions of [`FivePoints`].
pub const TEMPLATE_112: [Point; 5] = [
    Point { x: 38.2946, y: 51.6963 },
    Point { x: 73.5318, y: 51.5014 },
    Point { x: 56.0252, y: 71.7366 },
    Point { x: 41.5493, y: 92.3655 },
    Point { x: 70.7299, y: 92.2041 },
];

/// An affine map `p ↦ (a·x + b·y + c, d·x + e·y + f)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub a: f32,
    pub b: f32,
    pub c: f32,
    pub d: f32,
    pub e: f32,
    pub f: f32,
}

impl Affine {
    /// Scale then translate: `p ↦ p·(sx, sy) + (tx, ty)`.
    pub fn scale_translate(sx: f32, sy: f32, tx: f32, ty: f32) -> Self {
        Affine { a: sx, b: 0.0, c: tx, d: 0.0, e: sy, f: ty }
    }

    /// The map that samples the axis-aligned source rectangle (x, y, w, h) into an
    /// `out_w`×`out_h` output, stretching as needed.
    pub fn rect_to_output(x: f32, y: f32, w: f32, h: f32, out_w: u32, out_h: u32) -> Self {
        Affine::scale_translate(w / out_w as f32, h / out_h as f32, x, y)
    }

    pub fn apply(&self, p: Point) -> Point {
        Point::new(self.a * p.x + self.b * p.y + self.c, self.d * p.x + self.e * p.y + self.f)
    }

    /// The inverse map, or `None` when the map collapses the plane.
    pub fn inverse(&self) -> Option<Affine> {
        let det = self.a * self.e - self.b * self.d;
        if det.abs() < 1e-12 {
            return None;
        }
        let (a, b, d, e) = (self.e / det, -self.b / det, -self.d / det, self.a / det);
        Some(Affine { a, b, c: -(a * self.c + b * self.f), d, e, f: -(d * self.c + e * self.f) })
    }
}

/// The least-squares similarity transform (rotation, uniform scale, translation) taking
/// `from` onto `to` (Umeyama, 1991, without reflection).
pub fn similarity(from: &[Point], to: &[Point]) -> Option<Affine> {
    let n = from.len().min(to.len()) as f32;
    if n < 2.0 {
        return None;
    }
    let mean = |ps: &[Point]| {
        let (sx, sy) = ps.iter().fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
        Point::new(sx / n, sy / n)
    };
    let (mf, mt) = (mean(from), mean(to));
    // With complex numbers z = x + iy the best similarity is t = k·z + m, k = Σ conj(f)·t / Σ|f|².
    let (mut re, mut im, mut norm) = (0.0f32, 0.0f32, 0.0f32);
    for (p, q) in from.iter().zip(to) {
        let (fx, fy, tx, ty) = (p.x - mf.x, p.y - mf.y, q.x - mt.x, q.y - mt.y);
        re += fx * tx + fy * ty;
        im += fx * ty - fy * tx;
        norm += fx * fx + fy * fy;
    }
    if norm < 1e-9 {
        return None;
    }
    let (kr, ki) = (re / norm, im / norm);
    Some(Affine { a: kr, b: -ki, c: mt.x - (kr * mf.x - ki * mf.y), d: ki, e: kr, f: mt.y - (ki * mf.x + kr * mf.y) })
}

/// The output-to-source map that puts `points` on the 112×112 template.
pub fn alignment(points: &FivePoints) -> Option<Affine> {
    similarity(&points.as_array(), &TEMPLATE_112)?.inverse()
}

/// What a warp samples outside the source image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// A constant colour (model padding).
    Constant([u8; 3]),
    /// The nearest edge pixel: tight crops (ID photos) then still look like a face with
    /// some surroundings, not a face in a black frame.
    Replicate,
}

/// Samples `source` through `output_to_source` into an `out_w`×`out_h` image.
pub fn warp(source: &RgbImage, output_to_source: &Affine, out_w: u32, out_h: u32, border: Border) -> RgbImage {
    let mut out = RgbImage::new(out_w, out_h);
    for (ox, oy, pixel) in out.enumerate_pixels_mut() {
        // Pixel centres map to pixel centres, as in OpenCV.
        let p = output_to_source.apply(Point::new(ox as f32 + 0.5, oy as f32 + 0.5));
        *pixel = Rgb(sample_bilinear(source, p.x - 0.5, p.y - 0.5, border));
    }
    out
}

/// Bilinear sample at continuous pixel-index coordinates (x, y).
fn sample_bilinear(img: &RgbImage, x: f32, y: f32, border: Border) -> [u8; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    if let Border::Constant(fill) = border {
        if !(x > -1.0 && y > -1.0 && x < w as f32 && y < h as f32) {
            return fill;
        }
    }
    let (x, y) = (x.clamp(-1.0, w as f32), y.clamp(-1.0, h as f32));
    let (x0, y0) = (x.floor() as i64, y.floor() as i64);
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let at = |xi: i64, yi: i64| -> [f32; 3] {
        let inside = xi >= 0 && yi >= 0 && xi < w && yi < h;
        match border {
            Border::Constant(fill) if !inside => fill.map(f32::from),
            _ => img.get_pixel(xi.clamp(0, w - 1) as u32, yi.clamp(0, h - 1) as u32).0.map(f32::from),
        }
    };
    let (p00, p10, p01, p11) = (at(x0, y0), at(x0 + 1, y0), at(x0, y0 + 1), at(x0 + 1, y0 + 1));
    let mut out = [0u8; 3];
    for c in 0..3 {
        let top = p00[c] + (p10[c] - p00[c]) * fx;
        let bottom = p01[c] + (p11[c] - p01[c]) * fx;
        out[c] = (top + (bottom - top) * fy).round().clamp(0.0, 255.0) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Point, b: Point) -> bool {
        a.distance(b) < 1e-3
    }

    #[test]
    fn similarity_recovers_a_known_transform() {
        let truth = Affine { a: 0.8, b: -0.6, c: 10.0, d: 0.6, e: 0.8, f: -4.0 }; // scale 1, 36.87°
        let from = TEMPLATE_112;
        let to: Vec<Point> = from.iter().map(|&p| truth.apply(p)).collect();
        let found = similarity(&from, &to).expect("well-posed");
        for p in from {
            assert!(close(found.apply(p), truth.apply(p)));
        }
    }

    #[test]
    fn inverse_undoes_the_map() {
        let m = Affine { a: 2.0, b: 0.5, c: 3.0, d: -0.25, e: 1.5, f: 7.0 };
        let inv = m.inverse().expect("invertible");
        let p = Point::new(12.0, -5.0);
        assert!(close(inv.apply(m.apply(p)), p));
        assert!(Affine::scale_translate(0.0, 1.0, 0.0, 0.0).inverse().is_none());
    }

    #[test]
    fn identity_warp_copies_and_outside_is_filled() {
        let img = RgbImage::from_fn(4, 3, |x, y| Rgb([(x * 10) as u8, (y * 10) as u8, 7]));
        let same = warp(&img, &Affine::scale_translate(1.0, 1.0, 0.0, 0.0), 4, 3, Border::Replicate);
        assert_eq!(same, img);
        let shifted = warp(&img, &Affine::scale_translate(1.0, 1.0, 10.0, 0.0), 2, 2, Border::Constant([9, 9, 9]));
        assert!(shifted.pixels().all(|p| p.0 == [9, 9, 9]));
        let edge = warp(&img, &Affine::scale_translate(1.0, 1.0, 10.0, 0.0), 1, 1, Border::Replicate);
        assert_eq!(edge.get_pixel(0, 0), img.get_pixel(3, 0));
    }

    #[test]
    fn alignment_puts_keypoints_on_the_template() {
        let points = FivePoints {
            left_eye: Point::new(100.0, 120.0),
            right_eye: Point::new(160.0, 118.0),
            nose: Point::new(131.0, 150.0),
            mouth_left: Point::new(108.0, 180.0),
            mouth_right: Point::new(152.0, 179.0),
        };
        let to_source = alignment(&points).expect("well-posed");
        let back = to_source.inverse().expect("invertible");
        // The eyes land near their template places (least squares over five points).
        assert!(back.apply(points.left_eye).distance(TEMPLATE_112[0]) < 3.0);
        assert!(back.apply(points.right_eye).distance(TEMPLATE_112[1]) < 3.0);
    }
}
