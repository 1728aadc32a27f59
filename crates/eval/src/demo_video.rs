//! The demo's lane video, made from still photos: passengers walk up to the camera one after
//! another, as a 640×480, 15 fps MJPG `.avi` that the lane pipeline reads like any file.
//!
//! Each passenger is a head-and-shoulders cut-out of a photo (the face found with the
//! [`FaceEngine`]) on a plain body, composited onto a simple station concourse. The passenger starts far
//! (a ~22 px face) and approaches over 2 s, the face growing as 1/distance, stands at the
//! kiosk for 1 s, and leaves; 1 s of empty scene separates passengers. Camera-like effects
//! make the frames less clean than the photos: focus blur while far, auto-exposure settling,
//! sensor noise, a little camera shake. A [`Presentation::ScreenReplay`] passenger holds up
//! a phone replaying the photo instead (dark bezel, washed-out screen, scanlines, moiré,
//! glare): the spoof the liveness check must catch. The video is written by OpenCV's own
//! MJPEG encoder at quality 95, roughly what a lane camera's MJPEG stream looks like.
//!
//! The demo's manifest gets ID-card photos made by [`write_id_photo`]: the same crop and
//! JPEG compression as the evaluation's ID photos. Everything is deterministic for a seed.

use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage, Rgba, RgbaImage};
use opencv::core::{Mat, Size, Vec3b};
use opencv::prelude::*;
use opencv::{imgproc, videoio};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};
use boardcheck_vision::face::align::{warp, Affine, Border};
use boardcheck_vision::face::{id_photo, Face, FaceEngine};
use boardcheck_vision::image_io;

pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 480;
pub const FPS: f64 = 15.0;
/// Frames of the walk up (2 s), the stay at the kiosk (1 s) and the empty scene (1 s).
pub const APPROACH_FRAMES: u64 = 30;
pub const HOLD_FRAMES: u64 = 15;
pub const GAP_FRAMES: u64 = 15;
/// JPEG quality of the ID photos: chip photos are small and heavily compressed.
pub const ID_PHOTO_QUALITY: u8 = 60;

/// Face width at the kiosk, px: a face about 0.6 m from a 640×480 camera.
const CLOSE_FACE: f32 = 150.0;
/// Face width on the phone screen at the kiosk, px (eyes ≈45 px apart: a usable probe).
const PHONE_FACE: f32 = 105.0;
/// Walking distance from the camera at the start and at the kiosk, m.
const FAR_M: f32 = 4.0;
const CLOSE_M: f32 = 0.6;

/// A cut-out around a face, in face widths: its size, and the face centre below its top.
struct Layout {
    w: f32,
    h: f32,
    face_y: f32,
}
/// Head and shoulders.
const PERSON: Layout = Layout { w: 2.4, h: 2.9, face_y: 1.2 };
/// A selfie video filling a 16:9 portrait phone screen.
const SELFIE: Layout = Layout { w: 2.0, h: 2.0 * 16.0 / 9.0, face_y: 1.5 };

/// Where the face is at the kiosk.
const KIOSK_FACE: (f32, f32) = (320.0, 205.0);
/// From the face centre down to the hips and the feet, in face widths (a person is about 11
/// face widths tall).
const HIPS_BELOW_FACE: f32 = 5.5;
const BODY_BELOW_FACE: f32 = 10.0;
/// Camera shake, px either way.
const SHAKE: u32 = 2;
/// Floor starts here (the concourse's horizon).
const HORIZON: u32 = 300;

/// How a passenger shows their face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    /// In person.
    Live,
    /// On a phone screen held up to the camera (a replay attack).
    ScreenReplay,
}

/// One passenger of the demo video.
#[derive(Debug, Clone)]
pub struct DemoPassenger {
    pub label: String,
    /// The photo the passenger is cut from.
    pub walk_image: PathBuf,
    /// Which face of the photo, by size: 0 is the largest.
    pub face: usize,
    pub presentation: Presentation,
}

impl DemoPassenger {
    /// The largest face of `walk_image`, in person.
    pub fn new(label: impl Into<String>, walk_image: impl Into<PathBuf>) -> Self {
        DemoPassenger { label: label.into(), walk_image: walk_image.into(), face: 0, presentation: Presentation::Live }
    }
}

