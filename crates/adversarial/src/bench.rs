//! The training-iteration benchmark of `shared/reference/README.md`: the same two models
//! (`mlp`, `dcgan`), the same iteration (one D step on 64 real + 64 detached fakes, one
//! non-saturating G step, Adam 2e-4 (0.5, 0.999)), timed through our real `Trainer`, and
//! side by side with the PyTorch reference script, alternating repetitions so that machine
//! drift hits both equally.

use crate::config::Config;
use crate::data::{Dataset, Source};
use crate::train::Trainer;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub warmup: usize,
    pub iters: usize,
    pub reps: usize,
    pub threads: usize,
    pub device: String,
    /// Minibatch size m (the reference benchmark's is 64).
    pub batch: i64,
    /// `float32`, or `bfloat16` (autocast on both sides: `train.precision` for ours, the
    /// reference script's `--amp`).
    pub precision: String,
    /// Image side for dcgan (the reference benchmark's is 32; only ours runs at others).
    pub resolution: i64,
    /// Our networks' memory layout, `model.memory_format` (the reference runs PyTorch's
    /// default, contiguous).
    pub memory_format: String,
    /// Python interpreter and script of the PyTorch reference; `None` skips it.
    pub reference: Option<(PathBuf, PathBuf)>,
    /// Run the reference's dcgan in channels-last memory format too (its `--channels-last`)
    /// instead of PyTorch's default.
    pub reference_channels_last: bool,
}

impl Default for BenchOptions {
    /// The reference benchmark's settings, without the reference.
    fn default() -> Self {
        BenchOptions {
            warmup: 5,
            iters: 50,
            reps: 3,
            threads: 2,
            device: "cpu".into(),
            batch: 64,
            precision: "float32".into(),
            resolution: 32,
            memory_format: "auto".into(),
            reference: None,
            reference_channels_last: false,
        }
    }
}

/// Result for one model.
#[derive(Debug, Clone)]
pub struct BenchResult {
    pub model: String,
    pub ours: Vec<f64>,
    pub torch: Vec<f64>,
    /// Peak resident memory of this process and of the reference processes so far (MiB).
    pub ours_peak_mib: f64,
    pub torch_peak_mib: Option<f64>,
}

impl BenchResult {
    pub fn ours_median(&self) -> f64 {
        median(&self.ours)
    }
    pub fn torch_median(&self) -> Option<f64> {
        (!self.torch.is_empty()).then(|| median(&self.torch))
    }
    /// ours / PyTorch, from the medians of one interleaved run.
    pub fn ratio(&self) -> Option<f64> {
        self.torch_median().map(|t| self.ours_median() / t)
    }
}

pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if s.is_empty() {
        return f64::NAN;
    }
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// The config of a benchmark model, identical to the reference script's.
pub fn bench_config(model: &str, opts: &BenchOptions) -> Result<Config> {
    let mut cfg = Config {
        threads: opts.threads,
        device: opts.device.clone(),
        ..Config::default()
    };
    cfg.model.g_width = 64;
    cfg.model.d_width = 64;
    match model {
        "dcgan" => cfg.model.resolution = opts.resolution,
        "mlp" => {
            cfg.model.arch = "mlp".into();
            cfg.model.resolution = 28;
        }
        other => bail!("unknown benchmark model {other:?}, expected mlp or dcgan"),
    }
    cfg.train.batch_size = opts.batch;
    cfg.train.precision = opts.precision.clone();
    cfg.model.memory_format = opts.memory_format.clone();
    cfg.validate()?;
    Ok(cfg)
}

/// Peak resident set size in MiB of this process (`children` = of its finished children).
pub fn peak_rss_mib(children: bool) -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let who = if children {
        libc::RUSAGE_CHILDREN
    } else {
        libc::RUSAGE_SELF
    };
    unsafe { libc::getrusage(who, &mut ru) };
    ru.ru_maxrss as f64 / 1024.0
}

/// Finds a Python with torch 2.13.0 and the reference script; `None` when either is missing.
/// A Python named explicitly is taken with whatever torch it has (the run prints it), for
/// machines where 2.13.0 cannot be installed.
pub fn find_reference(python: Option<&Path>, script: Option<&Path>) -> Option<(PathBuf, PathBuf)> {
    let explicit = python.map(Path::to_path_buf);
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let script = script.map(Path::to_path_buf).or_else(|| {
        let mut cands = vec![PathBuf::from("scripts/torch_gan_step_bench.py")];
        if let Some(d) = &exe_dir {
            cands.push(d.join("../../scripts/torch_gan_step_bench.py"));
        }
        cands.into_iter().find(|p| p.is_file())
    })?;
    let mut pys: Vec<PathBuf> = python.map(Path::to_path_buf).into_iter().collect();
    if let Ok(p) = std::env::var("GAN_PYTHON") {
        pys.push(p.into());
    }
    pys.push(".venv/bin/python".into());
    if let Some(d) = &exe_dir {
        pys.push(d.join("../../.venv/bin/python"));
    }
    pys.push("python3".into());
    let py = pys.into_iter().find(|p| {
        let check = if explicit.as_ref() == Some(p) {
            "import torch"
        } else {
            "import torch,sys; sys.exit(0 if torch.__version__.split('+')[0]=='2.13.0' else 1)"
        };
        Command::new(p)
            .args(["-c", check])
            .output()
            .is_ok_and(|o| o.status.success())
    })?;
    Some((py, script))
}

