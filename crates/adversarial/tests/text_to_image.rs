//! Text-to-image inside the one training loop, on a small real subset of the emoji captions
//! (scripts/setup-emoji.sh): the matching-aware D learns to reject real images under a wrong
//! caption, and does so because of the mismatched pairs; GAN-INT's interpolated captions
//! reach G only; TAC-GAN's attribute head learns skin tones; recoloured captions reach G only
//! and never repeat an evaluation caption; shorter captions teach D to read the name; runs
//! resume exactly; a run (and a fork of it)
//! keeps its encoder and generates from new captions; bad configs are refused by key.

mod common;

use adversarial::config::Config;
use adversarial::data;
use adversarial::data::captions::{self, Split};
use adversarial::data::keywords::{head_and_keywords, FORMS};
use adversarial::data::paired::emoji_dir;
use adversarial::evaluate::text_to_image::{self, TextEvalOptions};
use adversarial::models::text_encoder::{DualEncoder, IN_RUN};
use adversarial::run::{self, Progress};
use adversarial::sampling::captions::CaptionGenerator;
use adversarial::train::contrastive::{self, ContrastiveConfig};
use adversarial::train::{resolve_text, StepStats, Trainer};
use std::path::Path;
use tch::Device;

/// A small caption encoder, trained briefly on Google's training emoji, saved to `path`.
fn encoder(path: &Path) {
    let all = captions::emoji_captions(&emoji_dir(), &["google".to_string()])
        .expect("run scripts/setup-emoji.sh");
    let pairs = contrastive::pairs_of(&all, Split::Train, 512).unwrap();
    let cfg = ContrastiveConfig {
        steps: 30,
        batch: 64,
        lr: 2e-3,
        seed: 3,
        dim: 32,
        hidden: 32,
        word_dim: 32,
        max_len: 16,
        neighbours: 0,
    };
    let enc = contrastive::train_encoder(&pairs, &cfg, Device::Cpu, |_, _| {}).unwrap();
    enc.save(path, None).unwrap();
}

/// A network's trainable weights as one vector (in a fixed order), to compare two steps.
fn flat(net: &adversarial::models::Net) -> tch::Tensor {
    let mut v = net.vs.trainable_variables();
    v.sort_by_key(|t| t.numel());
    tch::Tensor::cat(&v.iter().map(|t| t.flatten(0, -1)).collect::<Vec<_>>(), 0)
}

/// One training step without and with a term that only G's loss takes (`what`): D's step
/// is the same either way, G's weights move, and `stat` is logged only with the term. Its
/// logged value.
fn assert_reaches_g_only(
    what: &str,
    (g0, d0, s0): (&tch::Tensor, &tch::Tensor, &StepStats),
    (g1, d1, s1): (&tch::Tensor, &tch::Tensor, &StepStats),
    stat: &str,
) -> f64 {
    assert!(d0.equal(d1), "D's step must not see {what}");
    assert!(!g0.allclose(g1, 1e-7, 1e-7, false), "G ignored the term");
    assert!(s0.get(stat).is_none());
    s1.get(stat).expect("logged")
}

fn config(enc: &Path, overrides: &[&str]) -> Config {
    let mut all: Vec<String> = vec![
        "data.source=\"emoji-captions\"".into(),
        "data.vendors=[\"google\"]".into(),
        "data.limit=256".into(),
        format!("model.text_encoder={:?}", enc.display().to_string()),
        "model.resolution=32".into(),
        "model.channels=3".into(),
        "model.g_width=8".into(),
        "model.d_width=16".into(),
        "loss.mismatched=true".into(),
        "train.batch_size=32".into(),
        "train.lr_d=5e-4".into(),
        "threads=1".into(),
    ];
    all.extend(overrides.iter().map(|s| s.to_string()));
    let cfg = Config::resolve(None, &all).unwrap();
    resolve_text(&cfg, &data::open(&cfg).unwrap()).unwrap()
}

