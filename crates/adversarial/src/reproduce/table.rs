//! The table of what an output folder holds: per setting, the protocol's FID of each seed's
//! proxy-chosen checkpoint, mean ± std, beside the published value; and, for the seeds whose
//! every checkpoint has the protocol's FID, the best of them (the paper's own rule).

use super::{read_scores, score_files, Protocol, WHERE_KEYS};
use crate::config::Config;
use crate::util::fs::read_if_exists;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The seeds measured of one setting (run folders `NAME-sSEED`).
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub name: String,
    /// The protocol's row whose preset every seed ran (each `config.toml` equal to the
    /// preset's for its seed, where the run trained aside): what the seeds are compared with.
    pub row: Option<&'static str>,
    /// Where NAME is a row's but a seed ran another setting: the keys that differ from it.
    pub differs: Vec<String>,
    /// (seed, FID of the proxy's best checkpoint), by seed.
    pub seeds: Vec<(u64, f64)>,
    /// (seed, lowest FID of all its checkpoints), for the seeds whose every checkpoint in
    /// the proxy's file has the protocol's FID too (`--all-checkpoints`), by seed.
    pub every: Vec<(u64, f64)>,
}

/// Where a mean lands against a published mean ± 2 std.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Below mean − 2 std (FID: lower is better).
    Better,
    Within,
    Outside,
}

impl Verdict {
    pub fn of(ours: f64, (mean, std): (f64, f64)) -> Verdict {
        if ours < mean - 2.0 * std {
            Verdict::Better
        } else if ours <= mean + 2.0 * std {
            Verdict::Within
        } else {
            Verdict::Outside
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Within => "within",
            Verdict::Outside => "outside",
        }
    }
}

