//! Boarding reports for supervisors, and the monthly pilot-progress summary the ministry asks
//! stations for: figures per trip, per day and per month, as JSON (serde), CSV and SVG charts.
//! Pure aggregation over the store; no HTTP.
//!
//! Where the figures come from:
//! - Passengers, boardings by method and refunds: the trip's counts
//!   ([`Store::trip_figures_between`]), which a purge keeps, so a purged trip still reports exactly.
//! - Refusals (`manual_refused`) and suspected spoofs (`spoof_suspected`): the event log,
//!   append-only and never purged. A trip row counts the events about that trip; a day counts
//!   every such event that happened in it, also those about no trip (a face that matched no
//!   ticket), so a day's total may exceed the sum of its trips.
//! - A trip belongs to the local day of its departure, in the station's time zone.
//! - However long the log, a report costs a few grouped queries over indexes: the period's
//!   trips with their figures, and its refusals and spoofs per day.
//!
//! The figures are built here; `csv` and `chart` render them; `recent` keeps the last report
//! of each kind for its chart.

use crate::error::{Error, Result};
use boardcheck_api::{MonthDay, MonthReport, Report, Tally, Totals, TripReportRow};
use boardcheck_core::boarding::Outcome;
use boardcheck_core::manifest::store::{Store, TripCounts, TripFigures};
use jiff::civil::Date;
use jiff::tz::TimeZone;

const REFUSED: Outcome = Outcome::ManualRefused;
const SPOOF: Outcome = Outcome::SpoofSuspected;

/// The tally of `counts` with the refusals and suspected spoofs.
fn tally(counts: TripCounts, refusals: i64, spoof_suspected: i64) -> Tally {
    let boarded = counts.boarded_face + counts.boarded_ticket_face + counts.boarded_manual;
    let share = |part: i64| if boarded == 0 { 0.0 } else { part as f64 / boarded as f64 };
    Tally {
        passengers: counts.passengers,
        boarded_face: counts.boarded_face,
        boarded_ticket_face: counts.boarded_ticket_face,
        boarded_manual: counts.boarded_manual,
        not_boarded: counts.passengers - boarded,
        refunded: counts.refunded,
        refusals,
        spoof_suspected,
        fallback_rate: share(boarded - counts.boarded_face),
        face_rate: share(counts.boarded_face),
    }
}

fn counts_of(t: &Tally) -> TripCounts {
    TripCounts {
        passengers: t.passengers,
        boarded_face: t.boarded_face,
        boarded_ticket_face: t.boarded_ticket_face,
        boarded_manual: t.boarded_manual,
        refunded: t.refunded,
    }
}

/// Counts added up, rates worked out again from the sums (not averaged).
fn sum(tallies: impl IntoIterator<Item = Tally>) -> Tally {
    tallies.into_iter().fold(Tally::default(), |a, b| {
        let (x, y) = (counts_of(&a), counts_of(&b));
        let counts = TripCounts {
            passengers: x.passengers + y.passengers,
            boarded_face: x.boarded_face + y.boarded_face,
            boarded_ticket_face: x.boarded_ticket_face + y.boarded_ticket_face,
            boarded_manual: x.boarded_manual + y.boarded_manual,
            refunded: x.refunded + y.refunded,
        };
        tally(counts, a.refusals + b.refusals, a.spoof_suspected + b.spoof_suspected)
    })
}

/// A report, and the zone its CSV writes departures in.
#[derive(Debug, Clone, PartialEq)]
pub struct ZonedReport {
    pub figures: Report,
    zone: TimeZone,
}

/// The trips departing on `date` (local to `tz`), with the day's totals.
pub fn day_report(store: &Store, date: Date, tz: &TimeZone) -> Result<ZonedReport> {
    let (from, to) = day_bounds(date, tz)?;
    let rows = store.trip_figures_between(from, to)?.into_iter().map(trip_row).collect();
    let events = store.count_events_by_period(&[REFUSED, SPOOF], &[(from, to)])?;
    let (trips, totals) = day_figures(rows, events.first().map(Vec::as_slice).unwrap_or_default());
    Ok(ZonedReport { figures: Report { period: date.to_string(), trips, totals }, zone: tz.clone() })
}

