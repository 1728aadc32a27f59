//! The staff session: `POST /api/login`, `POST /api/logout`, `GET /api/session`, and a
//! supervisor's `DELETE /api/staff/{id}/sessions`. Logins are throttled as [`crate::auth`]
//! describes; a session is a cookie (HttpOnly, SameSite=Strict), kept in the database, and a
//! CSRF token the page sends back on every change.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use zeroize::Zeroizing;

use super::callers::{session_cookie, Staff, Supervisor, SESSION_COOKIE};
use super::{blocking, ApiError, JsonBody, Shared};
use crate::auth::{Refusal, Session, HASH_QUEUE_WAIT};
use boardcheck_api::{LoginRequest, StaffSession};

/// A valid argon2id hash of a random password, verified against when the staff id is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$2zVBkGmPX5PzAHHlcZj2QmHBx3LsHlxLTV1TkQv7x3s";

fn answer(session: &Session) -> Json<StaffSession> {
    Json(StaffSession { staff: session.staff.clone(), role: session.role, csrf: session.csrf.to_string() })
}

/// Checks a login under the throttle (see [`crate::auth`]): the attempt is reserved before its
/// hash, the hash waits for a turn, and an unknown id costs the same hash as a known one.
pub async fn login(
    State(station): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Response {
    let attempt = match station.throttle.begin(&body.staff, peer.ip()) {
        Ok(attempt) => attempt,
        Err(refusal) => return refused(refusal),
    };
    let turn = match station.throttle.hash_turn().await {
        Ok(turn) => turn,
        Err(refusal) => return refused(refusal),
    };
    let LoginRequest { staff, password } = body;
    let id = staff.clone();
    let checked = blocking(&station, move |s| {
        let mut turn = turn;
        let record = s.sessions.account(&id)?;
        // An unknown id costs the same hashing as a known one: timing does not say who exists.
        let stored = record.as_ref().map_or(DUMMY_HASH, |r| r.password_hash.as_str());
        let ok = turn.verify(stored, &password);
        Ok::<_, crate::error::Error>(record.filter(|_| ok).map(|r| r.role))
    })
    .await;
    let role = match checked {
        Ok(Ok(role)) => role,
        Ok(Err(e)) => return ApiError::from(e).into_response(),
        Err(e) => return e.into_response(),
    };
    let Some(role) = role else {
        attempt.failed();
        // Debug formatting escapes the attacker's text (a newline in it cannot forge a log
        // line), and only its start is kept (a megabyte of id is not a megabyte of log).
        let shown: String = staff.chars().take(64).collect();
        tracing::warn!(staff = ?shown, addr = %peer.ip(), "failed login");
        return ApiError::new(StatusCode::UNAUTHORIZED, "wrong staff id or password").into_response();
    };
    attempt.succeeded();
    let started = blocking(&station, move |s| s.sessions.start(&staff, role)).await;
    let (cookie, session) = match started {
        Ok(Ok(started)) => started,
        Ok(Err(e)) => return ApiError::from(e).into_response(),
        Err(e) => return e.into_response(),
    };
    let max_age = station.config.session_minutes.max(1) * 60;
    let secure = if station.config.secure_cookies { "; Secure" } else { "" };
    let set_cookie =
        Zeroizing::new(format!("{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}", cookie.as_str()));
    let mut response = answer(&session).into_response();
    if let Ok(value) = HeaderValue::from_str(&set_cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// A throttled login: 429 when this address or id must wait, 503 when every hashing slot
/// stayed busy; both say when to come back.
fn refused(refusal: Refusal) -> Response {
    let (status, secs, message) = match refusal {
        Refusal::Wait(wait) => {
            let secs = wait.as_secs().max(1);
            (StatusCode::TOO_MANY_REQUESTS, secs, format!("too many login attempts; try again in {secs} s"))
        }
        Refusal::Busy => {
            let secs = HASH_QUEUE_WAIT.as_secs().max(1);
            (StatusCode::SERVICE_UNAVAILABLE, secs, format!("the station is busy checking other logins; try again in {secs} s"))
        }
    };
    let mut response = ApiError::new(status, message).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

pub async fn logout(State(station): State<Shared>, Staff(_): Staff, headers: HeaderMap) -> Response {
    if let Some(cookie) = session_cookie(&headers) {
        match blocking(&station, move |s| s.sessions.end(&cookie)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return ApiError::from(e).into_response(),
            Err(e) => return e.into_response(),
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let expired = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `DELETE /api/staff/{id}/sessions`: a supervisor logs a staff member out everywhere (a lost
/// badge, a shared password); 204 whether or not there were sessions.
pub async fn end_sessions(State(station): State<Shared>, _: Supervisor, Path(id): Path<String>) -> Response {
    match blocking(&station, move |s| s.sessions.end_all(&id)).await {
        Ok(Ok(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn session(Staff(session): Staff) -> Json<StaffSession> {
    answer(&session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_real_hash() {
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
