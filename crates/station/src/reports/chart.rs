//! Reports as SVG charts: stacked bars of how passengers boarded (face, ticket + face,
//! manual, not boarded), per trip or per day.

use boardcheck_api::{MonthReport, Tally};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::ZonedReport;
use crate::error::{Error, Result};

impl ZonedReport {
    /// Stacked bars per trip: face, ticket + face, manual, not boarded.
    pub fn chart_svg(&self) -> Result<String> {
        let bars: Vec<(String, [i64; 4])> = self.figures.trips.iter().map(|r| (r.trip.clone(), stack(&r.tally))).collect();
        stacked_bars_svg(&format!("Boarding {}", self.figures.period), &bars)
    }
}

/// The monthly summary as stacked bars per day: face, ticket + face, manual, not boarded.
pub fn month_chart_svg(report: &MonthReport) -> Result<String> {
    let bars: Vec<(String, [i64; 4])> =
        report.days.iter().map(|d| (d.date.rsplit('-').next().unwrap_or_default().to_string(), stack(&d.totals.tally))).collect();
    stacked_bars_svg(&format!("Face boarding pilot {}", report.month), &bars)
}

/// The chart's stack: face, ticket + face, manual, not boarded.
fn stack(t: &Tally) -> [i64; 4] {
    [t.boarded_face, t.boarded_ticket_face, t.boarded_manual, t.not_boarded]
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