/// One trip's figures; None when there is no such trip. Departures are written in UTC.
pub fn trip_report(store: &Store, trip_id: &str) -> Result<Option<ZonedReport>> {
    let Some(figures) = store.trip_figures(trip_id)? else { return Ok(None) };
    let row = trip_row(figures);
    let totals = Totals { trips: 1, tally: row.tally };
    Ok(Some(ZonedReport { figures: Report { period: trip_id.to_string(), trips: vec![row], totals }, zone: TimeZone::UTC }))
}

/// The monthly summary of `year`-`month`, days local to `tz`: two grouped queries, the
/// month's trips with their figures and the month's refusals and spoofs by day.
pub fn month_report(store: &Store, year: i16, month: i8, tz: &TimeZone) -> Result<MonthReport> {
    let first = Date::new(year, month, 1).map_err(|e| period_error(format!("no month {year}-{month:02}: {e}")))?;
    let dates = (1..=first.days_in_month()).map(|day| Date::new(year, month, day).map_err(|e| period_error(e.to_string())));
    let days = dates.map(|date| date.and_then(|d| Ok((d, day_bounds(d, tz)?)))).collect::<Result<Vec<(Date, (i64, i64))>>>()?;
    let (Some((_, (from, _))), Some((_, (_, to)))) = (days.first(), days.last()) else {
        return Err(period_error(format!("no days in {year}-{month:02}")));
    };
    let mut trips = store.trip_figures_between(*from, *to)?.into_iter().map(trip_row).peekable();
    let bounds: Vec<(i64, i64)> = days.iter().map(|(_, b)| *b).collect();
    let events = store.count_events_by_period(&[REFUSED, SPOOF], &bounds)?;
    let days = days
        .iter()
        .zip(&events)
        .map(|((date, (_, to)), events)| {
            // Trips come by departure: a day's are those up to its last second.
            let mut rows = Vec::new();
            while let Some(row) = trips.next_if(|r| r.departure <= *to) {
                rows.push(row);
            }
            MonthDay { date: date.to_string(), totals: day_figures(rows, events).1 }
        })
        .collect::<Vec<_>>();
    let totals = Totals { trips: days.iter().map(|d| d.totals.trips).sum(), tally: sum(days.iter().map(|d| d.totals.tally)) };
    Ok(MonthReport { month: format!("{year:04}-{month:02}"), days, totals })
}

/// A day's trip rows and totals, with `events` the refusals and suspected spoofs of that day
/// (in that order).
fn day_figures(rows: Vec<TripReportRow>, events: &[i64]) -> (Vec<TripReportRow>, Totals) {
    let counts = counts_of(&sum(rows.iter().map(|r| r.tally)));
    let count = |i: usize| events.get(i).copied().unwrap_or(0);
    let totals = Totals { trips: rows.len(), tally: tally(counts, count(0), count(1)) };
    (rows, totals)
}

fn trip_row(f: TripFigures) -> TripReportRow {
    let tally = tally(f.counts, f.refusals, f.spoof_suspected);
    TripReportRow { trip: f.trip.id, route: f.trip.route, departure: f.trip.departure, gate: f.trip.gate, tally }
}

/// The first and last second of `date` in `tz`.
fn day_bounds(date: Date, tz: &TimeZone) -> Result<(i64, i64)> {
    let start = |d: Date| d.to_zoned_datetime(tz.clone()).map(|z| z.timestamp().as_second());
    let next = date.tomorrow().and_then(start).map_err(|e| period_error(format!("the day after {date}: {e}")))?;
    let first = start(date).map_err(|e| period_error(format!("{date}: {e}")))?;
    Ok((first, next - 1))
}

