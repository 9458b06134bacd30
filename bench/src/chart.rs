//! The PNG: latency percentiles per scenario, one panel for the fan-out runs and one for the
//! command path, on a log scale. Text uses a font compiled into the binary (from the
//! `epaint_default_fonts` crate) through plotters' `ab_glyph` backend, so no system fonts,
//! fontconfig or freetype are needed.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow};
use plotters::prelude::*;
use serde_json::Value;

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
/// The legend's column, right of the plot: the plot itself spans exactly the percentiles
/// (a legend inside it needed empty x range, which left a third of the plot blank).
const LEGEND_WIDTH: u32 = 440;
/// Half a percentile of room either side of the first and last points.
const X_PAD: f64 = 0.25;
const WIDTH: u32 = 1400;
const PANEL_HEIGHT: u32 = 560;

/// Draws the chart of a report a run wrote (`bench.json`): at the end of a run, and later
/// with `ocomms-bench replot` to redraw or compare saved runs.
pub fn draw_report(report: &Value, path: &Path) -> Result<()> {
    let quick = report.pointer("/config/quick").and_then(Value::as_bool).unwrap_or(false);
    let cpus = report.pointer("/machine/cpus").and_then(Value::as_u64).unwrap_or(0);
    let load = report.pointer("/machine/loadavg_before_scenarios").map_or(String::new(), Value::to_string);
    let title = format!(
        "ocomms-bench{}: latency percentiles ({cpus} CPUs, load average before {load})",
        if quick { " --quick" } else { "" }
    );
    draw(path, &title, &panels(report))
}

/// `ocomms-bench replot [bench.json [latency.png]]`.
pub fn replot(argv: &[String]) -> Result<()> {
    let root = crate::args::workspace_root();
    let json = argv.first().map_or_else(|| root.join("bench/out/bench.json"), Into::into);
    let png = argv.get(1).map_or_else(|| json.with_file_name("latency.png"), Into::into);
    let text = std::fs::read_to_string(&json).with_context(|| format!("read {}", json.display()))?;
    let report: Value = serde_json::from_str(&text).with_context(|| format!("parse {}", json.display()))?;
    draw_report(&report, &png)?;
    println!("wrote {}", png.display());
    Ok(())
}

fn latency(v: &Value) -> Option<Latency> {
    let f = |k: &str| v.get(k).and_then(Value::as_f64);
    Some(Latency {
        n: v.get("n")?.as_u64()? as usize,
        p50_ms: f("p50_ms")?,
        p90_ms: f("p90_ms")?,
        // Older reports have no p95.
        p95_ms: f("p95_ms").unwrap_or(0.0),
        p99_ms: f("p99_ms")?,
        p999_ms: f("p999_ms")?,
        max_ms: f("max_ms")?,
        mean_ms: f("mean_ms").unwrap_or(0.0),
    })
}

