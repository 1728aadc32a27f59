//! The detect stage: finds the face boxes in each frame.

use boardcheck_api::Stage;
use std::time::Instant;

use image::RgbImage;

use super::capture::Meta;
use super::link::{LinkReceiver, LinkSender};
use super::stats::{LiveStats, StageStats, Times};
use crate::error::Result;
use boardcheck_vision::face::detect::Detection;
use boardcheck_vision::face::FaceEngine;

pub(super) struct Detected {
    pub meta: Meta,
    pub image: RgbImage,
    pub detections: Vec<Detection>,
}

pub(super) fn detect_stage(
    engine: &FaceEngine,
    live: &LiveStats,
    input: LinkReceiver<(Meta, RgbImage)>,
    out: LinkSender<Detected>,
) -> Result<StageStats> {
    let mut times = Times::new(Stage::Detect, live);
    for (meta, image) in input {
        let t = Instant::now();
        let detections = engine.detect(&image)?;
        times.since(t);
        if !out.send(Detected { meta, image, detections }) {
            break;
        }
    }
    Ok(times.stats())
}
