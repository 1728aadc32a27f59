//! The links between pipeline stages: bounded crossbeam channels that, for a live camera,
//! keep only the latest item. A stage that falls behind then skips stale frames instead of
//! building a queue, so a passenger's decision is about now, not about a second ago. For a
//! recorded video every frame matters (and results must not depend on timing), so the link
//! blocks instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

/// The sending end of a link.
pub struct LinkSender<T> {
    tx: Sender<T>,
    /// Held to evict the stale item when the link is full (latest-wins links only).
    evict: Option<Receiver<T>>,
    dropped: Arc<AtomicU64>,
}

/// A link of capacity one: latest-wins when `drop_stale`, else blocking.
pub fn link<T>(drop_stale: bool) -> (LinkSender<T>, Receiver<T>, Arc<AtomicU64>) {
    let (tx, rx) = bounded(1);
    let dropped = Arc::new(AtomicU64::new(0));
    let evict = drop_stale.then(|| rx.clone());
    (LinkSender { tx, evict, dropped: dropped.clone() }, rx, dropped)
}

impl<T> LinkSender<T> {
    /// Sends `item`; returns false when the receiving stage has gone (the pipeline is stopping).
    pub fn send(&self, item: T) -> bool {
        let Some(evict) = &self.evict else { return self.tx.send(item).is_ok() };
        let mut item = item;
        loop {
            match self.tx.try_send(item) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    if evict.try_recv().is_ok() {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    item = back;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_wins_drops_and_counts_stale_items() {
        let (tx, rx, dropped) = link(true);
        for i in 0..5 {
            assert!(tx.send(i));
        }
        assert_eq!(rx.recv().ok(), Some(4));
        assert_eq!(dropped.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn a_blocking_link_loses_nothing() {
        let (tx, rx, dropped) = link(false);
        let producer = std::thread::spawn(move || (0..5).all(|i| tx.send(i)));
        let got: Vec<i32> = rx.iter().collect();
        assert!(producer.join().unwrap_or(false));
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_gone_receiver_stops_the_sender() {
        let (tx, rx, _) = link::<u8>(true);
        drop(rx);
        // The evicting receiver clone keeps the channel open; the item is still accepted.
        assert!(tx.send(1));
        let (tx, rx, _) = link::<u8>(false);
        drop(rx);
        assert!(!tx.send(1));
    }
}
