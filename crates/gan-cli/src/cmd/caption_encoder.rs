//! `gan caption-encoder train|eval`: the image–text encoder pair of text-to-image, trained
//! contrastively on the emoji captions, and its retrieval R-precision on real held-out
//! images (the ceiling for generated ones).

use adversarial::data::captions::{self, Split};
use adversarial::data::paired::emoji_dir;
use adversarial::device;
use adversarial::models::text_encoder::DualEncoder;
use adversarial::train::contrastive::{self, ContrastiveConfig};
use anyhow::Result;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Subcommand)]
pub enum CaptionEncoderCmd {
    /// Train the encoders on the training split's (caption, image) pairs, then report
    /// R-precision of the held-out and compositional splits' real images.
    Train(TrainArgs),
    /// R-precision of real held-out and compositional images under a trained encoder.
    Eval(EvalArgs),
}

#[derive(clap::Args)]
pub struct DataArgs {
    /// Emoji vendors, comma-separated: apple, google, twitter.
    #[arg(long, value_delimiter = ',', default_value = "apple,google,twitter")]
    pub vendors: Vec<String>,
    /// The emoji folder (default: where scripts/setup-emoji.sh puts it).
    #[arg(long)]
    pub emoji: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Where to write the weights (a .safetensors file; its settings and scores go beside
    /// it as .json).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 400)]
    pub steps: u64,
    /// Distinct captions per batch.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Hard negatives: half of each batch brings one of its N nearest captions by shared
    /// words, so captions that differ in one word ("blue heart", "purple heart") meet
    /// (0 = random batches).
    #[arg(long, default_value_t = 0)]
    pub neighbours: usize,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A trained encoder (.safetensors).
    pub encoder: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub data: DataArgs,
}

pub fn run(c: CaptionEncoderCmd) -> Result<()> {
    match c {
        CaptionEncoderCmd::Train(a) => train(a),
        CaptionEncoderCmd::Eval(a) => eval(a),
    }
}

/// The captioned emoji of the chosen vendors.
pub fn entries(d: &DataArgs) -> Result<Vec<captions::Captioned>> {
    let dir = d.emoji.clone().unwrap_or_else(emoji_dir);
    captions::emoji_captions(&dir, &d.vendors)
}

fn print_table(rows: &[contrastive::RetrievalRow]) {
    for r in rows {
        println!(
            "R-precision ({} real images, {} captions, 1 of 100): {:.3}  [{}]",
            r.images, r.captions, r.r_precision, r.split
        );
    }
}

fn train(a: TrainArgs) -> Result<()> {
    let dev = device::parse_device(&a.data.device)?;
    let all = entries(&a.data)?;
    let pairs = contrastive::pairs_of(&all, Split::Train, 0)?;
    println!(
        "caption encoder: {} training images, {} captions ({})",
        pairs.caption_of.len(),
        pairs.captions.len(),
        a.data.vendors.join(", ")
    );
    let cfg = ContrastiveConfig {
        steps: a.steps,
        batch: a.batch,
        lr: a.lr,
        seed: a.seed,
        neighbours: a.neighbours,
        ..Default::default()
    };
    let start = Instant::now();
    let enc = contrastive::train_encoder(&pairs, &cfg, dev, |step, loss| {
        eprintln!("step {step}/{}: contrastive loss {loss:.4}", cfg.steps);
    })?;
    let secs = start.elapsed().as_secs_f64();
    let rows = contrastive::retrieval_table(&enc, &all, a.seed)?;
    print_table(&rows);
    let record = contrastive::TrainingRecord {
        steps: a.steps,
        batch: a.batch,
        lr: a.lr,
        seed: a.seed,
        neighbours: a.neighbours,
        vendors: a.data.vendors.clone(),
        seconds: secs.round(),
        retrieval: rows,
    };
    contrastive::save(&enc, &a.out, &record)?;
    println!("wrote {} in {secs:.0} s", a.out.display());
    Ok(())
}

fn eval(a: EvalArgs) -> Result<()> {
    let dev = device::parse_device(&a.data.device)?;
    let enc = DualEncoder::load(&a.encoder, dev)?;
    let all = entries(&a.data)?;
    print_table(&contrastive::retrieval_table(&enc, &all, a.seed)?);
    Ok(())
}
