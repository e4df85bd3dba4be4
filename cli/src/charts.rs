//! The page's five charts, drawn with `plotters` on its SVG backend. Each function returns one
//! `<svg>` element as a string, ready to be placed inline in the page; a chart with nothing to
//! show still draws its title and says so.

use std::error::Error;

use analytics_runtime::Report;
use analytics_runtime::report::Severity;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// What a drawing step returns: plotters' errors, boxed.
type DrawResult = Result<(), Box<dyn Error>>;

/// The plotting surface of one chart.
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Width of every chart, in pixels (the page scales it down on narrow screens).
const WIDTH: u32 = 960;
/// The font family of every text (the browser picks the face: no font file is embedded).
const FONT: &str = "sans-serif";
/// The longest category label drawn in full; longer ones are cut with an ellipsis.
const MAX_LABEL_CHARS: usize = 36;

/// Colours of the duration quantiles, lightest for the median.
const P50: RGBColor = RGBColor(120, 170, 220);
/// Colour of the 90th percentile.
const P90: RGBColor = RGBColor(40, 110, 180);
/// Colour of the 99th percentile.
const P99: RGBColor = RGBColor(15, 50, 110);
/// Colour of the measured failure rate.
const FAILED: RGBColor = RGBColor(200, 60, 50);
/// Colour of the predicted failure probability.
const PREDICTED: RGBColor = RGBColor(240, 160, 60);
/// Colour of the memory bars.
const MEMORY: RGBColor = RGBColor(70, 140, 110);
/// Colour of the text of an empty chart.
const MUTED: RGBColor = RGBColor(110, 110, 110);

/// Draws one chart of `height` pixels with `draw` and returns its SVG.
fn render(height: u32, draw: impl FnOnce(&Area<'_>) -> DrawResult) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root).map_err(|e| format!("cannot draw a chart: {e}"))?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// A chart with nothing to plot: its title and `message`, centred.
fn empty(root: &Area<'_>, title: &str, message: &str) -> DrawResult {
    let area = root.titled(title, (FONT, 20))?;
    let (w, h) = area.dim_in_pixel();
    let style = TextStyle::from((FONT, 16).into_font())
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(
        message.to_string(),
        (w as i32 / 2, h as i32 / 2),
        style,
    ))?;
    Ok(())
}

/// One series of a bar chart: a value per category (non-finite values draw no bar).
struct Series {
    /// The legend entry.
    label: String,
    /// The bar colour.
    color: RGBColor,
    /// One value per category, in category order.
    values: Vec<f64>,
}

/// A horizontal bar chart: one row per category (first on top), one bar per series in each row.
struct Bars<'a> {
    /// The chart title.
    title: &'a str,
    /// The category names.
    labels: Vec<String>,
    /// The series, drawn top to bottom within a row.
    series: Vec<Series>,
    /// The value axis' description.
    x_desc: &'a str,
    /// The value axis' upper end; `None` fits the largest value.
    x_max: Option<f64>,
    /// Writes a value on the axis and, with `value_labels`, at the end of each bar.
    format: &'a dyn Fn(&f64) -> String,
    /// Whether each bar carries its value.
    value_labels: bool,
}

impl Bars<'_> {
    /// The height that gives every row room.
    fn height(&self) -> u32 {
        let rows = self.labels.len().max(1) as u32;
        let per_row = 12 * self.series.len() as u32 + 14;
        (110 + rows * per_row).max(220)
    }

    /// Draws the chart on `root`.
    fn draw(&self, root: &Area<'_>) -> DrawResult {
        let n = self.labels.len();
        let largest = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .filter(|v| v.is_finite())
            .fold(0.0_f64, f64::max);
        // Headroom on the right: for the value labels, and for the legend (lower right) with
        // more than one series, so that no bar runs under it.
        let headroom = if self.series.len() > 1 { 1.45 } else { 1.2 };
        let x_max = self.x_max.unwrap_or(if largest > 0.0 {
            largest * headroom
        } else {
            1.0
        });
        let names: Vec<String> = self.labels.iter().map(|l| shorten(l)).collect();
        let label_width = names.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(label_width.clamp(4, MAX_LABEL_CHARS) as u32 * 8 + 12)
            .build_cartesian_2d(0.0..x_max, -0.5..(n as f64 - 0.5))?;
        // Row `i` (from the top) sits at y = n - 1 - i; other positions carry no label.
        let row_name = |y: &f64| {
            let row = y.round();
            if (y - row).abs() > 1e-6 || row < 0.0 || row as usize >= n {
                return String::new();
            }
            names[n - 1 - row as usize].clone()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n.max(1))
            .y_label_formatter(&row_name)
            .x_labels(8)
            .x_label_formatter(self.format)
            .x_desc(self.x_desc)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        let band = 0.8 / self.series.len().max(1) as f64;
        for (k, series) in self.series.iter().enumerate() {
            let color = series.color;
            let bars = series
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite());
            let rects = bars.clone().map(|(i, &v)| {
                let top = (n - 1 - i) as f64 + 0.4 - band * k as f64;
                Rectangle::new(
                    [(0.0, top - band * 0.9), (v.clamp(0.0, x_max), top)],
                    color.filled(),
                )
            });
            chart
                .draw_series(rects)?
                .label(series.label.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
            if self.value_labels {
                let style = TextStyle::from((FONT, 12).into_font())
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center));
                chart.draw_series(bars.map(|(i, &v)| {
                    let middle = (n - 1 - i) as f64 + 0.4 - band * (k as f64 + 0.45);
                    Text::new(
                        format!(" {}", (self.format)(&v)),
                        (v.clamp(0.0, x_max), middle),
                        style.clone(),
                    )
                }))?;
            }
        }
        if self.series.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.3))
                .label_font((FONT, 13))
                .draw()?;
        }
        Ok(())
    }

    /// Draws the chart as SVG, or `empty` when there is no category.
    fn svg(&self, empty_message: &str) -> Result<String, String> {
        if self.labels.is_empty() {
            return render(220, |root| empty(root, self.title, empty_message));
        }
        render(self.height(), |root| self.draw(root))
    }
}

