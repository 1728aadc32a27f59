//! IoU tracking: the same passenger's face across frames is one track, so the lane embeds a
//! face a few times (when its quality improves), fuses the evidence, and decides once per
//! track — not once per frame.

use crate::face::detect::BBox;

/// A face followed across frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub id: u64,
    pub bbox: BBox,
    pub first_frame: u64,
    pub last_frame: u64,
    /// Frames the face was seen in.
    pub hits: u32,
}

/// Assigns detections to tracks by box overlap.
#[derive(Debug)]
pub struct Tracker {
    tracks: Vec<Track>,
    next_id: u64,
    /// Minimum IoU between a track's last box and a detection to continue it.
    pub iou_threshold: f32,
    /// Frames a track may go unseen before it ends (a face briefly lost is the same person).
    pub max_missed: u64,
}

/// One frame's assignment: for each detection (in order) its track id, plus the tracks that
/// ended because they were not seen for too long.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub track_ids: Vec<u64>,
    pub ended: Vec<Track>,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker { tracks: Vec::new(), next_id: 1, iou_threshold: 0.3, max_missed: 10 }
    }
}

impl Tracker {
    /// Updates the tracks with this frame's detection boxes. Greedy matching, best overlap
    /// first: at a boarding lane faces rarely cross, so this is as good as Hungarian matching.
    pub fn update(&mut self, frame: u64, boxes: &[BBox]) -> Assignment {
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (t, track) in self.tracks.iter().enumerate() {
            for (d, b) in boxes.iter().enumerate() {
                let iou = track.bbox.iou(b);
                if iou >= self.iou_threshold {
                    pairs.push((iou, t, d));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut track_of_detection: Vec<Option<usize>> = vec![None; boxes.len()];
        let mut track_taken = vec![false; self.tracks.len()];
        for (_, t, d) in pairs {
            if !track_taken[t] && track_of_detection[d].is_none() {
                track_taken[t] = true;
                track_of_detection[d] = Some(t);
            }
        }
        let mut track_ids = Vec::with_capacity(boxes.len());
        for (d, b) in boxes.iter().enumerate() {
            let id = match track_of_detection[d] {
                Some(t) => {
                    let track = &mut self.tracks[t];
                    track.bbox = *b;
                    track.last_frame = frame;
                    track.hits += 1;
                    track.id
                }
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.tracks.push(Track { id, bbox: *b, first_frame: frame, last_frame: frame, hits: 1 });
                    id
                }
            };
            track_ids.push(id);
        }
        let max_missed = self.max_missed;
        let (ended, live): (Vec<Track>, Vec<Track>) = self.tracks.drain(..).partition(|t| frame.saturating_sub(t.last_frame) > max_missed);
        self.tracks = live;
        Assignment { track_ids, ended }
    }

    /// Ends every track (the source ended).
    pub fn finish(&mut self) -> Vec<Track> {
        std::mem::take(&mut self.tracks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: f32) -> BBox {
        BBox { x1: x, y1: 0.0, x2: x + 100.0, y2: 100.0 }
    }

    #[test]
    fn a_moving_face_keeps_its_track() {
        let mut t = Tracker::default();
        let first = t.update(0, &[b(0.0)]).track_ids[0];
        for (frame, x) in [(1, 10.0), (2, 20.0), (3, 30.0)] {
            assert_eq!(t.update(frame, &[b(x)]).track_ids, vec![first]);
        }
    }

    #[test]
    fn a_new_face_gets_a_new_track_and_a_lost_one_ends() {
        let mut t = Tracker { max_missed: 2, ..Tracker::default() };
        let a = t.update(0, &[b(0.0)]).track_ids[0];
        let ids = t.update(1, &[b(0.0), b(500.0)]).track_ids;
        assert_eq!(ids[0], a);
        assert_ne!(ids[1], a);
        t.update(2, &[b(500.0)]);
        t.update(3, &[b(500.0)]);
        let ended = t.update(4, &[b(500.0)]).ended;
        assert_eq!(ended.iter().map(|t| t.id).collect::<Vec<_>>(), vec![a]);
        assert_eq!(ended[0].hits, 2);
        assert_eq!(t.finish().len(), 1);
    }

    #[test]
    fn two_faces_are_not_swapped() {
        let mut t = Tracker::default();
        let ids = t.update(0, &[b(0.0), b(300.0)]).track_ids;
        // Given in the other order, each box keeps its own track.
        assert_eq!(t.update(1, &[b(305.0), b(5.0)]).track_ids, vec![ids[1], ids[0]]);
    }
}
