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
//! Connections (`http::listener`): HTTPS with rustls when `tls_cert`/`tls_key` are set (plain
//! HTTP only on loopback, or with the explicit `allow_plain_http`); a header-read timeout that
//! also closes idle connections, a request timeout (the event streams and the lanes' long poll
//! excepted), a write timeout (a client that stops reading is closed), and a cap on open
//! connections (refusals counted in `/metrics`). Reads for the console and reports run on
//! read-only connections (`readers`), so they never wait behind the lanes' writes; a background
//! task (`purge`) deletes departed trips' personal data after `retention_hours`.
//!
//! ## HTTP interface
//! Every body below is a type of `boardcheck-api` (named before its JSON shape), shared with
//! the lane's client; the console's scripts read them as TypeScript,
//! `crates/api/bindings/api.d.ts`.
//!
//! Public: `GET /` (console page), `GET /login`, `GET /static/{file}`, `GET /kiosk/{lane}`
//! (kiosk page), `GET /kiosk/{lane}/events` (SSE, event `kiosk`, data a KioskState
//! `{"state":"idle"|"pass"|"see_staff"|"closed","zh":…,"en":…,"at":unix}` — never a score,
//! never a name; an answer shows for 8 s, a display that connects later sees the prompt; the
//! lane is `closed` while its camera is down or it has not reported for 10 s or ever; a staff
//! approval is addressed to its passenger by seat), `GET /metrics` (Prometheus text),
//! `GET /healthz`.
//!
//! Staff API: a session cookie (`boardcheck_session`, HttpOnly, SameSite=Strict) from
//! `POST /api/login`; every state change also carries the session's CSRF token in the
//! `X-CSRF-Token` header. No session → 401, no or wrong CSRF token → 403, role too low → 403.
//! Errors are `{"error": "…"}` (ErrorAnswer), with the status of their kind, mapped in one place
//! (`http::ApiError`): malformed 400, forbidden 403, not found 404, conflict with the current
//! state 409, database busy or full 503, anything else 500.
//! - `POST /api/login` `{"staff","password"}` → StaffSession `{"staff","role","csrf"}`; 401
//!   wrong; 429 when throttled, 503 when every hashing slot stays busy (both with
//!   `Retry-After`; the policy is in [`auth`]). Sessions live in the database: they survive a
//!   restart, and a password change (`boardcheck staff password`) ends them.
//! - `POST /api/logout` → 204. `GET /api/session` → StaffSession `{"staff","role","csrf"}`.
//! - `DELETE /api/staff/{id}/sessions` (supervisor) → 204: ends every session of that staff id.
//! - `GET /api/lanes` → LaneViews `[{"lane","gate","trips","health":{"camera":"up"|"down"|
//!   "unknown","fps","frames","dropped","last_seen"},"last_decisions":[LaneEvent]}]`.
//! - `GET /api/stream` → SSE (StreamEvent): `decision` (a LaneEvent: `{"id","at","lane",
//!   "outcome","method","ticket","trip","gate","reason","manual_check","staff","kiosk":{"pass",
//!   "zh","en"}}`), `manual` (`{"pending":n}`: refetch the queue), `health` (`{"lane",
//!   "health"}`), `board` (`{"trip"}`: refetch the manifest board).
//! - `GET /api/manual` → pending checks, ManualItems `[{"id","created_at","lane","reason",
//!   "ticket":null|{"id","trip_id","seat","name","document_type","document_masked","child",
//!   "state","has_template","enrol_issue","has_photo"},"trip":null|{"id","route","departure",
//!   "gate"}}]`; `GET /api/manual/{id}/photo` → the manifest ID photo (JPEG) or 404.
//! - `POST /api/manual/{id}` ResolveRequest `{"approve":bool,"reason":"code","note":"…"?,
//!   "ticket":"…"?,"override":bool?}` → the Decision; `reason` is a code from the fixed list
//!   (`StaffReason`: approvals `id_document_checked`, `child_with_guardian`,
//!   `foreign_document`, `face_check_declined`; refusals `document_mismatch`, `no_document`,
//!   `ticket_not_valid`, `passenger_left`, `suspected_fraud`; `other` either way, with a note)
//!   and is what the event log records; `note` is one line of staff's own words (≤ 500
//!   characters), kept with the check and purged with the trip. Free text as a reason is a 422,
//!   a reason for the other answer a 400. `ticket` names the passenger's ticket when the check
//!   had none (a face with no match). Any staff member resolves any lane's checks, once (a
//!   second answer is a 409 naming who resolved it; the other consoles' queues update at once).
//!   An approval boards a ticket only where the check's lane could board it: refunded, already
//!   boarded, another gate, not boarding yet or departed is a 409 whose message starts with
//!   that code, nothing is written and the check stays open. `override` (supervisors only,
//!   else 403) boards despite another gate or the boarding time, recorded as an override.
//! - `GET /api/retention` → RetentionStatus `{"retention_hours","every_s","last_run":null|
//!   {"at","trips","tickets","error"}}`: when the background purge last ran.
//! - `GET /api/trips` → trips boarding now and next, with counts (TripViews); `GET
//!   /api/trips/{id}/passengers?q=…` → the manifest board of one trip (search by seat, name or
//!   masked document number).
//! - Reports (supervisor): `GET /api/reports/day?date=YYYY-MM-DD` and
//!   `/api/reports/trip/{id}` (a Report each), `/api/reports/month?month=YYYY-MM` (a
//!   MonthReport); `&format=csv` for CSV; `/api/reports/day/chart.svg`,
//!   `/api/reports/month/chart.svg` for charts.
//!
//! Lane API (`Authorization: Bearer <lane token>`; a lane token is never a staff session):
//! - `POST /api/lane/observe` ObserveRequest `{"track","request_id"?,"model","observations":
//!   [{"spoof","embedding"}]}` → DecisionAnswer `{"decision": Decision|null}` (null: keep
//!   looking); `model` is the lane's embedder id; `spoof` is null while the anti-spoofing
//!   verdict is still being computed. Every embedding must be the named embedder's: its
//!   length, finite, unit norm — else 400 and nothing is decided. A request asked again with
//!   the same `request_id` (a retry after a lost reply) gets the decision it was first given.
//! - `POST /api/lane/ticket` TicketRequest `{"presented":{"qr":"…"}|{"id_card":
//!   {"document_number","chip_embedding"}},"request_id"?,"model","observations"}` →
//!   DecisionAnswer `{"decision": Decision}`: ticket + face (the chip embedding is checked as
//!   the observations are).
//! - `POST /api/lane/health` HealthReport `{"camera":"up"|"down","fps","frames","dropped"?,
//!   "samples":[{"stage","ms"}]}` → 204; `dropped` is absent when the lane does not count
//!   drops.
//! - `GET /api/lane/results?after=ID` → long-polls (≤ 20 s; `&wait=false`: answers at once)
//!   for staff resolutions of this lane's manual checks: Results `{"last":ID,
//!   "decisions":[Decision]}`.
//!
//! ## What it owns, and what it must never import
//! This crate owns the service: its configuration, who may call it, the state behind the API,
//! the HTTP routes and pages, reports and metrics. It decides through the boarding core
//! (`boardcheck-core`) and speaks the types of `boardcheck-api`. It must never import the lane
//! (`boardcheck-lane`: lanes are its clients, over HTTP only), the vision core
//! (`boardcheck-vision`: the service runs no model; it compares the embeddings lanes send), or the
//! evaluation harness (`boardcheck-eval`).
//!
//! ## Modules
//! - [`config`] — `station.toml`.
//! - [`auth`] — password hashes, sessions and CSRF tokens, login throttling, token digests.
//! - [`station`] — the [`station::Station`] facade behind the API (no HTTP): decides on a
//!   lane's behalf, resolves manual checks, answers the console's reads.
//! - [`lanes`] — the lanes it accepts: tokens, health, last decisions, kiosk state, cached
//!   candidates.
//! - [`resolutions`] — staff resolutions waiting for their lanes to collect them.
//! - [`hub`] — the broadcast of live events to consoles, kiosks and waiting lanes.
//! - [`follower`] — follows the event log into the hub, the lanes' state and the metrics.
//! - [`http`] — routes, callers (staff, supervisor, lane), answers; [`pages`]: the web pages.
//! - [`reports`] — per-trip, per-day and monthly figures; their CSV and SVG charts.
//! - [`metrics`] — the Prometheus registry.
//! - [`error`] — the service's error type.

pub mod auth;
pub mod config;
pub mod error;
pub mod follower;
pub mod http;
pub mod hub;
pub mod lanes;
pub mod metrics;
pub mod pages;
pub mod purge;
pub mod readers;
pub mod reports;
pub mod resolutions;
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

/// A lock whose holder panicked still guards whole values: every writer here replaces or
/// pushes in one step, so what it holds is consistent.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
