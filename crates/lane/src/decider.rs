//! The seam a lane decides through: [`Decider`]. The lane's decide stage hands it a track's
//! observations, or a ticket shown with the face in view; [`LocalDecider`] answers against a
//! station database in this process, [`crate::client::ServiceDecider`] through the station
//! service (which runs a `LocalDecider` on its side).

use boardcheck_core::boarding::Decision;
use boardcheck_core::clock::unix_now;
use boardcheck_core::decider::{LocalDecider, Observation, Presented};

use crate::error::Result;

/// Decides on a passenger from what the lane saw.
pub trait Decider {
    /// A face track from all its observations so far; `None`: not enough yet, keep looking.
    fn decide(&mut self, track: u64, observations: &[Observation]) -> Result<Option<Decision>>;

    /// A presented ticket and the observations of the face at the lane, `track` (none, and
    /// track 0, if no face was seen); `None` only if no decision could be recorded.
    fn present(&mut self, track: u64, presented: &Presented, observations: &[Observation]) -> Result<Option<Decision>>;
}

impl Decider for LocalDecider<'_> {
    fn decide(&mut self, _track: u64, observations: &[Observation]) -> Result<Option<Decision>> {
        Ok(self.decide_track(observations, unix_now())?)
    }

    fn present(&mut self, _track: u64, presented: &Presented, observations: &[Observation]) -> Result<Option<Decision>> {
        Ok(self.decide_presented(presented, observations, unix_now())?)
    }
}
