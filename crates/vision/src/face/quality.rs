//! Is this face good enough to match? Size (inter-eye distance), pose from the five
//! keypoints, sharpness (variance of the Laplacian on the aligned crop) and exposure. A face
//! that fails carries the reason, so a lane can tell the passenger what to do.

use image::RgbImage;
use serde::Serialize;

use super::align::FivePoints;
use super::tensor::luma;

/// Measurements of one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QualityMeasures {
    /// Distance between the eye centres, in image pixels.
    pub eye_distance_px: f32,
    /// Left-right head turn estimated from where the nose sits between the eyes (degrees).
    pub yaw_deg: f32,
    /// Up-down head tilt estimated from how far the nose sits below the eye line (degrees).
    pub pitch_deg: f32,
    /// In-plane rotation of the eye line (degrees).
    pub roll_deg: f32,
    /// Variance of the Laplacian of the aligned grey crop; low means blurred.
    pub sharpness: f32,
    /// Mean grey level of the aligned crop, 0–255.
    pub brightness: f32,
}

/// Why a face was not good enough.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum QualityIssue {
    TooSmall { eye_distance_px: f32, minimum: f32 },
    TurnedAway { yaw_deg: f32, limit: f32 },
    TiltedUpOrDown { pitch_deg: f32, limit: f32 },
    HeadTilted { roll_deg: f32, limit: f32 },
    Blurred { sharpness: f32, minimum: f32 },
    TooDark { brightness: f32, minimum: f32 },
    TooBright { brightness: f32, maximum: f32 },
}

impl std::fmt::Display for QualityIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QualityIssue::TooSmall { eye_distance_px, minimum } => {
                write!(f, "face too small (eyes {eye_distance_px:.0} px apart, need {minimum:.0})")
            }
            QualityIssue::TurnedAway { yaw_deg, limit } => write!(f, "head turned {yaw_deg:.0}° (limit {limit:.0}°)"),
            QualityIssue::TiltedUpOrDown { pitch_deg, limit } => write!(f, "head tilted up/down {pitch_deg:.0}° (limit {limit:.0}°)"),
            QualityIssue::HeadTilted { roll_deg, limit } => write!(f, "head tilted sideways {roll_deg:.0}° (limit {limit:.0}°)"),
            QualityIssue::Blurred { sharpness, minimum } => write!(f, "image blurred (sharpness {sharpness:.0}, need {minimum:.0})"),
            QualityIssue::TooDark { brightness, minimum } => write!(f, "face too dark (brightness {brightness:.0}, need {minimum:.0})"),
            QualityIssue::TooBright { brightness, maximum } => {
                write!(f, "face too bright (brightness {brightness:.0}, limit {maximum:.0})")
            }
        }
    }
}

/// The limits a face must meet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityPolicy {
    pub min_eye_distance_px: f32,
    pub max_yaw_deg: f32,
    pub max_pitch_deg: f32,
    pub max_roll_deg: f32,
    pub min_sharpness: f32,
    pub min_brightness: f32,
    pub max_brightness: f32,
}

impl QualityPolicy {
    /// A live probe at a kiosk (0.3–1 m): eyes at least 35 px apart (design brief §6).
    pub const LIVE_PROBE: QualityPolicy = QualityPolicy {
        min_eye_distance_px: 35.0,
        max_yaw_deg: 30.0,
        max_pitch_deg: 25.0,
        max_roll_deg: 25.0,
        min_sharpness: 15.0,
        min_brightness: 40.0,
        max_brightness: 215.0,
    };

    /// An ID-card photo: the chip photo is ~102×126 px, so eyes are ~25–30 px apart and the
    /// image is soft; pose limits stay, since an ID photo is frontal by rule.
    pub const ID_PHOTO: QualityPolicy = QualityPolicy {
        min_eye_distance_px: 18.0,
        max_yaw_deg: 30.0,
        max_pitch_deg: 25.0,
        max_roll_deg: 25.0,
        min_sharpness: 0.0,
        min_brightness: 30.0,
        max_brightness: 230.0,
    };

    /// The first limit the face breaks, if any.
    pub fn check(&self, m: &QualityMeasures) -> Option<QualityIssue> {
        if m.eye_distance_px < self.min_eye_distance_px {
            return Some(QualityIssue::TooSmall { eye_distance_px: m.eye_distance_px, minimum: self.min_eye_distance_px });
        }
        if m.yaw_deg.abs() > self.max_yaw_deg {
            return Some(QualityIssue::TurnedAway { yaw_deg: m.yaw_deg, limit: self.max_yaw_deg });
        }
        if m.pitch_deg.abs() > self.max_pitch_deg {
            return Some(QualityIssue::TiltedUpOrDown { pitch_deg: m.pitch_deg, limit: self.max_pitch_deg });
        }
        if m.roll_deg.abs() > self.max_roll_deg {
            return Some(QualityIssue::HeadTilted { roll_deg: m.roll_deg, limit: self.max_roll_deg });
        }
        if m.sharpness < self.min_sharpness {
            return Some(QualityIssue::Blurred { sharpness: m.sharpness, minimum: self.min_sharpness });
        }
        if m.brightness < self.min_brightness {
            return Some(QualityIssue::TooDark { brightness: m.brightness, minimum: self.min_brightness });
        }
        if m.brightness > self.max_brightness {
            return Some(QualityIssue::TooBright { brightness: m.brightness, maximum: self.max_brightness });
        }
        None
    }
}

