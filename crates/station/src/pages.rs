//! The console's and the kiosk's pages: plain HTML, CSS and JavaScript compiled into the
//! binary (no build step, nothing fetched from outside the station).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

pub async fn console() -> Html<&'static str> {
    Html(include_str!("assets/console.html"))
}

pub async fn login() -> Html<&'static str> {
    Html(include_str!("assets/login.html"))
}

/// Every lane's kiosk is the same page; its script reads the lane from the address.
pub async fn kiosk(Path(_lane): Path<String>) -> Html<&'static str> {
    Html(include_str!("assets/kiosk.html"))
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (include_str!("assets/console.css"), "text/css; charset=utf-8"),
        "console.js" => (include_str!("assets/console.js"), "text/javascript; charset=utf-8"),
        "kiosk.js" => (include_str!("assets/kiosk.js"), "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}
