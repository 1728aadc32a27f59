//! Geometry of face crops: affine sampling of an image, and the similarity transform that maps
//! five facial keypoints onto the 112×112 ArcFace template.
//!
//! Every crop boardcheck feeds a model (detector letterbox, landmark box, liveness context,
//! aligned face) is one [`warp`] with bilinear sampling, like OpenCV's `INTER_LINEAR`, which
//! is what these models were trained with.

use image::RgbImage;

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
    let stride = out_w as usize * 3;
    warp_rows(source, output_to_source, out_w, out_h, border, |y, row| {
        out.as_mut()[y * stride..(y + 1) * stride].copy_from_slice(row.as_flattened());
    });
    out
}

/// [`warp`], handing each output row (`out_w` RGB pixels) to `emit` with its index instead of
/// building an image, so model inputs can be normalised straight into their tensors.
pub fn warp_rows(
    source: &RgbImage,
    output_to_source: &Affine,
    out_w: u32,
    out_h: u32,
    border: Border,
    mut emit: impl FnMut(usize, &[[u8; 3]]),
) {
    let (w, h) = (source.width() as usize, source.height() as usize);
    let fill = match border {
        Border::Constant(fill) => fill,
        Border::Replicate => [0, 0, 0], // only for an empty source: there is no edge to copy
    };
    let mut row = vec![fill; out_w as usize];
    if w == 0 || h == 0 {
        (0..out_h as usize).for_each(|y| emit(y, &row));
        return;
    }
    let (pixels, _) = source.as_raw().as_chunks::<3>();
    let sampler = Sampler { pixels, w, h, border, fill };
    if output_to_source.b == 0.0 && output_to_source.d == 0.0 {
        sampler.axis_aligned(output_to_source, &mut row, out_h, emit);
    } else {
        for oy in 0..out_h {
            for (ox, out) in (0..out_w).zip(row.iter_mut()) {
                let p = output_to_source.apply(Point::new(centre(ox), centre(oy)));
                *out = sampler.sample_at(p.x - 0.5, p.y - 0.5);
            }
            emit(oy as usize, &row);
        }
    }
}

/// Output pixel `i`'s centre: pixel centres map to pixel centres, as in OpenCV.
fn centre(i: u32) -> f32 {
    i as f32 + 0.5
}

/// Bilinear sampling of one source image.
struct Sampler<'a> {
    pixels: &'a [[u8; 3]],
    w: usize,
    h: usize,
    border: Border,
    fill: [u8; 3],
}