/// Ratio of nose depth in front of the eyes to half the eye distance on an average adult
/// face; turns the nose's sideways shift into an angle.
const NOSE_DEPTH_RATIO: f32 = 0.8;
/// Distance of the nose tip below the eye line, in eye distances, on the frontal ArcFace
/// template. Measured against the eyes rather than the mouth, which moves when people talk
/// or smile.
const FRONTAL_NOSE_DROP: f32 = 0.57;

/// Measures pose from the keypoints and sharpness/exposure from the aligned crop.
pub fn measure(points: &FivePoints, aligned: &RgbImage) -> QualityMeasures {
    let eyes = points.right_eye.midpoint(points.left_eye);
    let (dx, dy) = (points.right_eye.x - points.left_eye.x, points.right_eye.y - points.left_eye.y);
    let roll = dy.atan2(dx);
    // Express the nose in the face's own frame: u along the eye line, v towards the mouth.
    let (cos, sin) = (roll.cos(), roll.sin());
    let rotate = |x: f32, y: f32| (x * cos + y * sin, -x * sin + y * cos);
    let half_eyes = (points.eye_distance() / 2.0).max(1e-3);
    let (nose_u, nose_v) = rotate(points.nose.x - eyes.x, points.nose.y - eyes.y);
    let yaw = (nose_u / half_eyes / NOSE_DEPTH_RATIO).atan();
    let pitch = ((FRONTAL_NOSE_DROP - nose_v / (2.0 * half_eyes)) * 1.5).atan();
    let (sharpness, brightness) = sharpness_and_brightness(aligned);
    QualityMeasures {
        eye_distance_px: points.eye_distance(),
        yaw_deg: yaw.to_degrees(),
        pitch_deg: pitch.to_degrees(),
        roll_deg: roll.to_degrees(),
        sharpness,
        brightness,
    }
}

/// Variance of the 4-neighbour Laplacian and mean of the grey image.
fn sharpness_and_brightness(img: &RgbImage) -> (f32, f32) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let grey: Vec<f32> = img.pixels().map(luma).collect();
    let brightness = grey.iter().sum::<f32>() / grey.len().max(1) as f32;
    if w < 3 || h < 3 {
        return (0.0, brightness);
    }
    let mut laplacians = Vec::with_capacity((w - 2) * (h - 2));
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let at = |xx: usize, yy: usize| grey[yy * w + xx];
            laplacians.push(at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * at(x, y));
        }
    }
    let n = laplacians.len() as f32;
    let mean = laplacians.iter().sum::<f32>() / n;
    let variance = laplacians.iter().map(|l| (l - mean).powi(2)).sum::<f32>() / n;
    (variance, brightness)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::align::{Point, TEMPLATE_112};
    use image::Rgb;

    fn template_points(scale: f32) -> FivePoints {
        let t = TEMPLATE_112.map(|p| Point::new(p.x * scale, p.y * scale));
        FivePoints { left_eye: t[0], right_eye: t[1], nose: t[2], mouth_left: t[3], mouth_right: t[4] }
    }

    #[test]
    fn a_frontal_template_face_is_frontal() {
        let m = measure(&template_points(1.0), &RgbImage::from_pixel(8, 8, Rgb([128, 128, 128])));
        assert!(m.yaw_deg.abs() < 3.0 && m.pitch_deg.abs() < 3.0 && m.roll_deg.abs() < 1.0, "{m:?}");
        assert_eq!(m.sharpness, 0.0);
        assert!((m.brightness - 128.0).abs() < 0.5);
    }

    #[test]
    fn a_turned_face_and_a_small_face_are_refused_with_reasons() {
        let mut turned = template_points(3.0);
        turned.nose.x += 40.0;
        let flat = RgbImage::from_pixel(8, 8, Rgb([128, 128, 128]));
        let m = measure(&turned, &flat);
        assert!(matches!(QualityPolicy::ID_PHOTO.check(&m), Some(QualityIssue::TurnedAway { .. })), "{m:?}");
        let small = measure(&template_points(0.5), &flat);
        assert!(matches!(QualityPolicy::LIVE_PROBE.check(&small), Some(QualityIssue::TooSmall { .. })));
    }

    #[test]
    fn a_checkerboard_is_sharp_and_flat_grey_is_blurred() {
        let board = RgbImage::from_fn(16, 16, |x, y| if (x + y) % 2 == 0 { Rgb([0, 0, 0]) } else { Rgb([255, 255, 255]) });
        let (sharp, _) = sharpness_and_brightness(&board);
        assert!(sharp > 1000.0);
        let m = measure(&template_points(1.0), &RgbImage::from_pixel(16, 16, Rgb([120, 120, 120])));
        assert!(matches!(QualityPolicy::LIVE_PROBE.check(&m), Some(QualityIssue::Blurred { .. })));
    }
}
