//! The decide stage's state machine: the evidence gathered per track, a ticket shown at the
//! lane waiting for a face, and the rules of *when* to ask the [`Decider`]. It is handed one
//! input at a time, with the time it came at, and answers with the decisions to hand on. It
//! holds no thread, channel, sink or clock, so when the lane decides is tested without a lane.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::capture::Meta;
use super::liveness::FrameVerdicts;
use crate::decider::Decider;
use crate::error::Result;
use boardcheck_core::boarding::Decision;
use boardcheck_core::decider::{Observation, Presented};

/// A ticket shown at the lane waits this long for a face to compare with, then is decided
/// without one (staff check the passenger).
const FACE_WAIT: Duration = Duration::from_secs(4);
/// The face at the lane is the track observed most recently, if that was no longer than this
/// before the ticket was shown.
const FACE_FRESH: Duration = Duration::from_secs(3);
/// A face is at the lane but its anti-spoofing verdicts are not in: they follow within frames,
/// so the ticket waits for them (a verdict not in would count as a spoof) — this long at most,
/// should the lane stall.
const VERDICT_WAIT: Duration = Duration::from_secs(20);

/// A decision to hand on.
#[derive(Debug, PartialEq)]
pub(super) struct Decided {
    /// Source time, s.
    pub t: f64,
    /// The passenger's track, now decided; `None` for a ticket decided with no face in view.
    pub track: Option<u64>,
    pub decision: Decision,
    pub latency: Latency,
}

/// How a decision's latency is measured.
#[derive(Debug, PartialEq)]
pub(super) enum Latency {
    /// From this instant (the deciding frame's capture) to the decision handed on: it counts
    /// the decider's answer too.
    Since(Instant),
    /// How long a presented ticket waited for a face, ms.
    Waited(f64),
}

/// Evidence gathered for one track.
#[derive(Default)]
struct TrackEvidence {
    observations: Vec<Observation>,
    /// Each observation's frame: where a late verdict belongs, and the time and arrival a
    /// decision on it is reported with.
    frames: Vec<FrameRef>,
    /// The first observations the rules have seen with every verdict in, and found not yet
    /// enough. The next is judged next, whatever order verdicts arrive in: decisions are the
    /// same as if every verdict had been there with its embedding.
    judged: usize,
    decided: bool,
    last_seen: Option<Instant>,
}

struct FrameRef {
    index: u64,
    /// Source time, s.
    t: f64,
    captured: Instant,
}

/// The decide stage's state: the evidence per track, the presented tickets waiting for a face.
#[derive(Default)]
pub(super) struct Judge {
    tracks: HashMap<u64, TrackEvidence>,
    /// Tickets shown, in order, each with when: each gets its own decision (a parent may show
    /// their own ticket and their child's a moment apart).
    pending: VecDeque<(Presented, Instant)>,
    /// Source time of the latest frame, for decisions not tied to a frame.
    last_t: f64,
}

impl Judge {
    /// A frame went by, with faces chosen or not.
    pub fn seen(&mut self, meta: &Meta) {
        self.last_t = self.last_t.max(meta.timestamp_ms / 1000.0);
    }

    /// The embeddings of a frame's chosen faces, which came at `now`: (track, spoof verdict if
    /// already known, embedding).
    pub fn faces(
        &mut self,
        decider: &mut dyn Decider,
        meta: &Meta,
        faces: Vec<(u64, Option<bool>, Vec<f32>)>,
        now: Instant,
    ) -> Result<Vec<Decided>> {
        self.seen(meta);
        let mut decided = Vec::new();
        for (track, spoof, embedding) in faces {
            let evidence = self.tracks.entry(track).or_default();
            // Kept after a decision too: a ticket shown next is compared with this face.
            evidence.observations.push(Observation { spoof, embedding });
            evidence.frames.push(FrameRef { index: meta.index, t: meta.timestamp_ms / 1000.0, captured: meta.captured });
            evidence.last_seen = Some(now);
            self.judge(decider, track, &mut decided)?;
        }
        Ok(decided)
    }

