//! `gan report`: one self-contained HTML file per run. The page carries its data as JSON and
//! draws it with uPlot (vendored, inlined) and a small script of ours, so it opens with no
//! network. `gan serve` shows the same page, with linked images and live refresh.

use super::chart_rules::RULES;
use super::health::{self, Alert};
use super::run_data::{Curves, RunData};
use anyhow::{Context, Result};
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const UPLOT_JS: &str = include_str!("../../assets/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../../assets/uplot/uPlot.min.css");
const CHARTS_JS: &str = include_str!("../../assets/report/charts.js");
const REPORT_JS: &str = include_str!("../../assets/report/report.js");
const DASHBOARD_JS: &str = include_str!("../../assets/report/dashboard.js");
const STYLE_CSS: &str = include_str!("../../assets/report/style.css");

/// At most this many frames in the sample timeline (evenly spread, the last kept).
const MAX_FRAMES: usize = 120;

/// How the page refers to the run's images.
#[derive(Debug, Clone)]
pub enum Images {
    /// Embedded as data URIs: one file that opens anywhere.
    Inline,
    /// Linked under this URL prefix (the dashboard serves the run's files).
    Linked(String),
}

/// One line on a chart.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub label: String,
    pub x: Vec<f64>,
    pub y: Vec<Option<f64>>,
}

/// One chart: a title, axis labels and its lines.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

/// Fields of `metrics.jsonl` that are not curves.
const NOT_CURVES: &[&str] = &["time_s"];

/// The finite points of one field, as a chart line labelled `label`.
pub(crate) fn points(c: &Curves, field: &str, label: &str) -> Option<Series> {
    let y = c.fields.get(field)?;
    let (x, y) = c
        .steps
        .iter()
        .zip(y)
        .filter(|(_, v)| v.is_some_and(f64::is_finite))
        .map(|(&s, &v)| (s, v))
        .unzip();
    Some(Series {
        label: label.to_string(),
        x,
        y,
    })
}

fn series_of(c: &Curves, field: &str, label: &str) -> Option<Series> {
    let s = points(c, field, label)?;
    // an all-missing or all-zero column (no penalty configured) is not worth a chart
    s.y.iter().any(|v| v.is_some_and(|v| v != 0.0)).then_some(s)
}

/// The charts of a run: the known groups in a fixed order, then any other numeric field
/// of `metrics.jsonl` on a chart of its own.
pub fn charts(run: &RunData) -> Vec<Chart> {
    let probabilistic = run.probabilistic();
    let mut out = Vec::new();
    let mut used: Vec<(&str, &str)> = Vec::new();
    for r in RULES {
        let fields = r.fields_with_extras();
        used.extend(fields.iter().map(|(f, _)| (r.file, *f)));
        if r.probabilistic_only && !probabilistic {
            continue;
        }
        let Some(c) = run.curves(r.file) else {
            continue;
        };
        let series: Vec<Series> = fields
            .iter()
            .filter_map(|(f, l)| series_of(c, f, l))
            .collect();
        if series.is_empty() {
            continue;
        }
        out.push(Chart {
            id: format!("chart-{}", out.len()),
            title: r.title.to_string(),
            x_label: "iteration".into(),
            y_label: r.y_label.to_string(),
            series,
        });
    }
    if let Some(c) = run.curves("metrics.jsonl") {
        for field in c.fields.keys() {
            if NOT_CURVES.contains(&field.as_str()) || used.contains(&("metrics.jsonl", field)) {
                continue;
            }
            if let Some(s) = series_of(c, field, field) {
                out.push(Chart {
                    id: format!("chart-{}", out.len()),
                    title: field.clone(),
                    x_label: "iteration".into(),
                    y_label: field.clone(),
                    series: vec![s],
                });
            }
        }
    }
    out
}

fn image_src(run: &RunData, rel: &Path, images: &Images) -> Result<String> {
    Ok(match images {
        Images::Inline => {
            let p = run.dir.join(rel);
            let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
            format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            )
        }
        Images::Linked(prefix) => {
            let rel: Vec<String> = rel
                .components()
                .map(|c| url_escape(&c.as_os_str().to_string_lossy()))
                .collect();
            format!("{prefix}{}", rel.join("/"))
        }
    })
}

