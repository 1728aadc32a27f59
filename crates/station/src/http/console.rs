//! The console's reads and the manual-check queue: `GET /api/lanes`, `GET /api/manual`,
//! `POST /api/manual/{id}`, `GET /api/manual/{id}/photo`, `GET /api/trips`,
//! `GET /api/trips/{id}/passengers`, `GET /api/retention`. Any staff member.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::callers::Staff;
use super::{blocking, ApiError, ApiResult, JsonBody, Shared};
use boardcheck_api::{LaneView, ManualItem, PassengerQuery, ResolveRequest, RetentionStatus, TripView};
use boardcheck_core::boarding::Decision;
use boardcheck_core::manifest::store::Passenger;

/// How far ahead the manifest board looks.
const BOARD_AHEAD_S: i64 = 12 * 3600;

pub async fn lanes(State(station): State<Shared>, _: Staff) -> ApiResult<Json<Vec<LaneView>>> {
    Ok(Json(blocking(&station, |s| s.lanes()).await??))
}

pub async fn manual_queue(State(station): State<Shared>, _: Staff) -> ApiResult<Json<Vec<ManualItem>>> {
    Ok(Json(blocking(&station, |s| s.manual_queue()).await??))
}

pub async fn manual_photo(State(station): State<Shared>, _: Staff, Path(id): Path<i64>) -> ApiResult<Response> {
    match blocking(&station, move |s| s.manual_photo(id)).await?? {
        Some(jpeg) => Ok(([(header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no manifest photo for manual check {id}"))),
    }
}

pub async fn resolve(
    State(station): State<Shared>,
    Staff(session): Staff,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ResolveRequest>,
) -> ApiResult<Json<Decision>> {
    let decision = blocking(&station, move |s| s.resolve(id, (&session.staff, session.role), &body)).await??;
    Ok(Json(decision))
}

pub async fn retention(State(station): State<Shared>, _: Staff) -> Json<RetentionStatus> {
    Json(station.retention())
}

pub async fn trips(State(station): State<Shared>, _: Staff) -> ApiResult<Json<Vec<TripView>>> {
    Ok(Json(blocking(&station, |s| s.trips(BOARD_AHEAD_S)).await??))
}

pub async fn passengers(
    State(station): State<Shared>,
    _: Staff,
    Path(trip): Path<String>,
    Query(search): Query<PassengerQuery>,
) -> ApiResult<Json<Vec<Passenger>>> {
    let rows = blocking(&station, move |s| -> crate::error::Result<_> {
        Ok(s.reader()?.passengers(&trip, search.q.as_deref().filter(|q| !q.trim().is_empty()))?)
    })
    .await??;
    Ok(Json(rows))
}
