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

/// Each name with the file of that name in assets/, compiled in.
macro_rules! assets {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("assets/", $name)))),*]
    };
}

/// The files served at `/static/{file}`: the stylesheet and the pages' ES modules (the
/// console's entry `console.js` and its views `console-*.js`, `login.js`, `kiosk.js`, and the
/// modules they share). Module imports are relative (`./api.js`), so the names stay flat.
const ASSETS: &[(&str, &str)] = assets![
    "console.css",
    "api.js",
    "dom.js",
    "login.js",
    "console.js",
    "console-words.js",
    "console-header.js",
    "console-tabs.js",
    "console-lanes.js",
    "console-manual.js",
    "console-board.js",
    "console-reports.js",
    "kiosk.js",
];

/// One of the served assets, typed by its ending; any other name is 404.
pub async fn asset(Path(file): Path<String>) -> Response {
    let Some(&(_, body)) = ASSETS.iter().find(|(name, _)| *name == file) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let kind = if file.ends_with(".css") { "text/css; charset=utf-8" } else { "text/javascript; charset=utf-8" };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    /// Every module a page or another module imports is served, under the name it is imported
    /// by (a missing one would only show in a browser, as a page that does nothing).
    #[test]
    fn every_imported_module_is_served() {
        let served = |name: &str| ASSETS.iter().any(|(n, _)| *n == name);
        let pages = [include_str!("assets/console.html"), include_str!("assets/login.html"), include_str!("assets/kiosk.html")];
        let mut wanted = Vec::new();
        for page in pages {
            wanted.extend(page.split("src=\"/static/").skip(1).map(|rest| rest.split('"').next().unwrap_or_default().to_string()));
            wanted.extend(page.split("href=\"/static/").skip(1).map(|rest| rest.split('"').next().unwrap_or_default().to_string()));
        }
        for (name, body) in ASSETS {
            if name.ends_with(".js") {
                wanted.extend(body.split(" from './").skip(1).map(|rest| rest.split('\'').next().unwrap_or_default().to_string()));
            }
        }
        assert!(wanted.len() > ASSETS.len(), "found the imports: {wanted:?}");
        for name in &wanted {
            assert!(served(name), "{name} is imported but not served");
        }
        for (name, _) in ASSETS {
            assert!(wanted.iter().any(|w| w == name), "{name} is served but nothing loads it");
        }
    }
}