/// Where one passenger is in the video (frame indices, inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub label: String,
    /// First frame the passenger is visible (far away).
    pub first_frame: u64,
    /// First frame at the kiosk, face at full size.
    pub close_frame: u64,
    /// Last frame the passenger is visible.
    pub last_frame: u64,
}

/// What [`render_video`] wrote.
#[derive(Debug, Clone)]
pub struct VideoSummary {
    pub frames: u64,
    pub fps: f64,
    pub width: u32,
    pub height: u32,
    pub segments: Vec<Segment>,
}

/// Renders the passengers, in order, into the MJPG `.avi` file `out`.
pub fn render_video(engine: &FaceEngine, passengers: &[DemoPassenger], out: &Path, seed: u64) -> Result<VideoSummary> {
    if passengers.is_empty() {
        return Err(video_error(out, "no passengers to render"));
    }
    if !out.extension().is_some_and(|e| e.eq_ignore_ascii_case("avi")) {
        return Err(video_error(out, "the demo video is MJPG in an .avi file: name it *.avi"));
    }
    let sprites = passengers.iter().map(|p| Sprite::for_passenger(engine, p)).collect::<Result<Vec<_>>>()?;
    let mut rng = StdRng::seed_from_u64(seed);
    let background = concourse();
    let mut writer = Writer::open(out)?;
    let mut segments = Vec::with_capacity(passengers.len());

    for _ in 0..GAP_FRAMES {
        let frame = render_frame(&background, None, &mut rng);
        writer.write(&frame)?;
    }
    for (passenger, sprite) in passengers.iter().zip(&sprites) {
        let first_frame = writer.frames;
        // Each passenger comes in from one side, under their own lighting.
        let side = if rng.gen_bool(0.5) { -1.0 } else { 1.0 };
        let lateral = side * rng.gen_range(40.0..110.0f32);
        let exposure = rng.gen_range(0.8..1.15f32);
        let mut cache = None;
        for i in 0..APPROACH_FRAMES + HOLD_FRAMES {
            // t: 0 far .. 1 at the kiosk.
            let t = (i as f32 / (APPROACH_FRAMES - 1) as f32).min(1.0);
            let distance = FAR_M + (CLOSE_M - FAR_M) * t;
            let face_width = sprite.close_face_width * CLOSE_M / distance;
            let walking = i < APPROACH_FRAMES;
            let bob = if walking { 3.0 * (i as f32 * 1.3).sin() * (1.0 - t) } else { 0.0 };
            let centre = (KIOSK_FACE.0 + lateral * (1.0 - t), KIOSK_FACE.1 - 12.0 * (1.0 - t) + bob);
            let blur = if t < 0.5 { 1.6 * (1.0 - t / 0.5) } else { 0.0 };
            let look = Look { face_width, centre, blur, gain: exposure + (1.0 - exposure) * t };
            let frame = render_frame(&background, Some((sprite, &look, &mut cache)), &mut rng);
            writer.write(&frame)?;
        }
        segments.push(Segment {
            label: passenger.label.clone(),
            first_frame,
            close_frame: first_frame + APPROACH_FRAMES - 1,
            last_frame: writer.frames - 1,
        });
        for _ in 0..GAP_FRAMES {
            let frame = render_frame(&background, None, &mut rng);
            writer.write(&frame)?;
        }
    }
    let frames = writer.finish()?;
    Ok(VideoSummary { frames, fps: FPS, width: WIDTH, height: HEIGHT, segments })
}

/// Writes the 102×126 ID-card photo (JPEG, quality [`ID_PHOTO_QUALITY`]) of face `face` (0:
/// the largest) of the photo `source` to `out`.
pub fn write_id_photo(engine: &FaceEngine, source: &Path, face: usize, out: &Path) -> Result<()> {
    let image = image_io::load_rgb(source)?;
    let found = nth_face(engine, &image, face, source)?;
    let photo = id_photo::crop(&image, &found.points)
        .ok_or_else(|| boardcheck_vision::Error::image(source, "face keypoints too degenerate to crop"))?;
    let bytes = id_photo::encode_jpeg(&photo, ID_PHOTO_QUALITY)?;
    std::fs::write(out, bytes).map_err(|e| Error::io(out, e))
}

