//! `gan`: the command-line face of the adversarial toolkit. Parses arguments, resolves the
//! config and calls the library; nothing here trains or measures on its own.

use adversarial::bench::{self, BenchOptions};
use adversarial::config::TextConfig;
use adversarial::lab::figure1;
use adversarial::lab::optimal_d::{self, OptimalDOptions};
use adversarial::lab::sweep;
use adversarial::report::grid;
use adversarial::train::text as text_train;
use adversarial::train::{self, run, run::Progress};
use adversarial::{device, Config};
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

#[derive(Parser)]
#[command(
    name = "gan",
    version,
    about = "Train, sample and benchmark generative adversarial networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train a GAN (default: DCGAN on the embedded MNIST-5k digits).
    Train(TrainArgs),
    /// Generate samples, a grid or a latent interpolation strip from a checkpoint.
    Sample(SampleArgs),
    /// Time training iterations side by side with the PyTorch reference.
    Bench(BenchArgs),
    /// Print the default configuration (a starting point for a config file).
    Config,
    /// Compare two image sets with Inception features: FID, KID, precision/recall,
    /// density/coverage. Each set is a checkpoint/run directory (its samples) or a dataset
    /// `DATASET[:SPLIT[:START:END]]` (mnist5k, mnist, fashion-mnist, folder=PATH, idx=PATH).
    /// Dataset features are cached; a run directory gets the results appended to its
    /// eval.jsonl.
    Eval(EvalArgs),
    /// The theory lab on toy data with known densities.
    #[command(subcommand)]
    Toy(ToyCmd),
    /// Memorization check: each generated sample's nearest training images (pixels and
    /// features), as a panel, and nearest-neighbour distances against held-out real images.
    Memorization(MemorizationArgs),
    /// The domain classifiers behind the Inception Score, class coverage and Stacked-MNIST
    /// modes: train one with this project's code, or measure its accuracy.
    #[command(subcommand)]
    Classifier(ClassifierCmd),
    /// Apply a trained image-to-image translator (pix2pix): to an image or a folder
    /// (`input | output` side by side), or with no input to its held-out pairs, scored
    /// against the true counterparts (L1, PSNR, SSIM, FID) beside the untranslated inputs.
    Translate(TranslateArgs),
    /// Sequence GANs on discrete tokens: SeqGAN (policy gradient with Monte Carlo
    /// roll-outs), Gumbel-softmax, and the maximum-likelihood baseline, on SeqGAN's
    /// synthetic oracle benchmark or on text.
    #[command(subcommand)]
    Text(TextCmd),
    /// Write a run's report: one self-contained HTML file (config, loss and D-output
    /// curves, metric curves, the sample timeline, evaluations, figures, warnings).
    Report(ReportArgs),
    /// Serve a dashboard of the runs under a folder on a local port: their state and
    /// warnings, curves of several runs on one chart, and live reports.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ReportArgs {
    /// Run directories (each gets its own report).
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// Output file (default: RUN/report.html); only with one run.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Folder holding run directories, at any depth up to four (default: runs).
    #[arg(default_value = "runs")]
    root: PathBuf,
    /// Address to listen on; 127.0.0.1 keeps the dashboard private to this machine.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8000)]
    port: u16,
}

#[derive(Subcommand)]
enum TextCmd {
    /// Train a sequence GAN (default: SeqGAN on the synthetic oracle benchmark).
    Train(TextTrainArgs),
    /// Print sentences sampled from a trained text generator.
    Sample(TextSampleArgs),
    /// Print the default text configuration.
    Config,
}

#[derive(clap::Args)]
struct TextTrainArgs {
    /// TOML file overriding the defaults (see `gan text config`).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Override one key, e.g. --set train.adv_rounds=50 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Run directory (default: a new runs/text-<method>-<source>-<n>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in this directory from its latest checkpoint.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["config", "overrides", "out", "seed"])]
    resume: Option<PathBuf>,
    #[arg(long)]
    seed: Option<u64>,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct TextSampleArgs {
    /// A text run directory or its checkpoint.
    checkpoint: PathBuf,
    /// Number of sentences.
    #[arg(long, short, default_value_t = 20)]
    n: i64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the sentences to this file (one per line) instead of printing them.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(clap::Args)]
struct TranslateArgs {
    /// A checkpoint file or a run directory of a pix2pix run.
    checkpoint: PathBuf,
    /// An image file or a folder of images to translate; without it, the held-out pairs.
    input: Option<PathBuf>,
    /// Output folder (default: <run>/translated, or <run>/translate-eval for held-out pairs).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Feature space of the FID on held-out pairs, or `none` to skip it.
    #[arg(long, default_value = "inception-v3-fid")]
    features: String,
    /// Rows of the held-out panel (source | translation | truth).
    #[arg(long, default_value_t = 12)]
    panel: i64,
    /// CycleGAN: translate B → A with its second generator F.
    #[arg(long)]
    reverse: bool,
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(clap::Args)]
struct MemorizationArgs {
    /// The generated set: a checkpoint or run directory (or any set spec).
    a: String,
    /// The training set, as a dataset spec (e.g. mnist5k).
    train: String,
    /// Held-out real images, never trained on (e.g. mnist5k:test:0:1000).
    test: String,
    /// Spaces, comma-separated: pixels and/or feature extractors (inception-v3-fid,
    /// mnist-cnn, fashion-cnn).
    #[arg(long, value_delimiter = ',', default_value = "pixels,inception-v3-fid")]
    spaces: Vec<String>,
    /// Samples drawn from a generator.
    #[arg(long, default_value_t = 1000)]
    n: i64,
    /// Nearest training images shown per sample.
    #[arg(long, default_value_t = 3)]
    k: i64,
    /// Samples in the panel (those nearest to the training set).
    #[arg(long, default_value_t = 10)]
    rows: i64,
    /// Output folder (default: the run directory of A, else runs/memorization).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    sampling: SamplingArgs,
}

#[derive(Subcommand)]
enum ClassifierCmd {
    /// Train a domain CNN (defaults per name reproduce the shipped weights).
    Train(ClassifierTrainArgs),
    /// Accuracy of a classifier on a labelled dataset slice.
    Test(ClassifierTestArgs),
}

#[derive(clap::Args)]
struct ClassifierTrainArgs {
    /// mnist-cnn or fashion-cnn (picks the default data and augmentation).
    name: String,
    /// Training sets, comma-separated dataset specs (default per name).
    #[arg(long, value_delimiter = ',')]
    train: Vec<String>,
    /// Test set spec (default per name).
    #[arg(long)]
    test: Option<String>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long, default_value_t = 64)]
    batch: i64,
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// digits, clothes or none (default per name).
    #[arg(long)]
    augment: Option<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write the weights (default: data/classifiers/NAME.safetensors).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(clap::Args)]
