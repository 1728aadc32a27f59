//! DET curve rendering.
//!
//! plotters' `ab_glyph` text backend ships no fonts, so DejaVu Sans is read
//! from the system and registered once per process before the first plot.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use anyhow::{anyhow, Context};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::metrics::DetPoint;

/// Font registered as plotters' `sans-serif` family
/// (Debian/Ubuntu package `fonts-dejavu-core`).
pub const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Output size in pixels.
const SIZE: (u32, u32) = (800, 600);
/// The x axis reaches at least this low so that plots are comparable.
const DEFAULT_MIN_FAR: f64 = 1e-5;
/// Zero FRR cannot sit on a log axis; it is drawn at this floor (or lower,
/// if a curve has smaller non-zero values).
const DEFAULT_MIN_FRR: f64 = 1e-4;

/// Whether the font has been registered; guarded so that concurrent first
/// plots read and leak the file only once.
static FONT_REGISTERED: Mutex<bool> = Mutex::new(false);

fn ensure_font() -> anyhow::Result<()> {
    // A poisoned lock only means another thread panicked mid-registration;
    // the flag is still accurate.
    let mut registered = FONT_REGISTERED.lock().unwrap_or_else(PoisonError::into_inner);
    if *registered {
        return Ok(());
    }
    let bytes =
        std::fs::read(FONT_PATH).with_context(|| format!("cannot read plot font {FONT_PATH} (install the fonts-dejavu-core package)"))?;
    // plotters keeps fonts for the life of the process and wants &'static;
    // this runs once, so the leak is bounded to one font file.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    register_font("sans-serif", FontStyle::Normal, bytes).map_err(|_| anyhow!("{FONT_PATH} is not a usable TrueType/OpenType font"))?;
    *registered = true;
    Ok(())
}

/// Lower axis bound: the smaller of `default` and the smallest positive value,
/// rounded down to a power of ten so that the axis starts on a labelled decade.
fn axis_floor(values: impl Iterator<Item = f64>, default: f64) -> f64 {
    let smallest = values.filter(|v| *v > 0.0).fold(default, f64::min);
    10f64.powf(smallest.log10().floor())
}

/// Draws DET curves (FAR against FRR, both on log axes) to an 800×600 PNG at
/// `path`, which should end in `.png`. Each curve is a `(legend label,
/// points)` pair, typically from [`det_curve`](super::metrics::det_curve).
/// Points with a zero (or tinier than the axis) rate are drawn on the axis
/// floor rather than dropped, so a perfect curve still shows.
///
/// # Errors
///
/// When [`FONT_PATH`] cannot be read or parsed, or the PNG cannot be drawn
/// or written (e.g. the parent directory does not exist).
pub fn draw_det(path: &Path, curves: &[(String, Vec<DetPoint>)], title: &str) -> anyhow::Result<()> {
    ensure_font()?;
    let points = || curves.iter().flat_map(|(_, c)| c.iter());
    let far_floor = axis_floor(points().map(|p| p.far), DEFAULT_MIN_FAR);
    let frr_floor = axis_floor(points().map(|p| p.frr), DEFAULT_MIN_FRR);

    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(75)
        .build_cartesian_2d((far_floor..1.0).log_scale(), (frr_floor..1.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("False match rate (FAR)")
        .y_desc("False non-match rate (FRR)")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 18))
        .draw()?;

    for (i, (label, curve)) in curves.iter().enumerate() {
        let style = Palette99::pick(i).stroke_width(2);
        let line = curve.iter().map(|p| (p.far.max(far_floor), p.frr.max(frr_floor)));
        chart
            .draw_series(LineSeries::new(line, style))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    if !curves.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present().with_context(|| format!("cannot write DET plot to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accuracy::metrics::det_curve;

    #[test]
    fn axis_floor_rounds_down_to_a_decade() {
        assert_eq!(axis_floor([0.5, 0.0].into_iter(), 1e-5), 1e-5);
        assert_eq!(axis_floor([3e-7, 0.0].into_iter(), 1e-5), 1e-7);
        assert_eq!(axis_floor(std::iter::empty(), 1e-4), 1e-4);
    }

    #[test]
    fn renders_a_png_of_the_right_size() {
        let impostor: Vec<f32> = (0..20_000).map(|i| i as f32 / 20_000.0).collect();
        let strong: Vec<f32> = (0..500).map(|i| 0.7 + i as f32 / 1_500.0).collect();
        let weak: Vec<f32> = (0..500).map(|i| 0.3 + i as f32 / 700.0).collect();
        let curves = vec![("strong".to_string(), det_curve(&strong, &impostor, 40)), ("weak".to_string(), det_curve(&weak, &impostor, 40))];
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("det.png");
        draw_det(&path, &curves, "DET test").expect("drawn");

        let image = image::open(&path).expect("decodes").to_rgb8();
        assert_eq!(image.dimensions(), SIZE);
        // The curves must actually be drawn: look for non-grey pixels.
        let coloured = image.pixels().filter(|p| p.0.iter().max() != p.0.iter().min()).count();
        assert!(coloured > 500, "{coloured} coloured pixels");
    }

    #[test]
    fn unwritable_path_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("missing").join("det.png");
        let err = draw_det(&path, &[], "empty").expect_err("no such directory");
        assert!(format!("{err:#}").contains("det.png"), "{err:#}");
    }
}
