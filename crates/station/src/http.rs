//! The HTTP face of the station service: routes, who may call them, and how answers look.
//! Handlers are thin: they check the caller, hand the work to [`Station`] on a blocking
//! thread (SQLite and argon2 are synchronous), and shape the answer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;

use super::auth::{self, Session};
use super::pages;
use super::reports;
use super::station::{HealthReport, HubEvent, Refusal, Station};
use boardcheck_core::decider::{Observation, Presented};
use boardcheck_core::manifest::Role;

const SESSION_COOKIE: &str = "boardcheck_session";
/// A lane's long-poll for staff resolutions waits at most this long.
const RESULTS_WAIT: Duration = Duration::from_secs(20);
/// How far ahead the manifest board looks.
const BOARD_AHEAD_S: i64 = 12 * 3600;

type Shared = Arc<Station>;

pub fn router(station: Shared) -> Router {
    Router::new()
        .route("/", get(pages::console))
        .route("/login", get(pages::login))
        .route("/static/{file}", get(pages::asset))
        .route("/kiosk/{lane}", get(pages::kiosk))
        .route("/kiosk/{lane}/events", get(kiosk_events))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/session", get(session))
        .route("/api/lanes", get(lanes))
        .route("/api/stream", get(stream_events))
        .route("/api/manual", get(manual_queue))
        .route("/api/manual/{id}", post(resolve))
        .route("/api/manual/{id}/photo", get(manual_photo))
        .route("/api/trips", get(trips))
        .route("/api/trips/{id}/passengers", get(passengers))
        .route("/api/reports/day", get(report_day))
        .route("/api/reports/day/chart.svg", get(chart_day))
        .route("/api/reports/month", get(report_month))
        .route("/api/reports/month/chart.svg", get(chart_month))
        .route("/api/reports/trip/{id}", get(report_trip))
        .route("/api/lane/observe", post(lane_observe))
        .route("/api/lane/ticket", post(lane_ticket))
        .route("/api/lane/health", post(lane_health))
        .route("/api/lane/results", get(lane_results))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(station)
}

/// Serves until ctrl-c.
pub async fn serve(station: Shared) -> crate::error::Result<()> {
    let addr = station.config.listen;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| crate::error::Error::io(format!("listen {addr}"), e))?;
    tracing::info!(%addr, "station service listening");
    eprintln!("boardcheck serve: console at http://{addr}/");
    axum::serve(listener, router(station).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| crate::error::Error::io(format!("serve {addr}"), e))
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

// ---- answers ----

/// An error answer: `{"error": "…"}` with a status.
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError(status, message.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<crate::error::Error> for ApiError {
    fn from(e: crate::error::Error) -> Self {
        tracing::error!(error = %e, "request failed");
        // A locked or full database is the station's problem, and passing: try again.
        let status = if matches!(e, crate::error::Error::Core(boardcheck_core::Error::Database { .. })) {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        ApiError(status, e.to_string())
    }
}

impl From<boardcheck_core::Error> for ApiError {
    fn from(e: boardcheck_core::Error) -> Self {
        crate::error::Error::from(e).into()
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NotFound(m) => ApiError(StatusCode::NOT_FOUND, m),
            Refusal::Conflict(m) => ApiError(StatusCode::CONFLICT, m),
            Refusal::Invalid(m) => ApiError(StatusCode::BAD_REQUEST, m),
            Refusal::Failed(e) => e.into(),
        }
    }
}

type ApiResult<T> = std::result::Result<T, ApiError>;

/// Runs blocking station work off the async threads.
async fn blocking<T: Send + 'static>(station: &Shared, f: impl FnOnce(&Station) -> T + Send + 'static) -> ApiResult<T> {
    let station = station.clone();
    tokio::task::spawn_blocking(move || f(&station))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("request worker failed: {e}")))
}

// ---- who is calling ----

/// A staff member with a live session. On any method but GET the request must also carry the
/// session's CSRF token: a page from another site can make the browser send the cookie, but
/// it cannot read the token (SameSite=Strict is the first guard, this the second).
pub struct Staff(pub Session);