struct ClassifierTestArgs {
    /// A shipped classifier (mnist-cnn, fashion-cnn) or file=PATH.
    name: String,
    /// A labelled dataset spec, e.g. mnist5k:test:3000:5000.
    data: String,
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// The set to judge (generated samples, usually).
    a: String,
    /// The reference set (real images, usually).
    b: String,
    /// Metrics, comma-separated: fid, kid, prdc (on features), parzen (on pixels), is,
    /// classes, stacked-modes (on a classifier's view of A).
    #[arg(long, value_delimiter = ',', default_value = "fid,kid,prdc")]
    metrics: Vec<String>,
    /// Feature extractor for fid, kid, prdc: inception-v3-fid, mnist-cnn or fashion-cnn.
    #[arg(long, default_value = "inception-v3-fid")]
    features: String,
    /// Classifier for is, classes, stacked-modes: mnist-cnn, fashion-cnn, file=PATH (from
    /// `gan classifier train`) or torchscript=PATH (logits from Inception-style input, e.g.
    /// the ImageNet Inception-v3). Default: the shipped CNN that fits B's (else A's) data.
    #[arg(long)]
    classifier: Option<String>,
    /// Validation set for the Parzen bandwidth (e.g. mnist:train:50000:60000).
    #[arg(long)]
    parzen_valid: Option<String>,
    /// Samples drawn from a generator.
    #[arg(long, default_value_t = 10_000)]
    n: i64,
    #[command(flatten)]
    sampling: SamplingArgs,
}

/// How a checkpoint's generator is sampled (`gan sample`, `gan eval`).
#[derive(clap::Args)]
struct SamplingArgs {
    /// Seed of the generator's noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Use G's raw weights even when the run kept an EMA copy.
    #[arg(long)]
    no_ema: bool,
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(Subcommand)]
enum ToyCmd {
    /// Freeze G, train D to convergence, and compare D with D* = p_data/(p_data + p_g) and
    /// V(G, D) with −2 log 2 + 2 JSD (Goodfellow et al. 2014, Prop. 1 and Thm. 1).
    OptimalD(OptimalDArgs),
    /// Figure 1 of the GAN paper from a real run: p_data, p_g and D(x) at several moments.
    Figure1(Figure1Args),
    /// Mode-collapse table: configs × ring8/grid25 × seeds, mean ± std of modes covered,
    /// high-quality samples and KL to uniform (VEEGAN/PacGAN metrics). Resumable.
    Modes(ModesArgs),
}