    /// The anti-spoofing verdicts on a frame's faces, after that frame's embeddings.
    pub fn verdicts(&mut self, decider: &mut dyn Decider, FrameVerdicts { index, verdicts }: FrameVerdicts) -> Result<Vec<Decided>> {
        let mut decided = Vec::new();
        for (track, spoof) in verdicts {
            let Some(evidence) = self.tracks.get_mut(&track) else { continue };
            let Some(at) = evidence.frames.iter().position(|f| f.index == index) else { continue };
            evidence.observations[at].spoof = Some(spoof);
            self.judge(decider, track, &mut decided)?;
        }
        Ok(decided)
    }

    /// Applies the rules to a track's observations one more at a time, from the first not yet
    /// judged, as far as the verdicts in allow. Not while a ticket shown at the lane waits:
    /// that passenger asked for the ticket check, which decides the face it is compared with.
    fn judge(&mut self, decider: &mut dyn Decider, track: u64, decided: &mut Vec<Decided>) -> Result<()> {
        if !self.pending.is_empty() {
            return Ok(());
        }
        let Some(evidence) = self.tracks.get_mut(&track) else { return Ok(()) };
        while !evidence.decided && evidence.judged < evidence.observations.len() {
            let next = evidence.judged;
            if let Some(decision) = decider.decide(track, &evidence.observations[..=next])? {
                evidence.decided = true;
                let frame = &evidence.frames[next];
                decided.push(Decided { t: frame.t, track: Some(track), decision, latency: Latency::Since(frame.captured) });
                return Ok(());
            }
            if evidence.observations[next].spoof.is_none() {
                break; // judged again when its verdict comes
            }
            evidence.judged += 1;
        }
        Ok(())
    }

    /// A track ended, after all its embeddings and verdicts: forgotten. Whether it was decided.
    pub fn ended(&mut self, track: u64) -> bool {
        self.tracks.remove(&track).is_some_and(|e| e.decided)
    }

    /// A ticket shown at the lane at `now`: decided after those shown before it.
    pub fn ticket_shown(&mut self, ticket: Presented, now: Instant) {
        self.pending.push_back((ticket, now));
    }

    /// Decides a waiting ticket once the face at the lane is known, or when it has waited
    /// [`FACE_WAIT`] for one.
    pub fn tick(&mut self, decider: &mut dyn Decider, now: Instant) -> Result<Vec<Decided>> {
        self.try_presented(decider, now, false)
    }

    /// The source ended: decides a waiting ticket now.
    pub fn finish(&mut self, decider: &mut dyn Decider, now: Instant) -> Result<Vec<Decided>> {
        self.try_presented(decider, now, true)
    }

