//! Boarding reports for supervisors, and the monthly pilot-progress summary the ministry asks
//! stations for: figures per trip, per day and per month, as JSON (serde), CSV and SVG charts.
//! Pure aggregation over the store; no HTTP.
//!
//! Where the figures come from:
//! - Passengers, boardings by method and refunds: the trip's counts
//!   ([`Store::boarding_counts`]), which a purge keeps, so a purged trip still reports exactly.
//! - Refusals (`manual_check_refused`) and suspected spoofs (`spoof_suspected`): the event log,
//!   append-only and never purged. A trip row counts the events about that trip; a day counts
//!   every such event that happened in it, also those about no trip (a face that matched no
//!   ticket), so a day's total may exceed the sum of its trips.
//! - A trip belongs to the local day of its departure, in the station's time zone.

use std::path::PathBuf;

use crate::error::{Error, Result};
use boardcheck_api::{MonthDay, MonthReport, Report, Tally, Totals, TripReportRow};
use boardcheck_core::manifest::store::{Store, TripCounts};
use boardcheck_core::manifest::Trip;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const REFUSED: &str = "manual_check_refused";
const SPOOF: &str = "spoof_suspected";

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

/// The chart's stack: face, ticket + face, manual, not boarded.
fn stack(t: &Tally) -> [i64; 4] {
    [t.boarded_face, t.boarded_ticket_face, t.boarded_manual, t.not_boarded]
}

fn csv_cells(t: &Tally) -> Vec<String> {
    let counts =
        [t.passengers, t.boarded_face, t.boarded_ticket_face, t.boarded_manual, t.not_boarded, t.refunded, t.refusals, t.spoof_suspected];
    let rates = [t.fallback_rate, t.face_rate];
    counts.iter().map(i64::to_string).chain(rates.iter().map(|r| format!("{r:.3}"))).collect()
}

/// [`csv_cells`]' header.
const TALLY_COLUMNS: [&str; 10] = [
    "passengers",
    "boarded_face",
    "boarded_ticket_face",
    "boarded_manual",
    "not_boarded",
    "refunded",
    "refusals",
    "spoof_suspected",
    "fallback_rate",
    "face_rate",
];

/// A report, and the zone its CSV writes departures in.
#[derive(Debug, Clone, PartialEq)]
pub struct ZonedReport {
    pub figures: Report,
    zone: TimeZone,
}

/// The trips departing on `date` (local to `tz`), with the day's totals.
pub fn day_report(store: &Store, date: Date, tz: &TimeZone) -> Result<ZonedReport> {
    let (from, to) = day_bounds(date, tz)?;
    let (trips, totals) = day_figures(store, from, to)?;
    Ok(ZonedReport { figures: Report { period: date.to_string(), trips, totals }, zone: tz.clone() })
}

/// One trip's figures; None when there is no such trip. Departures are written in UTC.
pub fn trip_report(store: &Store, trip_id: &str) -> Result<Option<ZonedReport>> {
    let Some(trip) = store.trip(trip_id)? else { return Ok(None) };
    let row = trip_row(store, trip)?;
    let totals = Totals { trips: 1, tally: row.tally };
    Ok(Some(ZonedReport { figures: Report { period: trip_id.to_string(), trips: vec![row], totals }, zone: TimeZone::UTC }))
}

/// The monthly summary of `year`-`month`, days local to `tz`.
pub fn month_report(store: &Store, year: i16, month: i8, tz: &TimeZone) -> Result<MonthReport> {
    let first = Date::new(year, month, 1).map_err(|e| period_error(format!("no month {year}-{month:02}: {e}")))?;
    let days = (1..=first.days_in_month())
        .map(|day| {
            let date = Date::new(year, month, day).map_err(|e| period_error(e.to_string()))?;
            let (from, to) = day_bounds(date, tz)?;
            let (_, totals) = day_figures(store, from, to)?;
            Ok(MonthDay { date: date.to_string(), totals })
        })
        .collect::<Result<Vec<_>>>()?;
    let totals = Totals { trips: days.iter().map(|d| d.totals.trips).sum(), tally: sum(days.iter().map(|d| d.totals.tally)) };
    Ok(MonthReport { month: format!("{year:04}-{month:02}"), days, totals })
}

impl ZonedReport {
    /// One line per trip, then a `total` line.
    pub fn to_csv(&self) -> Result<String> {
        let header = ["trip", "route", "departure", "gate"].into_iter().chain(TALLY_COLUMNS);
        let mut csv = Csv::new(header)?;
        for row in &self.figures.trips {
            let departure = local_time(row.departure, &self.zone);
            csv.row(
                [text_cell(&row.trip), text_cell(&row.route), departure, text_cell(&row.gate)].into_iter().chain(csv_cells(&row.tally)),
            )?;
        }
        csv.row(
            ["total".to_string(), String::new(), String::new(), String::new()].into_iter().chain(csv_cells(&self.figures.totals.tally)),
        )?;
        csv.finish()
    }