#[derive(clap::Args)]
struct ModesArgs {
    /// 2-D toy config files, one table row each (default: every file in configs/toy/).
    #[arg(long = "config", short)]
    configs: Vec<PathBuf>,
    /// Benchmarks, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "ring8,grid25")]
    bench: Vec<String>,
    /// Seeds 1..=N per config and benchmark.
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// Iterations per run (default: each config's train.steps).
    #[arg(long)]
    steps: Option<u64>,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Runs trained at once, one thread each (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    #[arg(long, default_value = "runs/modes")]
    out: PathBuf,
}

#[derive(clap::Args)]
struct Figure1Args {
    /// 1-D toy config (default: configs/toy-1d.toml, built in).
    #[arg(long, short)]
    config: Option<PathBuf>,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Iterations at which to draw, comma-separated and increasing.
    #[arg(long, value_delimiter = ',', default_value = "0,50,200,1000,3000")]
    at: Vec<u64>,
    #[arg(long, default_value_t = 100_000)]
    samples: i64,
    #[arg(long, default_value = "runs/figure1")]
    out: PathBuf,
}

#[derive(clap::Args)]
struct OptimalDArgs {
    /// 1-D toy config (default: configs/toy-1d.toml, built in).
    #[arg(long, short)]
    config: Option<PathBuf>,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// GAN iterations before G is frozen.
    #[arg(long, default_value_t = 30)]
    g_steps: u64,
    /// D-only steps against the frozen G.
    #[arg(long, default_value_t = 6000)]
    d_steps: u64,
    /// D's starting learning rate in the D-only phase (cosine decay to 1% of it).
    #[arg(long, default_value_t = 1e-2)]
    d_lr: f64,
    /// Real and generated samples per D-only step.
    #[arg(long, default_value_t = 2048)]
    d_batch: i64,
    /// Samples (quadrature points of G's noise, and draws from p_data).
    #[arg(long, default_value_t = 100_000)]
    samples: i64,
    /// Output folder for optimal_d.json and optimal_d.png.
    #[arg(long, default_value = "runs/optimal-d")]
    out: PathBuf,
}

#[derive(clap::Args, Default)]
struct TrainArgs {
    /// TOML file overriding the defaults (see `gan config`).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Override one key, e.g. --set train.steps=500 --set model.arch=mlp (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Run directory (default: a new runs/<arch>-<source>-<n>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in this directory from its latest checkpoint.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["config", "overrides", "out", "data", "dataset", "seed", "device"])]
    resume: Option<PathBuf>,
    /// Number of iterations (train.steps); with --resume, extends the run.
    #[arg(long)]
    steps: Option<u64>,
    /// Data source: mnist5k, fashion-mnist, mnist, idx or folder (data.source).
    #[arg(long)]
    dataset: Option<String>,
    /// Data path: an image folder, an IDX file, or a folder of MNIST-style IDX files.
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long)]
    seed: Option<u64>,
    /// cpu, cuda or cuda:N.
    #[arg(long)]
    device: Option<String>,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct SampleArgs {
    /// A checkpoint file or a run directory (its latest checkpoint).
    checkpoint: PathBuf,
    /// Number of samples.
    #[arg(long, short, default_value_t = 64)]
    n: i64,
    /// Grid PNG to write (default: <run>/samples/sample-grid.png or ./sample-grid.png).
    #[arg(long)]
    grid: Option<PathBuf>,
    /// Also write each sample as its own PNG into this folder.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Write a latent interpolation strip with this many frames per row.
    #[arg(long, value_name = "FRAMES")]
    interpolate: Option<i64>,
    /// Rows of the interpolation strip.
    #[arg(long, default_value_t = 8)]
    rows: i64,
    /// Class-conditional models: draw every sample of this class. Without it, the samples
    /// form a class-by-noise grid: one row per class, one noise vector per column.
    #[arg(long, value_name = "CLASS")]
    class: Option<i64>,
    #[command(flatten)]
    sampling: SamplingArgs,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// mlp, dcgan or all.
    #[arg(default_value = "all")]
    model: String,
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    #[arg(long, default_value_t = 50)]
    iters: usize,
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// libtorch threads (the reference uses 2).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Minibatch size (the reference benchmark's is 64).
    #[arg(long, default_value_t = 64)]
    batch: i64,
    /// `float32`, or `bfloat16` (autocast on both sides; on CPUs with AVX-512-BF16/AMX
    /// and on GPUs).
    #[arg(long, default_value = "float32")]
    precision: String,
    /// dcgan image side: 28, 32 (the reference's), 64 or 128; only ours runs at others.
    #[arg(long, default_value_t = 32)]
    resolution: i64,
    /// Our networks' memory layout (`model.memory_format`): auto, channels-last or
    /// contiguous. The reference runs PyTorch's default, contiguous, unless
    /// --reference-channels-last.
    #[arg(long, default_value = "auto")]
    memory_format: String,
    /// Run the reference's dcgan in channels-last memory format too, instead of PyTorch's
    /// default (contiguous).
    #[arg(long)]
    reference_channels_last: bool,
    /// Skip the PyTorch side.
    #[arg(long)]
    no_reference: bool,
    /// Python with torch==2.13.0 (default: $GAN_PYTHON, ./.venv/bin/python, python3).
    #[arg(long)]
    python: Option<PathBuf>,
    /// The reference script (default: scripts/torch_gan_step_bench.py).
    #[arg(long)]
    script: Option<PathBuf>,
    /// Instead of timing, profile `--iters` of our iterations operator by operator
    /// (libtorch's profiler, as torch.profiler) and print the top operators by self time.
    #[arg(long)]
    profile: bool,
    /// With --profile: also write a Chrome trace (open in Perfetto or chrome://tracing).
    #[arg(long, value_name = "FILE", requires = "profile")]
    trace: Option<PathBuf>,
    /// With --profile: how many operators to list.
    #[arg(long, default_value_t = 25, requires = "profile")]
    top: usize,
}

