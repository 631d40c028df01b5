//! `gan classifier train|test`: the domain classifiers behind IS and class coverage.

use adversarial::device;
use adversarial::evaluate::classifiers;
use adversarial::metrics::classifier::{
    self, Augment, ClassifierInfo, DomainClassifier, TrainOptions,
};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum ClassifierCmd {
    /// Train a domain CNN (defaults per name reproduce the shipped weights).
    Train(ClassifierTrainArgs),
    /// Accuracy of a classifier on a labelled dataset slice.
    Test(ClassifierTestArgs),
}

#[derive(clap::Args)]
pub struct ClassifierTrainArgs {
    /// mnist-cnn or fashion-cnn (picks the default data and augmentation).
    pub name: String,
    /// Training sets, comma-separated dataset specs (default per name).
    #[arg(long, value_delimiter = ',')]
    pub train: Vec<String>,
    /// Test set spec (default per name).
    #[arg(long)]
    pub test: Option<String>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long, default_value_t = 64)]
    pub batch: i64,
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// digits, clothes or none (default per name).
    #[arg(long)]
    pub augment: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the weights (default: data/classifiers/NAME.safetensors).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

#[derive(clap::Args)]
pub struct ClassifierTestArgs {
    /// A shipped classifier (mnist-cnn, fashion-cnn) or file=PATH.
    pub name: String,
    /// A labelled dataset spec, e.g. mnist5k:test:3000:5000.
    pub data: String,
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// A labelled dataset from one or more specs, concatenated.
pub fn run(c: ClassifierCmd) -> Result<()> {
    match c {
        ClassifierCmd::Train(a) => train(a),
        ClassifierCmd::Test(a) => test(a),
    }
}

fn train(a: ClassifierTrainArgs) -> Result<()> {
    let recipe = classifiers::recipe(&a.name);
    let train_specs: Vec<String> = if a.train.is_empty() {
        let Some(r) = recipe else {
            bail!(
                "{}: not a shipped classifier, so --train and --test are needed",
                a.name
            );
        };
        r.train.split(',').map(String::from).collect()
    } else {
        a.train.clone()
    };
    let test_spec = a
        .test
        .clone()
        .unwrap_or_else(|| recipe.map_or(String::new(), |r| r.test.to_string()));
    let augment = match &a.augment {
        Some(name) => classifiers::parse_augment(name)?,
        None => recipe.map_or(Augment::None, |r| r.augment),
    };
    let opts = TrainOptions {
        epochs: a.epochs.unwrap_or(recipe.map_or(10, |r| r.epochs)),
        batch: a.batch,
        lr: a.lr,
        augment,
        seed: a.seed,
        device: device::parse_device(&a.device)?,
    };
    let tr = classifiers::labelled_data(&train_specs)?;
    let te = classifiers::labelled_data(std::slice::from_ref(&test_spec))?;
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

fn test(a: ClassifierTestArgs) -> Result<()> {
    let dev = device::parse_device(&a.device)?;
    let c = match a.name.strip_prefix("file=") {
        Some(p) => DomainClassifier::load(Path::new(p), dev)?,
        None => DomainClassifier::shipped(&a.name, dev)?,
    };
    let data = classifiers::labelled_data(std::slice::from_ref(&a.data))?;
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
