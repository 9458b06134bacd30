//! The PNG: latency percentiles per scenario, one panel for the fan-out runs and one for the
//! command path, on a log scale. Text uses a font compiled into the binary (from the
//! `epaint_default_fonts` crate) through plotters' `ab_glyph` backend, so no system fonts,
//! fontconfig or freetype are needed.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::stats::Latency;

/// One line on a panel.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub latency: Latency,
    /// Series of one group share a colour (e.g. the same fan-out case on both servers).
    pub group: usize,
    /// The other side of a comparison: dashed, with triangles instead of circles.
    pub alt: bool,
}

/// Distinct colours (the Tableau 10 palette), so a line is never pale yellow on white.
const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub series: Vec<Series>,
}

const FONT: &str = "sans-serif";
const WIDTH: u32 = 1400;
const PANEL_HEIGHT: u32 = 560;

fn register_font() -> Result<()> {
    plotters::style::register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT)
        .map_err(|_| anyhow!("the bundled font does not parse"))
}

pub fn draw(path: &Path, title: &str, panels: &[Panel]) -> Result<()> {
    let panels: Vec<&Panel> = panels.iter().filter(|p| !p.series.is_empty()).collect();
    if panels.is_empty() {
        return Ok(());
    }
    register_font()?;
    let height = PANEL_HEIGHT * panels.len() as u32 + 40;
    let root = BitMapBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let root = root.titled(title, (FONT, 26)).map_err(|e| anyhow!("{e}"))?;
    let areas = root.split_evenly((panels.len(), 1));
    for (panel, area) in panels.iter().zip(areas.iter()) {
        draw_panel(area, panel).map_err(|e| anyhow!("{e}"))?;
    }
    root.present().map_err(|e| anyhow!("write {}: {e}", path.display()))?;
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, panel: &Panel) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let values = panel.series.iter().flat_map(|s| s.latency.points().map(|(_, v)| v));
    let (lo, hi) = values.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v.max(0.01)), hi.max(v)));
    // The y axis is linear in log10(ms): evenly spaced, readable labels on any range.
    let (lo, hi) = ((lo.min(hi).max(0.01) / 1.5).log10(), (hi.max(0.02) * 1.5).log10());
    let labels = Latency::default().points().map(|(l, _)| l);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.2f64..(labels.len() as f64 - 0.6), lo..hi)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_labels(labels.len())
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.05 && i >= 0.0 {
                labels.get(i as usize).map_or(String::new(), |l| l.to_string())
            } else {
                String::new()
            }
        })
        .y_desc("latency ms (log scale)")
        .y_labels(10)
        .y_label_formatter(&|v| ms_label(10f64.powf(*v)))
        .light_line_style(RGBColor(238, 238, 238))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(e)?;
    for s in &panel.series {
        let color = COLORS[s.group % COLORS.len()];
        let pts: Vec<(f64, f64)> =
            s.latency.points().iter().enumerate().map(|(x, (_, v))| (x as f64, v.max(0.01).log10().max(lo))).collect();
        let style = ShapeStyle::from(&color).stroke_width(2);
        if s.alt {
            let line = chart.draw_series(DashedLineSeries::new(pts.clone(), 8, 5, style)).map_err(e)?;
            line.label(s.label.clone()).legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (8, 0)], style)
                    + PathElement::new(vec![(13, 0), (21, 0)], style)
                    + TriangleMarker::new((10, 0), 5, color.filled())
            });
            chart.draw_series(pts.iter().map(|&p| TriangleMarker::new(p, 6, color.filled()))).map_err(e)?;
        } else {
            let line = chart.draw_series(LineSeries::new(pts.clone(), style)).map_err(e)?;
            line.label(s.label.clone()).legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (21, 0)], style)
                    + Circle::new((10, 0), 4, color.filled())
            });
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled()))).map_err(e)?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()
        .map_err(e)?;
    Ok(())
}

/// Milliseconds with two significant digits, e.g. 0.42, 3.2, 18, 250.
fn ms_label(ms: f64) -> String {
    if ms >= 10.0 {
        format!("{ms:.0}")
    } else if ms >= 1.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}