/// Face `n` of `image` by size, largest first.
fn nth_face(engine: &FaceEngine, image: &RgbImage, n: usize, path: &Path) -> Result<Face> {
    let mut faces = engine.analyze(image)?;
    let count = faces.len();
    faces.sort_by(|a, b| b.bbox.area().total_cmp(&a.bbox.area()));
    faces
        .into_iter()
        .nth(n)
        .ok_or_else(|| boardcheck_vision::Error::image(path, format!("no face number {n} (largest first, from 0): {count} found")).into())
}

/// A passenger's cut-out at kiosk size, with alpha, and where its face is.
struct Sprite {
    image: RgbaImage,
    close_face_width: f32,
    face_centre: (f32, f32),
    /// Colour of the body below the cut-out, down to the floor (none for a phone).
    body: Option<[u8; 3]>,
}

/// How the sprite looks in one frame.
struct Look {
    face_width: f32,
    centre: (f32, f32),
    blur: f32,
    gain: f32,
}

impl Sprite {
    fn for_passenger(engine: &FaceEngine, passenger: &DemoPassenger) -> Result<Sprite> {
        let image = image_io::load_rgb(&passenger.walk_image)?;
        let face = nth_face(engine, &image, passenger.face, &passenger.walk_image)?;
        match passenger.presentation {
            Presentation::Live => Ok(person(&image, &face, CLOSE_FACE)),
            Presentation::ScreenReplay => Ok(phone(&image, &face)),
        }
    }
}

/// The cut-out around `face`, scaled to a face `face_px` wide.
fn cut_out(image: &RgbImage, face: &Face, layout: &Layout, face_px: f32) -> RgbImage {
    let fw = face.bbox.width().max(face.bbox.height() * 0.8).max(1.0);
    let c = face.bbox.centre();
    let (x, y, w, h) = (c.x - layout.w * fw / 2.0, c.y - layout.face_y * fw, layout.w * fw, layout.h * fw);
    // Crop at the photo's resolution (edges replicated), then resize with an area filter.
    let (cw, ch) = (w.round().max(1.0) as u32, h.round().max(1.0) as u32);
    let crop = warp(image, &Affine::scale_translate(1.0, 1.0, x, y), cw, ch, Border::Replicate);
    let (ow, oh) = ((layout.w * face_px).round() as u32, (layout.h * face_px).round() as u32);
    imageops::resize(&crop, ow, oh, FilterType::Triangle)
}

/// A person: the cut-out inside a soft head-and-shoulders silhouette.
fn person(image: &RgbImage, face: &Face, face_px: f32) -> Sprite {
    let cut = cut_out(image, face, &PERSON, face_px);
    let (w, h) = (cut.width() as f32, cut.height() as f32);
    let head_y = PERSON.face_y / PERSON.h;
    let sprite = RgbaImage::from_fn(cut.width(), cut.height(), |x, y| {
        let (u, v) = ((x as f32 + 0.5) / w, (y as f32 + 0.5) / h);
        let head = ellipse_alpha(u, v, (0.5, head_y - 0.02), (0.34, 0.36));
        let shoulders = ellipse_alpha(u, v, (0.5, 1.08), (0.52, 0.42));
        let Rgb([r, g, b]) = *cut.get_pixel(x, y);
        Rgba([r, g, b, (head.max(shoulders) * 255.0) as u8])
    });
    Sprite { body: body_colour(&sprite), image: sprite, close_face_width: face_px, face_centre: (w / 2.0, PERSON.face_y * face_px) }
}

/// The mean opaque colour of the cut-out's bottom rows (the clothes), a little darker.
fn body_colour(sprite: &RgbaImage) -> Option<[u8; 3]> {
    let rows = sprite.height().saturating_sub(sprite.height() / 20)..sprite.height();
    let (mut sum, mut n) = ([0u64; 3], 0u64);
    for y in rows {
        for x in 0..sprite.width() {
            let p = sprite.get_pixel(x, y);
            if p[3] == 255 {
                (0..3).for_each(|c| sum[c] += p[c] as u64);
                n += 1;
            }
        }
    }
    (n > 0).then(|| sum.map(|s| (s * 85 / 100 / n) as u8))
}

/// Opacity of an ellipse with a soft edge, at (u, v) in the unit square.
fn ellipse_alpha(u: f32, v: f32, centre: (f32, f32), radii: (f32, f32)) -> f32 {
    let r = (((u - centre.0) / radii.0).powi(2) + ((v - centre.1) / radii.1).powi(2)).sqrt();
    ((1.0 - r) / 0.08).clamp(0.0, 1.0)
}

