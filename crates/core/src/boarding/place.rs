//! Where a trip stands for one lane at one moment: the check every path to boarding shares,
//! a lane's face match, a ticket shown, and a staff approval alike. A lane boards the trips at
//! its gate (or named for it) while their boarding window is open.

use serde::{Deserialize, Serialize};

use crate::manifest::Trip;

/// When a trip boards: from `before_s` before its departure until `after_s` after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardingWindow {
    pub before_s: i64,
    pub after_s: i64,
}

impl BoardingWindow {
    pub fn minutes(before: i64, after: i64) -> Self {
        BoardingWindow { before_s: before * 60, after_s: after * 60 }
    }
}

/// What one lane boards: the trips leaving from its gate, and any named for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneScope {
    pub gate: Option<String>,
    pub trips: Vec<String>,
    pub window: BoardingWindow,
}

/// Where a trip stands for a lane now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// This lane boards it now.
    Here,
    /// It leaves from another gate.
    OtherGate { gate: String },
    /// It leaves from here, but boarding opens later.
    NotYetBoarding { departure: i64 },
    /// It leaves from here, and its boarding closed.
    Departed { departure: i64 },
}

impl LaneScope {
    /// Whether `trip` leaves from this lane, at any time.
    pub fn serves(&self, trip: &Trip) -> bool {
        self.trips.contains(&trip.id) || self.gate.as_deref() == Some(trip.gate.as_str())
    }

    /// Where `trip` stands for this lane at `now`.
    pub fn place(&self, trip: &Trip, now: i64) -> Place {
        if !self.serves(trip) {
            Place::OtherGate { gate: trip.gate.clone() }
        } else if trip.departure - now > self.window.before_s {
            Place::NotYetBoarding { departure: trip.departure }
        } else if now - trip.departure > self.window.after_s {
            Place::Departed { departure: trip.departure }
        } else {
            Place::Here
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trip(gate: &str, departure: i64) -> Trip {
        Trip { id: "T".into(), route: "r".into(), departure, gate: gate.into() }
    }

    #[test]
    fn a_lane_boards_its_gate_inside_the_window_only() {
        let scope = LaneScope { gate: Some("3".into()), trips: vec![], window: BoardingWindow::minutes(60, 30) };
        let now = 100_000;
        assert_eq!(scope.place(&trip("3", now + 3600), now), Place::Here);
        assert_eq!(scope.place(&trip("3", now - 1800), now), Place::Here);
        assert_eq!(scope.place(&trip("3", now + 10 * 3600), now), Place::NotYetBoarding { departure: now + 10 * 3600 });
        assert_eq!(scope.place(&trip("3", now - 3 * 86_400), now), Place::Departed { departure: now - 3 * 86_400 });
        assert_eq!(scope.place(&trip("7", now), now), Place::OtherGate { gate: "7".into() });
        let named = LaneScope { gate: None, trips: vec!["T".into()], ..scope };
        assert_eq!(named.place(&trip("7", now), now), Place::Here);
    }
}