fn main() {
    device::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Cmd::Train(TrainArgs::default())) {
        Cmd::Train(a) => cmd_train(a),
        Cmd::Sample(a) => cmd_sample(a),
        Cmd::Bench(a) => cmd_bench(a),
        Cmd::Eval(a) => cmd_eval(a),
        Cmd::Toy(ToyCmd::OptimalD(a)) => cmd_optimal_d(a),
        Cmd::Toy(ToyCmd::Figure1(a)) => cmd_figure1(a),
        Cmd::Toy(ToyCmd::Modes(a)) => cmd_modes(a),
        Cmd::Memorization(a) => cmd_memorization(a),
        Cmd::Classifier(ClassifierCmd::Train(a)) => cmd_classifier_train(a),
        Cmd::Classifier(ClassifierCmd::Test(a)) => cmd_classifier_test(a),
        Cmd::Translate(a) => cmd_translate(a),
        Cmd::Text(TextCmd::Train(a)) => cmd_text_train(a),
        Cmd::Text(TextCmd::Sample(a)) => cmd_text_sample(a),
        Cmd::Report(a) => cmd_report(a),
        Cmd::Serve(a) => cmd_serve(a),
        Cmd::Text(TextCmd::Config) => {
            print!("{}", TextConfig::default().to_toml_string());
            Ok(())
        }
        Cmd::Config => {
            print!("{}", Config::default().to_toml_string());
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn cmd_train(a: TrainArgs) -> Result<()> {
    let progress = if a.quiet {
        Progress::Quiet
    } else {
        Progress::Auto
    };
    let summary = if let Some(dir) = &a.resume {
        run::resume(dir, a.steps, progress)?
    } else {
        let mut overrides = Vec::new();
        if let Some(d) = &a.data {
            overrides.push(format!("data.path={}", toml_str(&d.display().to_string())));
            if a.dataset.is_none() {
                overrides.push(format!("data.source={}", infer_source(d)?));
            }
        }
        if let Some(s) = &a.dataset {
            overrides.push(format!("data.source={}", toml_str(s)));
        }
        if let Some(s) = a.seed {
            overrides.push(format!("seed={s}"));
        }
        if let Some(d) = &a.device {
            overrides.push(format!("device={}", toml_str(d)));
        }
        if let Some(s) = a.steps {
            overrides.push(format!("train.steps={s}"));
        }
        overrides.extend(a.overrides.iter().cloned());
        let cfg = Config::resolve(a.config.as_deref(), &overrides)?;
        let out = a
            .out
            .clone()
            .unwrap_or_else(|| run::new_run_dir(Path::new("runs"), &cfg));
        run::start(&cfg, &out, progress)?
    };
    if !a.quiet && adversarial::distributed::is_main()? {
        let s = &summary.final_stats;
        println!(
            "done: {} iterations, {:.0} s in all, {:.2} it/s this session\n\
             last 100 iterations: D loss {:.3}  G loss {:.3}  D(x) {:.3}  D(G(z)) {:.3}  \
             D out real {:.3} fake {:.3}  penalty {:.3}\n\
             samples:    {}\ncheckpoint: {}\nmetrics:    {}",
            summary.steps,
            summary.elapsed_s,
            summary.it_per_s,
            s.d_loss,
            s.g_loss,
            s.d_real,
            s.d_fake,
            s.out_real,
            s.out_fake,
            s.penalty,
            summary.samples.display(),
            summary.checkpoint.display(),
            summary.run_dir.join("metrics.jsonl").display()
        );
        if summary.session_s > 0.0 {
            println!(
                "waited {:.2} s for data ({:.1}% of this session's {:.0} s)",
                summary.data_wait_s,
                100.0 * summary.data_wait_s / summary.session_s,
                summary.session_s
            );
        }
        if let Some(w) = s.d_mismatched {
            println!("D(x, wrong y) {w:.3} on real images given a wrong label");
        }
        if let Some(v) = s.l1 {
            println!("L1 |G(A) − B| {v:.4} (images in [−1, 1])");
        }
        if let Some(v) = s.cycle {
            let idt = s
                .identity
                .map_or(String::new(), |i| format!("  identity {i:.4}"));
            println!("cycle {v:.4}{idt} (unweighted L1, images in [−1, 1])");
        }
        if let Some(m) = &summary.modes {
            println!(
                "modes (2,500 samples): {}/{} covered, {:.1}% high quality, KL to uniform {:.3}",
                m.modes_covered,
                m.total_modes,
                100.0 * m.high_quality,
                m.kl_to_uniform
            );
        }
    }
    Ok(())
}

/// A TOML string literal (Rust's escaping of printable text is valid TOML).
fn toml_str(s: &str) -> String {
    format!("{s:?}")
}

/// An IDX file → `idx`; a folder of MNIST-style IDX files → `mnist`; other folders → `folder`.
fn infer_source(path: &Path) -> Result<&'static str> {
    if path.is_file() {
        return Ok("idx");
    }
    if !path.is_dir() {
        bail!("--data {}: no such file or folder", path.display());
    }
    let idx_layout = [
        "train-images-idx3-ubyte",
        "train-images-idx3-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-images-idx3-ubyte",
    ]
    .iter()
    .any(|f| path.join(f).is_file());
    Ok(if idx_layout { "mnist" } else { "folder" })
}

fn cmd_sample(a: SampleArgs) -> Result<()> {
    let dev = device::parse_device(&a.sampling.device)?;
    let (cfg, g) = train::load_generator(&a.checkpoint, !a.sampling.no_ema, dev)?;
    if a.n <= 0 {
        bail!("--n must be positive");
    }
    let classes = g.classes();
    let rng = adversarial::rng::torch_rng();
    rng.seed(a.sampling.seed);
    let latent = match a.class {
        Some(_) if classes == 0 => bail!(
            "--class: {} is an unconditional model (trained with model.classes = 0)",
            a.checkpoint.display()
        ),
        Some(c) if !(0..classes).contains(&c) => {
            bail!("--class {c}: the model knows classes 0..{}", classes - 1)
        }
        Some(c) => train::Latent {
            z: train::noise(&cfg.model.prior, a.n, cfg.model.z_dim, dev),
            y: Some(Tensor::full([a.n], c, (Kind::Int64, dev))),
            columns: (a.n as f64).sqrt().ceil() as i64,
            targets: None,
        },
        None if classes > 0 => {
            let columns = (a.n / classes).max(1);
            train::class_grid(&cfg.model.prior, cfg.model.z_dim, classes, columns, dev)
        }
        None => train::Latent {
            z: train::noise(&cfg.model.prior, a.n, cfg.model.z_dim, dev),
            y: None,
            columns: (a.n as f64).sqrt().ceil() as i64,
            targets: None,
        },
    };
    let images = tch::no_grad(|| g.forward_y(&latent.z, latent.y.as_ref(), false));
    let n = images.size()[0];
    let base = if a.checkpoint.is_dir() {
        a.checkpoint.join("samples")
    } else {
        PathBuf::from(".")
    };
    let grid_path = a
        .grid
        .clone()
        .unwrap_or_else(|| base.join("sample-grid.png"));
    if cfg.data.source == "toy" {
        // toy generators output points, not images: a scatter plot over the true modes
        let mix = adversarial::data::toy::GaussianMixture::named(&cfg.data.toy)?;
        if mix.dim() != 2 || a.dir.is_some() || a.interpolate.is_some() {
            bail!(
                "{} is a {}-D toy model: `gan sample` draws 2-D toy samples as a scatter plot (no --dir or --interpolate); for 1-D models use `gan toy figure1`",
                a.checkpoint.display(),
                mix.dim()
            );
        }
        let reach = mix
            .centers
            .iter()
            .flatten()
            .fold(0.0f64, |m, &v| m.max(v.abs()));
        let title = format!("{}: {n} samples (blue), modes (red)", cfg.data.toy);
        adversarial::report::scatter::save_scatter(
            &images.flatten(1, -1).to_device(tch::Device::Cpu),
            &mix.centers_tensor(),
            reach * 1.5,
            &title,
            &grid_path,
        )?;
        println!("scatter plot of {n} samples: {}", grid_path.display());
        return Ok(());
    }
    grid::save_png(&grid::tile(&images, latent.columns, 2, 0)?, &grid_path)?;
    let what = match (a.class, classes) {
        (Some(c), _) => format!(" of class {c}"),
        (None, k) if k > 0 => format!(" ({k} classes × {} noise vectors)", latent.columns),
        _ => String::new(),
    };
    println!("grid of {n} samples{what}: {}", grid_path.display());
    if let Some(dir) = &a.dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for i in 0..n {
            grid::save_png(
                &grid::to_bytes(&images.get(i).unsqueeze(0)).get(0),
                &dir.join(format!("sample-{i:05}.png")),
            )?;
        }
        println!("{n} sample images in {}", dir.display());
    }
    if let Some(frames) = a.interpolate {
        if frames < 2 || a.rows < 1 {
            bail!("--interpolate needs at least 2 frames and --rows at least 1");
        }
        let ends = train::noise(&cfg.model.prior, 2 * a.rows, cfg.model.z_dim, dev);
        let (z0, z1) = (ends.narrow(0, 0, a.rows), ends.narrow(0, a.rows, a.rows));
        let t = Tensor::linspace(0.0, 1.0, frames, (Kind::Float, dev));
        // spherical interpolation keeps Gaussian noise at a typical norm along the path
        let zs = if cfg.model.prior == "gaussian" {
            slerp(&z0, &z1, &t)
        } else {
            lerp(&z0, &z1, &t)
        };
        // a conditional model keeps one class along each row: --class, else row i → class i
        let y = (classes > 0).then(|| {
            let rows = Tensor::arange(a.rows, (Kind::Int64, dev));
            let per_row = match a.class {
                Some(c) => rows.full_like(c),
                None => rows.remainder(classes),
            };
            per_row.repeat_interleave_self_int(frames, 0, None)
        });
        let strip =
            tch::no_grad(|| g.forward_y(&zs.view([-1, cfg.model.z_dim]), y.as_ref(), false));
        let path = grid_path.with_file_name("interpolation.png");
        grid::save_png(&grid::tile(&strip, frames, 2, 0)?, &path)?;
        println!(
            "interpolation strip ({} rows × {frames} frames): {}",
            a.rows,
            path.display()
        );
    }
    Ok(())
}

