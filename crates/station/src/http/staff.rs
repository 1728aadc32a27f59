//! The staff session: `POST /api/login`, `POST /api/logout`, `GET /api/session`. Failed logins
//! are throttled per staff id and per address; a session is a cookie (HttpOnly,
//! SameSite=Strict) and a CSRF token the page sends back on every change.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::callers::{session_cookie, Staff, SESSION_COOKIE};
use super::{blocking, ApiError, Shared};
use crate::auth::{self, Session};
use boardcheck_api::{LoginRequest, StaffSession};

/// A valid argon2id hash of a random password, verified against when the staff id is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$2zVBkGmPX5PzAHHlcZj2QmHBx3LsHlxLTV1TkQv7x3s";

fn answer(session: &Session) -> Json<StaffSession> {
    Json(StaffSession { staff: session.staff.clone(), role: session.role, csrf: session.csrf.clone() })
}

pub async fn login(State(station): State<Shared>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Json(body): Json<LoginRequest>) -> Response {
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
    let mut response = answer(&session).into_response();
    if let Ok(value) = HeaderValue::from_str(&set_cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

pub async fn logout(State(station): State<Shared>, Staff(_): Staff, headers: HeaderMap) -> Response {
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