/// A day or month the calendar cannot give (9999-12-31's tomorrow): the request is wrong.
fn period_error(reason: String) -> Error {
    boardcheck_core::Error::invalid(format!("report period {reason}")).into()
}

mod chart;
mod csv;
mod recent;

pub use chart::month_chart_svg;
pub use csv::month_csv;
pub use recent::Recent;

#[cfg(test)]
mod tests {
    use super::*;
    use boardcheck_core::boarding::{self, BoardingWindow, Intent, LaneScope, ManualReason, Resolution, StaffReason};
    use boardcheck_core::manifest::keys::StationKeys;
    use boardcheck_core::manifest::store::NewEvent;
    use boardcheck_core::manifest::{DocumentType, Method, NewTicket, Trip};

    /// 2025-10-09 08:00 in Shanghai (UTC+8).
    const MORNING: i64 = 1_759_968_000;

    fn shanghai() -> TimeZone {
        TimeZone::get("Asia/Shanghai").expect("bundled time zone")
    }

    fn ticket(id: &str, seat: &str, refunded: bool) -> NewTicket {
        NewTicket {
            id: id.into(),
            seat: seat.into(),
            name: format!("Passenger {id}"),
            document_type: DocumentType::IdCard,
            document_number: format!("33010619900101{seat:0>4}"),
            child: false,
            refunded,
        }
    }

    fn spoof(store: &Store, trip_id: Option<&str>, ticket_id: Option<&str>, at: i64) {
        let event = NewEvent {
            at,
            lane: "lane-1",
            trip_id,
            ticket_id,
            outcome: SPOOF,
            method: None,
            staff: None,
            detail: Some("spoof_suspected"),
            check_id: None,
            overrode: None,
        };
        store.record_event(&event).expect("records");
    }

    /// A manual check a lane opened for `reason`, resolved by `staff` at `at`.
    fn resolved_check(store: &Store, lane: &str, ticket: Option<&str>, reason: ManualReason, approve: bool, staff: &str, at: i64) {
        let intent = Intent::Manual { reason, ticket_id: ticket.map(str::to_string) };
        let check = boarding::apply(store, lane, &intent, at - 60).expect("opens").and_then(|d| d.manual_check).expect("a check");
        let scope = LaneScope { gate: Some("3".into()), trips: vec![], window: BoardingWindow::minutes(60, 30) };
        let reason = if approve { StaffReason::IdDocumentChecked } else { StaffReason::DocumentMismatch };
        let resolution = Resolution { approve, staff, reason, note: Some("documents seen"), ticket: None, overriding: false };
        boarding::resolve(store, check, &scope, &resolution, at).expect("resolves");
    }