/// D's mean sigmoid output on one batch (32) of real training images under their own
/// caption and under another one, after 160 iterations. With `names`, each caption is given
/// as its name alone (the text before `;`), embedded by that encoder. Also the shorter
/// captions the run trained on (`loss.keyword_dropout`), and the run's captions.
fn right_and_wrong(
    cfg: &Config,
    names: Option<&DualEncoder>,
) -> (f64, f64, Vec<String>, Vec<String>) {
    let mut t = Trainer::new(cfg, data::open(cfg).unwrap()).unwrap();
    let forms = t.shorter_captions().to_vec();
    for _ in 0..160 {
        t.train_step().unwrap();
    }
    let mut fresh = data::open(cfg).unwrap();
    let captions = fresh.captions().to_vec();
    let table = names.map(|enc| {
        let heads: Vec<String> = captions
            .iter()
            .map(|c| head_and_keywords(c).0.to_string())
            .collect();
        enc.embed_captions(&heads)
    });
    let (x, y) = fresh.next_labelled(32, Device::Cpu).unwrap();
    let y = y.unwrap();
    let wrong = (&y + 1).remainder(cfg.model.classes);
    let p = |rows: &tch::Tensor| {
        let cond = match &table {
            Some(table) => table.index_select(0, rows),
            None => rows.shallow_clone(),
        };
        tch::no_grad(|| t.d.forward_y(&x, Some(&cond), true))
            .sigmoid()
            .mean(tch::Kind::Float)
            .double_value(&[])
    };
    (p(&y), p(&wrong), forms, captions)
}

#[test]
fn matching_aware_discriminator_rejects_wrong_captions() {
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("enc.safetensors");
    encoder(&enc);
    let small = ["data.limit=64", "model.conditioning=\"projection\""];
    let cfg = config(&enc, &small);
    assert_eq!(cfg.model.classes, 64, "one caption per Google image");
    assert_eq!(cfg.model.text_dim, 32);
    let (right, wrong, ..) = right_and_wrong(&cfg, None);
    println!("GAN-CLS: D(x, t) {right:.3}, D(x, wrong t) {wrong:.3}");
    assert!(
        right > wrong + 0.2,
        "D(x, t) {right:.3} vs wrong {wrong:.3}"
    );
    // without the real/wrong term D has no reason to tell captions apart
    let (r0, w0, ..) = right_and_wrong(
        &config(&enc, &[&small[..], &["loss.mismatched=false"]].concat()),
        None,
    );
    println!("without mismatched pairs: D(x, t) {r0:.3}, D(x, wrong t) {w0:.3}");
    assert!(r0 - w0 < (right - wrong) / 2.0, "{r0:.3} {w0:.3}");
}

#[test]
fn text_runs_resume_bit_for_bit_and_keep_the_caption_table_frozen() {
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("enc.safetensors");
    encoder(&enc);
    // projection with GAN-INT's term, whose captions and noise have their own stream, and
    // hard wrong captions, and TAC-GAN's attribute head with recoloured captions (on a subset
    // with tones and coloured objects)
    // shorter captions in the first (drawn in each step's stream)
    for (cond, int, near, attr, kw) in [
        ("concat", "0.0", 0, "1.0", "0.5"),
        ("projection", "1.0", 4, "0.0", "0.0"),
    ] {
        let limit = if attr == "0.0" { 256 } else { 2048 };
        let cfg = config(
            &enc,
            &[
                &format!("data.limit={limit}"),
                &format!("model.conditioning={cond:?}"),
                &format!("loss.interpolated={int}"),
                &format!("loss.mismatched_neighbours={near}"),
                &format!("loss.attributes={attr}"),
                &format!("loss.recoloured={attr}"),
                &format!("loss.keyword_dropout={kw}"),
            ],
        );
        let names = common::assert_resumes_bit_for_bit(&cfg, cond);
        assert!(names.iter().any(|n| n.ends_with("text_table")), "{names:?}");
        let head = names.iter().any(|n| n.contains("attribute_head"));
        assert_eq!(head, attr != "0.0", "{names:?}");
    }
    // the table holds the encoder's caption embeddings and training leaves it there
    let cfg = config(&enc, &[]);
    let source = data::open(&cfg).unwrap();
    let want = DualEncoder::load(&enc, Device::Cpu)
        .unwrap()
        .embed_captions(source.captions());
    let mut t = Trainer::new(&cfg, source).unwrap();
    t.train_step().unwrap();
    for net in [&t.g, &t.d] {
        assert!(net.text_table().unwrap().equal(&want));
    }
}

