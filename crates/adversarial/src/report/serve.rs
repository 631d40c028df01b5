//! `gan serve RUNS_DIR`: a small local web server for the runs under one folder. It lists
//! them with their state and warnings, compares any logged curve across runs on one chart,
//! and serves each run's report with live refresh. Everything is read from disk at each
//! request, so runs that are training show up as they go.
//!
//! Routes: `/` (dashboard), `/api/runs`, `/api/series?key=FILE:FIELD&run=NAME…`,
//! `/run/NAME/` (report), `/api/report/NAME` (its data), `/files/NAME/PATH` (a run's file).
//! NAME is one path segment: the run's path under the root, percent-encoded.

use super::health;
use super::html::{self, url_escape, Images};
use super::run_data::{find_runs, RunData};
use anyhow::{anyhow, Result};
use serde_json::{json, Value};
use std::path::{Component, Path, PathBuf};

/// A bound dashboard server.
pub struct Dashboard {
    root: PathBuf,
    server: tiny_http::Server,
}

/// An HTTP answer: status, content type and body.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Reply {
    fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            content_type,
            body: body.into(),
        }
    }

    fn json(v: &Value) -> Reply {
        Reply::ok("application/json", v.to_string())
    }

    fn error(status: u16, message: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: message.as_bytes().to_vec(),
        }
    }
}

impl Dashboard {
    /// Binds `addr` (`127.0.0.1:8000`; port 0 picks a free one) to serve the runs under
    /// `root`.
    pub fn bind(root: &Path, addr: &str) -> Result<Dashboard> {
        if !root.is_dir() {
            anyhow::bail!("{} is not a folder of runs", root.display());
        }
        let server =
            tiny_http::Server::http(addr).map_err(|e| anyhow!("cannot listen on {addr}: {e}"))?;
        Ok(Dashboard {
            root: root.to_path_buf(),
            server,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.server.server_addr().to_ip()
    }

    /// Answers requests until the process ends.
    pub fn run(self) -> Result<()> {
        for req in self.server.incoming_requests() {
            let reply = if *req.method() != tiny_http::Method::Get {
                Reply::error(405, "only GET is served")
            } else {
                route(&self.root, req.url()).unwrap_or_else(|e| {
                    let msg = format!("{e:#}");
                    let status = if msg.starts_with("no run") || msg.starts_with("no file") {
                        404
                    } else {
                        500
                    };
                    Reply::error(status, &msg)
                })
            };
            let header = tiny_http::Header::from_bytes("Content-Type", reply.content_type)
                .expect("static header");
            let no_cache =
                tiny_http::Header::from_bytes("Cache-Control", "no-store").expect("static header");
            let response = tiny_http::Response::from_data(reply.body)
                .with_status_code(reply.status)
                .with_header(header)
                .with_header(no_cache);
            // a client that went away is not the server's problem
            let _ = req.respond(response);
        }
        Ok(())
    }
}

/// Decodes %XX escapes (`+` is left alone: our pages never produce it).
fn url_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn find_run(root: &Path, name: &str) -> Result<RunData> {
    let (name, dir) = find_runs(root)
        .into_iter()
        .find(|(n, _)| n == name)
        .ok_or_else(|| anyhow!("no run named {name:?} under {}", root.display()))?;
    RunData::read(&dir, &name)
}

/// A run as the dashboard serves its report: images under `/files/NAME/`, data at
/// `/api/report/NAME`.
fn live_report(root: &Path, name: &str) -> Result<(RunData, Images, String)> {
    let run = find_run(root, name)?;
    let enc = url_escape(name);
    Ok((
        run,
        Images::Linked(format!("/files/{enc}/")),
        format!("/api/report/{enc}"),
    ))
}

fn run_summary(run: &RunData) -> Value {
    let mut keys = Vec::new();
    for c in &run.curves {
        for (field, col) in &c.fields {
            if field != "time_s" && col.iter().any(|v| v.is_some_and(f64::is_finite)) {
                keys.push(format!("{}:{field}", c.file));
            }
        }
    }
    let enc = url_escape(&run.name);
    json!({
        "name": run.name,
        "status": run.status(),
        "step": run.last_step(),
        "steps": run.total_steps(),
        "alerts": health::scan(run),
        "keys": keys,
        "report": format!("/run/{enc}/"),
    })
}

fn route(root: &Path, url: &str) -> Result<Reply> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (url_unescape(k), url_unescape(v)))
        .collect();
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(url_unescape)
        .collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    match seg.as_slice() {
        [] => Ok(Reply::ok(
            "text/html; charset=utf-8",
            html::dashboard_html(&root.display().to_string()),
        )),
        ["api", "runs"] => {
            let mut out = Vec::new();
            for (name, dir) in find_runs(root) {
                // a run being created may not be readable yet; list the others
                if let Ok(run) = RunData::read(&dir, &name) {
                    out.push(run_summary(&run));
                }
            }
            Ok(Reply::json(&Value::Array(out)))
        }
        ["api", "series"] => {
            let key = params
                .iter()
                .find(|(k, _)| k == "key")
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| anyhow!("series needs key=FILE:FIELD"))?;
            let (file, field) = key
                .split_once(':')
                .ok_or_else(|| anyhow!("series key {key:?} is not FILE:FIELD"))?;
            let mut series = Vec::new();
            for (_, name) in params.iter().filter(|(k, _)| k == "run") {
                let run = find_run(root, name)?;
                if let Some(s) = run.curves(file).and_then(|c| html::points(c, field, name)) {
                    series.push(s);
                }
            }
            Ok(Reply::json(&json!({ "key": key, "series": series })))
        }
        // a served report links its images and polls its data
        ["run", name] => {
            let (run, images, live) = live_report(root, name)?;
            let page = html::report_html(&run, &images, Some(&live))?;
            Ok(Reply::ok("text/html; charset=utf-8", page))
        }
        ["api", "report", name] => {
            let (run, images, live) = live_report(root, name)?;
            Ok(Reply::json(&html::report_data(&run, &images, Some(&live))?))
        }
        ["files", name, rest @ ..] if !rest.is_empty() => {
            let run = find_run(root, name)?;
            let rel: PathBuf = rest.iter().collect();
            // only plain names below the run directory
            if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
                anyhow::bail!("no file {} in run {name}", rel.display());
            }
            let p = run.dir.join(&rel);
            let bytes = std::fs::read(&p)
                .map_err(|_| anyhow!("no file {} in run {name}", rel.display()))?;
            let ct = match p.extension().and_then(|e| e.to_str()) {
                Some("png") => "image/png",
                Some("json") | Some("jsonl") => "application/json",
                Some("html") => "text/html; charset=utf-8",
                _ => "text/plain; charset=utf-8",
            };
            Ok(Reply::ok(ct, bytes))
        }
        _ => Err(anyhow!("no file at {path}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_survive_escaping() {
        for s in ["modes/fgan-kl/ring8/seed-1", "a b%c", "ünï"] {
            assert_eq!(url_unescape(&url_escape(s)), s);
        }
        assert_eq!(url_unescape("%zz%4"), "%zz%4");
    }
}
