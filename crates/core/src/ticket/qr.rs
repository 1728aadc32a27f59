//! QR codes: reading them from camera frames and photos (pure Rust, `rqrr`), drawing them for
//! `ticket issue --qr` (`qrcode`).

use image::{imageops, GrayImage, Luma, RgbImage};
use qrcode::{EcLevel, QrCode};
use rqrr::Point;

/// A mild 3×3 sharpen (weights sum to 1).
const SHARPEN: [f32; 9] = [-0.25, -0.5, -0.25, -0.5, 4.0, -0.5, -0.25, -0.5, -0.25];

/// The text of every QR code found in `image`, in the order found; empty when none decodes.
///
/// The decoder (quirc's algorithm) fails two ways on camera photos, each with its remedy:
/// - Out of focus, the one-module timing lines blur away and the grid is lost; a mild
///   sharpen restores them (at 4 pixels a module and blur σ = 1: about 2 codes in 3 read
///   plain, all of them sharpened). It runs only when the plain pass reads nothing, because
///   it also amplifies sensor noise, which a sharp code does not need.
/// - Below about 4 pixels a module a grid is found but sampled wrongly; a second look at
///   its region, enlarged twice, reads most of those (at 3.6 px and σ = 1: 61% → 84%).
///
/// A frame without a code pays for both passes: ≈30 ms at 640×480, ≈200 ms at 1920×1080 on
/// a busy 2-core machine, so a lane should look a few times a second, not at every frame.
pub fn decode_qr(image: &RgbImage) -> Vec<String> {
    let grey = imageops::grayscale(image);
    let mut misread = Vec::new();
    for attempt in [grey.clone(), imageops::filter3x3(&grey, &SHARPEN)] {
        let texts = decode(attempt, &mut misread);
        if !texts.is_empty() {
            return texts;
        }
    }
    let mut texts: Vec<String> = Vec::new();
    for region in misread.iter().filter_map(|corners| enlarge(&grey, corners)) {
        for text in decode(region, &mut Vec::new()) {
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
    }
    texts
}

/// Decodes what it can; the corners of codes found but not decoded go to `misread`.
fn decode(grey: GrayImage, misread: &mut Vec<[Point; 4]>) -> Vec<String> {
    // Older rqrr releases panicked on some crafted or corrupt codes; a photo held up to the
    // lane camera must never take the lane down, so a panic counts as "no code".
    let found = std::panic::catch_unwind(move || {
        let mut prepared = rqrr::PreparedImage::prepare(grey);
        prepared.detect_grids().iter().map(|grid| grid.decode().map(|(_, text)| text).map_err(|_| grid.bounds)).collect::<Vec<_>>()
    });
    let Ok(found) = found else {
        tracing::warn!("QR decoder panicked; frame skipped");
        return Vec::new();
    };
    let mut texts = Vec::new();
    for result in found {
        match result {
            Ok(text) => texts.push(text),
            Err(bounds) => misread.push(bounds),
        }
    }
    texts
}

/// The region of a code with a wide margin (its corners are only roughly known), enlarged twice.
fn enlarge(grey: &GrayImage, corners: &[Point; 4]) -> Option<GrayImage> {
    let (xs, ys) = (corners.map(|p| i64::from(p.x)), corners.map(|p| i64::from(p.y)));
    let span = |v: [i64; 4]| (v.into_iter().fold(i64::MAX, i64::min), v.into_iter().fold(i64::MIN, i64::max));
    let ((x0, x1), (y0, y1)) = (span(xs), span(ys));
    let margin = (x1 - x0).max(y1 - y0) / 2;
    let clamp = |v: i64, limit: u32| v.clamp(0, limit.into()) as u32;
    let (left, right) = (clamp(x0 - margin, grey.width()), clamp(x1 + margin, grey.width()));
    let (top, bottom) = (clamp(y0 - margin, grey.height()), clamp(y1 + margin, grey.height()));
    if right <= left || bottom <= top {
        return None;
    }
    let region = imageops::crop_imm(grey, left, top, right - left, bottom - top).to_image();
    Some(imageops::resize(&region, region.width() * 2, region.height() * 2, imageops::FilterType::Triangle))
}

/// Draws `text` as a QR code, 8 pixels a module with the standard 4-module quiet zone.
/// Level M restores 15% of the code: enough for glare on a phone screen or a scuffed print,
/// at about a third less size than level Q.
pub fn render_qr(text: &str) -> Result<GrayImage, qrcode::types::QrError> {
    let code = QrCode::with_error_correction_level(text, EcLevel::M)?;
    Ok(code.render::<Luma<u8>>().module_dimensions(8, 8).build())
}