/// Rows×frames×z of linear interpolations between z0 and z1 (rows×z each).
fn lerp(z0: &Tensor, z1: &Tensor, t: &Tensor) -> Tensor {
    let t = t.view([1, -1, 1]);
    z0.unsqueeze(1) * (t.ones_like() - &t) + z1.unsqueeze(1) * t
}

fn slerp(z0: &Tensor, z1: &Tensor, t: &Tensor) -> Tensor {
    let cos = (z0 * z1).sum_dim_intlist(1, true, Kind::Float)
        / (z0.norm_scalaropt_dim(2, [1], true) * z1.norm_scalaropt_dim(2, [1], true));
    let omega = cos.clamp(-1.0, 1.0).acos().unsqueeze(1); // rows×1×1
    let so = omega.sin().clamp_min(1e-6);
    let t = t.view([1, -1, 1]);
    let a: Tensor = (t.ones_like() - &t) * &omega;
    let b: Tensor = &t * &omega;
    let (a, b) = (a.sin() / &so, b.sin() / &so);
    z0.unsqueeze(1) * a + z1.unsqueeze(1) * b
}

const TOY_1D: &str = include_str!("../../../configs/toy-1d.toml");

/// A 1-D toy config: the given file, or the built-in toy-1d.toml, with overrides.
fn toy_config(file: Option<&Path>, overrides: &[String]) -> Result<Config> {
    match file {
        Some(path) => Config::resolve(Some(path), overrides),
        None => Config::resolve_text(TOY_1D, "the built-in configs/toy-1d.toml", overrides),
    }
}

fn cmd_figure1(a: Figure1Args) -> Result<()> {
    let cfg = toy_config(a.config.as_deref(), &a.overrides)?;
    let snaps = figure1::run(&cfg, &a.at, a.samples, &a.out)?;
    println!("| iteration | JSD(p_data ‖ p_g) | mean abs(D − ½) under p_data | chart |\n|---|---|---|---|");
    for s in &snaps {
        println!(
            "| {} | {:.4} | {:.4} | {} |",
            s.iteration,
            s.jsd,
            s.d_away_from_half,
            s.chart.display()
        );
    }
    println!("charts: p_data black, p_g green, D blue");
    Ok(())
}

