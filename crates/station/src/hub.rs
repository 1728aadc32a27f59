//! The broadcast of live events: what consoles (`/api/stream`), kiosks (`/kiosk/{lane}/events`)
//! and lanes waiting for staff resolutions (`/api/lane/results`) are told as it happens. A
//! receiver that falls behind skips what it missed; nobody waits for a slow one.

use tokio::sync::broadcast;

use boardcheck_api::{KioskState, StreamEvent};

/// Messages queued for a receiver before it counts as lagging.
const CAPACITY: usize = 1024;

/// What the hub carries.
#[derive(Debug, Clone)]
pub enum HubEvent {
    /// For the staff consoles.
    Console(StreamEvent),
    /// For one lane's kiosk display.
    Kiosk { lane: String, kiosk: KioskState },
}

pub struct Hub(broadcast::Sender<HubEvent>);

impl Default for Hub {
    fn default() -> Self {
        Hub(broadcast::channel(CAPACITY).0)
    }
}

impl Hub {
    pub fn send(&self, event: HubEvent) {
        let _ = self.0.send(event); // nobody listening: nobody to tell
    }

    pub fn subscribe(&self) -> broadcast::Receiver<HubEvent> {
        self.0.subscribe()
    }
}
