//! Operator-level profiles from libtorch's own profiler (the engine behind
//! `torch.profiler`): self time per operator and input shapes, as `torch.profiler`'s
//! `key_averages(group_by_input_shape=True)` reports them, and a Chrome trace to open in
//! Perfetto or `chrome://tracing`. `gan bench --profile` uses it on our training step.

use crate::native;
use anyhow::{bail, Result};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// One operator call (or autograd-node evaluation) as the profiler recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpEvent {
    pub name: String,
    pub thread: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    /// Input shapes, `[a, b];[c]`; empty for inputs that are not tensors.
    pub shapes: String,
}

/// Calls of one operator with one set of input shapes, summed.
#[derive(Debug, Clone, PartialEq)]
pub struct OpStat {
    pub name: String,
    pub shapes: String,
    pub calls: usize,
    /// Time inside the operator minus the time of the operators it called.
    pub self_ns: u64,
    /// Time inside the operator, callees included.
    pub total_ns: u64,
}

/// A recorded run: its events and its wall time.
#[derive(Debug, Clone)]
pub struct Profile {
    pub events: Vec<OpEvent>,
    pub wall_ns: u64,
}

/// Runs `f` under the profiler and returns its result with the profile; writes a Chrome
/// trace to `trace` when given. Only one profile can be recorded at a time per process.
pub fn record<T>(trace: Option<&Path>, f: impl FnOnce() -> Result<T>) -> Result<(T, Profile)> {
    native::profiler_start()?;
    let t0 = Instant::now();
    let out = f();
    let wall_ns = t0.elapsed().as_nanos() as u64;
    // stop even when f failed, so that the profiler is never left running
    let text = native::profiler_stop(trace)?;
    let events = parse(&text)?;
    Ok((out?, Profile { events, wall_ns }))
}

fn parse(text: &str) -> Result<Vec<OpEvent>> {
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let num = |s: &str| s.parse::<u64>();
            match f[..] {
                [name, thread, start, end, shapes] => Ok(OpEvent {
                    name: name.into(),
                    thread: num(thread)?,
                    start_ns: num(start)?,
                    end_ns: num(end)?,
                    // non-tensor arguments record as [] shapes; the trailing ones say nothing
                    shapes: shapes.trim_end_matches(";[]").trim_end_matches("[]").into(),
                }),
                _ => bail!("unexpected profiler event line {line:?}"),
            }
        })
        .collect()
}

impl Profile {
    /// Self and total time per (operator, input shapes), largest self time first. An
    /// event's self time is its duration less that of the events directly nested in it on
    /// the same thread.
    pub fn op_stats(&self) -> Vec<OpStat> {
        let mut by_thread: HashMap<u64, Vec<&OpEvent>> = HashMap::new();
        for e in &self.events {
            by_thread.entry(e.thread).or_default().push(e);
        }
        let mut stats: HashMap<(&str, &str), OpStat> = HashMap::new();
        for mut evs in by_thread.into_values() {
            // parents before their children: earlier start, then longer
            evs.sort_by_key(|e| (e.start_ns, std::cmp::Reverse(e.end_ns)));
            let mut child_ns = vec![0u64; evs.len()];
            let mut open: Vec<usize> = Vec::new();
            for (i, e) in evs.iter().enumerate() {
                while open.last().is_some_and(|&p| evs[p].end_ns <= e.start_ns) {
                    open.pop();
                }
                if let Some(&p) = open.last() {
                    child_ns[p] += e.end_ns.saturating_sub(e.start_ns);
                }
                open.push(i);
            }
            for (e, child) in evs.iter().zip(child_ns) {
                let dur = e.end_ns.saturating_sub(e.start_ns);
                let s = stats.entry((&e.name, &e.shapes)).or_insert_with(|| OpStat {
                    name: e.name.clone(),
                    shapes: e.shapes.clone(),
                    calls: 0,
                    self_ns: 0,
                    total_ns: 0,
                });
                s.calls += 1;
                s.self_ns += dur.saturating_sub(child);
                s.total_ns += dur;
            }
        }
        let mut out: Vec<OpStat> = stats.into_values().collect();
        out.sort_by(|a, b| b.self_ns.cmp(&a.self_ns).then(a.name.cmp(&b.name)));
        out
    }

