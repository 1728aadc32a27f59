//! The links between pipeline stages: bounded crossbeam channels that, for a live camera,
//! keep only the latest item. A stage that falls behind then skips stale frames instead of
//! building a queue, so a passenger's decision is about now, not about a second ago. For a
//! recorded video every frame matters (and results must not depend on timing), so the link
//! blocks instead. Either way a link whose receiving stage has gone stops its sender, so a
//! stage that ends or fails takes the stages before it with it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

/// The sending end of a link.
pub struct LinkSender<T> {
    tx: Sender<T>,
    /// Held to evict the stale item when the link is full (latest-wins links only). Being a
    /// receiver too, it keeps the channel connected: `reader` says whether the stage is there.
    evict: Option<Receiver<T>>,
    reader: Weak<()>,
    dropped: Arc<AtomicU64>,
}

/// The receiving end of a link: the items, until the sending stage ends. Dropping it (its stage
/// ended or failed) stops the sender, so the stages before it end too.
pub struct LinkReceiver<T> {
    rx: Receiver<T>,
    /// Alive while the receiving stage is: the sender of a latest-wins link watches it.
    _reading: Arc<()>,
}

impl<T> Iterator for LinkReceiver<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// A link of capacity one: latest-wins when `drop_stale`, else blocking.
pub fn link<T>(drop_stale: bool) -> (LinkSender<T>, LinkReceiver<T>, Arc<AtomicU64>) {
    let (tx, rx) = bounded(1);
    let dropped = Arc::new(AtomicU64::new(0));
    let evict = drop_stale.then(|| rx.clone());
    let reading = Arc::new(());
    let sender = LinkSender { tx, evict, reader: Arc::downgrade(&reading), dropped: dropped.clone() };
    (sender, LinkReceiver { rx, _reading: reading }, dropped)
}

impl<T> LinkSender<T> {
    /// Sends `item`; returns false when the receiving stage has gone (the pipeline is stopping).
    pub fn send(&self, item: T) -> bool {
        let Some(evict) = &self.evict else { return self.tx.send(item).is_ok() };
        let mut item = item;
        loop {
            if self.reader.strong_count() == 0 {
                return false;
            }
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
        let (tx, mut rx, dropped) = link(true);
        for i in 0..5 {
            assert!(tx.send(i));
        }
        assert_eq!(rx.next(), Some(4));
        assert_eq!(dropped.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn a_blocking_link_loses_nothing() {
        let (tx, rx, dropped) = link(false);
        let producer = std::thread::spawn(move || (0..5).all(|i| tx.send(i)));
        let got: Vec<i32> = rx.collect();
        assert!(producer.join().unwrap_or(false));
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_gone_receiver_stops_the_sender() {
        for drop_stale in [true, false] {
            let (tx, rx, _) = link::<u8>(drop_stale);
            assert!(tx.send(1), "latest wins: {drop_stale}");
            drop(rx);
            // The stage after it is gone: the sender hears it, with or without an item waiting.
            assert!(!tx.send(2), "latest wins: {drop_stale}");
            assert!(!tx.send(3), "latest wins: {drop_stale}");
        }
    }
}
