//! `gan reproduce`: a published table under its own protocol.

use adversarial::device;
use adversarial::reproduce::{self, Measure, Options, Reproduction};
use anyhow::{bail, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ReproduceArgs {
    /// The published table: lucic (Lucic et al. 2018, Fashion-MNIST).
    pub protocol: String,
    /// Folder of the runs (one per row and seed, `ROW-sSEED`) and of `table.md`.
    #[arg(long)]
    pub out: PathBuf,
    /// Rows to run, comma-separated (default: all of the protocol's).
    #[arg(long, value_delimiter = ',')]
    pub rows: Vec<String>,
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub seeds: Vec<u64>,
    /// Name the run folders NAME-sSEED instead of by the row (one row only): a setting
    /// changed with --set, kept apart from the preset's runs.
    #[arg(long)]
    pub name: Option<String>,
    /// Override one key of the preset, e.g. --set train.lr_d=2e-4 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Samples per FID, and reference images (default: the protocol's, 10,000).
    #[arg(long)]
    pub n: Option<i64>,
    /// Stop after ranking the checkpoints with the proxy FID (pilots).
    #[arg(long)]
    pub proxy_only: bool,
    /// Score every kept checkpoint with the reported FID, not only the proxy's best.
    #[arg(long, conflicts_with = "proxy_only")]
    pub all_checkpoints: bool,
    /// Sample with this many batches of standing statistics (BatchNorm re-estimated first;
    /// scores go to proxy-standingK.txt and inception-standingK.txt).
    #[arg(long, default_value_t = 0, value_name = "BATCHES")]
    pub standing_stats: u32,
    /// Train nothing: print and write the table of what --out holds.
    #[arg(long, conflicts_with_all = ["rows", "seeds", "name", "overrides", "proxy_only", "all_checkpoints"])]
    pub table: bool,
    /// Train nothing: draw the learning curves of the run folders named by --curves to this
    /// PNG file: the proxy FID of each kept checkpoint (or the --stat value logged in
    /// training) over discriminator steps, one line per folder.
    #[arg(long, requires = "curves", conflicts_with_all = ["rows", "seeds", "name", "overrides", "proxy_only", "all_checkpoints", "table"])]
    pub chart: Option<PathBuf>,
    /// The run folders under --out that --chart draws, comma-separated (NAME-sSEED, at
    /// most 8).
    #[arg(
        long,
        value_delimiter = ',',
        requires = "chart",
        value_name = "FOLDERS"
    )]
    pub curves: Vec<String>,
    /// Draw this value of each run's metrics.jsonl (e.g. began_k, d_loss), averaged over
    /// windows of 1% of the run, instead of the proxy FID.
    #[arg(long, requires = "chart", value_name = "KEY")]
    pub stat: Option<String>,
    /// cpu, cuda or cuda:N: where the runs train and the FIDs are computed.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// No training progress.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(a: ReproduceArgs) -> Result<()> {
    let p = reproduce::protocol(&a.protocol)?;
    if let Some(path) = &a.chart {
        let measure = match &a.stat {
            Some(key) => Measure::Stat(key),
            None => Measure::Proxy {
                standing_stats: a.standing_stats.into(),
            },
        };
        reproduce::chart(p, &a.out, &a.curves, measure, path)?;
        println!("written to {}", path.display());
        return Ok(());
    }
    if !a.table {
        let rows = if a.rows.is_empty() {
            p.rows.iter().collect()
        } else {
            a.rows
                .iter()
                .map(|r| p.row(r))
                .collect::<Result<Vec<_>>>()?
        };
        if a.name.is_some() && rows.len() != 1 {
            bail!(
                "--name names the runs of one row; --rows has {}",
                rows.len()
            );
        }
        let opts = Options {
            n: a.n.unwrap_or(p.reference_size),
            proxy_only: a.proxy_only,
            all_checkpoints: a.all_checkpoints,
            standing_stats: a.standing_stats.into(),
            device: device::parse_device(&a.device)?,
            progress: super::progress(a.quiet),
        };
        // the device trains as well as scores
        let mut overrides = vec![format!("device={:?}", a.device)];
        overrides.extend(a.overrides.iter().cloned());
        let mut r = Reproduction::new(p, &a.out, opts)?;
        for row in rows {
            let name = a.name.as_deref().unwrap_or(row.name);
            for &seed in &a.seeds {
                let s = r.seed(row, name, seed, &overrides)?;
                let proxy = s
                    .proxy
                    .iter()
                    .find(|(k, _)| *k == s.best)
                    .map_or(0.0, |v| v.1);
                let fid = s.fid.map_or(String::new(), |v| format!(", FID {v:.2}"));
                println!(
                    "{name} seed {seed}: best by proxy {} ({proxy:.2}){fid}  [{}]",
                    s.best,
                    s.run_dir.display()
                );
            }
        }
    }
    if !a.out.is_dir() {
        bail!("--out {}: no such folder", a.out.display());
    }
    let table = reproduce::markdown(p, &reproduce::collect(p, &a.out, a.standing_stats.into())?);
    let path = a.out.join("table.md");
    adversarial::util::fs::write_atomic(&path, table.as_bytes())?;
    print!("\n{table}");
    println!("written to {}", path.display());
    Ok(())
}