fn cmd_eval(a: EvalArgs) -> Result<()> {
    use adversarial::metrics::{classifier, eval, features};
    let s = &a.sampling;
    let dev = device::parse_device(&s.device)?;
    let sa = eval::ImageSet::parse(&a.a, a.n, s.seed, !s.no_ema)?;
    let sb = eval::ImageSet::parse(&a.b, a.n, s.seed, !s.no_ema)?;
    let valid = a
        .parzen_valid
        .as_deref()
        .map(|spec| eval::ImageSet::parse(spec, a.n, s.seed, !s.no_ema))
        .transpose()?;
    let net = if eval::wants_any(&a.metrics, eval::FEATURE_METRICS) {
        Some(features::by_name(&a.features, dev)?)
    } else {
        None
    };
    let classifier = if eval::wants_any(&a.metrics, eval::CLASSIFIER_METRICS) {
        let name = match &a.classifier {
            Some(n) => n.clone(),
            None => eval::default_classifier(&sb)
                .or_else(|| eval::default_classifier(&sa))
                .context("no shipped classifier fits these sets: choose one with --classifier")?
                .to_string(),
        };
        Some(classifier::by_name(&name, dev)?)
    } else {
        None
    };
    let with = eval::Instruments {
        extractor: net.as_deref(),
        classifier: classifier.as_deref(),
        parzen_valid: valid.as_ref(),
    };
    let r = eval::evaluate(&sa, &sb, &a.metrics, with, dev)?;
    if r.extractor != "inception-v3-fid" && r.fid.is_some() {
        println!("(features: {})", r.extractor);
    }
    if let Some(v) = r.fid {
        println!("FID {v:.6}");
    }
    if let Some(k) = r.kid {
        println!(
            "KID {:.6} ± {:.6}  ({} subsets of {})",
            k.mean, k.std, k.subsets, k.subset_size
        );
    }
    if let Some(p) = r.parzen {
        println!(
            "Parzen log-likelihood {:.1} ± {:.1} (σ {:.3}; {} samples, {} test images)",
            p.mean, p.std_err, p.sigma, p.samples, p.test
        );
    }
    if let Some(is) = &r.inception_score {
        println!(
            "Inception Score {:.3} ± {:.3} ({} splits; classifier {})",
            is.mean, is.std, is.splits, is.classifier
        );
    }
    if let Some(c) = &r.classes {
        println!(
            "classes covered {}/{} (≥ {:.0}% of their share)  KL to reference {:.4}  mean confidence {:.3}\n  per class: {:?}",
            c.covered,
            c.counts.len(),
            100.0 * adversarial::metrics::classes::COVERED_FRACTION,
            c.kl_to_reference,
            c.mean_confidence,
            c.counts
        );
        if let Some(r) = &c.requested {
            let per: Vec<String> = r.per_class.iter().map(|a| format!("{:.3}", a)).collect();
            println!(
                "requested class (or label) read back: {:.2}% of samples  per class: [{}]",
                100.0 * r.accuracy,
                per.join(", ")
            );
        }
    }
    if let Some(m) = &r.stacked_modes {
        println!(
            "Stacked-MNIST modes covered {}/1000  KL to uniform {:.4}  ({} samples)",
            m.covered, m.kl_to_uniform, m.samples
        );
    }
    if let (Some(pr), Some(dc)) = (r.precision_recall, r.density_coverage) {
        println!(
            "precision {:.4}  recall {:.4}  (k = 3)\ndensity {:.4}  coverage {:.4}  (k = 5)",
            pr.precision, pr.recall, dc.density, dc.coverage
        );
    }
    println!(
        "{} vs {}: {} and {} images, {:.0} s{}",
        r.a,
        r.b,
        r.n_a,
        r.n_b,
        r.seconds,
        r.images_per_s
            .map(|v| format!("; features at {v:.2} images/s"))
            .unwrap_or_default()
    );
    for spec in [&a.a, &a.b] {
        let dir = Path::new(spec);
        if dir.join("checkpoint.safetensors").is_file() {
            eval::append_result(&dir.join("eval.jsonl"), &r)?;
            println!("appended to {}", dir.join("eval.jsonl").display());
        }
    }
    Ok(())
}

fn cmd_report(a: ReportArgs) -> Result<()> {
    if a.out.is_some() && a.runs.len() > 1 {
        bail!("--out names one file; give one run with it");
    }
    for run in &a.runs {
        let (path, alerts) = adversarial::report::html::write_report(run, a.out.as_deref())?;
        for al in &alerts {
            eprintln!("warning: {}: {}", run.display(), al.message);
        }
        println!("{}", path.display());
    }
    Ok(())
}

fn cmd_serve(a: ServeArgs) -> Result<()> {
    let addr = format!("{}:{}", a.host, a.port);
    let server = adversarial::report::serve::Dashboard::bind(&a.root, &addr)?;
    let bound = server.local_addr().map_or(addr, |s| s.to_string());
    // the first line of output is the address, so scripts (and tests) can read the port
    println!("serving {} at http://{bound}/", a.root.display());
    std::io::Write::flush(&mut std::io::stdout())?;
    server.run()
}

fn cmd_memorization(a: MemorizationArgs) -> Result<()> {
    use adversarial::metrics::{eval, features, memorization as mem};
    let s = &a.sampling;
    let dev = device::parse_device(&s.device)?;
    let parse = |spec: &str| eval::ImageSet::parse(spec, a.n, s.seed, !s.no_ema);
    let (sg, str_, ste) = (parse(&a.a)?, parse(&a.train)?, parse(&a.test)?);
    let out = a.out.clone().unwrap_or_else(|| match &sg {
        eval::ImageSet::Generator { checkpoint, .. } if checkpoint.is_dir() => checkpoint.clone(),
        _ => PathBuf::from("runs/memorization"),
    });
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let train = str_.images(dev)?.to_device(tch::Device::Cpu);
    let [_, c, h, _] = train.size()[..] else {
        bail!("{}: expected N×C×H×W images", a.train)
    };
    // every set at the training images' size and channels, so pixels compare
    let gen = adversarial::data::conform(&sg.images(dev)?.to_device(tch::Device::Cpu), h, c);
    let test = adversarial::data::conform(&ste.images(dev)?.to_device(tch::Device::Cpu), h, c);
    let mut results = Vec::new();
    for space in &a.spaces {
        let (fg, ft, fr) = if space == "pixels" {
            (
                mem::pixel_space(&gen),
                mem::pixel_space(&test),
                mem::pixel_space(&train),
            )
        } else {
            let ex = features::by_name(space, dev)?;
            (
                ex.features(&gen)?,
                eval::features(&ste, ex.as_ref(), dev)?.0,
                eval::features(&str_, ex.as_ref(), dev)?.0,
            )
        };
        let (m, dist, idx) = mem::check(space, &fg, &ft, &fr, a.k)?;
        let panel_path = out.join(format!("memorization-{space}.png"));
        grid::save_png(&mem::panel(&gen, &train, &dist, &idx, a.rows)?, &panel_path)?;
        let chart_path = out.join(format!("nn-distances-{space}.png"));
        let (td, _) = mem::nearest(&ft, &fr, 1)?;
        mem::save_distance_chart(&dist.select(1, 0), &td.select(1, 0), space, &chart_path)?;
        println!(
            "{space}: nearest training image at median {:.4} for generated vs {:.4} for held-out real \
             (ratio {:.3}); {:.1}% of generated closer than 99% of held-out\n  panel {}\n  chart {}",
            m.generated_to_train.median,
            m.test_to_train.median,
            m.median_ratio,
            100.0 * m.closer_than_test_p01,
            panel_path.display(),
            chart_path.display()
        );
        results.push(m);
    }
    let json = out.join("memorization.json");
    let sets = [sg.describe(), str_.describe(), ste.describe()];
    mem::save_report(&json, &sets, a.k, &results)?;
    println!("wrote {}", json.display());
    Ok(())
}

