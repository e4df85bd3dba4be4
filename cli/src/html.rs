//! The HTML page: a header, the phase table, the four charts of [`crate::charts`] inline and a
//! table of the recent anomalies. Self-contained: inline CSS and SVG, no script, no external
//! resource.

use std::fmt::Write as _;
use std::path::Path;

use analytics_runtime::Report;
use html_escape::encode_text as text;

use crate::charts;

/// The page's style sheet.
const CSS: &str = "
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.meta, .note { color: #555; font-size: .92rem; }
table { border-collapse: collapse; font-size: .9rem; width: 100%; }
th, td { padding: .3rem .5rem; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f4f6f8; }
th:first-child, td:first-child { text-align: left; }
tr.failing td { background: #fff3f2; }
figure { margin: 1rem 0; }
svg { max-width: 100%; height: auto; }
";

/// The page for `report`, read from `source` (named in the header).
pub(crate) fn page(report: &Report, source: &Path) -> Result<String, String> {
    let durations = charts::durations(report)?;
    let failures = charts::failures(report)?;
    let (trends, trends_left_out) = charts::trends(report)?;
    let anomalies = charts::anomalies(report)?;
    let memory = charts::memory(report)?;

    let mut html = String::with_capacity(64 * 1024);
    // `write!` into a String cannot fail.
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <link rel=\"icon\" href=\"data:,\">\n<title>Phase analytics: {source}</title>\n\
         <style>{CSS}</style>\n</head>\n<body>\n<h1>Phase analytics report</h1>\n\
         <p class=\"meta\">{source} · analytics-runtime {version} · {state} · uptime {uptime:.1} s · \
         {phases} phases · {runs} executions · {anomaly_total} anomalies · {bytes} bytes held</p>\n",
        source = text(&source.display().to_string()),
        version = text(&report.runtime.version),
        state = if report.enabled {
            "enabled"
        } else {
            "disabled"
        },
        uptime = report.uptime_s,
        phases = report.phases.len(),
        runs = report.total_executions(),
        anomaly_total = report.anomalies.total,
        bytes = report.memory.total_bytes,
    );

    html.push_str("<h2>Phases</h2>\n");
    phase_table(&mut html, report);

    html.push_str("<h2>Durations</h2>\n<figure>");
    html.push_str(&durations);
    html.push_str(
        "</figure>\n<p class=\"note\">Quantiles of each phase's latest runs \
         (its <code>window_runs</code>), in milliseconds.</p>\n",
    );

    html.push_str("<h2>Failures and predictions</h2>\n<figure>");
    html.push_str(&failures);
    html.push_str(
        "</figure>\n<p class=\"note\">A report is one moment, so this shows each phase's failure \
         rate over all its runs beside the predicted failure probability of its next run; \
         phases without a bar for the prediction do not have enough runs yet.</p>\n<figure>",
    );
    html.push_str(&trends);
    let _ = write!(
        html,
        "</figure>\n<p class=\"note\">Over each phase's whole history (<code>trend</code>): the \
         runs are counted in spans that merge pairwise as the history grows, so each point is \
         the failure rate of one span, and the prediction is the one made at its end.{}</p>\n",
        if trends_left_out > 0 {
            format!(
                " {trends_left_out} more phases with fewer failures are in the JSON, not drawn."
            )
        } else {
            String::new()
        }
    );

    html.push_str("<h2>Anomalies</h2>\n<figure>");
    html.push_str(&anomalies);
    html.push_str("</figure>\n");
    anomaly_table(&mut html, report);

    html.push_str("<h2>Memory</h2>\n<figure>");
    html.push_str(&memory);
    html.push_str("</figure>\n</body>\n</html>\n");
    Ok(html)
}

/// The phase table: the figures of the terminal table, one row per phase.
fn phase_table(html: &mut String, report: &Report) {
    if report.phases.is_empty() {
        html.push_str("<p class=\"note\">No phase has run in this report.</p>\n");
        return;
    }
    html.push_str(
        "<table>\n<thead><tr><th>phase</th><th>runs</th><th>ok</th><th>fail</th><th>panic</th>\
         <th>cancel</th><th>fail %</th><th>mean ms</th><th>p50 ms</th><th>p90 ms</th>\
         <th>p99 ms</th><th>max ms</th><th>predicted fail %</th></tr></thead>\n<tbody>\n",
    );
    for p in &report.phases {
        let d = &p.duration_ms;
        let predicted = p.prediction.map_or_else(
            || "–".to_string(),
            |x| format!("{:.1}", x.failure_probability * 100.0),
        );
        let _ = writeln!(
            html,
            "<tr{class}><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{:.1}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td>\
             <td>{predicted}</td></tr>",
            p.executions,
            p.successes,
            p.failures,
            p.panics,
            p.cancelled,
            p.failure_rate * 100.0,
            d.mean,
            d.p50,
            d.p90,
            d.p99,
            d.max,
            class = if p.failures > 0 {
                " class=\"failing\""
            } else {
                ""
            },
            name = text(&p.name),
        );
    }
    html.push_str("</tbody>\n</table>\n");
}

/// The recent anomalies, newest first, as a table (the chart's points with their keys).
fn anomaly_table(html: &mut String, report: &Report) {
    let recent = &report.anomalies.recent;
    if recent.is_empty() {
        return;
    }
    let _ = writeln!(
        html,
        "<p class=\"note\">{} anomalies since start ({} low, {} medium, {} high, {} critical); \
         the {} most recent are stored:</p>",
        report.anomalies.total,
        report.anomalies.by_severity.low,
        report.anomalies.by_severity.medium,
        report.anomalies.by_severity.high,
        report.anomalies.by_severity.critical,
        recent.len(),
    );
    html.push_str(
        "<table>\n<thead><tr><th>key</th><th>severity</th><th>value</th><th>z-score</th>\
         <th>score</th><th>seconds after the first</th></tr></thead>\n<tbody>\n",
    );
    let t0 = recent.iter().map(|a| a.time).fold(f64::INFINITY, f64::min);
    for a in recent.iter().rev() {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.2}</td><td>{:.2}</td><td>{:.3}</td></tr>",
            text(&a.key),
            a.severity,
            a.value,
            a.z_score,
            a.score,
            a.time - t0,
        );
    }
    html.push_str("</tbody>\n</table>\n");
}
