//! `gan bench`: training speed side by side with the PyTorch reference, or an operator
//! profile.

use adversarial::bench::{self, BenchOptions};
use adversarial::device;
use anyhow::{bail, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// mlp, dcgan or all.
    #[arg(default_value = "all")]
    pub model: String,
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    #[arg(long, default_value_t = 50)]
    pub iters: usize,
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// libtorch threads (the reference uses 2).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Minibatch size (the reference benchmark's is 64).
    #[arg(long, default_value_t = 64)]
    pub batch: i64,
    /// `float32`, or `bfloat16` (autocast on both sides; for CPUs with AVX-512-BF16/AMX
    /// and GPUs, with a warning where the CPU only emulates bfloat16).
    #[arg(long, default_value = "float32")]
    pub precision: String,
    /// dcgan image side: 28, 32 (the reference's), 64 or 128; only ours runs at others.
    #[arg(long, default_value_t = 32)]
    pub resolution: i64,
    /// Our networks' memory layout (`model.memory_format`): auto, channels-last or
    /// contiguous. The reference runs PyTorch's default, contiguous, unless
    /// --reference-channels-last.
    #[arg(long, default_value = "auto")]
    pub memory_format: String,
    /// Run the reference's dcgan in channels-last memory format too, instead of PyTorch's
    /// default (contiguous).
    #[arg(long)]
    pub reference_channels_last: bool,
    /// Skip the PyTorch side.
    #[arg(long)]
    pub no_reference: bool,
    /// Python with torch==2.13.0 (default: $GAN_PYTHON, ./.venv/bin/python, python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// The reference script (default: scripts/torch_gan_step_bench.py).
    #[arg(long)]
    pub script: Option<PathBuf>,
    /// Instead of timing, profile `--iters` of our iterations operator by operator
    /// (libtorch's profiler, as torch.profiler) and print the top operators by self time.
    #[arg(long)]
    pub profile: bool,
    /// With --profile: also write a Chrome trace (open in Perfetto or chrome://tracing).
    #[arg(long, value_name = "FILE", requires = "profile")]
    pub trace: Option<PathBuf>,
    /// With --profile: how many operators to list.
    #[arg(long, default_value_t = 25, requires = "profile")]
    pub top: usize,
}

pub fn run(a: BenchArgs) -> Result<()> {
    let dev = device::parse_device(&a.device)?;
    let models: Vec<&str> = match a.model.as_str() {
        "all" => vec!["mlp", "dcgan"],
        "mlp" => vec!["mlp"],
        "dcgan" => vec!["dcgan"],
        other => bail!("unknown benchmark model {other:?}: expected mlp, dcgan or all"),
    };
    let reference = if a.no_reference || a.profile {
        None
    } else if a.resolution != 32 {
        eprintln!(
            "note: the reference script is fixed at 32 px; timing ours only at {} px",
            a.resolution
        );
        None
    } else {
        let r = bench::find_reference(a.python.as_deref(), a.script.as_deref());
        if r.is_none() {
            eprintln!("note: no Python with torch==2.13.0 and reference script found; timing ours only (see --python/--script)");
        }
        r
    };
    let opts = BenchOptions {
        warmup: a.warmup,
        iters: a.iters,
        reps: a.reps,
        threads: a.threads,
        device: a.device.clone(),
        batch: a.batch,
        precision: a.precision.clone(),
        resolution: a.resolution,
        memory_format: a.memory_format.clone(),
        reference,
        reference_channels_last: a.reference_channels_last,
    };
    let runs = if a.profile {
        format!("{} profiled iterations", a.iters)
    } else {
        format!("{} reps × {} iterations", a.reps, a.iters)
    };
    println!(
        "gan bench: batch {}, dcgan {} px, {}, memory format {}, {} warm-up + {runs}, {} threads, device {}, libtorch {}",
        a.batch,
        a.resolution,
        a.precision,
        if a.reference_channels_last {
            format!("{} (reference: channels-last)", a.memory_format)
        } else {
            a.memory_format.clone()
        },
        a.warmup,
        a.threads,
        a.device,
        tch_version()
    );
    if a.precision == "bfloat16" {
        if let Some(w) = device::bf16_emulated(dev, "this benchmark") {
            println!("warning: {w}");
        }
    }
    if a.profile {
        for m in models {
            let trace = a.trace.as_ref().map(|t| {
                if a.model == "all" {
                    t.with_file_name(format!(
                        "{m}-{}",
                        t.file_name().unwrap_or_default().to_string_lossy()
                    ))
                } else {
                    t.clone()
                }
            });
            let p = bench::profile_model(m, &opts, trace.as_deref())?;
            println!("\n{m}: {} iterations profiled\n", a.iters);
            print!("{}", p.table(a.iters, a.top));
            if let Some(t) = &trace {
                println!("Chrome trace: {}", t.display());
            }
        }
        return Ok(());
    }
    let mut results = Vec::new();
    for m in models {
        let r = bench::run_model(m, &opts, |who, rep, rate| {
            println!("  {m:5} rep {rep} {who:5} {rate:8.3} it/s")
        })?;
        results.push(r);
    }
    println!("\n| model | ours it/s | PyTorch eager it/s | ratio | ours GFLOP/s | peak RSS ours / PyTorch |");
    println!("|---|---|---|---|---|---|");
    for r in &results {
        let (t, ratio, tpk) = match (r.torch_median(), r.ratio(), r.torch_peak_mib) {
            (Some(t), Some(x), Some(p)) => {
                (format!("{t:.2}"), format!("{x:.2}x"), format!("{p:.0} MiB"))
            }
            _ => ("–".into(), "–".into(), "–".into()),
        };
        let gflops = bench::iteration_gflop(&r.model, a.resolution).map_or("–".into(), |g| {
            format!("{:.0}", r.ours_median() * g * a.batch as f64 / 64.0)
        });
        println!(
            "| {} | {:.2} | {} | {} | {gflops} | {:.0} MiB / {} |",
            r.model,
            r.ours_median(),
            t,
            ratio,
            r.ours_peak_mib,
            tpk
        );
    }
    for r in &results {
        if let Some(x) = r.ratio() {
            println!("RESULT {} ratio {:.3}", r.model, x);
        }
    }
    Ok(())
}

fn tch_version() -> &'static str {
    "2.13.0 (tch 0.26)"
}