impl Sampler<'_> {
    /// The sample at continuous pixel-index coordinates (x, y).
    fn sample_at(&self, x: f32, y: f32) -> [u8; 3] {
        let pixel = |i: usize| self.pixels.get(i).unwrap_or(&self.fill).map(f32::from);
        // Most samples have all four neighbours inside: no border cases to weigh (the taps
        // are the ones `Taps::new` gives there).
        if x >= 0.0 && y >= 0.0 && x < (self.w - 1) as f32 && y < (self.h - 1) as f32 {
            let (x0, y0) = (x as usize, y as usize); // truncation is floor here
            let i = y0 * self.w + x0;
            let (p00, p10, p01, p11) = (pixel(i), pixel(i + 1), pixel(i + self.w), pixel(i + self.w + 1));
            return blend(p00, p10, p01, p11, x - x0 as f32, y - y0 as f32);
        }
        let (tx, ty) = (Taps::new(x, self.w, 1, self.border), Taps::new(y, self.h, self.w, self.border));
        if tx.outside || ty.outside {
            return self.fill;
        }
        let at = |xo: Option<usize>, yo: Option<usize>| match (xo, yo) {
            (Some(xo), Some(yo)) => pixel(xo + yo),
            _ => self.fill.map(f32::from),
        };
        blend(at(tx.lo, ty.lo), at(tx.hi, ty.lo), at(tx.lo, ty.hi), at(tx.hi, ty.hi), tx.frac, ty.frac)
    }

    /// An axis-aligned map (letterbox, landmark and liveness boxes, padding): every output row
    /// reads the same source columns, so it is sampled separably — each source row needed is
    /// interpolated along x once (and kept while the next output row needs it too), then rows
    /// are blended along y. The sums are [`blend`]'s, in the same order, so the pixels are
    /// the same as sampling each alone; this just skips the per-pixel taps and branches.
    fn axis_aligned(&self, m: &Affine, row: &mut [[u8; 3]], out_h: u32, mut emit: impl FnMut(usize, &[[u8; 3]])) {
        let (w, fill) = (self.w, self.fill);
        // With b = d = 0, `apply`'s x ignores y and its y ignores x: these are the per-pixel
        // coordinates. Column taps index a source row with the fill colour appended (index w).
        let columns: Vec<(usize, usize, f32)> = (0..row.len() as u32)
            .map(|ox| {
                let t = Taps::new(m.apply(Point::new(centre(ox), 0.5)).x - 0.5, w, 1, self.border);
                if t.outside {
                    (w, w, 0.0)
                } else {
                    (t.lo.unwrap_or(w), t.hi.unwrap_or(w), t.frac)
                }
            })
            .collect();
        // Halving exactly (a 640×480 frame into the 320×240 detector input) reads each pixel
        // between two source pixels at weight ½, in blocks side by side from the first
        // column's: see `mean_of_blocks`.
        let halving_from = columns.first().map(|c| c.0).filter(|&first| {
            columns.iter().enumerate().all(|(i, &(lo, hi, frac))| frac == 0.5 && lo == first + 2 * i && hi == lo + 1 && hi < w)
        });
        // One source row as floats, flat RGB, with the fill colour appended (pixel w).
        let mut source_row = vec![0.0f32; 3 * (w + 1)];
        source_row[3 * w..].copy_from_slice(&fill.map(f32::from));
        // Two source rows interpolated along x (flat RGB), and which rows they are (None: fill).
        let (mut top, mut bottom) = (vec![0.0f32; 3 * row.len()], vec![0.0f32; 3 * row.len()]);
        let (mut top_is, mut bottom_is): (Option<Option<usize>>, Option<Option<usize>>) = (None, None);
        let mut interpolate = |offset: Option<usize>, out: &mut [f32]| {
            let values = &mut source_row[..3 * w];
            match offset.and_then(|o| self.pixels.get(o..o + w)) {
                Some(pixels) => values.iter_mut().zip(pixels.as_flattened()).for_each(|(v, &p)| *v = f32::from(p)),
                None => values.chunks_exact_mut(3).for_each(|v| v.copy_from_slice(&fill.map(f32::from))),
            }
            interpolate_row(&source_row, &columns, out);
        };
        for oy in 0..out_h {
            let ty = Taps::new(m.apply(Point::new(0.5, centre(oy))).y - 0.5, self.h, w, self.border);
            if ty.outside {
                row.fill(fill);
                emit(oy as usize, row);
                continue;
            }
            if let (Some(first), Some(lo), Some(hi)) = (halving_from.filter(|_| ty.frac == 0.5), ty.lo, ty.hi) {
                if hi == lo + w {
                    mean_of_blocks(&self.pixels[lo + first..], &self.pixels[hi + first..], row);
                    emit(oy as usize, row);
                    continue;
                }
            }
            if top_is != Some(ty.lo) {
                if bottom_is == Some(ty.lo) {
                    std::mem::swap(&mut top, &mut bottom);
                    std::mem::swap(&mut top_is, &mut bottom_is);
                } else {
                    interpolate(ty.lo, &mut top);
                    top_is = Some(ty.lo);
                }
            }
            if bottom_is != Some(ty.hi) {
                interpolate(ty.hi, &mut bottom);
                bottom_is = Some(ty.hi);
            }
            blend_rows(&top, &bottom, ty.frac, row.as_flattened_mut());
            emit(oy as usize, row);
        }
    }
}