    /// Stacked bars per trip: face, ticket + face, manual, not boarded.
    pub fn chart_svg(&self) -> Result<String> {
        let bars: Vec<(String, [i64; 4])> = self.figures.trips.iter().map(|r| (r.trip.clone(), stack(&r.tally))).collect();
        stacked_bars_svg(&format!("Boarding {}", self.figures.period), &bars)
    }
}

/// The monthly summary as CSV: one line per day, then a `total` line.
pub fn month_csv(report: &MonthReport) -> Result<String> {
    let mut csv = Csv::new(["date", "trips"].into_iter().chain(TALLY_COLUMNS))?;
    for day in &report.days {
        csv.row([day.date.clone(), day.totals.trips.to_string()].into_iter().chain(csv_cells(&day.totals.tally)))?;
    }
    csv.row(["total".to_string(), report.totals.trips.to_string()].into_iter().chain(csv_cells(&report.totals.tally)))?;
    csv.finish()
}

/// The monthly summary as stacked bars per day: face, ticket + face, manual, not boarded.
pub fn month_chart_svg(report: &MonthReport) -> Result<String> {
    let bars: Vec<(String, [i64; 4])> =
        report.days.iter().map(|d| (d.date.rsplit('-').next().unwrap_or_default().to_string(), stack(&d.totals.tally))).collect();
    stacked_bars_svg(&format!("Face boarding pilot {}", report.month), &bars)
}

/// The rows and totals of the trips departing in `[from, to]`, with the refusals and suspected
/// spoofs of that time.
fn day_figures(store: &Store, from: i64, to: i64) -> Result<(Vec<TripReportRow>, Totals)> {
    let rows = store.all_trips_between(from, to)?.into_iter().map(|trip| trip_row(store, trip)).collect::<Result<Vec<_>>>()?;
    let counts = counts_of(&sum(rows.iter().map(|r| r.tally)));
    let tally = tally(counts, store.count_events_between(REFUSED, from, to)?, store.count_events_between(SPOOF, from, to)?);
    let totals = Totals { trips: rows.len(), tally };
    Ok((rows, totals))
}

fn trip_row(store: &Store, trip: Trip) -> Result<TripReportRow> {
    let counts = store.boarding_counts(&trip.id)?;
    let tally = tally(counts, store.count_trip_events(&trip.id, REFUSED)?, store.count_trip_events(&trip.id, SPOOF)?);
    Ok(TripReportRow { trip: trip.id, route: trip.route, departure: trip.departure, gate: trip.gate, tally })
}

/// The first and last second of `date` in `tz`.
fn day_bounds(date: Date, tz: &TimeZone) -> Result<(i64, i64)> {
    let start = |d: Date| d.to_zoned_datetime(tz.clone()).map(|z| z.timestamp().as_second());
    let next = date.tomorrow().and_then(start).map_err(|e| period_error(format!("the day after {date}: {e}")))?;
    let first = start(date).map_err(|e| period_error(format!("{date}: {e}")))?;
    Ok((first, next - 1))
}

fn period_error(reason: String) -> Error {
    Error::Config { path: PathBuf::from("<report period>"), reason }
}

fn local_time(unix: i64, zone: &TimeZone) -> String {
    match Timestamp::from_second(unix) {
        Ok(t) => t.to_zoned_datetime(zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        Err(_) => unix.to_string(), // outside jiff's range: the number is still the truth
    }
}

/// Text from the ticketing export, made safe for spreadsheets: a leading `=`, `+`, `-` or `@`
/// would run as a formula when a supervisor opens the file.
fn text_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// A CSV document in memory, quoted as needed.
struct Csv(csv::Writer<Vec<u8>>);

impl Csv {
    fn new<'a>(header: impl IntoIterator<Item = &'a str>) -> Result<Csv> {
        let mut csv = Csv(csv::Writer::from_writer(Vec::new()));
        csv.row(header)?;
        Ok(csv)
    }

    fn row<T: AsRef<[u8]>>(&mut self, cells: impl IntoIterator<Item = T>) -> Result<()> {
        self.0.write_record(cells).map_err(|e| Error::io("<report csv>", e.into()))
    }

    fn finish(self) -> Result<String> {
        let bytes = self.0.into_inner().map_err(|e| Error::io("<report csv>", e.into_error()))?;
        String::from_utf8(bytes).map_err(|e| Error::io("<report csv>", std::io::Error::other(e)))
    }
}

