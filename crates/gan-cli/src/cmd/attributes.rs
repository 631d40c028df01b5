//! `gan attributes train|eval`: the skin-tone and colour classifier behind compositional
//! accuracy in text-to-image, trained on real emoji, and its accuracy on real held-out and
//! compositional images (the ceilings for generated ones).

use super::caption_encoder::{entries, DataArgs};
use adversarial::data::captions::{self, Split};
use adversarial::device;
use adversarial::metrics::attributes::{accuracy_table, AttributeClassifier, AttributeRow};
use anyhow::Result;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Subcommand)]
pub enum AttributesCmd {
    /// Train on the training split's images with a skin tone or a colour, then report
    /// accuracy on the real held-out and compositional images.
    Train(TrainArgs),
    /// Accuracy of a trained classifier on the real held-out and compositional images.
    Eval(EvalArgs),
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Where to write the weights (.safetensors).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 600)]
    pub steps: u64,
    #[arg(long, default_value_t = 64)]
    pub batch: i64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A trained classifier (.safetensors).
    pub classifier: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
}

pub fn run(c: AttributesCmd) -> Result<()> {
    match c {
        AttributesCmd::Train(a) => train(a),
        AttributesCmd::Eval(a) => eval(a),
    }
}

fn print_rows(rows: &[AttributeRow]) {
    let rate = |h: &adversarial::metrics::attributes::HeadAccuracy| match h.rate() {
        Some(r) => format!("{r:.3} ({}/{})", h.correct, h.total),
        None => "– (no images)".into(),
    };
    for r in rows {
        println!(
            "{}: skin tone {} (chance 0.200), colour {} (chance 0.111)",
            r.split,
            rate(&r.tone),
            rate(&r.colour)
        );
    }
}

fn train(a: TrainArgs) -> Result<()> {
    let dev = device::parse_device(&a.data.device)?;
    let all = entries(&a.data)?;
    let set = captions::load(&all, Split::Train, 64, 0)?;
    let start = Instant::now();
    let c = AttributeClassifier::new(dev, a.seed);
    c.train(&set, a.steps, a.batch, a.seed)?;
    c.save(&a.out)?;
    print_rows(&accuracy_table(&c, &all)?);
    println!(
        "wrote {} in {:.0} s",
        a.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn eval(a: EvalArgs) -> Result<()> {
    let dev = device::parse_device(&a.data.device)?;
    let all = entries(&a.data)?;
    let c = AttributeClassifier::load(&a.classifier, dev)?;
    print_rows(&accuracy_table(&c, &all)?);
    Ok(())
}
