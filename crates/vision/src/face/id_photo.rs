//! ID-card-like photos made from ordinary photos: what the boarding check matches against.
//!
//! The second-generation ID card chip holds a ~102×126 px JPEG, upright, face centred, eyes a
//! little above the middle. Evaluation (and the demo's manifest) make such photos from the
//! first photo of each identity, so accuracy is measured on the comparison the product does.

use image::codecs::jpeg::JpegEncoder;
use image::RgbImage;

use super::align::{similarity, warp, Border, FivePoints, Point};
use crate::error::{Error, Result};

pub const WIDTH: u32 = 102;
pub const HEIGHT: u32 = 126;
/// Eye distance in the ID photo, px: the head is about two thirds of the photo's width.
const EYE_DISTANCE: f32 = 30.0;
/// Height of the eye line from the top, as a fraction of the photo.
const EYE_LINE: f32 = 0.43;

/// The upright, face-centred 102×126 crop of the face with these keypoints.
pub fn crop(image: &RgbImage, points: &FivePoints) -> Option<RgbImage> {
    let centre_x = WIDTH as f32 / 2.0;
    let eye_y = HEIGHT as f32 * EYE_LINE;
    let targets = [Point::new(centre_x - EYE_DISTANCE / 2.0, eye_y), Point::new(centre_x + EYE_DISTANCE / 2.0, eye_y)];
    let to_source = similarity(&[points.left_eye, points.right_eye], &targets)?.inverse()?;
    Some(warp(image, &to_source, WIDTH, HEIGHT, Border::Replicate))
}

/// JPEG bytes at `quality` (1–100), as an ID card reader would hand them over.
pub fn encode_jpeg(photo: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100))
        .encode_image(photo)
        .map_err(|e| Error::image("<id photo>", e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_a_102x126_jpeg() {
        let image = RgbImage::new(400, 400);
        let points = FivePoints {
            left_eye: Point::new(150.0, 190.0),
            right_eye: Point::new(250.0, 210.0),
            nose: Point::new(200.0, 250.0),
            mouth_left: Point::new(160.0, 290.0),
            mouth_right: Point::new(240.0, 300.0),
        };
        let photo = crop(&image, &points).expect("well-posed");
        assert_eq!(photo.dimensions(), (WIDTH, HEIGHT));
        let bytes = encode_jpeg(&photo, 60).expect("encodes");
        assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    }
}