/// A phone held up replaying a selfie video of the passenger (the photo filling the
/// portrait screen), as a camera sees a phone: dark bezel with a lighter rim, rounded corners.
fn phone(image: &RgbImage, face: &Face) -> Sprite {
    let screen = cut_out(image, face, &SELFIE, PHONE_FACE);
    let (screen_w, screen_h) = screen.dimensions();
    let (side, top) = (10u32, 24u32);
    let (w, h) = (screen_w + 2 * side, screen_h + 2 * top);
    let corner = 22.0f32;
    let sprite = RgbaImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
        let dx = (corner - fx).max(fx - (w as f32 - corner)).max(0.0);
        let dy = (corner - fy).max(fy - (h as f32 - corner)).max(0.0);
        let alpha = (corner + 0.5 - (dx * dx + dy * dy).sqrt()).clamp(0.0, 1.0);
        let in_screen = x >= side && x < side + screen_w && y >= top && y < top + screen_h;
        let rgb = if in_screen {
            let (sx, sy) = (x - side, y - top);
            screen_pixel(screen.get_pixel(sx, sy).0.map(f32::from), sx as f32, sy as f32, screen_w as f32, screen_h as f32)
        } else if dx.max(dy) > corner - 2.5 || x < 2 || y < 2 || x >= w - 2 || y >= h - 2 {
            [62.0, 62.0, 68.0]
        } else {
            [16.0, 16.0, 20.0]
        };
        Rgba([rgb[0] as u8, rgb[1] as u8, rgb[2] as u8, (alpha * 255.0) as u8])
    });
    let face_centre = (w as f32 / 2.0, top as f32 + SELFIE.face_y * PHONE_FACE);
    Sprite { image: sprite, close_face_width: PHONE_FACE, face_centre, body: None }
}

/// A screen pixel as a camera sees it: raised black level and lower contrast, a blue cast,
/// scanlines, a moiré beat between the pixel grid and the sensor, and a glare band.
fn screen_pixel(rgb: [f32; 3], x: f32, y: f32, w: f32, h: f32) -> [f32; 3] {
    let tau = std::f32::consts::TAU;
    let scanline = if (y as u32).is_multiple_of(3) { 0.86 } else { 1.0 };
    let moire = (1.0 + 0.07 * (tau * (x * 0.23 + y * 0.07)).sin()) * (1.0 + 0.05 * (tau * (y * 0.19 - x * 0.05)).sin());
    let glare = 0.45 * (-((x / w + y / h - 0.75) / 0.14).powi(2)).exp();
    let cast = [-4.0, 0.0, 10.0];
    let mut out = [0.0; 3];
    for c in 0..3 {
        let v = (38.0 + rgb[c] * 0.72 + cast[c]) * scanline * moire;
        out[c] = (v + (255.0 - v) * glare).clamp(0.0, 255.0);
    }
    out
}

/// The empty concourse, a few pixels larger than the frame for camera shake: a wall with a
/// blue departures sign and two pillars, and a tiled floor in perspective.
fn concourse() -> RgbImage {
    let (w, h) = (WIDTH + 2 * SHAKE, HEIGHT + 2 * SHAKE);
    let horizon = (HORIZON + SHAKE) as f32;
    let centre = w as f32 / 2.0;
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let px = if fy >= horizon {
            // Tiles: perspective lines converge on the vanishing point above the horizon.
            let depth = 60.0 / (fy - horizon + 8.0);
            let across = (fx - centre) * depth / 60.0;
            let along = depth * 6.0;
            let line = across.rem_euclid(1.0) < 0.04 || along.rem_euclid(1.0) < 0.06;
            let shade = 118.0 + 20.0 * (fy - horizon) / (h as f32 - horizon);
            if line {
                [shade * 0.8, shade * 0.78, shade * 0.75]
            } else {
                [shade, shade * 0.96, shade * 0.9]
            }
        } else if (40.0..92.0).contains(&fx) || (w as f32 - 92.0..w as f32 - 40.0).contains(&fx) {
            let edge = if (fx - 40.0).abs() < 3.0 || (fx - (w as f32 - 92.0)).abs() < 3.0 { 0.85 } else { 1.0 };
            [150.0 * edge, 150.0 * edge, 146.0 * edge]
        } else if (44.0..92.0).contains(&fy) && (120.0..w as f32 - 120.0).contains(&fx) {
            // The sign: white text blocks on blue.
            let text = (56.0..80.0).contains(&fy) && ((fx - 140.0).rem_euclid(46.0) < 34.0) && fx < w as f32 - 140.0;
            if text {
                [225.0, 230.0, 235.0]
            } else {
                [28.0, 72.0, 142.0]
            }
        } else {
            let v = 200.0 - 25.0 * fy / horizon;
            [v, v * 0.98, v * 0.94]
        };
        Rgb(px.map(|v| v.clamp(0.0, 255.0) as u8))
    })
}