/// Percent-encodes what is not safe in a URL path segment.
pub fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Indices of at most `max` items out of `n`, evenly spread, the last included.
fn spread(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    let mut idx: Vec<usize> = (0..max).map(|i| i * (n - 1) / (max - 1)).collect();
    idx.dedup();
    idx
}

/// The report's data, as the page's script reads it.
pub fn report_data(run: &RunData, images: &Images, live: Option<&str>) -> Result<Value> {
    let alerts: Vec<Alert> = health::scan(run);
    let mut facts: Vec<(String, String)> = Vec::new();
    let mut fact = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            facts.push((k.to_string(), v));
        }
    };
    let summary = run.summary.as_ref();
    fact(
        "status",
        Some(match run.total_steps() {
            Some(t) => format!("{} — iteration {} of {t}", run.status(), run.last_step()),
            None => format!("{} — iteration {}", run.status(), run.last_step()),
        }),
    );
    fact(
        "data",
        summary
            .and_then(|s| s.get("dataset"))
            .and_then(|d| d.as_str())
            .map(String::from)
            .or_else(|| {
                let src = run.config_value("data.source")?;
                Some(match run.config_value("data.toy") {
                    Some(t) if src == "toy" => format!("toy: {t}"),
                    _ => src,
                })
            }),
    );
    fact("model", run.config_value("model.arch"));
    fact(
        "loss",
        run.config_value("loss.name").map(|l| {
            match (l.as_str(), run.config_value("loss.divergence")) {
                ("f-divergence", Some(d)) => format!("f-GAN ({d})"),
                _ => l,
            }
        }),
    );
    fact(
        "method",
        run.config_value("train.method").map(|m| m.to_string()),
    );
    fact("seed", run.config_value("seed"));
    if let Some(s) = summary {
        fact(
            "time",
            s.get("elapsed_s")
                .and_then(|v| v.as_f64())
                .map(|t| format!("{t:.0} s")),
        );
        fact(
            "speed",
            s.get("it_per_s")
                .and_then(|v| v.as_f64())
                .filter(|&v| v > 0.0)
                .map(|v| format!("{v:.2} it/s (last session)")),
        );
    }
    let frames_idx = spread(run.samples.len(), MAX_FRAMES);
    let mut samples = Vec::new();
    for i in frames_idx {
        let f = &run.samples[i];
        let label = f
            .step
            .map_or("final".to_string(), |s| format!("iteration {s}"));
        if f.text {
            let text = std::fs::read_to_string(run.dir.join(&f.path)).unwrap_or_default();
            let text: String = text.lines().take(40).collect::<Vec<_>>().join("\n");
            samples.push(json!({"label": label, "text": text}));
        } else {
            samples.push(json!({"label": label, "src": image_src(run, &f.path, images)?}));
        }
    }
    let mut figures = Vec::new();
    let mut memorization_figures = Vec::new();
    for f in &run.figures {
        let caption = f.to_string_lossy().into_owned();
        let fig = json!({ "caption": caption, "src": image_src(run, f, images)? });
        // `gan memorization` writes its panels and distance charts into the run
        if caption.starts_with("memorization-") || caption.starts_with("nn-distances-") {
            memorization_figures.push(fig);
        } else {
            figures.push(fig);
        }
    }
    let memorization = memorization_table(&run.dir.join("memorization.json"));
    let evals = eval_table(&run.evals);
    let version = run
        .modified
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Ok(json!({
        "name": run.name,
        "status": run.status(),
        "facts": facts,
        "alerts": alerts,
        "charts": charts(run),
        "samples": samples,
        "figures": figures,
        "memorization": { "table": memorization, "figures": memorization_figures },
        "evals": evals,
        "config": run.config_text,
        "summary": run.summary.as_ref().map(|s| serde_json::to_string_pretty(s).unwrap_or_default()),
        "version": version.to_string(),
        "live": live,
    }))
}