/// Mean and sample standard deviation (n − 1; none for one value).
pub fn mean_std(v: &[f64]) -> (f64, Option<f64>) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let std = (v.len() > 1)
        .then(|| (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (mean, std)
}

/// The settings measured under `out`: every folder `NAME-sSEED` whose `inception.txt` has
/// the FID of the checkpoint its `proxy.txt` ranks best, grouped by NAME (the files of
/// samples drawn with `standing_stats` batches of standing statistics when not 0), each
/// matched by its `config.toml` to the row of `p` whose preset it ran.
pub fn collect(p: &Protocol, out: &Path, standing_stats: i64) -> Result<Vec<Measured>> {
    let (proxy_file, fid_file) = score_files(standing_stats);
    let mut groups: BTreeMap<String, Vec<Seed>> = BTreeMap::new();
    let listing =
        std::fs::read_dir(out).with_context(|| format!("cannot list {}", out.display()))?;
    for entry in listing {
        let dir = entry?.path();
        let Some(folder) = dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((name, seed)) = folder
            .rsplit_once("-s")
            .and_then(|(n, s)| Some((n.to_string(), s.parse::<u64>().ok()?)))
        else {
            continue;
        };
        let proxy = read_scores(&dir.join(&proxy_file))?;
        let Some((best, _)) = proxy.iter().min_by(|a, b| a.1.total_cmp(&b.1)) else {
            continue;
        };
        let scored = read_scores(&dir.join(&fid_file))?;
        let fid_of = |step: &str| scored.iter().find(|(s, _)| s == step).map(|f| f.1);
        if let Some(fid) = fid_of(best) {
            let (row, differs) = preset_of(p, &dir, &name, seed)?;
            // every checkpoint scored: the lowest (a missing one leaves the rule unmet)
            let every = proxy
                .iter()
                .map(|(step, _)| fid_of(step))
                .collect::<Option<Vec<f64>>>()
                .map(|v| v.into_iter().fold(f64::INFINITY, f64::min));
            groups.entry(name).or_default().push(Seed {
                seed,
                fid,
                every,
                row,
                differs,
            });
        }
    }
    Ok(groups
        .into_iter()
        .map(|(name, mut seeds)| {
            seeds.sort_by_key(|s| s.seed);
            let row = seeds[0]
                .row
                .filter(|r| seeds.iter().all(|s| s.row == Some(*r)));
            let mut differs: Vec<String> = seeds.iter().flat_map(|s| s.differs.clone()).collect();
            differs.sort();
            differs.dedup();
            Measured {
                name,
                row,
                differs,
                seeds: seeds.iter().map(|s| (s.seed, s.fid)).collect(),
                every: seeds
                    .iter()
                    .filter_map(|s| Some((s.seed, s.every?)))
                    .collect(),
            }
        })
        .collect())
}

/// One scored seed while collecting.
struct Seed {
    seed: u64,
    fid: f64,
    every: Option<f64>,
    row: Option<&'static str>,
    differs: Vec<String>,
}

/// The row whose preset (for `seed`) the run in `dir` ran, and, where `name` is a row's and
/// the run is not its preset, the keys that differ (no `config.toml`: no row).
fn preset_of(
    p: &Protocol,
    dir: &Path,
    name: &str,
    seed: u64,
) -> Result<(Option<&'static str>, Vec<String>)> {
    let path = dir.join("config.toml");
    let Some(text) = read_if_exists(&path)? else {
        return Ok((None, Vec::new()));
    };
    let ran = Config::from_toml_str(&text).with_context(|| format!("in {}", path.display()))?;
    let mut differs = Vec::new();
    for row in p.rows {
        let keys = ran.differing_keys(&p.config(row, seed, &[])?, &WHERE_KEYS)?;
        if keys.is_empty() {
            return Ok((Some(row.name), Vec::new()));
        }
        if row.name == name {
            differs = keys;
        }
    }
    Ok((None, differs))
}

/// The Markdown table: the protocol's rows first, in its order, then other settings.
pub fn markdown(p: &Protocol, measured: &[Measured]) -> String {
    let mut lines = vec![
        format!(
            "{}: FID at N = {}, checkpoint chosen by the proxy ({} features); the fourth \
             column takes each fully scored seed's best checkpoint instead",
            p.title,
            thousands(p.reference_size),
            p.proxy
        ),
        String::new(),
        "| setting | ours (mean ± std) | seeds | best of every checkpoint (seeds all scored) | published | against mean ± 2 std |".into(),
        "|---|---|---|---|---|---|".into(),
    ];
    let row_of = |m: &Measured| m.row.and_then(|r| p.rows.iter().find(|row| row.name == r));
    let mut order: Vec<&Measured> = measured.iter().collect();
    order.sort_by_key(|m| {
        let at = m
            .row
            .and_then(|r| p.rows.iter().position(|row| row.name == r));
        // within a row, the runs named for it first
        let own = m.row == Some(m.name.as_str());
        (at.unwrap_or(usize::MAX), !own, m.name.clone())
    });
    for m in order {
        let values: Vec<f64> = m.seeds.iter().map(|s| s.1).collect();
        let mean = mean_std(&values).0;
        let ours = mean_and_spread(&values);
        let seeds = per_seed(&m.seeds);
        let every = if m.every.is_empty() {
            "–".to_string()
        } else {
            let v: Vec<f64> = m.every.iter().map(|s| s.1).collect();
            format!("{} ({})", mean_and_spread(&v), per_seed(&m.every))
        };
        let row = row_of(m);
        let setting = match (m.row, m.differs.is_empty()) {
            (Some(r), _) if r != m.name => format!("{} (the {r} preset)", m.name),
            (None, false) => format!("{} (not its preset: {})", m.name, key_list(&m.differs)),
            _ => m.name.clone(),
        };
        let (published, verdict) = match row.and_then(|r| r.paper) {
            Some(paper) => (
                format!("{:.1} ± {:.1}", paper.0, paper.1),
                Verdict::of(mean, paper).describe().to_string(),
            ),
            None => (row.map_or("–", |r| r.note).to_string(), "–".into()),
        };
        lines.push(format!(
            "| {setting} | {ours} | {seeds} | {every} | {published} | {verdict} |"
        ));
    }
    lines.join("\n") + "\n"
}

/// `mean ± std`, or the value alone for one seed.
fn mean_and_spread(values: &[f64]) -> String {
    match mean_std(values) {
        (mean, Some(s)) => format!("{mean:.2} ± {s:.2}"),
        (mean, None) => format!("{mean:.2}"),
    }
}

/// `1: 20.40, 2: 18.64`.
fn per_seed(seeds: &[(u64, f64)]) -> String {
    let cells: Vec<String> = seeds.iter().map(|(s, v)| format!("{s}: {v:.2}")).collect();
    cells.join(", ")
}

/// The first few keys as `a`, `b`, … (a long list says how many more).
fn key_list(keys: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut out: Vec<String> = keys.iter().take(SHOWN).map(|k| format!("`{k}`")).collect();
    if keys.len() > SHOWN {
        out.push(format!("{} more", keys.len() - SHOWN));
    }
    out.join(", ")
}

/// 10000 → "10,000".
fn thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std_by_hand() {
        // the WGAN row of docs/results/lucic-fashion.md: deviations −1.8333, −3.5933, 5.4267 from
        // 22.2333; squares summing to 45.7219, over 2, square root 4.7813
        let (m, s) = mean_std(&[20.40, 18.64, 27.66]);
        assert!((m - 22.233_333).abs() < 1e-5, "{m}");
        assert!((s.unwrap() - 4.781_311).abs() < 1e-5, "{s:?}");
        assert_eq!(mean_std(&[3.0]), (3.0, None));
    }

    #[test]
    fn verdicts_against_two_standard_deviations() {
        let paper = (21.5, 1.6); // 18.3 … 24.7
        assert_eq!(Verdict::of(18.2, paper), Verdict::Better);
        assert_eq!(Verdict::of(18.3, paper), Verdict::Within);
        assert_eq!(Verdict::of(24.7, paper), Verdict::Within);
        assert_eq!(Verdict::of(24.8, paper), Verdict::Outside);
    }

    #[test]
    fn table_reads_the_proxy_choice_and_the_preset_each_seed_ran() {
        let lucic = &super::super::lucic::LUCIC;
        let out = tempfile::tempdir().unwrap();
        // a run folder with its scores and, when `row` is given, the config it ran: that
        // row's preset for the folder's seed with `sets` (threads set as a run beside others)
        let write = |dir: &str, row: Option<&str>, sets: &[&str], proxy: &str, inception: &str| {
            let d = out.path().join(dir);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("proxy.txt"), proxy).unwrap();
            std::fs::write(d.join("inception.txt"), inception).unwrap();
            if let Some(row) = row {
                let seed: u64 = dir.rsplit_once("-s").unwrap().1.parse().unwrap();
                let mut all = vec!["threads=1".to_string()];
                all.extend(sets.iter().map(|s| s.to_string()));
                let cfg = lucic.config(lucic.row(row).unwrap(), seed, &all).unwrap();
                std::fs::write(d.join("config.toml"), cfg.to_toml_string()).unwrap();
            }
        };
        // seed 1 has every checkpoint scored, the one the proxy passed over lower: the proxy's
        // choice stays the reported value, the lower one fills the fourth column; seed 2 has
        // one of two scored, so it stays out of that column
        write(
            "wgan-s1",
            Some("wgan"),
            &[],
            "step-003906 30.0\nstep-007812 9.9\n",
            "step-007812 20.40 556\nstep-003906 19.00 560\n",
        );
        write(
            "wgan-s2",
            Some("wgan"),
            &[],
            "step-003906 30.0\nstep-007812 7.9\n",
            "step-007812 18.64 556\n",
        );
        write(
            "wgan-s3",
            Some("wgan"),
            &[],
            "step-007812 7.5\n",
            "step-007812 27.66 556\n",
        );
        // the preset under another name; a row's name on another setting; a folder without
        // a config; a run not yet scored
        let (p1, i1) = ("step-001953 50.0\n", "step-001953 40.00 500\n");
        write("clip-s4", Some("wgan"), &[], p1, i1);
        write(
            "minimax-s1",
            Some("minimax"),
            &["train.lr_g=5e-5", "train.beta1=0.0"],
            p1,
            i1,
        );
        write("pilot-x-s1", None, &[], p1, i1);
        write("least-squares-s2", Some("least-squares"), &[], p1, "");
        let measured = collect(lucic, out.path(), 0).unwrap();
        let names: Vec<&str> = measured.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["clip", "minimax", "pilot-x", "wgan"]);
        assert_eq!(measured[3].seeds, [(1, 20.40), (2, 18.64), (3, 27.66)]);
        assert_eq!(measured[3].every, [(1, 19.00), (3, 27.66)]);
        assert_eq!(measured[1].differs, ["train.beta1", "train.lr_g"]);
        let table = markdown(lucic, &measured);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[4..],
            [
                "| wgan | 22.23 ± 4.78 | 1: 20.40, 2: 18.64, 3: 27.66 | 23.33 ± 6.12 (1: 19.00, 3: 27.66) | 21.5 ± 1.6 | within |",
                "| clip (the wgan preset) | 40.00 | 4: 40.00 | 40.00 (4: 40.00) | 21.5 ± 1.6 | outside |",
                "| minimax (not its preset: `train.beta1`, `train.lr_g`) | 40.00 | 1: 40.00 | 40.00 (1: 40.00) | – | – |",
                "| pilot-x | 40.00 | 1: 40.00 | 40.00 (1: 40.00) | – | – |",
            ]
        );
    }

    #[test]
    fn an_unreadable_config_is_an_error_not_a_missing_one() {
        // a directory where config.toml should be: reading it fails, and the table must say
        // so rather than show the run as "no config"
        let out = tempfile::tempdir().unwrap();
        let d = out.path().join("wgan-s1");
        std::fs::create_dir_all(d.join("config.toml")).unwrap();
        std::fs::write(d.join("proxy.txt"), "step-007812 9.9\n").unwrap();
        std::fs::write(d.join("inception.txt"), "step-007812 20.40 556\n").unwrap();
        let err = collect(&super::super::lucic::LUCIC, out.path(), 0).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("cannot read") && msg.contains("config.toml"),
            "{msg}"
        );
    }
}
