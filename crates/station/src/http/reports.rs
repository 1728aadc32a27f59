//! The supervisors' reports: `GET /api/reports/day`, `/api/reports/trip/{id}`,
//! `/api/reports/month` as JSON, or CSV with `format=csv`; `/api/reports/day/chart.svg` and
//! `/api/reports/month/chart.svg` as charts. Supervisors only.

use axum::extract::{Path, Query, State};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::callers::Supervisor;
use super::{blocking, ApiError, ApiResult, Shared};
use crate::reports;
use crate::station::Station;

/// The reports' query; its words are checked here, so a wrong one is a 400 that says why.
#[derive(Deserialize)]
pub struct ReportQuery {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    month: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

impl ReportQuery {
    /// `date=YYYY-MM-DD`, by default today in the station's zone.
    fn day(&self, station: &Station) -> ApiResult<jiff::civil::Date> {
        match &self.date {
            None => Ok(station.time_zone.to_datetime(jiff::Timestamp::now()).date()),
            Some(text) => text.parse().map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("date '{text}' is not YYYY-MM-DD: {e}"))),
        }
    }

    /// `month=YYYY-MM`, by default this month in the station's zone.
    fn month(&self, station: &Station) -> ApiResult<(i16, i8)> {
        let Some(text) = &self.month else {
            let today = station.time_zone.to_datetime(jiff::Timestamp::now()).date();
            return Ok((today.year(), today.month()));
        };
        let bad = || ApiError::new(StatusCode::BAD_REQUEST, format!("month '{text}' is not YYYY-MM"));
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        let (year, month): (i16, i8) = (year.parse().map_err(|_| bad())?, month.parse().map_err(|_| bad())?);
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok((year, month))
    }

    /// `format=csv` (else JSON).
    fn csv(&self) -> ApiResult<bool> {
        match self.format.as_deref() {
            None | Some("json") => Ok(false),
            Some("csv") => Ok(true),
            Some(other) => Err(ApiError::new(StatusCode::BAD_REQUEST, format!("format '{other}': json or csv"))),
        }
    }
}

fn csv_response(name: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}.csv\"");
    let mut response = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn svg_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], body).into_response()
}

pub async fn day(State(station): State<Shared>, _: Supervisor, Query(q): Query<ReportQuery>) -> ApiResult<Response> {
    let (date, csv) = (q.day(&station)?, q.csv()?);
    let report = blocking(&station, move |s| s.day_report(date)).await??;
    Ok(if csv { csv_response(&format!("boarding-{date}"), report.to_csv()?) } else { Json(report.figures).into_response() })
}

pub async fn day_chart(State(station): State<Shared>, _: Supervisor, Query(q): Query<ReportQuery>) -> ApiResult<Response> {
    let date = q.day(&station)?;
    let report = blocking(&station, move |s| s.day_report(date)).await??;
    Ok(svg_response(report.chart_svg()?))
}

pub async fn month(State(station): State<Shared>, _: Supervisor, Query(q): Query<ReportQuery>) -> ApiResult<Response> {
    let ((year, month), csv) = (q.month(&station)?, q.csv()?);
    let report = blocking(&station, move |s| s.month_report(year, month)).await??;
    Ok(if csv {
        csv_response(&format!("pilot-progress-{year}-{month:02}"), reports::month_csv(&report)?)
    } else {
        Json(report).into_response()
    })
}

pub async fn month_chart(State(station): State<Shared>, _: Supervisor, Query(q): Query<ReportQuery>) -> ApiResult<Response> {
    let (year, month) = q.month(&station)?;
    let report = blocking(&station, move |s| s.month_report(year, month)).await??;
    Ok(svg_response(reports::month_chart_svg(&report)?))
}

pub async fn trip(
    State(station): State<Shared>,
    _: Supervisor,
    Path(trip): Path<String>,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let csv = q.csv()?;
    let id = trip.clone();
    let report = blocking(&station, move |s| s.trip_report(&id))
        .await??
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no trip '{trip}'")))?;
    Ok(if csv { csv_response(&format!("trip-{trip}"), report.to_csv()?) } else { Json(report.figures).into_response() })
}