/// GAN-INT's term reaches G: from the same start, one iteration with it moves G's weights
/// elsewhere than one without it, leaves D's step as it was, and logs D on the
/// interpolated captions' images.
#[test]
fn interpolated_captions_add_a_term_to_g_only() {
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("enc.safetensors");
    encoder(&enc);
    let step = |w: &str| {
        let cfg = config(&enc, &["data.limit=64", &format!("loss.interpolated={w}")]);
        let mut t = Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap();
        let stats = t.train_step().unwrap();
        (flat(&t.g), flat(&t.d), stats)
    };
    let (g0, d0, s0) = step("0.0");
    let (g1, d1, s1) = step("1.0");
    let p = assert_reaches_g_only(
        "the interpolated captions",
        (&g0, &d0, &s0),
        (&g1, &d1, &s1),
        "d_interpolated",
    );
    assert!(p > 0.0 && p < 1.0, "{p}");
}

/// TAC-GAN's attribute term: D grows a head that learns the skin tone its real images'
/// captions name (over twice chance within 150 iterations), G's step is given the head's
/// cross-entropy on its images, both are logged, and data whose captions name no tone or
/// colour is refused by key.
#[test]
fn attribute_head_learns_tones_on_real_images_and_reaches_g() {
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("enc.safetensors");
    encoder(&enc);
    let cfg = config(&enc, &["data.limit=2048", "loss.attributes=1.0"]);
    assert_eq!(cfg.model.attribute_logits, 14, "5 tones, 9 colours");
    let mut t = Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap();
    let names: Vec<String> = t.d.vs.variables().into_keys().collect();
    assert!(
        names.iter().any(|n| n.contains("attribute_head")),
        "{names:?}"
    );
    let first = t.train_step().unwrap();
    let start = first.get("d_attributes").expect("D's term logged");
    let g = first.get("g_attributes").expect("G's term logged");
    assert!(start > 0.0 && g > 0.0 && g.is_finite(), "{start} {g}");
    for _ in 0..150 {
        t.train_step().unwrap();
    }
    // every training image whose caption names one tone
    let set = data::load(&cfg).unwrap();
    let rows = Vec::<i64>::try_from(set.labels.as_ref().unwrap()).unwrap();
    let (mut idx, mut want) = (Vec::new(), Vec::new());
    for (i, r) in rows.iter().enumerate() {
        let caption = &set.captions[*r as usize];
        if let (Some(tone), _) = adversarial::data::attributes::caption_attributes(caption) {
            idx.push(i as i64);
            want.push(tone as i64);
        }
    }
    let idx = tch::Tensor::from_slice(&idx);
    let (x, y) = (set.batch(&idx), set.labels.unwrap().index_select(0, &idx));
    let (_, logits) = tch::no_grad(|| t.d.forward_with_attributes(&x, Some(&y), false));
    let read = Vec::<i64>::try_from(logits.unwrap().narrow(1, 0, 5).argmax(1, false)).unwrap();
    let right = read.iter().zip(&want).filter(|(a, b)| a == b).count();
    let acc = right as f64 / want.len() as f64;
    println!(
        "D's tone head on {} of {} training images: {acc:.3} (chance 0.2)",
        want.len(),
        rows.len()
    );
    assert!(want.len() >= 50 && acc > 0.45, "{right}/{}", want.len());
    // the first Google training images are keycaps: no tone or colour
    let none = config(
        &enc,
        &["data.limit=8", "train.batch_size=8", "loss.attributes=1.0"],
    );
    let e = Trainer::new(&none, data::open(&none).unwrap())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains("loss.attributes") && e.contains("names a skin tone"),
        "{e}"
    );
}

