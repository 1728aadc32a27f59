//! Decoding images from files and bytes, with limits: a corrupt, truncated, tiny or absurdly
//! large image is an error that names the file, never a panic or a huge allocation.

use std::io::Cursor;
use std::path::Path;

use image::{ImageFormat, ImageReader, Limits, RgbImage};

use crate::error::{Error, Result};

/// Larger than any camera or ID photo; a bigger header is rejected before allocating.
pub const MAX_SIDE: u32 = 8192;
/// Smaller than this cannot hold a face worth looking at.
pub const MIN_SIDE: u32 = 16;

/// Reads and decodes an image file to 8-bit RGB.
pub fn load_rgb(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_rgb(&bytes, path)
}

/// Decodes image bytes to 8-bit RGB; `origin` names the source in errors.
pub fn decode_rgb(bytes: &[u8], origin: &Path) -> Result<RgbImage> {
    if bytes.is_empty() {
        return Err(Error::image(origin, "empty file"));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| Error::image(origin, e.to_string()))?;
    if reader.format().is_none() {
        return Err(Error::image(origin, "not a recognised image format (expected JPEG, PNG, BMP or WebP)"));
    }
    if reader.format() == Some(ImageFormat::Jpeg) && !has_end_of_image(bytes) {
        return Err(Error::image(origin, "truncated JPEG (no end-of-image marker after the image data)"));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| Error::image(origin, describe(e)))?;
    let (w, h) = (decoded.width(), decoded.height());
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(Error::image(origin, format!("{w}x{h} pixels is too small to hold a face (minimum {MIN_SIDE}x{MIN_SIDE})")));
    }
    Ok(decoded.into_rgb8())
}

/// Whether a JPEG's last scan is followed by its end-of-image marker. The decoder pads a cut
/// file with grey without complaint; a cut file (an interrupted upload or copy) must not
/// become a template. Inside scan data 0xFF is always escaped, so FF D9 after the last
/// start-of-scan (FF DA) is the real end.
fn has_end_of_image(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    last_scan.is_some_and(|start| bytes[start..].windows(2).any(|w| w == [0xFF, 0xD9]))
}

fn describe(error: image::ImageError) -> String {
    match error {
        image::ImageError::Limits(_) => format!("larger than {MAX_SIDE}x{MAX_SIDE} pixels, refused"),
        other => format!("cannot decode: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_image_must_follow_the_last_scan() {
        assert!(has_end_of_image(&[0xFF, 0xD8, 0xFF, 0xDA, 1, 2, 0xFF, 0x00, 0xFF, 0xD9]));
        assert!(!has_end_of_image(&[0xFF, 0xD8, 0xFF, 0xD9, 0xFF, 0xDA, 1, 2]));
        assert!(!has_end_of_image(&[0xFF, 0xD8]));
    }
}
