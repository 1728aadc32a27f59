//! The HTTP face of the station service: routes, who may call them, and how answers look.
//! Handlers are thin: they check the caller (`callers`), hand the work to [`Station`] on a
//! blocking thread (SQLite and argon2 are synchronous), and answer with the types of
//! `boardcheck-api`.
//!
//! - `callers`: the staff, supervisor and lane extractors.
//! - `staff`: login, logout, the session.
//! - `console`: the console's reads and the manual-check queue.
//! - `events`: the server-sent event streams, the console's and the kiosks'.
//! - `reports`: the supervisors' reports as JSON, CSV and SVG.
//! - `lane`: the lane API.
//! - `listener`: accepting connections, with timeouts and a cap, counted; `tls`: HTTPS.

mod callers;
mod console;
mod events;
mod lane;
mod listener;
mod reports;
mod staff;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Request};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tower_http::timeout::TimeoutLayer;

use crate::error::Error;
use crate::pages;
use crate::station::Station;
use boardcheck_api::ErrorAnswer;
use boardcheck_core::error::Kind;

type Shared = Arc<Station>;

pub fn router(station: Shared) -> Router {
    // Long by design, so outside the request timeout: the event streams and the lanes' long
    // poll for staff results.
    let long_lived = Router::new()
        .route("/kiosk/{lane}/events", get(events::kiosk))
        .route("/api/stream", get(events::console))
        .route("/api/lane/results", get(lane::results));
    let request_timeout = Duration::from_secs(station.config.request_timeout_s);
    Router::new()
        .route("/", get(pages::console))
        .route("/login", get(pages::login))
        .route("/static/{file}", get(pages::asset))
        .route("/kiosk/{lane}", get(pages::kiosk))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/login", post(staff::login))
        .route("/api/logout", post(staff::logout))
        .route("/api/session", get(staff::session))
        .route("/api/staff/{id}/sessions", axum::routing::delete(staff::end_sessions))
        .route("/api/lanes", get(console::lanes))
        .route("/api/manual", get(console::manual_queue))
        .route("/api/manual/{id}", post(console::resolve))
        .route("/api/retention", get(console::retention))
        .route("/api/manual/{id}/photo", get(console::manual_photo))
        .route("/api/trips", get(console::trips))
        .route("/api/trips/{id}/passengers", get(console::passengers))
        .route("/api/reports/day", get(reports::day))
        .route("/api/reports/day/chart.svg", get(reports::day_chart))
        .route("/api/reports/month", get(reports::month))
        .route("/api/reports/month/chart.svg", get(reports::month_chart))
        .route("/api/reports/trip/{id}", get(reports::trip))
        .route("/api/lane/observe", post(lane::observe))
        .route("/api/lane/ticket", post(lane::ticket))
        .route("/api/lane/health", post(lane::health))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, request_timeout))
        .merge(long_lived)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(station)
}

/// Serves until ctrl-c, over HTTPS when `station.toml` names a certificate.
pub async fn serve(station: Shared) -> crate::error::Result<()> {
    let config = &station.config;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        _ => None,
    };
    let limits = listener::Limits {
        header_timeout: Duration::from_secs(config.header_timeout_s),
        write_timeout: Duration::from_secs(config.write_timeout_s),
        max_connections: config.max_connections,
    };
    let addr = config.listen;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| Error::io(format!("listen {addr}"), e))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, "station service listening");
    eprintln!("boardcheck serve: console at {scheme}://{addr}/");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let counted = station.metrics.connections.clone();
    listener::serve(listener, tls, limits, counted, router(station), shutdown).await;
    Ok(())
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

/// "ok" while the store takes writes; else 503 and why (read-only, missing, disk full), so a
/// monitor sees a station that can no longer record a boarding. Checking also recovers a
/// store that was fixed (see [`Station::store_health`]).
async fn healthz(axum::extract::State(station): axum::extract::State<Shared>) -> Response {
    match blocking(&station, |s| s.store_health()).await {
        Ok(Ok(())) => "ok".into_response(),
        Ok(Err(reason)) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {reason}")).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn metrics(axum::extract::State(station): axum::extract::State<Shared>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], station.metrics.render())
}

/// An error answer: an [`ErrorAnswer`] with a status.
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError(status, message.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorAnswer { error: self.1 })).into_response()
    }
}

/// A JSON request body whose rejection (not JSON, a missing field, a reason that is not a code
/// on the list) is answered like every other error, `{"error": "…"}` with axum's status (400,
/// 415, 422) and its words saying what was wrong.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(body)) => Ok(JsonBody(body)),
            Err(rejection) => Err(ApiError::new(rejection.status(), rejection.body_text())),
        }
    }
}

impl From<Error> for ApiError {
    /// The one place where failures become HTTP status codes, by their kind. A failure of the
    /// station itself is logged in full and answered in general words: its text names files
    /// and databases a client has no business knowing.
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::Core(core) => core.kind(),
            Error::Config { .. } | Error::Io { .. } => Kind::Failed,
        };
        let (status, general) = match kind {
            Kind::NotFound => (StatusCode::NOT_FOUND, None),
            Kind::Conflict => (StatusCode::CONFLICT, None),
            Kind::Invalid => (StatusCode::BAD_REQUEST, None),
            Kind::Forbidden => (StatusCode::FORBIDDEN, None),
            // A locked or full database is the station's problem, and passing: try again.
            Kind::Busy => (StatusCode::SERVICE_UNAVAILABLE, Some("the station database is busy: try again in a moment")),
            Kind::Full => (StatusCode::SERVICE_UNAVAILABLE, Some("the station's disk is full: nothing was written; tell its operator")),
            Kind::Failed => (StatusCode::INTERNAL_SERVER_ERROR, Some("the station could not do this; its log says why")),
        };
        match general {
            Some(words) => {
                tracing::error!(error = %e, "request failed");
                ApiError(status, words.to_string())
            }
            None => ApiError(status, e.to_string()),
        }
    }
}

impl From<boardcheck_core::Error> for ApiError {
    fn from(e: boardcheck_core::Error) -> Self {
        Error::from(e).into()
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
