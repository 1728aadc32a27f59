//! The assess stage: measures each tracked face (landmarks, quality) and chooses which frames
//! of a track to embed, the sharpest so far and a few per track. A chosen frame goes on to the
//! embed stage; any other frame goes past it, straight to the decide stage.

use boardcheck_api::Stage;
use std::collections::HashMap;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use image::RgbImage;

use super::capture::Meta;
use super::embed::InFlight;
use super::link::LinkReceiver;
use super::stats::{StageStats, Times};
use super::track::Tracked;
use super::LaneOptions;
use crate::error::Result;
use boardcheck_vision::face::detect::BBox;
use boardcheck_vision::face::FaceEngine;
use boardcheck_vision::track::Track;

/// A tracked face chosen for liveness and embedding.
pub(super) struct Chosen {
    pub track: u64,
    pub bbox: BBox,
    pub aligned: RgbImage,
}

/// What the assess stage hands the embed stage, in order, so that the decide stage sees every
/// embedding of a track before the track's end.
pub(super) enum ToEmbed {
    /// A frame with faces chosen; the frame itself because the liveness model needs context.
    Chosen {
        meta: Meta,
        faces: Vec<Chosen>,
        image: RgbImage,
    },
    Ended(Vec<Track>),
}

/// What the assess stage remembers of a track to choose its frames.
#[derive(Default)]
struct Selection {
    embeds: u32,
    best_quality: f32,
    last_embed_frame: u64,
    /// The decide stage has decided the track: more of its faces would change nothing.
    decided: bool,
    /// Eye distance (first landmark pass) in the frame of the track last glimpsed.
    last_eye_distance: f32,
}

/// A face whose size changed less than this between frames has stopped approaching: its
/// frames are sharp and its pose is the one the passenger holds at the kiosk. Frames taken
/// while walking up are blurred and fool the anti-spoofing model, so they are not used.
const SETTLED_CHANGE: f32 = 0.06;

pub(super) fn assess_stage(
    engine: &FaceEngine,
    options: &LaneOptions,
    (input, decided): (LinkReceiver<Tracked>, Receiver<u64>),
    passed: Sender<Meta>,
    (to_embed, in_flight): (Sender<ToEmbed>, &InFlight),
) -> Result<StageStats> {
    let mut selections: HashMap<u64, Selection> = HashMap::new();
    let mut times = Times::new(Stage::Assess, &options.live);
    for tracked in input {
        let t = Instant::now();
        // A live lane stops choosing the faces of decided tracks; a recording's choices must
        // not depend on when the news arrives.
        for track in decided.try_iter() {
            if let (true, Some(sel)) = (options.drop_stale, selections.get_mut(&track)) {
                sel.decided = true;
            }
        }
        let embed_free = !options.drop_stale || in_flight.has_room();
        let mut faces = Vec::new();
        for (track, detection) in &tracked.faces {
            let sel = selections.entry(*track).or_default();
            // Nothing to choose (now): no landmarks needed. The next face measured is compared
            // with the last one measured, a stricter test after a gap.
            if sel.decided || sel.embeds >= options.max_embeds_per_track || !embed_free {
                continue;
            }
            // One landmark pass tells whether the face has settled; only then the second, and
            // the alignment and quality that choosing needs.
            let Some(glimpse) = engine.glimpse(&tracked.image, detection)? else { continue };
            let eyes = glimpse.eye_distance_px;
            let settled = (eyes - sel.last_eye_distance).abs() <= SETTLED_CHANGE * eyes;
            sel.last_eye_distance = eyes;
            if !settled {
                continue;
            }
            let Some(located) = engine.locate_glimpsed(&tracked.image, &glimpse)? else { continue };
            if located.quality_issue.is_some() {
                continue;
            }
            // Sharper and larger faces make better templates.
            let quality = located.quality.eye_distance_px * located.quality.sharpness.max(0.0).sqrt();
            let due = sel.embeds == 0
                || quality > 1.1 * sel.best_quality
                || tracked.meta.index >= sel.last_embed_frame + options.reembed_after_frames;
            if !due {
                continue;
            }
            sel.embeds += 1;
            sel.best_quality = sel.best_quality.max(quality);
            sel.last_embed_frame = tracked.meta.index;
            faces.push(Chosen { track: *track, bbox: located.bbox, aligned: located.aligned });
        }
        for ended in &tracked.ended {
            selections.remove(&ended.id);
        }
        times.since(t);
        // A frame with no face chosen ends here; the others at the embed stage. Live images
        // are never kept.
        let Tracked { meta, image, ended, .. } = tracked;
        let sent = if faces.is_empty() {
            passed.send(meta).is_ok()
        } else {
            in_flight.chose();
            to_embed.send(ToEmbed::Chosen { meta, faces, image }).is_ok()
        };
        if !sent || (!ended.is_empty() && to_embed.send(ToEmbed::Ended(ended)).is_err()) {
            break; // the lane is stopping
        }
    }
    Ok(times.stats())
}