/// A labelled dataset from one or more specs, concatenated.
fn labelled_data(specs: &[String]) -> Result<adversarial::data::Dataset> {
    use adversarial::metrics::eval::ImageSet;
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for spec in specs {
        let set = ImageSet::parse(spec, 0, 0, true)?;
        if matches!(set, ImageSet::Generator { .. }) {
            bail!("{spec}: a classifier needs a labelled dataset, not a generator");
        }
        let (i, l) = set.labelled(tch::Device::Cpu)?;
        let l = l.with_context(|| format!("{spec}: this dataset has no labels"))?;
        images.push(adversarial::data::conform(&i, 28, 1));
        labels.push(l);
    }
    let images = Tensor::cat(&images, 0);
    Ok(adversarial::data::Dataset {
        name: format!("{} ({} images)", specs.join(" + "), images.size()[0]),
        images,
        labels: Some(Tensor::cat(&labels, 0)),
    })
}

fn cmd_classifier_train(a: ClassifierTrainArgs) -> Result<()> {
    use adversarial::metrics::classifier::{self, Augment, ClassifierInfo, TrainOptions};
    let (train, test, epochs, augment) = match a.name.as_str() {
        "mnist-cnn" => (
            "mnist5k:train,mnist5k:test:0:3000",
            "mnist5k:test:3000:5000",
            40,
            "digits",
        ),
        "fashion-cnn" => ("fashion-mnist:train", "fashion-mnist:test", 3, "clothes"),
        _ => ("", "", 10, "none"),
    };
    let train_specs: Vec<String> = if a.train.is_empty() {
        if train.is_empty() {
            bail!(
                "{}: not a shipped classifier, so --train and --test are needed",
                a.name
            );
        }
        train.split(',').map(String::from).collect()
    } else {
        a.train.clone()
    };
    let test_spec = a.test.clone().unwrap_or_else(|| test.to_string());
    let augment = match a.augment.as_deref().unwrap_or(augment) {
        "digits" => Augment::Digits,
        "clothes" => Augment::Clothes,
        "none" => Augment::None,
        other => bail!("--augment {other:?}: expected digits, clothes or none"),
    };
    let opts = TrainOptions {
        epochs: a.epochs.unwrap_or(epochs),
        batch: a.batch,
        lr: a.lr,
        augment,
        seed: a.seed,
        device: device::parse_device(&a.device)?,
    };
    let tr = labelled_data(&train_specs)?;
    let te = labelled_data(std::slice::from_ref(&test_spec))?;
    println!("training {} on {}, testing on {}", a.name, tr.name, te.name);
    let start = std::time::Instant::now();
    let (c, last) = classifier::train(&a.name, &tr, &te, &opts, |r| {
        println!(
            "epoch {:>3}  loss {:.4}  test accuracy {:.2}%  ({:.0} s)",
            r.epoch,
            r.loss,
            100.0 * r.test_accuracy,
            start.elapsed().as_secs_f64()
        )
    })?;
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from(format!("data/classifiers/{}.safetensors", a.name)));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let info = ClassifierInfo {
        name: a.name.clone(),
        train_data: tr.name.clone(),
        test_data: te.name.clone(),
        epochs: opts.epochs,
        test_accuracy: last.test_accuracy,
    };
    c.save(&out, &info)?;
    println!(
        "test accuracy {:.2}% after {} epochs; wrote {}",
        100.0 * last.test_accuracy,
        opts.epochs,
        out.display()
    );
    Ok(())
}

fn cmd_classifier_test(a: ClassifierTestArgs) -> Result<()> {
    use adversarial::metrics::classifier::DomainClassifier;
    let dev = device::parse_device(&a.device)?;
    let c = match a.name.strip_prefix("file=") {
        Some(p) => DomainClassifier::load(Path::new(p), dev)?,
        None => DomainClassifier::shipped(&a.name, dev)?,
    };
    let data = labelled_data(std::slice::from_ref(&a.data))?;
    let acc = c.accuracy(&data.images, data.labels.as_ref().unwrap())?;
    println!("{}: {:.2}% of {}", a.name, 100.0 * acc, data.name);
    if let Some(info) = &c.info {
        println!(
            "(trained {} epochs on {}; {:.2}% on {})",
            info.epochs,
            info.train_data,
            100.0 * info.test_accuracy,
            info.test_data
        );
    }
    Ok(())
}