/// Each output pixel the mean of a 2×2 block, the blocks side by side from the first pixel of
/// two source rows (`top`, `bottom`): what the bilinear weights (½, ½) give, summed in
/// integers and rounded half up as [`to_u8`] rounds; the float path's sums of halves and
/// quarters are exact, so the pixels are the same.
fn mean_of_blocks(top: &[[u8; 3]], bottom: &[[u8; 3]], out: &mut [[u8; 3]]) {
    let n = 2 * out.len();
    let (top, bottom) = (top[..n].as_flattened(), bottom[..n].as_flattened());
    // Down the columns first, in a loop the compiler vectorises; then pairs of columns.
    let sums: Vec<u16> = top.iter().zip(bottom).map(|(&a, &b)| u16::from(a) + u16::from(b)).collect();
    for (o, s) in out.iter_mut().zip(sums.chunks_exact(6)) {
        *o = std::array::from_fn(|k| ((s[k] + s[k + 3] + 2) >> 2) as u8);
    }
}

/// The bilinear blend of the four neighbours p(x, y) with weights `fx` and `fy` on the
/// second of each pair: along x, then along y, as the separable path does it too.
fn blend(p00: [f32; 3], p10: [f32; 3], p01: [f32; 3], p11: [f32; 3], fx: f32, fy: f32) -> [u8; 3] {
    std::array::from_fn(|c| to_u8(lerp(lerp(p00[c], p10[c], fx), lerp(p01[c], p11[c], fx), fy)))
}

/// One source row (flat RGB floats, fill colour appended) interpolated along x at `columns`
/// (lower pixel, upper pixel, weight of the upper), into flat RGB.
fn interpolate_row(source_row: &[f32], columns: &[(usize, usize, f32)], out: &mut [f32]) {
    for (o, &(lo, hi, frac)) in out.chunks_exact_mut(3).zip(columns) {
        let (p, q) = (&source_row[3 * lo..3 * lo + 3], &source_row[3 * hi..3 * hi + 3]);
        for c in 0..3 {
            o[c] = lerp(p[c], q[c], frac);
        }
    }
}

/// Two x-interpolated rows blended along y with weight `frac` on the second, rounded.
fn blend_rows(top: &[f32], bottom: &[f32], frac: f32, out: &mut [u8]) {
    for ((o, &t), &b) in out.iter_mut().zip(top).zip(bottom) {
        *o = to_u8(lerp(t, b, frac));
    }
}

/// `p + (q − p)·f`: the one interpolation step of every bilinear sample here.
fn lerp(p: f32, q: f32, f: f32) -> f32 {
    p + (q - p) * f
}

/// `v.round()` (half up) saturated to 0..=255, in arithmetic that vectorises: `round` is a
/// libm call per value on baseline x86-64 and float-to-int casts stay scalar. Adding 2²³
/// leaves an integer in the low mantissa bits; the compare turns its round-to-even into floor.
fn to_u8(v: f32) -> u8 {
    const SHIFT: f32 = 8_388_608.0; // 2²³: from here up an f32 has no fraction bits
    let x = v + 0.5;
    let x = if x < 255.0 { x } else { 255.0 };
    let x = if x > 0.0 { x } else { 0.0 };
    let nearest = (x + SHIFT) - SHIFT;
    let floor = if nearest > x { nearest - 1.0 } else { nearest };
    (floor + SHIFT).to_bits() as u8
}

/// Where a sample at one continuous pixel-index coordinate reads along one source axis:
/// its two neighbours, as offsets into the pixel buffer (index × step), and their weights.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Taps {
    /// Lower and upper neighbour; `None` beyond the edge (constant border: the fill colour).
    lo: Option<usize>,
    hi: Option<usize>,
    /// Weight of the upper neighbour.
    frac: f32,
    /// A whole pixel or more outside (constant border): the sample is the fill colour.
    outside: bool,
}

