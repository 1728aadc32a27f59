//! The QR reader beside the capture stage: it looks for e-tickets held up to the camera in a
//! few frames a second, and hands each new one to the decide stage as a presented ticket.

use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use image::RgbImage;

use super::link::{LinkReceiver, LinkSender};
use boardcheck_core::decider::Presented;

/// Hands a copy of a frame to the QR reader at most `per_second` times a second (never, at 0).
pub(super) struct QrFeed {
    link: LinkSender<RgbImage>,
    every: Option<Duration>,
    last: Option<Instant>,
}

impl QrFeed {
    pub fn new(link: LinkSender<RgbImage>, per_second: f64) -> Self {
        QrFeed { link, every: (per_second > 0.0).then(|| Duration::from_secs_f64(1.0 / per_second)), last: None }
    }

    pub fn offer(&mut self, frame: &RgbImage) {
        let Some(every) = self.every else { return };
        if self.last.is_none_or(|last| last.elapsed() >= every) {
            self.last = Some(Instant::now());
            self.link.send(frame.clone());
        }
    }
}

/// A QR e-ticket shown to the camera is read once, not at every frame it stays in view.
const QR_REPEAT: Duration = Duration::from_secs(10);

/// Reads QR codes from the frames it is given; each new text becomes a presented ticket.
pub(super) fn qr_stage(input: LinkReceiver<RgbImage>, out: Sender<Presented>) {
    let mut seen: Vec<(String, Instant)> = Vec::new();
    for frame in input {
        seen.retain(|(_, at)| at.elapsed() < QR_REPEAT);
        for text in boardcheck_core::ticket::decode_qr(&frame) {
            if seen.iter().any(|(t, _)| *t == text) {
                continue;
            }
            seen.push((text.clone(), Instant::now()));
            if out.send(Presented::Qr(text)).is_err() {
                return; // the lane is stopping
            }
        }
    }
}
