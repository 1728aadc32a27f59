//! The supervisors' figures (JSON; the same routes give CSV with `format=csv`, and charts):
//! - `GET /api/reports/day?date=YYYY-MM-DD` → [`Report`] of the trips departing that day.
//! - `GET /api/reports/trip/{id}` → [`Report`] of one trip.
//! - `GET /api/reports/month?month=YYYY-MM` → [`MonthReport`], the pilot-progress summary.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Boarding figures of a trip, a day or a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Tally {
    /// Tickets not refunded.
    pub passengers: i64,
    pub boarded_face: i64,
    pub boarded_ticket_face: i64,
    pub boarded_manual: i64,
    pub not_boarded: i64,
    pub refunded: i64,
    /// Manual checks staff refused.
    pub refusals: i64,
    pub spoof_suspected: i64,
    /// Share of boarded passengers that did not board by face alone; 0 when none boarded.
    pub fallback_rate: f64,
    /// Share of boarded passengers that boarded by face alone; 0 when none boarded.
    pub face_rate: f64,
}

/// One trip's line of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TripReportRow {
    pub trip: String,
    pub route: String,
    /// Scheduled departure, unix seconds.
    pub departure: i64,
    pub gate: String,
    #[serde(flatten)]
    pub tally: Tally,
}

/// A period's figures: how many trips departed, and their tally.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Totals {
    pub trips: usize,
    #[serde(flatten)]
    pub tally: Tally,
}

/// The trips of a day (or one trip) with their totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Report {
    /// `YYYY-MM-DD` for a day, the trip id for a trip.
    pub period: String,
    pub trips: Vec<TripReportRow>,
    pub totals: Totals,
}

/// One day of the monthly summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MonthDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// The monthly pilot-progress summary: every day of the month, then the month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MonthReport {
    /// `YYYY-MM`.
    pub month: String,
    pub days: Vec<MonthDay>,
    pub totals: Totals,
}