/// `loss.recoloured`: G is asked for colours on objects that no split shows in them, never
/// for a combination of the held-out or compositional splits; from the same start one
/// iteration moves G elsewhere than without the term, leaves D's step as it was, and logs
/// the colour head's cross-entropy and D's mean output on those images.
#[test]
fn recoloured_captions_reach_g_only_and_keep_evaluation_captions_unseen() {
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("enc.safetensors");
    encoder(&enc);
    let step = |w: &str| {
        let cfg = config(
            &enc,
            &[
                "data.limit=2048",
                "loss.attributes=1.0",
                &format!("loss.recoloured={w}"),
            ],
        );
        let mut t = Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap();
        let made = t.recoloured_captions().to_vec();
        let stats = t.train_step().unwrap();
        (flat(&t.g), flat(&t.d), stats, made, cfg)
    };
    let (g0, d0, s0, none, _) = step("0.0");
    let (g1, d1, s1, made, cfg) = step("1.0");
    assert!(none.is_empty());
    let name = |c: &str| adversarial::data::attributes::caption_name(c).to_string();
    let held: std::collections::HashSet<String> = captions::entries(&cfg.data)
        .unwrap()
        .iter()
        .map(|e| name(&e.caption))
        .collect();
    println!(
        "{} recoloured captions, e.g. {:?}",
        made.len(),
        made.first()
    );
    assert!(made.len() >= 10, "{made:?}");
    for c in &made {
        assert!(!held.contains(&name(c)), "{c} is a caption of the data");
        assert!(
            adversarial::data::attributes::caption_attributes(c)
                .1
                .is_some(),
            "{c}"
        );
    }
    let ce = assert_reaches_g_only(
        "the recoloured captions",
        (&g0, &d0, &s0),
        (&g1, &d1, &s1),
        "g_recoloured",
    );
    let p = s1.get("d_recoloured").expect("logged");
    assert!(ce > 0.0 && ce.is_finite() && p > 0.0 && p < 1.0, "{ce} {p}");
}

/// `loss.keyword_dropout`: every training caption gets its shorter forms (its name first,
/// then the name with some of its keywords), and a D trained on them tells a real image's
/// own name from another caption's name better than a D trained on full captions only.
#[test]
fn keyword_dropout_teaches_d_to_read_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("enc.safetensors");
    encoder(&enc);
    let encoder = DualEncoder::load(&enc, Device::Cpu).unwrap();
    let small = ["data.limit=64", "model.conditioning=\"projection\""];
    let gap = |p: &str| {
        let cfg = config(
            &enc,
            &[&small[..], &[&format!("loss.keyword_dropout={p}")]].concat(),
        );
        let (right, wrong, forms, captions) = right_and_wrong(&cfg, Some(&encoder));
        (right - wrong, forms, captions)
    };
    let (plain, none, _) = gap("0.0");
    let (dropped, forms, captions) = gap("1.0");
    println!("D(x, own name) − D(x, other name): {plain:.3} on full captions, {dropped:.3} with shorter ones");
    assert!(none.is_empty());
    assert_eq!(forms.len(), captions.len() * FORMS);
    for (k, c) in captions.iter().enumerate() {
        let (head, keywords) = head_and_keywords(c);
        assert_eq!(forms[k * FORMS], head);
        for f in &forms[k * FORMS + 1..(k + 1) * FORMS] {
            let (h, kept) = head_and_keywords(f);
            assert!(
                h == head && kept.iter().all(|w| keywords.contains(w)),
                "{f} of {c}"
            );
        }
    }
    assert!(
        dropped > 0.2 && dropped > plain + 0.05,
        "{plain:.3} {dropped:.3}"
    );
}