impl Taps {
    /// Taps at coordinate `at` on an axis of `len` (≥ 1) pixels whose offsets step by `step`.
    fn new(at: f32, len: usize, step: usize, border: Border) -> Taps {
        let last = len as i64 - 1;
        match border {
            Border::Constant(_) => {
                if !(at > -1.0 && at < len as f32) {
                    return Taps { lo: None, hi: None, frac: 0.0, outside: true };
                }
                let i = at.floor() as i64;
                let offset = |i: i64| (0..=last).contains(&i).then(|| i as usize * step);
                Taps { lo: offset(i), hi: offset(i + 1), frac: at - i as f32, outside: false }
            }
            Border::Replicate => {
                let at = at.clamp(-1.0, len as f32);
                let i = at.floor() as i64;
                let offset = |i: i64| Some(i.min(last).max(0) as usize * step);
                Taps { lo: offset(i), hi: offset(i + 1), frac: at - i as f32, outside: false }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

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

    /// Bilinear warp written the plain way, pixel by pixel (what `warp` did before its taps
    /// were precomputed): the reference the fast paths must reproduce.
    fn reference_warp(img: &RgbImage, m: &Affine, out_w: u32, out_h: u32, border: Border) -> RgbImage {
        let (w, h) = (img.width() as i64, img.height() as i64);
        RgbImage::from_fn(out_w, out_h, |ox, oy| {
            let p = m.apply(Point::new(ox as f32 + 0.5, oy as f32 + 0.5));
            let (x, y) = (p.x - 0.5, p.y - 0.5);
            if let Border::Constant(fill) = border {
                if !(x > -1.0 && y > -1.0 && x < w as f32 && y < h as f32) {
                    return Rgb(fill);
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
            Rgb(std::array::from_fn(|c| {
                let top = p00[c] + (p10[c] - p00[c]) * fx;
                let bottom = p01[c] + (p11[c] - p01[c]) * fx;
                (top + (bottom - top) * fy).round().clamp(0.0, 255.0) as u8
            }))
        })
    }

    #[test]
    fn warp_matches_the_plain_bilinear_warp() {
        let img = RgbImage::from_fn(37, 23, |x, y| Rgb([(x * 7 + y * 3) as u8, (x * y) as u8, (255 - x * 5) as u8]));
        let maps = [
            Affine::scale_translate(2.0, 2.0, 0.0, 0.0),     // downscale (letterbox of a large frame)
            Affine::scale_translate(0.37, 0.41, -3.2, -1.7), // upscale, partly outside
            Affine::scale_translate(37.0 / 32.0, 37.0 / 32.0, 0.0, -8.4), // letterbox with padding rows
            Affine::scale_translate(-1.0, 1.0, 36.5, 0.0),   // mirrored
            Affine { a: 0.8, b: -0.6, c: 10.0, d: 0.6, e: 0.8, f: -4.0 }, // rotated (alignment)
        ];
        for m in &maps {
            for border in [Border::Constant([127, 3, 250]), Border::Replicate] {
                assert_eq!(warp(&img, m, 32, 24, border), reference_warp(&img, m, 32, 24, border), "{m:?} {border:?}");
            }
        }
        // Exactly half the size, every sample inside: the integer 2×2 means.
        let img = RgbImage::from_fn(64, 48, |x, y| Rgb([(x * 7 + y * 3) as u8, (x * y) as u8, (255 - x * 3) as u8]));
        let half = Affine::scale_translate(2.0, 2.0, 0.0, 0.0);
        for border in [Border::Constant([127, 3, 250]), Border::Replicate] {
            assert_eq!(warp(&img, &half, 32, 24, border), reference_warp(&img, &half, 32, 24, border), "{border:?}");
        }
    }

    #[test]
    fn warp_of_an_empty_image_is_fill() {
        let empty = RgbImage::new(0, 5);
        let out = warp(&empty, &Affine::scale_translate(1.0, 1.0, 0.0, 0.0), 3, 2, Border::Constant([1, 2, 3]));
        assert!(out.pixels().all(|p| p.0 == [1, 2, 3]));
        assert!(warp(&empty, &Affine::scale_translate(1.0, 1.0, 0.0, 0.0), 3, 2, Border::Replicate).pixels().all(|p| p.0 == [0, 0, 0]));
    }

    #[test]
    fn to_u8_rounds_half_up_and_saturates() {
        for i in -400..=1200 {
            let v = i as f32 / 4.0; // quarters: ties and near-ties
            assert_eq!(to_u8(v), v.round().clamp(0.0, 255.0) as u8, "{v}");
        }
        assert_eq!((to_u8(254.49), to_u8(1e9), to_u8(-1e9)), (254, 255, 0));
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