    /// Decides the presented tickets, in order, each once the face at the lane is known with
    /// its verdicts, or when waiting longer (or at all, if `at_once`) would not help: after
    /// [`FACE_WAIT`] with no face, [`VERDICT_WAIT`] with a face whose verdicts are late. Then
    /// the faces held back while they waited.
    fn try_presented(&mut self, decider: &mut dyn Decider, now: Instant, at_once: bool) -> Result<Vec<Decided>> {
        let mut decided = Vec::new();
        let had_tickets = !self.pending.is_empty();
        while let Some((ticket, since)) = self.pending.front() {
            // The passenger who showed it: the face seen most recently, if seen since shortly
            // before the ticket was shown (however slowly the lane embeds).
            let face = self
                .tracks
                .iter()
                .filter_map(|(id, e)| {
                    e.last_seen.filter(|seen| since.saturating_duration_since(*seen) <= FACE_FRESH).map(|seen| (seen, *id))
                })
                .max()
                .map(|(_, id)| id);
            let observations: &[Observation] = face.and_then(|id| self.tracks.get(&id)).map_or(&[], |e| &e.observations);
            // A face, with its anti-spoofing verdicts in (they follow within a frame or two).
            let ready = face.is_some() && observations.iter().all(|o| o.spoof.is_some());
            let waited = now.saturating_duration_since(*since);
            let patience = if face.is_some() { VERDICT_WAIT } else { FACE_WAIT };
            if !ready && !at_once && waited < patience {
                return Ok(decided);
            }
            let decision = decider.present(face.unwrap_or_default(), ticket, observations)?;
            self.pending.pop_front();
            if let Some(decision) = decision {
                if let Some(evidence) = face.and_then(|id| self.tracks.get_mut(&id)) {
                    evidence.decided = true;
                }
                let latency = Latency::Waited(waited.as_secs_f64() * 1000.0);
                decided.push(Decided { t: self.last_t, track: face, decision, latency });
            }
        }
        if had_tickets {
            let mut held: Vec<u64> = self.tracks.iter().filter(|(_, e)| !e.decided).map(|(id, _)| *id).collect();
            held.sort_unstable(); // in the order the tracks began
            for track in held {
                self.judge(decider, track, &mut decided)?;
            }
        }
        Ok(decided)
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use boardcheck_core::boarding::{BoardingWindow, LaneScope, Outcome, Policy};
    use boardcheck_core::decider::{LocalDecider, TicketKeys};
    use boardcheck_core::manifest::cache::ManifestCache;
    use boardcheck_core::manifest::keys::StationKeys;
    use boardcheck_core::manifest::store::Store;
    use boardcheck_core::ticket::IssuerKeys;

    fn meta_at(index: u64, captured: Instant) -> Meta {
        Meta { index, timestamp_ms: index as f64 * 100.0, captured }
    }

    fn meta(index: u64) -> Meta {
        meta_at(index, Instant::now())
    }

    /// Feeds one track's frames (embeddings with their verdict pending) and then, after
    /// frame `verdicts_after` of them, the verdicts in order, to a decide stage with an empty
    /// manifest; its decisions as (track, outcome, t).
    fn decide_with_late_verdicts(spoofs: &[bool], verdicts_after: usize) -> Vec<(u64, Outcome, f64)> {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("lane.db")).expect("store");
        let station = StationKeys::load_or_create(&dir.path().join("station.key")).expect("key");
        let issuers = IssuerKeys::default();
        let cache = ManifestCache::default();
        let keys = TicketKeys { station: &station, issuers: &issuers };
        let scope = LaneScope { gate: Some("1".into()), trips: Vec::new(), window: BoardingWindow::minutes(60, 30) };
        let model = "mobilefacenet".to_string();
        let mut decider =
            LocalDecider { cache: &cache, store: &store, keys, lane: "lane-1".into(), scope, model, policy: Policy::default() };
        // A unit vector of the model's 192 values.
        let embedding: Vec<f32> = (0..192).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect();
        let mut judge = Judge::default();
        let mut decisions = Vec::new();
        let verdict = |i: usize| FrameVerdicts { index: i as u64, verdicts: vec![(7, spoofs[i])] };
        for i in 0..spoofs.len() {
            decisions
                .extend(judge.faces(&mut decider, &meta(i as u64), vec![(7, None, embedding.clone())], Instant::now()).expect("decides"));
            if i + 1 == verdicts_after {
                for v in 0..=i {
                    decisions.extend(judge.verdicts(&mut decider, verdict(v)).expect("decides"));
                }
            } else if i + 1 > verdicts_after {
                decisions.extend(judge.verdicts(&mut decider, verdict(i)).expect("decides"));
            }
        }
        decisions.into_iter().map(|d| (d.track.unwrap_or_default(), d.decision.outcome, d.t)).collect()
    }

    #[test]
    fn late_verdicts_give_the_decisions_of_verdicts_that_came_with_their_embeddings() {
        let patterns: [&[bool]; 5] =
            [&[false, false, false], &[true, false, false], &[false, true, true], &[false, true, false, false], &[true]];
        for spoofs in patterns {
            let on_time = decide_with_late_verdicts(spoofs, 1);
            for late in 2..=spoofs.len() {
                assert_eq!(decide_with_late_verdicts(spoofs, late), on_time, "{spoofs:?}, verdicts from frame {late}");
            }
            assert_eq!(on_time.len(), 1, "{spoofs:?}: one decision");
        }
        // Two live verdicts of three: decided as the third embedding arrives, on that frame.
        assert_eq!(decide_with_late_verdicts(&[false, false, false], 1), vec![(7, Outcome::NotOnManifest, 0.2)]);
        assert_eq!(decide_with_late_verdicts(&[false, true, true], 1), vec![(7, Outcome::SpoofSuspected, 0.1)]);
    }

    fn decision(outcome: Outcome) -> Decision {
        Decision::new(outcome)
    }

    /// Rules that decide a track (boarded) once they see `enough` observations, and every
    /// ticket (manual_pending); it notes what it was asked: (track, observations).
    struct Counting {
        enough: usize,
        asked: Vec<(u64, usize)>,
        presented: Vec<(u64, usize)>,
    }

