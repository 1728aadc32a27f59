//! The lane API (`Authorization: Bearer <lane token>`): `POST /api/lane/observe`,
//! `POST /api/lane/ticket`, `POST /api/lane/health`, `GET /api/lane/results`.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use tokio::sync::broadcast;

use super::callers::LaneCaller;
use super::{blocking, ApiResult, JsonBody, Shared};
use crate::hub::HubEvent;
use boardcheck_api::{DecisionAnswer, HealthReport, ObserveRequest, Results, ResultsQuery, StreamEvent, TicketRequest};

/// A lane's long-poll for staff resolutions waits at most this long.
const RESULTS_WAIT: Duration = Duration::from_secs(20);

pub async fn observe(
    State(station): State<Shared>,
    LaneCaller(lane): LaneCaller,
    JsonBody(body): JsonBody<ObserveRequest>,
) -> ApiResult<Json<DecisionAnswer>> {
    tracing::debug!(lane, track = body.track, observations = body.observations.len(), "observation");
    let decision =
        blocking(&station, move |s| s.decide(&lane, &body.model, body.request_id.as_deref(), None, &body.observations)).await??;
    Ok(Json(DecisionAnswer { decision }))
}

pub async fn ticket(
    State(station): State<Shared>,
    LaneCaller(lane): LaneCaller,
    JsonBody(body): JsonBody<TicketRequest>,
) -> ApiResult<Json<DecisionAnswer>> {
    let decision =
        blocking(&station, move |s| s.decide(&lane, &body.model, body.request_id.as_deref(), Some(&body.presented), &body.observations))
            .await??;
    Ok(Json(DecisionAnswer { decision }))
}

pub async fn health(State(station): State<Shared>, LaneCaller(lane): LaneCaller, JsonBody(report): JsonBody<HealthReport>) -> StatusCode {
    station.report_health(&lane, report);
    StatusCode::NO_CONTENT
}

/// Long-polls for staff resolutions of this lane's manual checks.
pub async fn results(State(station): State<Shared>, LaneCaller(lane): LaneCaller, Query(q): Query<ResultsQuery>) -> Json<Results> {
    let mut hub = station.subscribe();
    let deadline = tokio::time::Instant::now() + RESULTS_WAIT;
    loop {
        let (last, decisions) = station.lane_results(&lane, q.after);
        if !decisions.is_empty() || !q.wait || tokio::time::Instant::now() >= deadline {
            return Json(Results { last, decisions });
        }
        // Wake on this lane's next staff decision, or at the deadline.
        let wait = async {
            loop {
                match hub.recv().await {
                    Ok(HubEvent::Console(StreamEvent::Decision(e))) if e.lane == lane && e.staff.is_some() => return,
                    Err(broadcast::error::RecvError::Closed) => return,
                    _ => continue,
                }
            }
        };
        let _ = tokio::time::timeout_at(deadline, wait).await;
    }
}