/// `eval.jsonl` as a table: the columns people compare, one row per evaluation.
fn eval_table(rows: &[Value]) -> Value {
    const COLUMNS: &[(&str, &str)] = &[
        ("step", "iteration"),
        ("extractor", "features"),
        ("n_a", "samples"),
        ("b", "against"),
        ("fid", "FID"),
        ("kid.mean", "KID"),
        ("inception_score.mean", "IS"),
        ("precision_recall.precision", "precision"),
        ("precision_recall.recall", "recall"),
        ("density_coverage.density", "density"),
        ("density_coverage.coverage", "coverage"),
        ("classes.covered", "classes"),
        ("parzen.mean", "Parzen LL"),
    ];
    let get = |row: &Value, key: &str| -> Value {
        let mut v = row;
        for part in key.split('.') {
            match v.get(part) {
                Some(x) => v = x,
                None => return Value::Null,
            }
        }
        v.clone()
    };
    let used: Vec<&(&str, &str)> = COLUMNS
        .iter()
        .filter(|(k, _)| rows.iter().any(|r| !get(r, k).is_null()))
        .collect();
    json!({
        "columns": used.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
        "rows": rows.iter().map(|r| used.iter().map(|(k, _)| get(r, k)).collect::<Vec<_>>()).collect::<Vec<_>>(),
    })
}

/// `memorization.json` as a table, one row per space: how close samples come to the
/// training set, against how close held-out real images come.
fn memorization_table(path: &Path) -> Value {
    let Some(v) = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
    else {
        return Value::Null;
    };
    let rows: Vec<Value> = v["spaces"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            json!([
                s["space"],
                s["generated_to_train"]["median"],
                s["test_to_train"]["median"],
                s["median_ratio"],
                s["closer_than_test_p01"],
            ])
        })
        .collect();
    json!({
        "caption": format!("{} against {} (held out: {})",
            v["generated"].as_str().unwrap_or("?"),
            v["train"].as_str().unwrap_or("?"),
            v["test"].as_str().unwrap_or("?")),
        "columns": ["space", "median NN distance, samples → train", "median, held-out → train",
                    "ratio", "samples closer than 1% of held-out"],
        "rows": rows,
    })
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JSON that is safe inside a `<script>` element.
fn script_json(v: &Value) -> String {
    v.to_string().replace('<', "\\u003c")
}

/// A whole page: our style and uPlot inlined, the data, and the page's script.
fn page(title: &str, data: &Value, script: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>{UPLOT_CSS}</style>\n<style>{STYLE_CSS}</style>\n</head>\n\
         <body>\n<main id=\"app\"><p>Loading…</p></main>\n\
         <script id=\"data\" type=\"application/json\">{}</script>\n\
         <script>{UPLOT_JS}</script>\n<script>{CHARTS_JS}</script>\n<script>{script}</script>\n\
         </body>\n</html>\n",
        escape(title),
        script_json(data),
    )
}

/// The report page of one run.
pub fn report_html(run: &RunData, images: &Images, live: Option<&str>) -> Result<String> {
    let data = report_data(run, images, live)?;
    Ok(page(
        &format!("{} — adversarial report", run.name),
        &data,
        REPORT_JS,
    ))
}

/// The dashboard page; it asks `api` for the list of runs and their curves.
pub fn dashboard_html(root: &str) -> String {
    page(
        "adversarial — runs",
        &json!({ "root": root, "api": "/api" }),
        DASHBOARD_JS,
    )
}

/// Writes `run_dir`'s report to `out` (default `run_dir/report.html`), atomically, and
/// returns its path and the alerts it shows.
pub fn write_report(run_dir: &Path, out: Option<&Path>) -> Result<(PathBuf, Vec<Alert>)> {
    let name = run_dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| run_dir.display().to_string());
    let run = RunData::read(run_dir, &name)?;
    let html = report_html(&run, &Images::Inline, None)?;
    let out = out.map_or_else(|| run_dir.join("report.html"), Path::to_path_buf);
    crate::util::fs::write_atomic(&out, html.as_bytes())?;
    Ok((out, health::scan(&run)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_keeps_first_and_last() {
        assert_eq!(spread(3, 5), [0, 1, 2]);
        let s = spread(1000, 10);
        assert_eq!((s[0], *s.last().unwrap(), s.len()), (0, 999, 10));
    }

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let v = json!({"config": "</script><script>alert(1)</script>"});
        let s = script_json(&v);
        assert!(!s.contains("</"), "{s}");
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }
}
