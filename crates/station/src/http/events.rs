//! The server-sent event streams: `GET /api/stream` for the staff console
//! ([`boardcheck_api::StreamEvent`]s), `GET /kiosk/{lane}/events` for a lane's display ([`KioskEvent`]s).
//! Event names and data are the api types' serde forms ([`boardcheck_api::sse_parts`]).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde::Serialize;
use tokio::sync::broadcast;

use super::callers::Staff;
use super::{ApiError, ApiResult, Shared};
use crate::hub::HubEvent;
use boardcheck_api::{sse_parts, KioskEvent, KioskState};

/// Decisions, queue changes, lane health, board changes.
pub async fn console(State(station): State<Shared>, _: Staff) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = hub_stream(station.subscribe(), |event| match event {
        HubEvent::Console(event) => Some(event),
        HubEvent::Kiosk { .. } => None,
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// A kiosk's display state: the current one at once, then every change. Public: it carries
/// only pass / see staff / closed and a short reason. What it shows is recomputed on each of
/// the lane's answers and every [`KIOSK_TICK`], so an answer gives way to the prompt, and a lane
/// whose camera goes down or that falls silent turns its display to the closed screen, with
/// no event from the lane needed.
pub async fn kiosk(
    State(station): State<Shared>,
    Path(lane): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let current = station.kiosk(&lane).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no lane '{lane}'")))?;
    let first = sse_event(&KioskEvent::Kiosk(current.clone()));
    let mut tick = tokio::time::interval(KIOSK_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let watch = KioskWatch { station: station.clone(), receiver: station.subscribe(), tick, lane, shown: current };
    let updates = stream::unfold(watch, |mut watch| async move {
        loop {
            tokio::select! {
                _ = watch.tick.tick() => {}
                received = watch.receiver.recv() => match received {
                    Ok(HubEvent::Kiosk { lane, .. }) if lane == watch.lane => {}
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
            let now = watch.station.kiosk(&watch.lane)?;
            if now.looks_like(&watch.shown) {
                continue;
            }
            watch.shown = now.clone();
            if let Some(event) = sse_event(&KioskEvent::Kiosk(now)) {
                return Some((Ok(event), watch));
            }
        }
    });
    Ok(Sse::new(futures_util::StreamExt::chain(stream::iter(first.map(Ok)), updates)).keep_alive(KeepAlive::default()))
}

/// How often a kiosk stream looks at what its display should show.
const KIOSK_TICK: Duration = Duration::from_secs(1);

/// One kiosk stream's state: what its display shows, and where changes come from.
struct KioskWatch {
    station: Shared,
    receiver: broadcast::Receiver<HubEvent>,
    tick: tokio::time::Interval,
    lane: String,
    shown: KioskState,
}

/// An api event as an SSE event; `None` (logged) if it cannot be written.
fn sse_event<T: Serialize>(event: &T) -> Option<Event> {
    match sse_parts(event) {
        Ok((name, data)) => Some(Event::default().event(name).data(data)),
        Err(e) => {
            tracing::error!(error = %e, "an event cannot be written");
            None
        }
    }
}

/// Hub messages as SSE events, through `pick` (which also filters). A slow client that falls
/// behind skips what it missed; the console refetches on its periodic refresh.
fn hub_stream<T: Serialize + Send + 'static>(
    receiver: broadcast::Receiver<HubEvent>,
    pick: impl Fn(HubEvent) -> Option<T> + Send + 'static,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold((receiver, pick), |(mut receiver, pick)| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => {
                    if let Some(event) = pick(event).as_ref().and_then(sse_event) {
                        return Some((Ok(event), (receiver, pick)));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}