#[test]
fn a_run_keeps_its_encoder_generates_from_new_captions_and_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("enc.safetensors");
    encoder(&enc);
    let cfg = config(&enc, &["train.steps=4", "train.checkpoint_every=2"]);
    let run_dir = dir.path().join("run");
    run::start(&cfg, &run_dir, Progress::Quiet).unwrap();
    // the run no longer needs the original encoder
    std::fs::remove_file(&enc).unwrap();
    run::resume(&run_dir, Some(6), Progress::Quiet).unwrap();
    // nor does a fork of it, which takes its parent's copy
    let (forked, latest) = (
        dir.path().join("fork"),
        run_dir.join("checkpoint.safetensors"),
    );
    let ck = adversarial::checkpoint::load(&latest).unwrap();
    let longer = run::parent_config(&ck, &latest, &["train.steps=8".into()]).unwrap();
    run::fork(&longer, ck, &latest, &forked, Progress::Quiet).unwrap();
    assert!(forked.join(IN_RUN).is_file() && forked.join("fork.json").is_file());
    let gen = CaptionGenerator::load(&run_dir, true, Device::Cpu).unwrap();
    assert!(gen.encoder_path.starts_with(&run_dir));
    let a = gen.for_caption("purple heart", 3, 1).unwrap();
    assert_eq!(a.size(), [3, 3, 32, 32]);
    assert!(a.equal(&gen.for_caption("purple heart", 3, 1).unwrap()));
    let b = gen.for_caption("thumbs up, dark skin tone", 3, 1).unwrap();
    assert!(!a.equal(&b), "the caption changes the image");
    let strip = gen.interpolate("red heart", "blue heart", 2, 5, 1).unwrap();
    assert_eq!(strip.size(), [10, 3, 32, 32]);
    // the ends of the strip are the two captions' images for the same noise
    let ends = gen.embed(&["red heart".into()]).unwrap();
    assert!(ends.size() == [1, 32]);
    assert!(gen.embed(&[" ".into()]).is_err());
    let entries = captions::entries(&gen.cfg.data).unwrap();
    let r = text_to_image::evaluate_text(
        &gen,
        &entries,
        TextEvalOptions {
            split: Split::HeldOut,
            repeats: 1,
            seed: 0,
            attributes: None,
            extractor: None,
        },
    )
    .unwrap();
    println!("{}", r.summary());
    assert_eq!(r.generated, r.real_images);
    assert!(r.candidates == 100 && r.caption_pool >= 100);
    assert!((0.0..=1.0).contains(&r.r_precision_generated));
    let (panel, rows) =
        text_to_image::panel(&gen, &entries, Split::Compositional, 4, 3, 0).unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(panel.size(), [16, 3, 32, 32]);
}