    /// A Markdown table of the `top` operators by self time, in ms per `per` (iterations),
    /// with each one's share of the wall time.
    pub fn table(&self, per: usize, top: usize) -> String {
        let stats = self.op_stats();
        let per = per.max(1) as f64;
        let ms = |ns: u64| ns as f64 / 1e6 / per;
        let mut s = String::from(
            "| operator | input shapes | calls/it | self ms/it | self % of wall | total ms/it |\n|---|---|---|---|---|---|\n",
        );
        for o in stats.iter().take(top) {
            s += &format!(
                "| {} | {} | {:.1} | {:.3} | {:.1}% | {:.3} |\n",
                o.name,
                if o.shapes.is_empty() {
                    "–"
                } else {
                    &o.shapes
                },
                o.calls as f64 / per,
                ms(o.self_ns),
                100.0 * o.self_ns as f64 / self.wall_ns.max(1) as f64,
                ms(o.total_ns),
            );
        }
        let self_sum: u64 = stats.iter().map(|o| o.self_ns).sum();
        s += &format!(
            "\nwall {:.2} ms/it; operators' self time {:.2} ms/it ({:.1}% of wall)\n",
            ms(self.wall_ns),
            ms(self_sum),
            100.0 * self_sum as f64 / self.wall_ns.max(1) as f64
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    fn ev(name: &str, start: u64, end: u64) -> OpEvent {
        OpEvent {
            name: name.into(),
            thread: 1,
            start_ns: start,
            end_ns: end,
            shapes: String::new(),
        }
    }

    /// Self time subtracts direct children only, across nesting depths and siblings.
    #[test]
    fn self_time_subtracts_direct_children() {
        let p = Profile {
            events: vec![
                ev("outer", 0, 100),
                ev("mid", 10, 60),
                ev("leaf", 20, 50),
                ev("mid", 70, 90),
                ev("after", 100, 130),
            ],
            wall_ns: 130,
        };
        let s: HashMap<String, (usize, u64, u64)> = p
            .op_stats()
            .into_iter()
            .map(|o| (o.name, (o.calls, o.self_ns, o.total_ns)))
            .collect();
        assert_eq!(s["outer"], (1, 30, 100));
        assert_eq!(s["mid"], (2, 20 + 20, 70));
        assert_eq!(s["leaf"], (1, 30, 30));
        assert_eq!(s["after"], (1, 30, 30));
    }

    /// A real profile sees each matmul with its input shapes, writes a trace that names
    /// it, and its self times add up to no more than the wall time.
    #[test]
    fn records_real_operators_with_shapes_and_a_trace() {
        let dir = tempfile::tempdir().unwrap();
        let trace = dir.path().join("trace.json");
        let a = Tensor::randn([64, 32], (Kind::Float, Device::Cpu));
        let b = Tensor::randn([32, 16], (Kind::Float, Device::Cpu));
        let (sum, p) = record(Some(&trace), || {
            let mut s = 0.0;
            for _ in 0..3 {
                s += a.mm(&b).sum(Kind::Float).double_value(&[]);
            }
            Ok(s)
        })
        .unwrap();
        assert!(sum.is_finite());
        let stats = p.op_stats();
        let mm = stats
            .iter()
            .find(|o| o.name == "aten::mm")
            .expect("aten::mm recorded");
        assert_eq!(mm.calls, 3);
        assert_eq!(mm.shapes, "[64, 32];[32, 16]");
        assert!(mm.self_ns <= mm.total_ns && mm.total_ns > 0);
        let self_sum: u64 = stats.iter().map(|o| o.self_ns).sum();
        assert!(self_sum <= p.wall_ns, "{self_sum} > {}", p.wall_ns);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
        let names: Vec<&str> = json["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert!(names.contains(&"aten::mm"), "{names:?}");
        assert!(p.table(3, 5).contains("aten::mm"));
        // the profiler is off again: a second recording starts cleanly
        assert!(record(None, || Ok(())).is_ok());
    }
}
