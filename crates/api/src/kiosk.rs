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
}

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
}

/// The kiosk stream's events (SSE event name: `event`, data: `data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum KioskEvent {
    Kiosk(KioskState),
}