impl FromRequestParts<Shared> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, station: &Shared) -> ApiResult<Self> {
        let session = session_cookie(&parts.headers)
            .and_then(|cookie| station.sessions.get(&cookie))
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "log in first"))?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
            if auth::token_digest(sent) != auth::token_digest(&session.csrf) {
                return Err(ApiError::new(StatusCode::FORBIDDEN, "missing or wrong CSRF token (X-CSRF-Token)"));
            }
        }
        Ok(Staff(session))
    }
}

/// A supervisor: reports and the station's figures.
pub struct Supervisor(pub Session);

impl FromRequestParts<Shared> for Supervisor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, station: &Shared) -> ApiResult<Self> {
        let Staff(session) = Staff::from_request_parts(parts, station).await?;
        if session.role != Role::Supervisor {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "reports are for supervisors"));
        }
        Ok(Supervisor(session))
    }
}

/// A lane, by its bearer token. Lane tokens open only `/api/lane/*`, staff sessions never do.
pub struct LaneCaller(pub String);

impl FromRequestParts<Shared> for LaneCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, station: &Shared) -> ApiResult<Self> {
        parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|token| station.lane_for_token(token.trim()))
            .map(LaneCaller)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "a lane token is required (Authorization: Bearer …)"))
    }
}

/// The session cookie's value, if the request has one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE).and_then(|rest| rest.strip_prefix('=')).map(str::to_string))
}

fn session_json(session: &Session) -> serde_json::Value {
    json!({ "staff": session.staff, "role": session.role, "csrf": session.csrf })
}

// ---- staff sessions ----

#[derive(Deserialize)]
struct Login {
    staff: String,
    password: String,
}