#[test]
fn text_misconfigurations_are_refused_by_key_or_file() {
    let err = |ov: &[&str]| {
        common::refusal(ov, |cfg| {
            data::open(cfg).and_then(|d| resolve_text(cfg, &d))
        })
    };
    // with a captioned source and an encoder path, so the key under test is the one refused
    let text_err = |extra: &[&str]| {
        let base = [
            "data.source=\"emoji-captions\"",
            "model.text_encoder=\"enc.safetensors\"",
        ];
        err(&[&base[..], extra].concat())
    };
    let e = err(&["data.source=\"emoji-captions\""]);
    assert!(e.contains("model.text_encoder"), "{e}");
    let e = err(&["model.text_encoder=\"enc.safetensors\""]);
    assert!(e.contains("data.source"), "{e}");
    let e = err(&[
        "data.source=\"emoji-captions\"",
        "model.text_encoder=\"/nonexistent/enc.safetensors\"",
        "model.resolution=64",
        "model.channels=3",
        "data.vendors=[\"google\"]",
        "data.limit=64",
    ]);
    assert!(
        e.contains("model.text_encoder") && e.contains("/nonexistent/enc"),
        "{e}"
    );
    let e = text_err(&["data.vendors=[\"microsoft\"]"]);
    assert!(e.contains("data.vendors"), "{e}");
    let e = text_err(&["data.split=\"validation\""]);
    assert!(e.contains("data.split"), "{e}");
    let e = err(&["data.source=\"captions\"", "model.text_encoder=\"e\""]);
    assert!(e.contains("data.path"), "{e}");
    let e = err(&["model.text_dim=128"]);
    assert!(e.contains("model.text_dim"), "{e}");
    // GAN-INT needs captions, and a weight that is a number of at least 0
    let e = err(&["loss.interpolated=1.0"]);
    assert!(
        e.contains("loss.interpolated") && e.contains("caption"),
        "{e}"
    );
    let e = text_err(&["loss.interpolated=-1.0"]);
    assert!(e.contains("loss.interpolated"), "{e}");
    // the attribute term needs captions, and a weight of at least 0
    let e = err(&["loss.attributes=1.0"]);
    assert!(
        e.contains("loss.attributes") && e.contains("captions"),
        "{e}"
    );
    let e = text_err(&["loss.attributes=-0.5"]);
    assert!(e.contains("loss.attributes"), "{e}");
    // recoloured captions are scored by the attribute head
    let e = text_err(&["loss.recoloured=1.0"]);
    assert!(
        e.contains("loss.recoloured") && e.contains("loss.attributes"),
        "{e}"
    );
    let e = text_err(&["loss.attributes=1.0", "loss.recoloured=-1.0"]);
    assert!(e.contains("loss.recoloured"), "{e}");
    let e = err(&["model.attribute_logits=14"]);
    assert!(e.contains("model.attribute_logits"), "{e}");
    // hard wrong captions need captions and the mismatched term
    let e = err(&["loss.mismatched_neighbours=8"]);
    assert!(e.contains("loss.mismatched_neighbours"), "{e}");
    let e = text_err(&["loss.mismatched=false", "loss.mismatched_neighbours=8"]);
    assert!(e.contains("loss.mismatched_neighbours"), "{e}");
    // G's caption modulation: a known form, and only for text-to-image DCGANs
    let e = err(&["model.g_conditioning=\"film\""]);
    assert!(
        e.contains("model.g_conditioning") && e.contains("text-to-image"),
        "{e}"
    );
    let e = text_err(&["model.g_conditioning=\"style\""]);
    assert!(
        e.contains("model.g_conditioning") && e.contains("film"),
        "{e}"
    );
    let e = text_err(&["model.g_conditioning=\"film\"", "model.arch=\"mlp\""]);
    assert!(e.contains("model.g_conditioning"), "{e}");
    // shorter captions: only for text-to-image, at a probability
    let e = err(&["loss.keyword_dropout=0.5"]);
    assert!(
        e.contains("loss.keyword_dropout") && e.contains("text-to-image"),
        "{e}"
    );
    let e = text_err(&["loss.keyword_dropout=1.5"]);
    assert!(
        e.contains("loss.keyword_dropout") && e.contains("[0, 1]"),
        "{e}"
    );
    // a folder image without a caption is named
    let dir = tempfile::tempdir().unwrap();
    image::RgbImage::new(8, 8)
        .save(dir.path().join("a.png"))
        .unwrap();
    let path = format!("data.path={:?}", dir.path().display().to_string());
    let e = err(&[
        "data.source=\"captions\"",
        "model.text_encoder=\"e\"",
        &path,
    ]);
    assert!(e.contains("a.png") && e.contains("no caption"), "{e}");
}