/// `label`, cut to [`MAX_LABEL_CHARS`] characters.
fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_string();
    }
    let mut cut: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// A number of milliseconds with as many decimals as its size calls for.
fn ms(value: &f64) -> String {
    match value.abs() {
        0.0 => "0".to_string(),
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 1.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}

/// Chart 1: each phase's p50, p90 and p99 duration over its window of runs.
pub(crate) fn durations(report: &Report) -> Result<String, String> {
    let phases = &report.phases;
    let quantile = |pick: fn(&analytics_runtime::DurationStats) -> f64| {
        phases.iter().map(|p| pick(&p.duration_ms)).collect()
    };
    Bars {
        title: "Duration per phase (p50 / p90 / p99 of the latest runs)",
        labels: phases.iter().map(|p| p.name.clone()).collect(),
        series: vec![
            Series {
                label: "p50".into(),
                color: P50,
                values: quantile(|d| d.p50),
            },
            Series {
                label: "p90".into(),
                color: P90,
                values: quantile(|d| d.p90),
            },
            Series {
                label: "p99".into(),
                color: P99,
                values: quantile(|d| d.p99),
            },
        ],
        x_desc: "milliseconds",
        x_max: None,
        format: &ms,
        value_labels: false,
    }
    .svg("no phase has run in this report")
}

/// Chart 2: each phase's measured failure rate beside the predicted failure probability of
/// its next run (no bar where there is no prediction yet).
pub(crate) fn failures(report: &Report) -> Result<String, String> {
    let phases = &report.phases;
    Bars {
        title: "Failure rate and predicted failure probability per phase",
        labels: phases.iter().map(|p| p.name.clone()).collect(),
        series: vec![
            Series {
                label: "failure rate (all runs)".into(),
                color: FAILED,
                values: phases.iter().map(|p| p.failure_rate * 100.0).collect(),
            },
            Series {
                label: "predicted failure probability (next run)".into(),
                color: PREDICTED,
                values: phases
                    .iter()
                    .map(|p| {
                        p.prediction
                            .map_or(f64::NAN, |x| x.failure_probability * 100.0)
                    })
                    .collect(),
            },
        ],
        x_desc: "percent",
        x_max: None,
        format: &percent,
        value_labels: false,
    }
    .svg("no phase has run in this report")
}

/// Phases drawn in the trend chart at most (those with the most failures first).
const MAX_TREND_PHASES: usize = 12;

/// Chart 3: per phase, its failure rate and the predicted failure probability over its whole
/// history (`phases[].trend`), one small chart per phase. Returns the SVG and how many phases
/// with a trend were left out.
pub(crate) fn trends(report: &Report) -> Result<(String, usize), String> {
    const TITLE: &str = "Failure rate and predicted failure probability over time";
    let mut phases: Vec<_> = report
        .phases
        .iter()
        .filter(|p| !p.trend.is_empty())
        .collect();
    // The phases that fail most first; the name breaks ties, so the page is reproducible.
    phases.sort_by(|a, b| b.failures.cmp(&a.failures).then(a.name.cmp(&b.name)));
    let left_out = phases.len().saturating_sub(MAX_TREND_PHASES);
    phases.truncate(MAX_TREND_PHASES);
    let cols = phases.len().clamp(1, 3);
    let rows = phases.len().div_ceil(cols).max(1);
    let height = 70 + 240 * rows as u32;
    let svg = render(height, |root| {
        if phases.is_empty() {
            return empty(root, TITLE, "no phase has a trend in this report yet");
        }
        let area = root.titled(TITLE, (FONT, 20))?;
        let (legend, grid) = area.split_vertically(26);
        let (w, _) = legend.dim_in_pixel();
        let key = |x: i32, color: RGBColor, label: &str| -> DrawResult {
            legend.draw(&Rectangle::new([(x, 9), (x + 22, 13)], color.filled()))?;
            legend.draw(&Text::new(label.to_string(), (x + 28, 4), (FONT, 14)))?;
            Ok(())
        };
        let middle = w as i32 / 2;
        key(middle - 330, FAILED, "failure rate (runs of each span)")?;
        key(
            middle + 20,
            PREDICTED,
            "predicted failure probability (next run)",
        )?;
        let cells = grid.split_evenly((rows, cols));
        for (phase, cell) in phases.iter().zip(cells.iter()) {
            let trend = &phase.trend;
            let last = trend.last().map_or(1, |p| p.until_run).max(1) as f64;
            let first = trend.first().map_or(0, |p| p.until_run - p.runs) as f64;
            let top = trend
                .iter()
                .flat_map(|p| [p.failure_rate, p.failure_probability.unwrap_or(0.0)])
                .fold(0.0, f64::max);
            // Room above the highest line, at least 10 %, at most 100 %.
            let y_max = (top * 115.0).clamp(10.0, 100.0);
            let mut chart = ChartBuilder::on(cell)
                .caption(shorten(&phase.name), (FONT, 15))
                .margin(8)
                .x_label_area_size(34)
                .y_label_area_size(46)
                .build_cartesian_2d(first..last, 0.0..y_max)?;
            chart
                .configure_mesh()
                .x_labels(4)
                .y_labels(5)
                .x_desc("runs")
                .y_label_formatter(&percent)
                .x_label_formatter(&|x| format!("{x:.0}"))
                .label_style((FONT, 11))
                .axis_desc_style((FONT, 12))
                .draw()?;
            chart.draw_series(LineSeries::new(
                trend
                    .iter()
                    .map(|p| (p.until_run as f64, p.failure_rate * 100.0)),
                FAILED.stroke_width(2),
            ))?;
            // The prediction from the first span that has one (none before min_history runs).
            chart.draw_series(LineSeries::new(
                trend.iter().filter_map(|p| {
                    p.failure_probability
                        .map(|f| (p.until_run as f64, f * 100.0))
                }),
                PREDICTED.stroke_width(2),
            ))?;
        }
        Ok(())
    })?;
    Ok((svg, left_out))
}

/// A percentage, with one decimal where it has a fraction.
fn percent(value: &f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}%")
    } else {
        format!("{value:.1}%")
    }
}