const CHART_SIZE: (u32, u32) = (960, 480);
/// The stack, bottom up, as [`stack`] orders it.
const SERIES: [(&str, RGBColor); 4] = [
    ("face", RGBColor(46, 125, 50)),
    ("ticket + face", RGBColor(21, 101, 192)),
    ("manual", RGBColor(239, 108, 0)),
    ("not boarded", RGBColor(189, 189, 189)),
];

/// A stacked bar chart as an SVG document: one labelled bar per entry of `bars`.
fn stacked_bars_svg(title: &str, bars: &[(String, [i64; 4])]) -> Result<String> {
    let mut svg = String::new();
    draw_stacked_bars(&mut svg, title, bars).map_err(|e| Error::io("<report chart>", std::io::Error::other(e.to_string())))?;
    Ok(svg)
}

// Text is only placed, never measured: plotters measures text with a registered font file, and
// an SVG needs none (the browser lays out the <text>). So no caption and no built-in legend.
fn draw_stacked_bars(svg: &mut String, title: &str, bars: &[(String, [i64; 4])]) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, CHART_SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let centred = Pos::new(HPos::Center, VPos::Top);
    root.draw(&Text::new(title.to_string(), (CHART_SIZE.0 as i32 / 2, 10), TextStyle::from(("sans-serif", 22).into_font()).pos(centred)))?;
    draw_legend(&root)?;

    let slots = bars.len().max(1) as u32;
    let top = bars.iter().map(|(_, stack)| stack.iter().sum::<i64>()).max().unwrap_or(0).max(1);
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .margin_top(70)
        .x_label_area_size(30)
        .y_label_area_size(60)
        // Integer ranges are inclusive in plotters: 0..n - 1 makes n slots.
        .build_cartesian_2d((0..slots - 1).into_segmented(), 0..top)?;
    let label = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) => bars.get(*i as usize).map(|(name, _)| name.clone()).unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(slots as usize)
        .x_label_formatter(&label)
        .label_style(TextStyle::from(("sans-serif", 15).into_font()))
        .y_desc("passengers")
        .draw()?;
    for (i, (_, stack)) in bars.iter().enumerate() {
        let slot = i as u32;
        let mut base = 0;
        for (&value, (_, colour)) in stack.iter().zip(SERIES).filter(|(&value, _)| value > 0) {
            let mut bar =
                Rectangle::new([(SegmentValue::Exact(slot), base), (SegmentValue::Exact(slot + 1), base + value)], colour.filled());
            bar.set_margin(0, 0, 3, 3);
            chart.draw_series(std::iter::once(bar))?;
            base += value;
        }
    }
    root.present()?;
    Ok(())
}

fn draw_legend(root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> std::result::Result<(), Box<dyn std::error::Error>> {
    for (i, (name, colour)) in SERIES.iter().enumerate() {
        let x = 90 + 150 * i as i32;
        root.draw(&Rectangle::new([(x, 44), (x + 14, 58)], colour.filled()))?;
        root.draw(&Text::new(
            name.to_string(),
            (x + 20, 44),
            TextStyle::from(("sans-serif", 15).into_font()).pos(Pos::new(HPos::Left, VPos::Top)),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use boardcheck_core::manifest::keys::StationKeys;
    use boardcheck_core::manifest::store::NewEvent;
    use boardcheck_core::manifest::{DocumentType, Method, NewTicket};

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
        let event =
            NewEvent { at, lane: "lane-1", trip_id, ticket_id, outcome: SPOOF, method: None, staff: None, detail: Some("spoof_suspected") };
        store.record_event(&event).expect("records");
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
        let check = store.open_manual_check("lane-1", Some("G1"), Some("T3"), "child", before).expect("opens");
        store.resolve_manual_check(check, true, "staff-1", "birth certificate", None, before + 60).expect("approves");
        let check = store.open_manual_check("lane-1", Some("G1"), Some("T4"), "spoof_suspected", before).expect("opens");
        store.resolve_manual_check(check, false, "staff-1", "a printed photo", None, before + 60).expect("refuses");
        spoof(&store, None, Some("T4"), before);
        store.board("U1", "lane-2", Method::Face, None, MORNING + 7000).expect("boards");
        store.board("V1", "lane-1", Method::Face, None, MORNING + 86_000).expect("boards");

        let unknown = store.open_manual_check("lane-2", None, None, "no_match", MORNING + 3600).expect("opens");
        store.resolve_manual_check(unknown, false, "staff-2", "no ticket", None, MORNING + 3660).expect("refuses");
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
    fn csv_cells_never_start_a_formula() {
        assert_eq!(text_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_cell("G1"), "G1");
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