    impl Counting {
        fn new(enough: usize) -> Self {
            Counting { enough, asked: Vec::new(), presented: Vec::new() }
        }
    }

    impl Decider for Counting {
        fn decide(&mut self, track: u64, observations: &[Observation]) -> Result<Option<Decision>> {
            self.asked.push((track, observations.len()));
            Ok((observations.len() >= self.enough).then(|| decision(Outcome::Boarded)))
        }

        fn present(&mut self, track: u64, _: &Presented, observations: &[Observation]) -> Result<Option<Decision>> {
            self.presented.push((track, observations.len()));
            Ok(Some(decision(Outcome::ManualPending)))
        }
    }

    fn face(track: u64, spoof: Option<bool>) -> Vec<(u64, Option<bool>, Vec<f32>)> {
        vec![(track, spoof, vec![1.0, 0.0])]
    }

    fn verdict(index: u64, track: u64) -> FrameVerdicts {
        FrameVerdicts { index, verdicts: vec![(track, false)] }
    }

    fn ticket() -> Presented {
        Presented::Qr("T-1".to_string())
    }

    #[test]
    fn the_rules_see_an_observation_only_after_the_verdict_before_it() {
        let (mut rules, mut judge, t0) = (Counting::new(2), Judge::default(), Instant::now());
        let second = meta_at(1, t0 + Duration::from_millis(100));
        assert!(judge.faces(&mut rules, &meta_at(0, t0), face(7, None), t0).expect("judged").is_empty());
        assert!(judge.faces(&mut rules, &second, face(7, None), second.captured).expect("judged").is_empty());
        assert!(rules.asked.iter().all(|&(_, seen)| seen == 1), "{:?}", rules.asked);
        // The first verdict lets the rules see the second observation: decided on its frame.
        let decided = judge.verdicts(&mut rules, verdict(0, 7)).expect("judged");
        let boarded = Decided { t: 0.1, track: Some(7), decision: decision(Outcome::Boarded), latency: Latency::Since(second.captured) };
        assert_eq!(decided, vec![boarded]);
        // A decided track is not judged again.
        let asked = rules.asked.len();
        assert!(judge.verdicts(&mut rules, verdict(1, 7)).expect("judged").is_empty());
        assert!(judge.faces(&mut rules, &meta_at(2, t0), face(7, Some(false)), t0).expect("judged").is_empty());
        assert_eq!(rules.asked.len(), asked);
        assert!(judge.ended(7), "ended decided");
    }

    #[test]
    fn a_track_that_ends_with_its_verdict_pending_is_undecided() {
        let (mut rules, mut judge, t0) = (Counting::new(2), Judge::default(), Instant::now());
        assert!(judge.faces(&mut rules, &meta_at(0, t0), face(7, None), t0).expect("judged").is_empty());
        assert!(!judge.ended(7), "ended undecided");
        // A verdict on a track gone is dropped, not judged.
        let asked = rules.asked.len();
        assert!(judge.verdicts(&mut rules, verdict(0, 7)).expect("judged").is_empty());
        assert_eq!(rules.asked.len(), asked);
    }

    #[test]
    fn a_ticket_waits_for_the_face_and_its_verdicts() {
        let (mut rules, mut judge, t0) = (Counting::new(1), Judge::default(), Instant::now());
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        judge.ticket_shown(ticket(), t0);
        assert!(judge.tick(&mut rules, at(1000)).expect("waits").is_empty());
        // The face comes with its verdict pending; the rules are not asked while the ticket waits.
        assert!(judge.faces(&mut rules, &meta_at(3, at(1000)), face(7, None), at(1000)).expect("held").is_empty());
        assert!(judge.tick(&mut rules, at(1500)).expect("waits").is_empty());
        assert!(judge.verdicts(&mut rules, verdict(3, 7)).expect("held").is_empty());
        assert!(rules.asked.is_empty() && rules.presented.is_empty());
        // Face and verdict in: decided with them, on the latest frame's time.
        let decided = judge.tick(&mut rules, at(2000)).expect("decides");
        let checked = Decided { t: 0.3, track: Some(7), decision: decision(Outcome::ManualPending), latency: Latency::Waited(2000.0) };
        assert_eq!(decided, vec![checked]);
        assert_eq!(rules.presented, vec![(7, 1)]);
        // That face is decided: its rules are not asked, now or later.
        assert!(judge.faces(&mut rules, &meta_at(4, at(2100)), face(7, Some(false)), at(2100)).expect("judged").is_empty());
        assert!(rules.asked.is_empty());
    }

