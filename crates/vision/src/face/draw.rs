//! Drawing faces on an image for people to look at (`boardcheck detect --draw`).

use image::{Rgb, RgbImage};

use super::align::Point;
use super::Face;

const USABLE: Rgb<u8> = Rgb([0, 220, 0]);
const REJECTED: Rgb<u8> = Rgb([255, 160, 0]);
const SPOOF: Rgb<u8> = Rgb([255, 0, 0]);
const KEYPOINT: Rgb<u8> = Rgb([0, 160, 255]);

/// A copy of `image` with each face's box (green usable, orange rejected, red spoof) and its
/// five keypoints.
pub fn faces(image: &RgbImage, faces: &[Face]) -> RgbImage {
    let mut out = image.clone();
    let thickness = (image.width().max(image.height()) / 300).max(1) as i64;
    for face in faces {
        let colour = match (face.liveness.is_some_and(|l| !l.live), face.usable()) {
            (true, _) => SPOOF,
            (false, true) => USABLE,
            (false, false) => REJECTED,
        };
        let b = face.bbox;
        for t in 0..thickness {
            let (x1, y1, x2, y2) = (b.x1 as i64 - t, b.y1 as i64 - t, b.x2 as i64 + t, b.y2 as i64 + t);
            for x in x1..=x2 {
                put(&mut out, x, y1, colour);
                put(&mut out, x, y2, colour);
            }
            for y in y1..=y2 {
                put(&mut out, x1, y, colour);
                put(&mut out, x2, y, colour);
            }
        }
        for p in face.points.as_array() {
            dot(&mut out, p, thickness + 1);
        }
    }
    out
}

fn dot(img: &mut RgbImage, p: Point, radius: i64) {
    for dy in -radius..=radius {
        for dx in -radius..=radius {
            put(img, p.x as i64 + dx, p.y as i64 + dy, KEYPOINT);
        }
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, colour: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, colour);
    }
}
