//! The RFB-320 face detector (Ultra-Light-Fast-Generic-Face-Detector family, from the
//! Faceplugin package): RGB 320×240, `(x − 127) / 128`, outputs face/background scores and
//! boxes already decoded to corners in [0, 1] of the input.

use image::RgbImage;

use super::{letterbox, nms, BBox, Detection, Detector};
use crate::error::{Error, Result};
use crate::face::tensor::{Channels, Layout, Normalisation};
use crate::runtime::OnnxModel;

pub const INPUT_WIDTH: u32 = 320;
pub const INPUT_HEIGHT: u32 = 240;
pub const INPUT_SHAPE: [i64; 4] = [1, 3, INPUT_HEIGHT as i64, INPUT_WIDTH as i64];

pub const NORMALISATION: Normalisation = Normalisation { channels: Channels::Rgb, layout: Layout::Nchw, mean: 127.0, std: 128.0 };
/// Padding that normalises to zero.
pub const FILL: [u8; 3] = [127, 127, 127];

pub struct RfbDetector {
    model: OnnxModel,
    /// Minimum face probability.
    pub score_threshold: f32,
    pub iou_threshold: f32,
}

impl RfbDetector {
    pub fn new(model: OnnxModel) -> Self {
        RfbDetector { model, score_threshold: 0.6, iou_threshold: 0.4 }
    }
}

impl Detector for RfbDetector {
    fn model(&self) -> &OnnxModel {
        &self.model
    }

    fn detect(&self, image: &RgbImage) -> Result<Vec<Detection>> {
        let lb = letterbox(image, INPUT_WIDTH, INPUT_HEIGHT, FILL, &NORMALISATION);
        let outputs = self.model.run(&lb.shape, lb.data)?;
        let [scores, boxes] = outputs.as_slice() else {
            return Err(Error::Inference {
                id: self.model.id().to_string(),
                reason: format!("{} outputs, expected scores and boxes", outputs.len()),
            });
        };
        let count = scores.data.len() / 2;
        if boxes.data.len() != count * 4 {
            return Err(Error::Inference { id: self.model.id().to_string(), reason: "scores and boxes disagree in length".to_string() });
        }
        let candidates = (0..count)
            .filter(|&i| scores.data[2 * i + 1] >= self.score_threshold)
            .map(|i| {
                let b = &boxes.data[4 * i..4 * i + 4];
                let in_input = BBox {
                    x1: b[0] * INPUT_WIDTH as f32,
                    y1: b[1] * INPUT_HEIGHT as f32,
                    x2: b[2] * INPUT_WIDTH as f32,
                    y2: b[3] * INPUT_HEIGHT as f32,
                };
                Detection { bbox: in_input.mapped(&lb.to_image), score: scores.data[2 * i + 1], keypoints: Vec::new() }
            })
            .collect();
        Ok(nms(candidates, self.iou_threshold))
    }
}