/// The colour of a severity, from yellow (low) to dark red (critical).
fn severity_color(severity: Severity) -> RGBColor {
    match severity {
        Severity::Low => RGBColor(230, 190, 40),
        Severity::Medium => RGBColor(240, 130, 30),
        Severity::High => RGBColor(210, 40, 40),
        Severity::Critical => RGBColor(120, 0, 60),
    }
}

/// Chart 4: the report's recent anomalies, time against observed value, coloured by severity.
pub(crate) fn anomalies(report: &Report) -> Result<String, String> {
    const TITLE: &str = "Anomalies on a timeline (recent anomalies kept in the report)";
    let recent = &report.anomalies.recent;
    render(440, |root| {
        if recent.is_empty() {
            return empty(root, TITLE, "no anomaly is stored in this report");
        }
        let t0 = recent.iter().map(|a| a.time).fold(f64::INFINITY, f64::min);
        let t1 = recent
            .iter()
            .map(|a| a.time)
            .fold(f64::NEG_INFINITY, f64::max);
        // Anomalies of one run can be milliseconds apart: fit the axis to them, not to a second.
        let span = if t1 > t0 { t1 - t0 } else { 1.0 };
        let low = recent.iter().map(|a| a.value).fold(f64::INFINITY, f64::min);
        let high = recent
            .iter()
            .map(|a| a.value)
            .fold(f64::NEG_INFINITY, f64::max);
        let range = if high > low {
            high - low
        } else {
            low.abs().max(1.0)
        };
        // Room above the highest point for the legend (upper left), so it hides no point.
        let (below, above) = (range * 0.08, range * 0.45);
        let mut chart = ChartBuilder::on(root)
            .caption(TITLE, (FONT, 20))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(-span * 0.03..span * 1.03, (low - below)..(high + above))?;
        chart
            .configure_mesh()
            .x_desc("seconds since the first anomaly shown")
            .y_desc("observed value")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        for severity in [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ] {
            let points: Vec<_> = recent.iter().filter(|a| a.severity == severity).collect();
            if points.is_empty() {
                continue;
            }
            let color = severity_color(severity);
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|a| Circle::new((a.time - t0, a.value), 5, color.mix(0.85).filled())),
                )?
                .label(format!("{severity} ({})", points.len()))
                .legend(move |(x, y)| Circle::new((x + 6, y), 5, color.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 13))
            .draw()?;
        Ok(())
    })
}

/// A size in KiB.
fn kib(kib: &f64) -> String {
    format!("{kib:.1} KiB")
}

/// Chart 5: the memory the runtime holds, by component.
pub(crate) fn memory(report: &Report) -> Result<String, String> {
    let components = &report.memory.components;
    Bars {
        title: "Memory held by the runtime, by component",
        labels: components.keys().cloned().collect(),
        series: vec![Series {
            label: "KiB".into(),
            color: MEMORY,
            values: components.values().map(|&b| b as f64 / 1024.0).collect(),
        }],
        x_desc: "KiB (1024 bytes)",
        x_max: None,
        format: &kib,
        value_labels: true,
    }
    .svg("the report has no memory figures")
}
