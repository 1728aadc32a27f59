//! Who is calling: a staff member (session cookie, and the CSRF token on every change), a
//! supervisor, or a lane (bearer token). A lane token never opens a staff route, a staff
//! session never a lane route.

use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderMap};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};

use super::{blocking, ApiError, ApiResult, Shared};
use crate::auth::{self, Session};
use boardcheck_core::manifest::Role;

pub const SESSION_COOKIE: &str = "boardcheck_session";

/// A staff member with a live session. On any method but GET the request must also carry the
/// session's CSRF token: a page from another site can make the browser send the cookie, but
/// it cannot read the token (SameSite=Strict is the first guard, this the second).
pub struct Staff(pub Session);

impl FromRequestParts<Shared> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, station: &Shared) -> ApiResult<Self> {
        let cookie = session_cookie(&parts.headers).ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "log in first"))?;
        let session = blocking(station, move |s| s.sessions.get(&cookie))
            .await??
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "log in first (the session ended or expired)"))?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
            if auth::token_digest(sent) != auth::token_digest(&session.csrf) {
                return Err(ApiError::new(StatusCode::FORBIDDEN, "missing or wrong CSRF token (X-CSRF-Token)"));
            }
        }
        Ok(Staff(session))
    }
}

/// A supervisor: reports, the station's figures, and ending a colleague's sessions.
pub struct Supervisor;

impl FromRequestParts<Shared> for Supervisor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, station: &Shared) -> ApiResult<Self> {
        let Staff(session) = Staff::from_request_parts(parts, station).await?;
        if session.role != Role::Supervisor {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "this is for supervisors"));
        }
        Ok(Supervisor)
    }
}

/// A lane, by its bearer token.
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
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE).and_then(|rest| rest.strip_prefix('=')).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("theme=dark; boardcheck_session=abc123; other=1"));
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc123"));
        headers.insert(header::COOKIE, HeaderValue::from_static("boardcheck_sessionx=abc"));
        assert_eq!(session_cookie(&headers), None);
    }
}