/// One frame: the concourse through a shaking camera, the passenger if any, exposure and
/// sensor noise. `cache` keeps the last resized sprite (it does not change at the kiosk).
fn render_frame(background: &RgbImage, passenger: Option<(&Sprite, &Look, &mut Option<RgbaImage>)>, rng: &mut StdRng) -> RgbImage {
    let (sx, sy) = (rng.gen_range(0..=2 * SHAKE), rng.gen_range(0..=2 * SHAKE));
    let mut frame = RgbImage::new(WIDTH, HEIGHT);
    let (row, stride) = (WIDTH as usize * 3, background.width() as usize * 3);
    for (y, out) in frame.chunks_exact_mut(row).enumerate() {
        let start = (sy as usize + y) * stride + sx as usize * 3;
        out.copy_from_slice(&background.as_raw()[start..start + row]);
    }
    let mut gain = 1.0;
    if let Some((sprite, look, cache)) = passenger {
        let scale = look.face_width / sprite.close_face_width;
        let (w, h) =
            ((sprite.image.width() as f32 * scale).round().max(1.0) as u32, (sprite.image.height() as f32 * scale).round().max(1.0) as u32);
        if look.blur > 0.0 || cache.as_ref().map(|c| c.dimensions()) != Some((w, h)) {
            let resized = imageops::resize(&sprite.image, w, h, FilterType::Triangle);
            *cache = Some(if look.blur > 0.3 { imageops::fast_blur(&resized, look.blur) } else { resized });
        }
        if let Some(scaled) = cache.as_ref() {
            let jitter = (rng.gen_range(-1.5..1.5f32), rng.gen_range(-1.5..1.5f32));
            let x = look.centre.0 - sprite.face_centre.0 * scale + jitter.0;
            let y = look.centre.1 - sprite.face_centre.1 * scale + jitter.1;
            if let Some(colour) = sprite.body {
                let centre_x = x + w as f32 / 2.0;
                draw_body(&mut frame, centre_x, y + 0.9 * h as f32, w as f32, look, colour);
            }
            blend(&mut frame, scaled, x.round() as i64, y.round() as i64);
        }
        gain = look.gain;
    }
    gain *= 1.0 + rng.gen_range(-0.015..0.015f32);
    expose(&mut frame, gain, rng.gen());
    frame
}

/// Torso and legs below the cut-out, down to the feet: a tapering coat, then two legs.
fn draw_body(frame: &mut RgbImage, centre_x: f32, top: f32, sprite_w: f32, look: &Look, colour: [u8; 3]) {
    let fw = look.face_width;
    let (hips, feet) = (look.centre.1 + HIPS_BELOW_FACE * fw, look.centre.1 + BODY_BELOW_FACE * fw);
    let legs = colour.map(|c| (c as u32 * 3 / 4) as u8);
    let (height, width) = (frame.height() as f32, frame.width() as f32);
    let mut y = top.max(0.0).round();
    while y < feet.min(height) {
        let spans: [(f32, f32); 2] = if y < hips {
            let half = sprite_w * (0.42 - 0.08 * (y - top) / (hips - top).max(1.0));
            [(centre_x - half, centre_x + half), (0.0, 0.0)]
        } else {
            let (gap, leg) = (0.04 * sprite_w, 0.14 * sprite_w);
            [(centre_x - gap - leg, centre_x - gap), (centre_x + gap, centre_x + gap + leg)]
        };
        let paint = if y < hips { colour } else { legs };
        for (from, to) in spans {
            for x in from.max(0.0).round() as u32..to.min(width).round().max(0.0) as u32 {
                frame.put_pixel(x, y as u32, Rgb(paint));
            }
        }
        y += 1.0;
    }
}

