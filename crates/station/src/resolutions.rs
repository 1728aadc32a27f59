//! Staff resolutions of manual checks, numbered in order and kept for the lanes to collect
//! (`GET /api/lane/results` long-polls): a lane opens its gate on an approval it collects.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::lock;

use boardcheck_core::boarding::Decision;

/// Resolutions kept in memory; only the latest few matter to a lane that keeps up.
const KEPT: usize = 1000;

#[derive(Default)]
pub struct Resolutions(Mutex<VecDeque<Resolution>>);

struct Resolution {
    seq: u64,
    lane: String,
    decision: Decision,
}

impl Resolutions {
    /// Keeps `decision`, a resolution of one of `lane`'s checks, under the next number.
    pub fn push(&self, lane: String, decision: Decision) {
        let mut kept = lock(&self.0);
        let seq = kept.back().map_or(1, |r| r.seq + 1);
        kept.push_back(Resolution { seq, lane, decision });
        while kept.len() > KEPT {
            kept.pop_front();
        }
    }

    /// `lane`'s resolutions numbered after `after`, and the last number given.
    pub fn after(&self, lane: &str, after: u64) -> (u64, Vec<Decision>) {
        let kept = lock(&self.0);
        let last = kept.back().map_or(0, |r| r.seq);
        // A lane ahead of the service's numbering saw an earlier run of it: start over.
        let after = if after > last { 0 } else { after };
        let decisions = kept.iter().filter(|r| r.seq > after && r.lane == lane).map(|r| r.decision.clone()).collect();
        (last, decisions)
    }
}
