//! Reports as CSV for spreadsheets: one line per trip or day, then a `total` line; text from
//! the ticketing export is defused, departures are written in the report's zone.

use boardcheck_api::{MonthReport, Tally};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::ZonedReport;
use crate::error::{Error, Result};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(text_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_cell("G1"), "G1");
    }
}
