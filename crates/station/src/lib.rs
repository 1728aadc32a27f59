//! The station service: `boardcheck serve --config station.toml`.
//!
//! One process owns the station's database; the lanes (`boardcheck lane` with `service_url`
//! in their `lane.toml`) send it what their cameras saw and get decisions back, so every lane
//! shares one boarding state and a ticket boards once across lanes. Staff use the console
//! (a web page served from this binary); each lane's kiosk display is a page too.
//!
//! ```text
//!  lane processes ──(Bearer lane token)──► /api/lane/*  ─┐
//!                                                        ├─► Station (store, rules) ─► hub ─► SSE
//!  staff browser ──(session cookie + CSRF)─► /api/*     ─┘                                 │
//!  kiosk display ◄── /kiosk/{lane}/events ◄─────────────────────────────────────────────────┘
//! ```
//!
//! ## HTTP interface
//! Public: `GET /` (console page), `GET /login`, `GET /static/{file}`, `GET /kiosk/{lane}`
//! (kiosk page), `GET /kiosk/{lane}/events` (SSE, event `kiosk`, data
//! `{"state":"idle"|"pass"|"see_staff","zh":…,"en":…,"at":unix}` — never a score, never a
//! name), `GET /metrics` (Prometheus text), `GET /healthz`.
//!
//! Staff API: a session cookie (`boardcheck_session`, HttpOnly, SameSite=Strict) from
//! `POST /api/login`; every state change also carries the session's CSRF token in the
//! `X-CSRF-Token` header. No session → 401, no or wrong CSRF token → 403, role too low → 403.
//! Errors are `{"error": "…"}`.
//! - `POST /api/login` `{"staff","password"}` → `{"staff","role","csrf"}`; 401 wrong; 429 when
//!   throttled (`Retry-After`).
//! - `POST /api/logout` → 204. `GET /api/session` → `{"staff","role","csrf"}`.
//! - `GET /api/lanes` → `[{"lane","gate","trips","health":{"camera":"up"|"down"|"unknown","fps",
//!   "frames","dropped","last_seen"},"last_decisions":[LaneEvent]}]`.
//! - `GET /api/stream` → SSE: `decision` (a LaneEvent: `{"id","at","lane","outcome","method",
//!   "ticket","trip","gate","reason","manual_check","staff","kiosk":{"pass","zh","en"}}`),
//!   `manual` (`{"pending":n}`: refetch the queue), `health` (`{"lane","health"}`),
//!   `board` (`{"trip"}`: refetch the manifest board).
//! - `GET /api/manual` → pending checks `[{"id","created_at","lane","reason","ticket":null|
//!   {"id","trip_id","seat","name","document_type","document_masked","child","state",
//!   "has_template","enrol_issue","has_photo"},"trip":null|{"id","route","departure","gate"}}]`; `GET /api/manual/{id}/photo` → the
//!   manifest ID photo (JPEG) or 404.
//! - `POST /api/manual/{id}` `{"approve":bool,"reason":"…","ticket":"…"?}` → the Decision;
//!   `ticket` names the passenger's ticket when the check had none (a face with no match).
//! - `GET /api/trips` → trips boarding now and next, with counts; `GET
//!   /api/trips/{id}/passengers?q=…` → the manifest board of one trip (search by seat, name or
//!   masked document number).
//! - Reports (supervisor): `GET /api/reports/day?date=YYYY-MM-DD`, `/api/reports/trip/{id}`,
//!   `/api/reports/month?month=YYYY-MM`; `&format=csv` for CSV; `/api/reports/day/chart.svg`,
//!   `/api/reports/month/chart.svg` for charts.
//!
//! Lane API (`Authorization: Bearer <lane token>`; a lane token is never a staff session):
//! - `POST /api/lane/observe` `{"track","model","observations":[{"spoof","embedding"}]}` →
//!   `{"decision": Decision|null}` (null: keep looking); `model` is the lane's embedder id;
//!   `spoof` is null while the anti-spoofing verdict is still being computed.
//! - `POST /api/lane/ticket` `{"presented":{"qr":"…"}|{"id_card":{"document_number",
//!   "chip_embedding"}},"model","observations"}` → `{"decision": Decision}`: ticket + face.
//! - `POST /api/lane/health` `{"camera":"up"|"down","fps","frames","dropped"}` → 204.
//! - `GET /api/lane/results?after=ID` → long-polls (≤ 20 s) for staff resolutions of this
//!   lane's manual checks: `{"last":ID,"decisions":[Decision]}`.
//!
//! ## Modules
//! - [`config`] — `station.toml`.
//! - [`auth`] — password hashes, sessions and CSRF tokens, login throttling, lane tokens.
//! - [`station`] — the state and operations behind the API (store, lanes, hub), no HTTP.
//! - [`http`] — routes, callers (staff, supervisor, lane), answers; [`pages`]: the web pages.
//! - [`reports`] — per-trip, per-day and monthly figures, CSV and SVG charts.
//! - [`metrics`] — the Prometheus registry.

pub mod auth;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod pages;
pub mod reports;
pub mod station;

use std::path::Path;

use crate::error::{Error, Result};

/// `boardcheck serve`: opens the station and serves until ctrl-c.
pub fn serve(config_path: &Path) -> Result<()> {
    let config = config::StationConfig::load(config_path)?;
    let station = station::Station::open(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| Error::io("<async runtime>", e))?;
    runtime.block_on(http::serve(station))
}