async fn login(State(station): State<Shared>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Json(body): Json<Login>) -> Response {
    let keys = [format!("staff:{}", body.staff), format!("addr:{}", peer.ip())];
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    if let Err(wait) = station.throttle.check(&key_refs) {
        let secs = wait.as_secs().max(1);
        let mut response =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, format!("too many failed logins; try again in {secs} s")).into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return response;
    }
    let staff = body.staff.clone();
    let checked = blocking(&station, move |s| {
        let record = s.store().staff(&staff)?;
        // An unknown id costs the same hashing as a known one: timing does not say who exists.
        let stored = record.as_ref().map_or(DUMMY_HASH, |r| r.password_hash.as_str());
        let ok = auth::verify_password(stored, &body.password);
        Ok::<_, crate::error::Error>(record.filter(|_| ok).map(|r| r.role))
    })
    .await;
    let role = match checked {
        Ok(Ok(role)) => role,
        Ok(Err(e)) => return ApiError::from(e).into_response(),
        Err(e) => return e.into_response(),
    };
    let Some(role) = role else {
        station.throttle.failed(&key_refs);
        tracing::warn!(staff = %body.staff, addr = %peer.ip(), "failed login");
        return ApiError::new(StatusCode::UNAUTHORIZED, "wrong staff id or password").into_response();
    };
    station.throttle.succeeded(&keys[0]);
    let (cookie, session) = station.sessions.start(&body.staff, role);
    let max_age = station.config.session_minutes.max(1) * 60;
    let secure = if station.config.secure_cookies { "; Secure" } else { "" };
    let set_cookie = format!("{SESSION_COOKIE}={cookie}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}");
    let mut response = Json(session_json(&session)).into_response();
    if let Ok(value) = HeaderValue::from_str(&set_cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// A valid argon2id hash of a random password, verified against when the staff id is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$2zVBkGmPX5PzAHHlcZj2QmHBx3LsHlxLTV1TkQv7x3s";

async fn logout(State(station): State<Shared>, Staff(_): Staff, headers: HeaderMap) -> Response {
    if let Some(cookie) = session_cookie(&headers) {
        station.sessions.end(&cookie);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let expired = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn session(Staff(session): Staff) -> Json<serde_json::Value> {
    Json(session_json(&session))
}

// ---- console ----

async fn lanes(State(station): State<Shared>, _: Staff) -> ApiResult<Response> {
    Ok(Json(blocking(&station, |s| s.lanes()).await??).into_response())
}

async fn manual_queue(State(station): State<Shared>, _: Staff) -> ApiResult<Response> {
    Ok(Json(blocking(&station, |s| s.manual_queue()).await??).into_response())
}

async fn manual_photo(State(station): State<Shared>, _: Staff, Path(id): Path<i64>) -> ApiResult<Response> {
    match blocking(&station, move |s| s.manual_photo(id)).await?? {
        Some(jpeg) => Ok(([(header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no manifest photo for manual check {id}"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Resolution {
    approve: bool,
    reason: String,
    #[serde(default)]
    ticket: Option<String>,
}

async fn resolve(
    State(station): State<Shared>,
    Staff(session): Staff,
    Path(id): Path<i64>,
    Json(body): Json<Resolution>,
) -> ApiResult<Response> {
    let decision = blocking(&station, move |s| s.resolve(id, body.approve, &session.staff, &body.reason, body.ticket.as_deref())).await??;
    Ok(Json(decision).into_response())
}

async fn trips(State(station): State<Shared>, _: Staff) -> ApiResult<Response> {
    Ok(Json(blocking(&station, |s| s.trips(BOARD_AHEAD_S)).await??).into_response())
}

#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    q: Option<String>,
}

async fn passengers(
    State(station): State<Shared>,
    _: Staff,
    Path(trip): Path<String>,
    Query(search): Query<Search>,
) -> ApiResult<Response> {
    let rows = blocking(&station, move |s| s.store().passengers(&trip, search.q.as_deref().filter(|q| !q.trim().is_empty()))).await??;
    Ok(Json(rows).into_response())
}

/// Server-sent events for the console: decisions, queue changes, lane health, board changes.
async fn stream_events(State(station): State<Shared>, _: Staff) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = hub_stream(station.subscribe(), |event| match event {
        HubEvent::Decision(e) => Some(("decision", serde_json::to_string(&e))),
        HubEvent::Manual { pending } => Some(("manual", Ok(json!({ "pending": pending }).to_string()))),
        HubEvent::Health { lane, health } => Some(("health", Ok(json!({ "lane": lane, "health": health }).to_string()))),
        HubEvent::Board { trip } => Some(("board", Ok(json!({ "trip": trip }).to_string()))),
        HubEvent::Kiosk { .. } => None,
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// A kiosk's display state: the current one at once, then every change. Public: it carries
/// only pass / see staff and a short reason.
async fn kiosk_events(
    State(station): State<Shared>,
    Path(lane): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let current = station.kiosk(&lane).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no lane '{lane}'")))?;
    let first = Event::default().event("kiosk").data(serde_json::to_string(&current).unwrap_or_default());
    let updates = hub_stream(station.subscribe(), move |event| match event {
        HubEvent::Kiosk { lane: l, kiosk } if l == lane => Some(("kiosk", serde_json::to_string(&kiosk))),
        _ => None,
    });
    Ok(Sse::new(futures_util::StreamExt::chain(stream::iter([Ok(first)]), updates)).keep_alive(KeepAlive::default()))
}

type Named = Option<(&'static str, serde_json::Result<String>)>;

/// Hub messages as SSE events, through `pick` (which also filters). A slow client that falls
/// behind skips what it missed; the console refetches on its periodic refresh.
fn hub_stream(
    receiver: broadcast::Receiver<HubEvent>,
    pick: impl Fn(HubEvent) -> Named + Send + 'static,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold((receiver, pick), |(mut receiver, pick)| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => {
                    if let Some((name, Ok(data))) = pick(event) {
                        return Some((Ok(Event::default().event(name).data(data)), (receiver, pick)));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

async fn metrics(State(station): State<Shared>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], station.metrics.render())
}

// ---- reports ----

#[derive(Deserialize)]
struct ReportQuery {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    month: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

impl ReportQuery {
    fn day(&self, station: &Station) -> ApiResult<jiff::civil::Date> {
        match &self.date {
            None => Ok(station.time_zone.to_datetime(jiff::Timestamp::now()).date()),
            Some(text) => text.parse().map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("date '{text}' is not YYYY-MM-DD: {e}"))),
        }
    }

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

async fn report_day(State(station): State<Shared>, _: Supervisor, Query(q): Query<ReportQuery>) -> ApiResult<Response> {
    let (date, csv) = (q.day(&station)?, q.csv()?);
    let report = blocking(&station, move |s| reports::day_report(&s.store(), date, &s.time_zone)).await??;
    Ok(if csv { csv_response(&format!("boarding-{date}"), report.to_csv()?) } else { Json(report).into_response() })
}

async fn chart_day(State(station): State<Shared>, _: Supervisor, Query(q): Query<ReportQuery>) -> ApiResult<Response> {
    let date = q.day(&station)?;
    let report = blocking(&station, move |s| reports::day_report(&s.store(), date, &s.time_zone)).await??;
    Ok(svg_response(report.chart_svg()?))
}

async fn report_month(State(station): State<Shared>, _: Supervisor, Query(q): Query<ReportQuery>) -> ApiResult<Response> {
    let ((year, month), csv) = (q.month(&station)?, q.csv()?);
    let report = blocking(&station, move |s| reports::month_report(&s.store(), year, month, &s.time_zone)).await??;
    Ok(if csv { csv_response(&format!("pilot-progress-{year}-{month:02}"), report.to_csv()?) } else { Json(report).into_response() })
}

async fn chart_month(State(station): State<Shared>, _: Supervisor, Query(q): Query<ReportQuery>) -> ApiResult<Response> {
    let (year, month) = q.month(&station)?;
    let report = blocking(&station, move |s| reports::month_report(&s.store(), year, month, &s.time_zone)).await??;
    Ok(svg_response(report.chart_svg()?))
}

async fn report_trip(
    State(station): State<Shared>,
    _: Supervisor,
    Path(trip): Path<String>,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let csv = q.csv()?;
    let id = trip.clone();
    let report = blocking(&station, move |s| reports::trip_report(&s.store(), &id))
        .await??
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no trip '{trip}'")))?;
    Ok(if csv { csv_response(&format!("trip-{trip}"), report.to_csv()?) } else { Json(report).into_response() })
}

// ---- lanes ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Observed {
    track: u64,
    /// The lane's embedder id.
    model: String,
    observations: Vec<Observation>,
}

async fn lane_observe(State(station): State<Shared>, LaneCaller(lane): LaneCaller, Json(body): Json<Observed>) -> ApiResult<Response> {
    tracing::debug!(lane, track = body.track, observations = body.observations.len(), "observation");
    let decision = blocking(&station, move |s| s.decide(&lane, &body.model, None, &body.observations)).await??;
    Ok(Json(json!({ "decision": decision })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Shown {
    presented: Presented,
    model: String,
    /// The face at the lane when the ticket was shown; empty if none.
    #[serde(default)]
    observations: Vec<Observation>,
}

async fn lane_ticket(State(station): State<Shared>, LaneCaller(lane): LaneCaller, Json(body): Json<Shown>) -> ApiResult<Response> {
    let decision = blocking(&station, move |s| s.decide(&lane, &body.model, Some(&body.presented), &body.observations)).await??;
    Ok(Json(json!({ "decision": decision })).into_response())
}

async fn lane_health(State(station): State<Shared>, LaneCaller(lane): LaneCaller, Json(report): Json<HealthReport>) -> StatusCode {
    station.report_health(&lane, report);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct After {
    #[serde(default)]
    after: u64,
    /// Answer at once instead of waiting for a resolution.
    #[serde(default = "yes")]
    wait: bool,
}

fn yes() -> bool {
    true
}

/// Long-polls for staff resolutions of this lane's manual checks.
async fn lane_results(State(station): State<Shared>, LaneCaller(lane): LaneCaller, Query(q): Query<After>) -> ApiResult<Response> {
    let mut hub = station.subscribe();
    let deadline = tokio::time::Instant::now() + RESULTS_WAIT;
    loop {
        let (last, decisions) = station.lane_results(&lane, q.after);
        if !decisions.is_empty() || !q.wait || tokio::time::Instant::now() >= deadline {
            return Ok(Json(json!({ "last": last, "decisions": decisions })).into_response());
        }
        // Wake on this lane's next staff decision, or at the deadline.
        let wait = async {
            loop {
                match hub.recv().await {
                    Ok(HubEvent::Decision(e)) if e.lane == lane && e.staff.is_some() => return,
                    Err(broadcast::error::RecvError::Closed) => return,
                    _ => continue,
                }
            }
        };
        let _ = tokio::time::timeout_at(deadline, wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("theme=dark; boardcheck_session=abc123; other=1"));
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc123"));
        headers.insert(header::COOKIE, HeaderValue::from_static("boardcheck_sessionx=abc"));
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn the_dummy_hash_is_a_real_hash() {
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