    /// Two trips on 2025-10-09 (G1 at 08:00, G2 at 10:00 Shanghai), one the day after (G3).
    /// G1: T1 face, T2 ticket+face, T3 manual, T4 not boarded (its check refused), T5 refunded,
    ///     one spoof recorded against T4's ticket only.
    /// G2: U1 face, U2 not boarded. G3: V1 face.
    /// Also on 2025-10-09: an unknown face refused by staff and a spoof about no ticket.
    fn station() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("m.db")).expect("opens");
        let keys = StationKeys::load_or_create(&dir.path().join("station.key")).expect("key");
        let trips = [("G1", MORNING), ("G2", MORNING + 7200), ("G3", MORNING + 86_400)];
        for (id, departure) in trips {
            store.upsert_trip(&Trip { id: id.into(), route: "Hefei → Wuhu, express".into(), departure, gate: "3".into() }).expect("trip");
        }
        let g1: Vec<NewTicket> = (1..=5).map(|i| ticket(&format!("T{i}"), &i.to_string(), i == 5)).collect();
        store.import_tickets("G1", &g1, &keys, 1).expect("imports");
        store.import_tickets("G2", &[ticket("U1", "11", false), ticket("U2", "12", false)], &keys, 1).expect("imports");
        store.import_tickets("G3", &[ticket("V1", "21", false)], &keys, 1).expect("imports");

        let before = MORNING - 600;
        store.board("T1", "lane-1", Method::Face, None, before).expect("boards");
        store.board("T2", "lane-1", Method::TicketFace, None, before).expect("boards");
        resolved_check(&store, "lane-1", Some("T3"), ManualReason::Child, true, "staff-1", before + 60);
        resolved_check(&store, "lane-1", Some("T4"), ManualReason::FaceMismatch, false, "staff-1", before + 60);
        spoof(&store, None, Some("T4"), before);
        store.board("U1", "lane-2", Method::Face, None, MORNING + 7000).expect("boards");
        store.board("V1", "lane-1", Method::Face, None, MORNING + 86_000).expect("boards");

        resolved_check(&store, "lane-2", None, ManualReason::NoMatch, false, "staff-2", MORNING + 3660);
        spoof(&store, None, None, MORNING + 3700);
        (dir, store)
    }

    fn tally(passengers: i64, board: [i64; 3], not_boarded: i64, refunded: i64, refusals: i64, spoofs: i64) -> Tally {
        let counts = TripCounts { passengers, boarded_face: board[0], boarded_ticket_face: board[1], boarded_manual: board[2], refunded };
        let t = super::tally(counts, refusals, spoofs);
        assert_eq!(t.not_boarded, not_boarded, "the fixture's arithmetic");
        t
    }

    #[test]
    fn day_report_counts_each_trip_and_every_event_of_the_day() {
        let (_dir, store) = station();
        let report = day_report(&store, jiff::civil::date(2025, 10, 9), &shanghai()).expect("reports").figures;
        assert_eq!(report.period, "2025-10-09");
        let ids: Vec<&str> = report.trips.iter().map(|r| r.trip.as_str()).collect();
        assert_eq!(ids, ["G1", "G2"]);
        assert_eq!(report.trips[0].tally, tally(4, [1, 1, 1], 1, 1, 1, 1));
        assert!((report.trips[0].tally.fallback_rate - 2.0 / 3.0).abs() < 1e-9);
        assert!((report.trips[0].tally.face_rate - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(report.trips[1].tally, tally(2, [1, 0, 0], 1, 0, 0, 0));
        assert_eq!(report.trips[1].tally.fallback_rate, 0.0);
        // The unknown face's refusal and the spoof about no ticket count for the day only.
        assert_eq!(report.totals, Totals { trips: 2, tally: tally(6, [2, 1, 1], 2, 1, 2, 2) });
        assert!((report.totals.tally.face_rate - 0.5).abs() < 1e-9);

        let empty = day_report(&store, jiff::civil::date(2025, 10, 1), &shanghai()).expect("reports").figures;
        assert!(empty.trips.is_empty());
        assert_eq!(empty.totals, Totals::default(), "no boarding: rates are 0, not NaN");
    }

    #[test]
    fn a_purged_trip_reports_its_kept_counts() {
        let (_dir, store) = station();
        let before = trip_report(&store, "G1").expect("reports").expect("exists");
        assert_eq!(store.purge(MORNING + 20_000, 3600).expect("purges").trips, 2);
        let after = trip_report(&store, "G1").expect("reports").expect("exists");
        assert_eq!(after, before);
        assert_eq!(after.figures.totals, Totals { trips: 1, tally: tally(4, [1, 1, 1], 1, 1, 1, 1) });
        let day = day_report(&store, jiff::civil::date(2025, 10, 9), &shanghai()).expect("reports");
        assert_eq!(day.figures.trips.len(), 2, "purged trips still appear");
        assert_eq!(trip_report(&store, "G404").expect("reports"), None);
    }

    #[test]
    fn month_report_has_every_day_and_the_month() {
        let (_dir, store) = station();
        let month = month_report(&store, 2025, 10, &shanghai()).expect("reports");
        assert_eq!(month.month, "2025-10");
        assert_eq!(month.days.len(), 31);
        let day = |n: usize| &month.days[n - 1];
        assert_eq!((day(9).date.as_str(), day(9).totals.trips), ("2025-10-09", 2));
        assert_eq!(day(9).totals.tally, tally(6, [2, 1, 1], 2, 1, 2, 2));
        assert_eq!(day(10).totals, Totals { trips: 1, tally: tally(1, [1, 0, 0], 0, 0, 0, 0) });
        assert_eq!(day(10).totals.tally.face_rate, 1.0);
        assert_eq!(day(1).totals, Totals::default());
        assert_eq!(month.totals, Totals { trips: 3, tally: tally(7, [3, 1, 1], 2, 1, 2, 2) });
        assert!((month.totals.tally.face_rate - 0.6).abs() < 1e-9);

        let err = month_report(&store, 2025, 13, &shanghai()).expect_err("refused").to_string();
        assert!(err.contains("no month 2025-13"), "{err}");
    }

    #[test]
    fn csv_has_a_header_a_line_per_trip_or_day_and_a_total() {
        let (_dir, store) = station();
        let report = day_report(&store, jiff::civil::date(2025, 10, 9), &shanghai()).expect("reports");
        let csv = report.to_csv().expect("writes");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "trip,route,departure,gate,passengers,boarded_face,boarded_ticket_face,boarded_manual,not_boarded,refunded,refusals,\
             spoof_suspected,fallback_rate,face_rate"
        );
        assert_eq!(lines[1], "G1,\"Hefei → Wuhu, express\",2025-10-09T08:00:00+08:00,3,4,1,1,1,1,1,1,1,0.667,0.333");
        assert_eq!(lines[2], "G2,\"Hefei → Wuhu, express\",2025-10-09T10:00:00+08:00,3,2,1,0,0,1,0,0,0,0.000,1.000");
        assert_eq!(lines[3], "total,,,,6,2,1,1,2,1,2,2,0.500,0.500");
        assert_eq!(lines.len(), 4);
        let trip = trip_report(&store, "G3").expect("reports").expect("exists").to_csv().expect("writes");
        assert!(trip.lines().nth(1).is_some_and(|l| l.contains(",2025-10-10T00:00:00+00:00,")), "a trip report is in UTC: {trip}");

        let month = month_csv(&month_report(&store, 2025, 10, &shanghai()).expect("reports")).expect("writes");
        let lines: Vec<&str> = month.lines().collect();
        assert!(lines[0].starts_with("date,trips,passengers,boarded_face,"), "{}", lines[0]);
        assert_eq!(lines[9], "2025-10-09,2,6,2,1,1,2,1,2,2,0.500,0.500");
        assert_eq!(lines[32], "total,3,7,3,1,1,2,1,2,2,0.400,0.600");
        assert_eq!(lines.len(), 33);
    }

    #[test]
    fn charts_are_svg_with_labels_and_need_no_font_file() {
        let (_dir, store) = station();
        let day = day_report(&store, jiff::civil::date(2025, 10, 9), &shanghai()).expect("reports").chart_svg().expect("draws");
        assert!(day.starts_with("<svg") && day.trim_end().ends_with("</svg>"), "{day}");
        for text in ["G1", "G2", "Boarding 2025-10-09", "ticket + face", "not boarded"] {
            assert!(day.contains(&format!("\n{text}\n</text>")), "{text} missing: {day}");
        }
        assert_eq!(day.matches("<text").count(), day.matches("</text>").count());
        let month = month_chart_svg(&month_report(&store, 2025, 10, &shanghai()).expect("reports")).expect("draws");
        assert!(month.starts_with("<svg") && month.contains("Face boarding pilot 2025-10") && month.contains("\n31\n</text>"), "{month}");
        let empty = day_report(&store, jiff::civil::date(2025, 10, 1), &shanghai()).expect("reports").chart_svg().expect("draws");
        assert!(empty.starts_with("<svg"));
    }
}