/// Alpha-blends `sprite` onto `frame` with its top-left corner at (x, y), clipped.
fn blend(frame: &mut RgbImage, sprite: &RgbaImage, x: i64, y: i64) {
    let (fw, fh) = (frame.width() as i64, frame.height() as i64);
    let (sw, sh) = (sprite.width() as i64, sprite.height() as i64);
    let (x0, x1) = (x.max(0), (x + sw).min(fw));
    let (y0, y1) = (y.max(0), (y + sh).min(fh));
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let (frame_w, sprite_w) = (fw as usize, sw as usize);
    let (frame_px, sprite_px) = (frame.as_mut(), sprite.as_raw());
    for fy in y0..y1 {
        let (sy, sx0) = ((fy - y) as usize, (x0 - x) as usize);
        let src = &sprite_px[(sy * sprite_w + sx0) * 4..(sy * sprite_w + sx0 + (x1 - x0) as usize) * 4];
        let dst = &mut frame_px[(fy as usize * frame_w + x0 as usize) * 3..(fy as usize * frame_w + x1 as usize) * 3];
        for (s, d) in src.chunks_exact(4).zip(dst.chunks_exact_mut(3)) {
            let alpha = s[3] as u32;
            for c in 0..3 {
                d[c] = ((s[c] as u32 * alpha + d[c] as u32 * (255 - alpha) + 127) / 255) as u8;
            }
        }
    }
}

/// Exposure gain and sensor noise (triangular, at most ±6 levels), in integers with a fast
/// generator seeded per frame (8 samples per draw): float rounding or a `StdRng` per pixel
/// would dominate the render time.
fn expose(frame: &mut RgbImage, gain: f32, seed: u64) {
    let exposed: [i16; 256] = std::array::from_fn(|v| (v as f32 * gain).round() as i16);
    // A uniform byte through the inverse CDF of the triangular distribution on [-6, 6].
    let noise: [i16; 256] = std::array::from_fn(|u| {
        let p = (u as f32 + 0.5) / 256.0;
        let t = if p < 0.5 { (2.0 * p).sqrt() - 1.0 } else { 1.0 - (2.0 * (1.0 - p)).sqrt() };
        (6.0 * t).round() as i16
    });
    let mut state = seed | 1;
    for chunk in frame.chunks_mut(8) {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        for (v, b) in chunk.iter_mut().zip(bits) {
            *v = (exposed[*v as usize] + noise[b as usize]).clamp(0, 255) as u8;
        }
    }
}

/// The MJPG `.avi` being written, and its BGR scratch frame.
struct Writer {
    out: PathBuf,
    writer: videoio::VideoWriter,
    bgr: Mat,
    frames: u64,
}

impl Writer {
    fn open(out: &Path) -> Result<Writer> {
        let fourcc = videoio::VideoWriter::fourcc('M', 'J', 'P', 'G').map_err(|e| video_error(out, e.message))?;
        let size = Size::new(WIDTH as i32, HEIGHT as i32);
        // OpenCV's own MJPEG encoder (quality 95): FFmpeg's default rate control compressed
        // the frames so hard that the anti-spoofing model called live passengers spoofs.
        let writer = videoio::VideoWriter::new_with_backend_def(out, videoio::CAP_OPENCV_MJPEG, fourcc, FPS, size)
            .map_err(|e| video_error(out, e.message))?;
        if !writer.is_opened().unwrap_or(false) {
            return Err(video_error(out, "cannot create the video file (does its folder exist?)"));
        }
        Ok(Writer { out: out.to_path_buf(), writer, bgr: Mat::default(), frames: 0 })
    }

    fn write(&mut self, frame: &RgbImage) -> Result<()> {
        let (w, h) = (frame.width() as i32, frame.height() as i32);
        let converted = Mat::new_rows_cols_with_bytes::<Vec3b>(h, w, frame.as_raw())
            .and_then(|rgb| imgproc::cvt_color_def(&rgb, &mut self.bgr, imgproc::COLOR_RGB2BGR))
            .and_then(|()| self.writer.write(&self.bgr));
        converted.map_err(|e| video_error(&self.out, e.message))?;
        self.frames += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<u64> {
        self.writer.release().map_err(|e| video_error(&self.out, e.message))?;
        Ok(self.frames)
    }
}

fn video_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::io(path, std::io::Error::other(reason.into()))
}
