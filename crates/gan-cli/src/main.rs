//! `gan`: the command-line face of the adversarial toolkit. Parses arguments and hands each
//! verb to its file under `cmd/`, which resolves the config and calls the library; nothing
//! here trains or measures on its own.

mod cmd;

use adversarial::device;
use adversarial::util::text::closest;
use clap::{Parser, Subcommand};

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
    Train(cmd::train::TrainArgs),
    /// Generate samples, a grid or a latent interpolation strip from a checkpoint.
    Sample(cmd::sample::SampleArgs),
    /// Images from words with a text-to-image run: a grid with one row per caption, or a
    /// strip from one caption to another (--interpolate A B).
    Generate(cmd::generate::GenerateArgs),
    /// Time training iterations side by side with the PyTorch reference.
    Bench(cmd::bench::BenchArgs),
    /// Print a configuration resolved as `gan train` would resolve it: the main job by
    /// default, or --config FILE, with --set overrides (a starting point for a config file,
    /// and a check of one before a long run).
    Config(cmd::config::ConfigArgs),
    /// Compare two image sets with Inception features: FID, KID, precision/recall,
    /// density/coverage. Each set is a checkpoint/run directory (its samples) or a dataset
    /// `DATASET[:SPLIT[:START:END]]` (mnist5k, mnist, fashion-mnist, folder=PATH, idx=PATH).
    /// Dataset features are cached; a run directory gets the results appended to its
    /// eval.jsonl.
    Eval(cmd::eval::EvalArgs),
    /// The theory lab on toy data with known densities.
    #[command(subcommand)]
    Toy(cmd::toy::ToyCmd),
    /// Memorization check: each generated sample's nearest training images (pixels and
    /// features), as a panel, and nearest-neighbour distances against held-out real images.
    Memorization(cmd::memorization::MemorizationArgs),
    /// The domain classifiers behind the Inception Score, class coverage and Stacked-MNIST
    /// modes: train one with this project's code, or measure its accuracy.
    #[command(subcommand)]
    Classifier(cmd::classifier::ClassifierCmd),
    /// Apply a trained image-to-image translator (pix2pix): to an image or a folder
    /// (`input | output` side by side), or with no input to its held-out pairs, scored
    /// against the true counterparts (L1, PSNR, SSIM, FID) beside the untranslated inputs.
    Translate(cmd::translate::TranslateArgs),
    /// Sequence GANs on discrete tokens: SeqGAN (policy gradient with Monte Carlo
    /// roll-outs), Gumbel-softmax, and the maximum-likelihood baseline, on SeqGAN's
    /// synthetic oracle benchmark or on text.
    #[command(subcommand)]
    Text(cmd::text::TextCmd),
    /// The image–text encoders of text-to-image: train them contrastively on the emoji
    /// captions, or measure their retrieval R-precision on real held-out images.
    #[command(subcommand)]
    CaptionEncoder(cmd::caption_encoder::CaptionEncoderCmd),
    /// The skin-tone and colour classifier behind text-to-image's compositional accuracy:
    /// train it on real emoji, or measure it on real held-out images.
    #[command(subcommand)]
    Attributes(cmd::attributes::AttributesCmd),
    /// Write a run's report: one self-contained HTML file (config, loss and D-output
    /// curves, metric curves, the sample timeline, evaluations, figures, warnings).
    Report(cmd::report::ReportArgs),
    /// A published table under its own protocol: each row's preset trained per seed
    /// (resumed when interrupted), checkpoints ranked by a proxy FID, the best scored with
    /// the protocol's FID, and the table beside the published values (OUT/table.md).
    Reproduce(cmd::reproduce::ReproduceArgs),
    /// Serve a dashboard of the runs under a folder on a local port: their state and
    /// warnings, curves of several runs on one chart, and live reports.
    Serve(cmd::report::ServeArgs),
}

fn main() {
    device::keep_freed_memory();
    let cli = Cli::try_parse().unwrap_or_else(|e| exit_on(e));
    let command = cli
        .command
        .unwrap_or(Cmd::Train(cmd::train::TrainArgs::default()));
    let result = match command {
        Cmd::Train(a) => cmd::train::run(a),
        Cmd::Sample(a) => cmd::sample::run(a),
        Cmd::Generate(a) => cmd::generate::run(a),
        Cmd::Bench(a) => cmd::bench::run(a),
        Cmd::Eval(a) => cmd::eval::run(a),
        Cmd::Toy(c) => cmd::toy::run(c),
        Cmd::Memorization(a) => cmd::memorization::run(a),
        Cmd::Classifier(c) => cmd::classifier::run(c),
        Cmd::Translate(a) => cmd::translate::run(a),
        Cmd::Text(c) => cmd::text::run(c),
        Cmd::CaptionEncoder(c) => cmd::caption_encoder::run(c),
        Cmd::Attributes(c) => cmd::attributes::run(c),
        Cmd::Report(a) => cmd::report::report(a),
        Cmd::Reproduce(a) => cmd::reproduce::run(a),
        Cmd::Serve(a) => cmd::report::serve(a),
        Cmd::Config(a) => cmd::config::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Help and version go out as clap writes them; a usage error becomes one line naming what
/// was wrong and what to do.
fn exit_on(e: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => v.first().cloned(),
        _ => None,
    };
    let message = match (e.kind(), text(ContextKind::InvalidSubcommand)) {
        (ErrorKind::InvalidSubcommand, Some(verb)) => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let verbs: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
            let hint = closest(&verb, &verbs)
                .map(String::from)
                .or_else(|| text(ContextKind::SuggestedSubcommand))
                .map_or(String::new(), |s| format!("did you mean `{s}`? "));
            format!("unknown command `{verb}`: {hint}(`gan --help` lists the commands)")
        }
        _ => {
            // the first paragraph: one line, or a line ending in ':' and the arguments it
            // names (a missing required argument) on the indented lines below it
            let rendered = e.to_string();
            let first: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let first = first.join(" ");
            let first = first.trim_start_matches("error: ");
            format!("{first} (`gan COMMAND --help` lists the options)")
        }
    };
    eprintln!("error: {message}");
    std::process::exit(2);
}