/// The fan-out runs (one colour per case: ours solid with circles, Socket.IO and the edge
/// Worker dashed with triangles), the command path (one colour per request kind: WASM solid,
/// native dashed, the edge in two more colours), the cluster runs (one colour per case: 1
/// host solid, the larger cluster dashed) and the reference runtime.
fn panels(report: &Value) -> Vec<Panel> {
    let Some(sc) = report.get("scenarios").and_then(Value::as_object) else { return Vec::new() };
    // (cluster hosts, sockets, layout, server, rate, latency); hosts 0 for the plain fan-out
    // runs. The rate tells a capacity run from the run of the same case at the usual rate.
    let mut runs: Vec<(u64, u64, String, String, String, Latency)> = sc
        .values()
        .filter_map(|v| {
            let sockets = v.get("sockets")?.as_u64()?;
            let layout = v.get("layout")?.as_str()?.to_string();
            let server = v.get("server")?.as_str()?.to_string();
            let hosts = v.get("cluster_hosts").and_then(Value::as_u64).unwrap_or(0);
            let rate =
                v.get("rate_requested").and_then(Value::as_f64).map_or(String::new(), |r| format!(", {r} msg/s"));
            Some((hosts, sockets, layout, server, rate, latency(v.get("latency")?)?))
        })
        .collect();
    runs.sort_by(|a, b| (a.1, &a.2, &a.4, a.0, &a.3).cmp(&(b.1, &b.2, &b.4, b.0, &b.3)));
    let (mut fan, mut cluster) = (Vec::new(), Vec::new());
    let mut fan_cases: Vec<(u64, String, String)> = Vec::new();
    let mut cluster_cases: Vec<(u64, String, String)> = Vec::new();
    for (hosts, sockets, layout, server, rate, lat) in runs {
        let (series, cases) = if hosts == 0 { (&mut fan, &mut fan_cases) } else { (&mut cluster, &mut cluster_cases) };
        let case = (sockets, layout.clone(), rate.clone());
        let group = cases.iter().position(|c| *c == case).unwrap_or_else(|| {
            cases.push(case);
            cases.len() - 1
        });
        let label = format!("{server} {sockets} sockets, {layout}{rate}");
        // Our host solid; Socket.IO and the edge Worker dashed.
        let alt = if hosts == 0 { server != "ours" && server != "host" } else { hosts > 1 };
        series.push(Series { label, latency: lat, group, alt });
    }
    let mut cmd = Vec::new();
    // WASM solid, native dashed (one colour per request kind); the edge Worker in colours of
    // its own.
    const KINDS: [(&str, &str); 3] =
        [("post", "POST message"), ("noop_404", "GET 404, no db"), ("history", "GET history, 50 messages")];
    for (label, alt, first_group) in [("wasm", false, 0), ("native", true, 0), ("edge", true, KINDS.len())] {
        let Some(v) = sc.get(&format!("post_{label}")) else { continue };
        for (kind, (key, what)) in KINDS.into_iter().enumerate() {
            if let Some(lat) = v.get(key).and_then(|l| l.get("latency")).and_then(latency) {
                cmd.push(Series { label: format!("{what} ({label})"), latency: lat, group: first_group + kind, alt });
            }
        }
    }
    // The reference runtime: our host solid, the wasmtime CLI dashed.
    let mut reference = Vec::new();
    for (key, v) in sc.iter().filter(|(k, _)| k.starts_with("runtime (")) {
        if let Some(lat) = v.get("latency").and_then(latency) {
            let group = reference.len();
            let label = key.trim_start_matches("runtime (").trim_end_matches(')').to_string();
            reference.push(Series { alt: label != "our host", label, latency: lat, group });
        }
    }
    vec![
        Panel { title: "fan-out: send (HTTP POST) to receive (WebSocket), per delivery".into(), series: fan },
        Panel { title: "command path: HTTP request latency, WASM component vs native build".into(), series: cmd },
        Panel {
            title: "cluster: fan-out through HAProxy, 1 host vs more hosts, each with the relay".into(),
            series: cluster,
        },
        Panel {
            title: "reference runtime: GET of the trivial component, our host vs the wasmtime CLI".into(),
            series: reference,
        },
    ]
}

fn register_font() -> Result<()> {
    plotters::style::register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT)
        .map_err(|_| anyhow!("the bundled font does not parse"))
}

fn draw(path: &Path, title: &str, panels: &[Panel]) -> Result<()> {
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
    let (plot_area, legend_area) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(LEGEND_WIDTH));
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(&panel.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(-X_PAD..(labels.len() as f64 - 1.0 + X_PAD), lo..hi)
        .map_err(e)?;
    chart
        .configure_mesh()
        // One key point per unit so that every percentile gets its label.
        .x_labels(labels.len() + 1)
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
            chart.draw_series(DashedLineSeries::new(pts.clone(), 8, 5, style)).map_err(e)?;
            chart.draw_series(pts.iter().map(|&p| TriangleMarker::new(p, 6, color.filled()))).map_err(e)?;
        } else {
            chart.draw_series(LineSeries::new(pts.clone(), style)).map_err(e)?;
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled()))).map_err(e)?;
        }
    }
    draw_legend(&legend_area, &panel.series).map_err(e)
}

/// One line per series, top to bottom in the order drawn: its stroke and marker, then its label.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    series: &[Series],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    const TOP: i32 = 56;
    const ROW: i32 = 24;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[s.group % COLORS.len()];
        let style = ShapeStyle::from(&color).stroke_width(2);
        let y = TOP + ROW * i as i32;
        if s.alt {
            area.draw(&PathElement::new(vec![(8, y), (16, y)], style))?;
            area.draw(&PathElement::new(vec![(21, y), (29, y)], style))?;
            area.draw(&TriangleMarker::new((18, y), 5, color.filled()))?;
        } else {
            area.draw(&PathElement::new(vec![(8, y), (29, y)], style))?;
            area.draw(&Circle::new((18, y), 4, color.filled()))?;
        }
        area.draw(&Text::new(s.label.clone(), (38, y - 8), (FONT, 14)))?;
    }
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