/// Times `iters` of our training iteration (one repetition), in it/s.
fn ours_rep(trainer: &mut Trainer, iters: usize) -> Result<f64> {
    let t0 = Instant::now();
    for _ in 0..iters {
        trainer.train_step()?;
    }
    Ok(iters as f64 / t0.elapsed().as_secs_f64())
}

fn torch_rep(py: &Path, script: &Path, model: &str, opts: &BenchOptions) -> Result<f64> {
    let out = Command::new(py)
        .arg(script)
        .arg(model)
        .args([
            "--warmup",
            &opts.warmup.to_string(),
            "--iters",
            &opts.iters.to_string(),
            "--reps",
            "1",
            "--device",
            &opts.device,
            "--batch",
            &opts.batch.to_string(),
        ])
        .args((opts.precision == "bfloat16").then_some("--amp"))
        .args(opts.reference_channels_last.then_some("--channels-last"))
        .output()
        .with_context(|| format!("running {} {}", py.display(), script.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "reference benchmark failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("RESULT torch {model} median ")))
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no RESULT line in the reference output:\n{text}"))
}

/// Profiles `opts.iters` of our iterations after the warm-up, operator by operator (see
/// `profile`), writing a Chrome trace to `trace` when given.
pub fn profile_model(
    model: &str,
    opts: &BenchOptions,
    trace: Option<&Path>,
) -> Result<crate::profile::Profile> {
    let mut trainer = warm_trainer(model, opts)?;
    let ((), p) = crate::profile::record(trace, || {
        for _ in 0..opts.iters {
            trainer.train_step()?;
        }
        Ok(())
    })?;
    Ok(p)
}

/// Our trainer for `model` on random data of the benchmark's shape, after the warm-up
/// iterations.
fn warm_trainer(model: &str, opts: &BenchOptions) -> Result<Trainer> {
    let cfg = bench_config(model, opts)?;
    let data = Source::images(
        Dataset::random(opts.batch * 16, cfg.model.channels, cfg.model.resolution, 0),
        opts.batch as usize,
        0,
    )?;
    let mut trainer = Trainer::new(&cfg, data)?;
    for _ in 0..opts.warmup {
        trainer.train_step()?;
    }
    Ok(trainer)
}

/// Runs one model's benchmark, ours and the reference alternating per repetition.
pub fn run_model(
    model: &str,
    opts: &BenchOptions,
    mut on_rep: impl FnMut(&str, usize, f64),
) -> Result<BenchResult> {
    let mut trainer = warm_trainer(model, opts)?;
    let mut res = BenchResult {
        model: model.into(),
        ours: vec![],
        torch: vec![],
        ours_peak_mib: 0.0,
        torch_peak_mib: None,
    };
    for r in 0..opts.reps {
        let rate = ours_rep(&mut trainer, opts.iters)?;
        on_rep("ours", r, rate);
        res.ours.push(rate);
        if let Some((py, script)) = &opts.reference {
            let rate = torch_rep(py, script, model, opts)?;
            on_rep("torch", r, rate);
            res.torch.push(rate);
        }
    }
    res.ours_peak_mib = peak_rss_mib(false);
    if opts.reference.is_some() {
        res.torch_peak_mib = Some(peak_rss_mib(true));
    }
    Ok(res)
}

/// Matmul GFLOP of one iteration at batch 64 (reference README's count at 32 px; it
/// scales with the batch), for the ceiling fraction; none for dcgan at other sides.
pub fn iteration_gflop(model: &str, resolution: i64) -> Option<f64> {
    match (model, resolution) {
        ("dcgan", 32) => Some(26.3),
        ("dcgan", _) => None,
        _ => Some(1.18),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The benchmark models must be exactly those of the PyTorch reference script.
    #[test]
    fn reference_models_have_the_reference_parameter_counts() {
        let bench_opts = BenchOptions {
            threads: 0,
            ..Default::default()
        };
        let models = |name: &str| {
            let cfg = bench_config(name, &bench_opts).unwrap();
            crate::models::build(&cfg.model, tch::Device::Cpu).unwrap()
        };
        let (dc, mlp) = (models("dcgan"), models("mlp"));
        // counts of torch_gan_step_bench.py's dcgan_models() / mlp_models()
        assert_eq!(dc.g.num_parameters(), 1_067_329);
        assert_eq!(dc.d.num_parameters(), 661_697);
        assert_eq!(mlp.g.num_parameters(), 1_486_352);
        assert_eq!(mlp.d.num_parameters(), 533_505);
    }
}