fn cmd_modes(a: ModesArgs) -> Result<()> {
    let configs = if a.configs.is_empty() {
        let dir = Path::new("configs/toy");
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("no --config given and cannot list {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && !is_base(p))
            .collect();
        v.sort();
        v
    } else {
        a.configs
    };
    let mut overrides = a.overrides;
    if let Some(s) = a.steps {
        overrides.push(format!("train.steps={s}"));
    }
    let plan = sweep::SweepPlan {
        configs,
        benchmarks: a.bench,
        seeds: (1..=a.seeds).collect(),
        overrides,
        out: a.out.clone(),
    };
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let exe = std::env::current_exe().context("cannot locate the gan binary")?;
    let start = std::time::Instant::now();
    let rows = sweep::run(&plan, &exe, jobs, &|done, total, cell| {
        eprintln!(
            "[{done}/{total}] {} {} seed {} ({:.0} s)",
            cell.name,
            cell.benchmark,
            cell.seed,
            start.elapsed().as_secs_f64()
        )
    })?;
    sweep::save(&rows, &a.out)?;
    print!("{}", sweep::markdown(&rows));
    println!("written: {}", a.out.join("modes.md").display());
    Ok(())
}

/// Shared settings that the experiment files extend, not an experiment of their own.
fn is_base(p: &Path) -> bool {
    p.file_stem()
        .is_some_and(|s| s.to_string_lossy().starts_with('_'))
}

fn cmd_optimal_d(a: OptimalDArgs) -> Result<()> {
    let cfg = toy_config(a.config.as_deref(), &a.overrides)?;
    let opts = OptimalDOptions {
        g_steps: a.g_steps,
        d_steps: a.d_steps,
        d_lr: a.d_lr,
        d_batch: a.d_batch,
        samples: a.samples,
    };
    let (r, m) = optimal_d::run(&cfg, &opts)?;
    r.save(&m, &a.out)?;
    println!(
        "G frozen after {} iterations, D trained {} more steps on {}\n\
         JSD(p_data ‖ p_g) = {:.4} nats\n\
         V(G, D*) = −2 log 2 + 2 JSD = {:.4}\n\
         V(G, D) of the trained D    = {:.4}   (difference {:+.4})\n\
         |D − D*|: {:.4} averaged over (p_data + p_g)/2, {:.4} at most where that density is above 5% of its peak\n\
         {}: p_data black, p_g green, D blue, D* red",
        r.g_steps,
        r.d_steps,
        cfg.data.toy,
        r.jsd,
        r.v_theory,
        r.v_trained_d,
        r.v_trained_d - r.v_theory,
        r.d_error_weighted,
        r.d_error_max_in_support,
        a.out.join("optimal_d.png").display()
    );
    Ok(())
}

fn cmd_bench(a: BenchArgs) -> Result<()> {
    device::parse_device(&a.device)?;
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

fn cmd_translate(a: TranslateArgs) -> Result<()> {
    use adversarial::translate;
    let dev = device::parse_device(&a.device)?;
    let t = translate::Translator::load(&a.checkpoint, a.reverse, dev)?;
    let base = if a.checkpoint.is_dir() {
        a.checkpoint.clone()
    } else {
        PathBuf::from(".")
    };
    if let Some(input) = &a.input {
        let out = a.out.clone().unwrap_or_else(|| base.join("translated"));
        let written = translate::translate_files(&t, input, &out)?;
        println!(
            "{} images translated (input | output) into {}",
            written.len(),
            out.display()
        );
        return Ok(());
    }
    let out = a.out.clone().unwrap_or_else(|| base.join("translate-eval"));
    let extractor = match a.features.as_str() {
        "none" => None,
        name => Some(adversarial::metrics::features::by_name(name, dev)?),
    };
    let r = translate::evaluate(&t, &a.checkpoint, extractor.as_deref(), &out, a.panel)?;
    let show = |what: &str, s: &adversarial::metrics::translation::PairScores| {
        let fid = s.fid.map_or(String::new(), |f| format!("  FID {f:.2}"));
        println!(
            "{what:<13} L1 {:.4} ± {:.4}  PSNR {:.2} ± {:.2} dB  SSIM {:.4} ± {:.4}{fid}",
            s.l1.mean, s.l1.std, s.psnr.mean, s.psnr.std, s.ssim.mean, s.ssim.std
        );
    };
    println!(
        "{} held-out pairs, iteration {} ({:.0} s){}",
        r.pairs,
        r.step,
        r.seconds,
        r.extractor
            .as_ref()
            .map_or(String::new(), |e| format!("; FID in {e} features"))
    );
    show("translated", &r.translated);
    show("untranslated", &r.untranslated);
    let json = out.join("translation.json");
    println!(
        "panel: {}\nscores: {}",
        out.join("held-out-panel.png").display(),
        json.display()
    );
    Ok(())
}

fn cmd_text_train(a: TextTrainArgs) -> Result<()> {
    let progress = if a.quiet {
        Progress::Quiet
    } else {
        Progress::Auto
    };
    let summary = if let Some(dir) = &a.resume {
        text_train::resume(dir, progress)?
    } else {
        let mut overrides = Vec::new();
        if let Some(s) = a.seed {
            overrides.push(format!("seed={s}"));
        }
        overrides.extend(a.overrides.iter().cloned());
        let cfg = TextConfig::resolve(a.config.as_deref(), &overrides)?;
        let out = a.out.clone().unwrap_or_else(|| {
            let base = format!("text-{}-{}", cfg.train.method, cfg.data.source);
            (1..)
                .map(|n| Path::new("runs").join(format!("{base}-{n}")))
                .find(|p| !p.exists())
                .expect("unbounded")
        });
        text_train::start(&cfg, &out, progress)?
    };
    if !a.quiet {
        eprintln!(
            "done: {} steps, {:.0} s in all",
            summary.steps, summary.elapsed_s
        );
        eprintln!("{}", text_train::describe_eval(&summary.last_eval));
        eprintln!("samples:    {}", summary.run_dir.join("samples").display());
        eprintln!("checkpoint: {}", summary.checkpoint.display());
        eprintln!(
            "evaluations: {}",
            summary.run_dir.join("text_eval.jsonl").display()
        );
    }
    Ok(())
}

fn cmd_text_sample(a: TextSampleArgs) -> Result<()> {
    if a.n < 1 {
        bail!("--n must be at least 1");
    }
    let device = device::parse_device(&a.device)?;
    let g = text_train::TextGenerator::load(&a.checkpoint, device)?;
    let lines = g.sample(a.n, a.seed);
    match &a.out {
        Some(path) => {
            std::fs::write(path, lines.join("\n") + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{} sentences → {}", lines.len(), path.display());
        }
        None => {
            for l in lines {
                println!("{l}");
            }
        }
    }
    Ok(())
}
