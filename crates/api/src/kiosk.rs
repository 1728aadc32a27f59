//! A lane's kiosk display: `GET /kiosk/{lane}/events` is a public SSE stream of
//! [`KioskEvent`]s — the current [`KioskState`] at once, then every change. Never a score,
//! never a name.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use boardcheck_core::boarding::kiosk::KioskView;

/// What the display shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum KioskMode {
    /// Nobody decided lately: the invitation to look at the camera.
    Idle,
    Pass,
    SeeStaff,
    /// The lane cannot decide (camera down, the lane silent or never seen): passengers are sent
    /// to the staffed lane instead of being invited to look at a camera that decides nothing.
    Closed,
}

/// How long a pass or see-staff message stays up (seconds): a display that connects later, or
/// a passenger who steps up later, sees the idle prompt, never an old answer.
pub const KIOSK_SHOW_S: i64 = 8;

/// What a lane's kiosk display shows now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct KioskState {
    pub state: KioskMode,
    pub zh: String,
    pub en: String,
    /// Since when, unix seconds.
    pub at: i64,
}

impl KioskState {
    /// The display with nobody at the lane.
    pub fn idle(at: i64) -> Self {
        KioskState { state: KioskMode::Idle, zh: "请正视摄像头".into(), en: "Please look at the camera".into(), at }
    }

    /// The display after a decision.
    pub fn showing(view: &KioskView, at: i64) -> Self {
        let state = if view.pass { KioskMode::Pass } else { KioskMode::SeeStaff };
        KioskState { state, zh: view.zh.clone(), en: view.en.clone(), at }
    }

    /// The display of a lane that cannot decide.
    pub fn closed(at: i64) -> Self {
        KioskState {
            state: KioskMode::Closed,
            zh: "暂停服务，请走人工通道".into(),
            en: "Lane closed: please use the staffed lane".into(),
            at,
        }
    }

    /// What the display shows at `now`, when it last showed `self` and the lane can decide
    /// (`lane_up`) or not: a decision for [`KIOSK_SHOW_S`] (even at a closed lane: a staff
    /// approval lets that passenger through), then the idle prompt, or the closed screen.
    pub fn at(&self, now: i64, lane_up: bool) -> KioskState {
        let answer = matches!(self.state, KioskMode::Pass | KioskMode::SeeStaff);
        if answer && now - self.at < KIOSK_SHOW_S {
            self.clone()
        } else if !lane_up {
            KioskState::closed(now)
        } else {
            KioskState::idle(if answer { self.at + KIOSK_SHOW_S } else { self.at })
        }
    }

    /// Whether a display showing `self` shows the same as one showing `other`: the same
    /// answer to the same passenger, or the same standing screen (idle, closed) whenever it began.
    pub fn looks_like(&self, other: &KioskState) -> bool {
        let standing = matches!(self.state, KioskMode::Idle | KioskMode::Closed);
        self.state == other.state && self.zh == other.zh && self.en == other.en && (standing || self.at == other.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(at: i64) -> KioskState {
        KioskState::showing(&KioskView { pass: true, zh: "请通行".into(), en: "Please board".into() }, at)
    }

    #[test]
    fn an_answer_shows_for_a_few_seconds_then_the_idle_prompt_or_the_closed_screen() {
        let shown = pass(100);
        assert_eq!(shown.at(100 + KIOSK_SHOW_S - 1, true), shown);
        assert_eq!(shown.at(100 + KIOSK_SHOW_S - 1, false), shown, "a staff approval at a closed lane still shows");
        assert_eq!(shown.at(165, true).state, KioskMode::Idle, "a display opened a minute later shows no old pass");
        assert_eq!(shown.at(165, false).state, KioskMode::Closed);
        assert_eq!(KioskState::idle(5).at(1000, false).state, KioskMode::Closed);
        assert_eq!(KioskState::closed(5).at(1000, true).state, KioskMode::Idle, "open again once the lane is back");
    }

    #[test]
    fn the_same_screen_is_not_sent_twice_but_a_new_answer_is() {
        assert!(KioskState::closed(5).looks_like(&KioskState::closed(50)));
        assert!(KioskState::idle(5).looks_like(&KioskState::idle(50)));
        assert!(pass(5).looks_like(&pass(5)));
        assert!(!pass(5).looks_like(&pass(9)), "the next passenger's pass is shown again");
        assert!(!KioskState::idle(5).looks_like(&KioskState::closed(5)));
    }
}

/// The kiosk stream's events (SSE event name: `event`, data: `data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum KioskEvent {
    Kiosk(KioskState),
}