    #[test]
    fn a_ticket_waits_for_the_verdicts_of_the_face_in_front_of_it_however_slow_the_lane() {
        // On a loaded machine the verdicts may come later than the wait for a face: deciding
        // then counted the verdict not in as a spoof, and a genuine passenger went to staff.
        let (mut rules, mut judge, t0) = (Counting::new(1), Judge::default(), Instant::now());
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        judge.ticket_shown(ticket(), t0);
        assert!(judge.faces(&mut rules, &meta_at(1, at(500)), face(7, None), at(500)).expect("held").is_empty());
        assert!(judge.tick(&mut rules, at(6000)).expect("waits for the verdict").is_empty());
        assert!(judge.verdicts(&mut rules, verdict(1, 7)).expect("held").is_empty());
        let decided = judge.tick(&mut rules, at(6100)).expect("decides");
        assert_eq!(decided.iter().map(|d| d.track).collect::<Vec<_>>(), vec![Some(7)]);
        assert_eq!(rules.presented, vec![(7, 1)]);
    }

    #[test]
    fn a_ticket_with_no_face_is_decided_after_the_wait_then_the_held_faces() {
        let (mut rules, mut judge, t0) = (Counting::new(1), Judge::default(), Instant::now());
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(judge.faces(&mut rules, &meta_at(0, t0), face(8, Some(false)), t0).expect("decides").len(), 1);
        // Shown when that face was last seen too long ago to be the face at the lane.
        judge.ticket_shown(ticket(), at(3500));
        assert!(judge.tick(&mut rules, at(7499)).expect("waits").is_empty());
        let decided = judge.tick(&mut rules, at(7500)).expect("decides");
        let unmatched = Decided { t: 0.0, track: None, decision: decision(Outcome::ManualPending), latency: Latency::Waited(4000.0) };
        assert_eq!(decided, vec![unmatched]);
        assert_eq!(rules.presented, vec![(0, 0)]);

        // Two faces held while a ticket waits: it takes the latest, then the other is judged.
        judge.ticket_shown(ticket(), at(8000));
        assert!(judge.faces(&mut rules, &meta_at(50, at(8100)), face(7, Some(false)), at(8100)).expect("held").is_empty());
        assert!(judge.faces(&mut rules, &meta_at(51, at(8200)), face(9, Some(false)), at(8200)).expect("held").is_empty());
        let decided = judge.tick(&mut rules, at(8300)).expect("decides");
        let outcomes: Vec<_> = decided.iter().map(|d| (d.track, d.decision.outcome)).collect();
        assert_eq!(outcomes, vec![(Some(9), Outcome::ManualPending), (Some(7), Outcome::Boarded)]);
    }

    #[test]
    fn two_tickets_shown_a_moment_apart_each_get_a_decision() {
        // Today's lane kept one waiting ticket: the second replaced the first, which was never
        // decided and left no event.
        let (mut rules, mut judge, t0) = (Counting::new(1), Judge::default(), Instant::now());
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        judge.ticket_shown(Presented::Qr("parent".into()), t0);
        judge.ticket_shown(Presented::Qr("child".into()), at(300));
        assert!(judge.faces(&mut rules, &meta_at(1, at(400)), face(7, Some(false)), at(400)).expect("held").is_empty());
        let decided = judge.tick(&mut rules, at(500)).expect("decides");
        assert_eq!(decided.len(), 2, "{decided:?}");
        assert_eq!(rules.presented, vec![(7, 1), (7, 1)], "both, with the face at the lane");
        assert!(judge.tick(&mut rules, at(600)).expect("nothing waits").is_empty());
    }

    #[test]
    fn the_source_ending_decides_a_waiting_ticket_at_once() {
        let (mut rules, mut judge, t0) = (Counting::new(1), Judge::default(), Instant::now());
        judge.ticket_shown(ticket(), t0);
        let decided = judge.finish(&mut rules, t0).expect("decides");
        assert_eq!(decided.iter().map(|d| d.track).collect::<Vec<_>>(), vec![None]);
        assert!(judge.finish(&mut rules, t0).expect("nothing waits").is_empty());
    }
}
