//! Mutation fuzzing of everything that reads user files: the IDX reader, the image-folder
//! loader, the config parser and the checkpoint loader (and a resume from what it loads).
//!
//! Each seed of `tests/fuzz-corpus/<target>/` is mutated many times by a seeded generator
//! (bit flips, interesting bytes and integers, truncation, insertion, duplication; IDX also
//! inside its gzip). Every mutant must either load or fail with an error that names the
//! file; a panic fails the test and leaves the mutant in `$CARGO_TARGET_TMPDIR/fuzz-crashes/`
//! to be added to the corpus once fixed. The counts are printed (`--nocapture`).

use adversarial::checkpoint;
use adversarial::config::Config;
use adversarial::data::{self, folder, idx};
use adversarial::train::Trainer;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Mutants per seed are multiplied by `$GAN_FUZZ_SCALE` (default 1) for longer runs.
fn scale(n: usize) -> usize {
    n * std::env::var("GAN_FUZZ_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING_U32: [u32; 9] = [
    0,
    1,
    2,
    0x7f,
    0xff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
];

/// One to four random mutations of `seed`.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(7) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = [0u8, 0xff, 0x7f, 0x80, b'"', b'=', b'[', b'\n'][rng.below(8)];
            }
            2 if b.len() >= 4 => {
                let i = rng.below(b.len() - 3);
                let v = INTERESTING_U32[rng.below(INTERESTING_U32.len())];
                let bytes = if rng.below(2) == 0 {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                };
                b[i..i + 4].copy_from_slice(&bytes);
            }
            3 => b.truncate(rng.below(b.len() + 1)),
            4 => {
                let i = rng.below(b.len() + 1);
                let n = 1 + rng.below(16);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(i..i, junk);
            }
            5 if b.len() > 2 => {
                let i = rng.below(b.len());
                let n = 1 + rng.below((b.len() - i).min(64));
                let chunk = b[i..i + n].to_vec();
                let at = rng.below(b.len() + 1);
                b.splice(at..at, chunk);
            }
            _ if !b.is_empty() => {
                let i = rng.below(b.len());
                b.remove(i);
            }
            _ => {}
        }
    }
    b
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "empty corpus {}", dir.display());
    out
}

/// Runs `load` on each mutant written to `file`; panics and errors that do not name the
/// file are failures. Returns (mutants, rejected with a clear error).
fn fuzz(
    target: &str,
    file: &Path,
    seeds: &[(String, Vec<u8>)],
    per_seed: usize,
    mut make: impl FnMut(&[u8], &mut Rng) -> Vec<u8>,
    mut load: impl FnMut(&Path) -> anyhow::Result<()>,
) -> (usize, usize) {
    let crashes = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-crashes");
    let (mut total, mut rejected) = (0, 0);
    let mut failures = Vec::new();
    for (k, (name, seed)) in seeds.iter().enumerate() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((k as u64 + 1) * 7919));
        for i in 0..scale(per_seed) {
            let m = make(seed, &mut rng);
            std::fs::write(file, &m).unwrap();
            total += 1;
            match catch_unwind(AssertUnwindSafe(|| load(file))) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    let msg = format!("{e:#}");
                    if msg.contains(&file.display().to_string()) {
                        rejected += 1;
                    } else {
                        failures.push(format!("{name} #{i}: error does not name the file: {msg}"));
                    }
                }
                Err(_) => {
                    std::fs::create_dir_all(&crashes).unwrap();
                    let keep = crashes.join(format!("{target}-{name}-{i}"));
                    std::fs::write(&keep, &m).unwrap();
                    failures.push(format!(
                        "{name} #{i}: panicked; input kept at {}",
                        keep.display()
                    ));
                }
            }
        }
    }
    println!(
        "fuzz {target}: {total} mutants, {rejected} rejected with a clear error, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{target}:\n{}", failures.join("\n"));
    (total, rejected)
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

fn gunzip(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut out).unwrap();
    out
}

#[test]
fn idx_reader_never_panics_and_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mutant-idx3-ubyte");
    let seeds = corpus("idx");
    let load = |p: &Path| idx::read_idx(p).map(|_| ());
    let (n1, r1) = fuzz("idx", &file, &seeds, 1500, mutate, load);
    // structure-aware: mutate the IDX bytes inside a valid gzip stream
    let (n2, r2) = fuzz(
        "idx-gz",
        &file,
        &seeds,
        500,
        |seed, rng| {
            let raw = if seed.starts_with(&[0x1f, 0x8b]) {
                gunzip(seed)
            } else {
                seed.to_vec()
            };
            gzip(&mutate(&raw, rng))
        },
        load,
    );
    assert!(r1 > n1 / 2 && r2 > n2 / 2, "most mutants should be invalid");
}

#[test]
fn image_folder_loader_never_panics_and_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("images");
    std::fs::create_dir_all(root.join("class-a")).unwrap();
    std::fs::create_dir_all(root.join("class-b")).unwrap();
    let seeds = corpus("png");
    // a good image beside the mutant, so the loader must single out the bad one
    std::fs::write(root.join("class-a/good.png"), &seeds[0].1).unwrap();
    let file = root.join("class-b/mutant.png");
    for channels in [1, 3] {
        fuzz("png", &file, &seeds, 120, mutate, |_p: &Path| {
            folder::load_folder(&root, 16, channels, 0).map(|_| ())
        });
    }
}

#[test]
fn config_parser_never_panics_and_names_the_key_or_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mutant.toml");
    let mut seeds = corpus("config");
    // the shipped presets are seeds too (their `extends` resolve next to the mutant)
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    for e in std::fs::read_dir(&configs).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "toml") {
            seeds.push((
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            ));
        }
    }
    // what the presets extend sits beside the mutant, as in configs/
    for (name, bytes) in &seeds {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
    }
    std::fs::copy(
        configs.join("toy/_base.toml"),
        tmp.path().join("_base.toml"),
    )
    .unwrap();
    let dir = tmp.path().display().to_string();
    let mut other = 0;
    let crashes = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-crashes");
    let mut total = 0;
    for (k, (name, seed)) in seeds.iter().enumerate() {
        let mut rng = Rng(0x51ed_270b_a1c3_5e11 ^ ((k as u64 + 1) * 104_729));
        for i in 0..scale(150) {
            let m = mutate(seed, &mut rng);
            std::fs::write(&file, &m).unwrap();
            total += 1;
            match catch_unwind(AssertUnwindSafe(|| Config::resolve(Some(&file), &[]))) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    // an error names the file it read or the config key it refused
                    let msg = format!("{e:#}");
                    if !(msg.contains(&dir) || msg.contains("config key")) {
                        other += 1;
                        eprintln!("{name} #{i}: unclear error: {msg}");
                    }
                }
                Err(_) => {
                    std::fs::create_dir_all(&crashes).unwrap();
                    let keep = crashes.join(format!("config-{name}-{i}"));
                    std::fs::write(&keep, &m).unwrap();
                    panic!(
                        "{name} #{i}: config parser panicked; input kept at {}",
                        keep.display()
                    );
                }
            }
        }
    }
    println!("fuzz config: {total} mutants, {other} unclear errors");
    assert_eq!(other, 0);
}

/// A tiny toy run's config, so its checkpoints are a few kilobytes.
fn tiny_config() -> Config {
    Config::resolve_text(
        "seed = 3\nthreads = 1\n[data]\nsource = \"toy\"\ntoy = \"ring8\"\n\
         [model]\narch = \"mlp\"\nresolution = 1\nchannels = 2\nz_dim = 2\n\
         g_hidden = [8]\nd_hidden = [8]\n[train]\nbatch_size = 8\n",
        "tiny",
        &[],
    )
    .unwrap()
}

fn tiny_trainer() -> Trainer {
    let cfg = tiny_config();
    Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap()
}

#[test]
fn checkpoint_loader_and_resume_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mutant.safetensors");
    let seeds = corpus("checkpoint");
    let mut resumed = 0;
    fuzz("checkpoint", &file, &seeds, 400, mutate, |p: &Path| {
        let ck = checkpoint::load(p)?;
        // what loads must also restore into the model it was written for, or say why
        let mut t = tiny_trainer();
        t.restore(&ck)
            .and_then(|_| t.train_step().map(|_| ()))
            .map_err(|e| e.context(format!("resuming from {}", p.display())))?;
        resumed += 1;
        Ok(())
    });
    println!("fuzz checkpoint: {resumed} mutants still resumed and trained a step");
}

#[test]
fn checkpoint_metadata_extremes_are_refused_or_harmless() {
    let seed = &corpus("checkpoint")[0].1;
    let ck = checkpoint::decode(seed).unwrap();
    let tensors: Vec<(String, tch::Tensor)> = ck
        .tensors
        .iter()
        .map(|(k, v)| (k.clone(), v.shallow_clone()))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("edited.safetensors");
    let mut cases: Vec<(&str, checkpoint::CheckpointMeta)> = Vec::new();
    let base = ck.meta.clone();
    let mut m = base.clone();
    m.batcher.position = usize::MAX;
    cases.push(("data position past the end", m));
    let mut m = base.clone();
    m.batcher.epoch = u64::MAX;
    cases.push(("last epoch", m));
    let mut m = base.clone();
    m.step = u64::MAX - 1;
    cases.push(("step near the end of u64", m));
    let mut m = base.clone();
    m.lr_factor = f64::NAN;
    cases.push(("NaN learning-rate factor", m));
    let mut m = base.clone();
    m.lr_factor = -1.0;
    cases.push(("negative learning-rate factor", m));
    let mut m = base.clone();
    m.config = m.config.replace("d_hidden = [8]", "d_hidden = [9]");
    cases.push(("config of another model", m));
    for (what, meta) in cases {
        checkpoint::save(&file, &tensors, &meta).unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| -> anyhow::Result<()> {
            let ck = checkpoint::load(&file)?;
            let mut t = tiny_trainer();
            t.restore(&ck)?;
            t.train_step()?;
            Ok(())
        }));
        match r {
            Ok(Ok(())) => println!("{what}: resumed"),
            Ok(Err(e)) => {
                let e = format!("{e:#}");
                assert!(e.contains(&file.display().to_string()), "{what}: {e}");
                println!("{what}: refused: {e}");
            }
            Err(_) => panic!("{what}: resuming panicked"),
        }
        if what.contains("learning-rate") {
            assert!(checkpoint::load(&file).is_err(), "{what} accepted");
        }
    }
    // a checkpoint loaded into a different model names the tensor that does not fit
    let ck = checkpoint::decode(seed).unwrap();
    let mut cfg = tiny_config();
    cfg.model.d_hidden = vec![9];
    let mut t = Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap();
    let e = format!("{:#}", t.restore(&ck).unwrap_err());
    assert!(e.contains("d.") && e.contains("shape"), "{e}");
}

#[test]
fn a_model_larger_than_memory_is_an_error_not_a_crash() {
    // found by hand-fuzzing the config: libtorch's failed allocation used to panic in tch
    let mut cfg = tiny_config();
    cfg.model.g_hidden = vec![10_000_000_000_000];
    cfg.validate().unwrap();
    let e = match Trainer::new(&cfg, data::open(&cfg).unwrap()) {
        Ok(_) => panic!("a 4-petabyte generator was built"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        e.contains("cannot build the generator") && e.contains("allocate"),
        "{e}"
    );
}

/// Writes the corpus seeds (run with `--ignored`, e.g. after a checkpoint format change;
/// crash inputs found later are added beside them by hand).
#[test]
#[ignore]
fn write_corpus_seeds() {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    for d in ["idx", "png", "config", "checkpoint"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let images = idx::IdxArray {
        dims: vec![3, 4, 5],
        data: (0..60).map(|i| (i * 4) as u8).collect(),
    };
    let labels = idx::IdxArray {
        dims: vec![3],
        data: vec![7, 0, 9],
    };
    std::fs::write(root.join("idx/images-3x4x5"), idx::encode_idx(&images)).unwrap();
    std::fs::write(root.join("idx/labels-3"), idx::encode_idx(&labels)).unwrap();
    std::fs::write(
        root.join("idx/images-3x4x5.gz"),
        gzip(&idx::encode_idx(&images)),
    )
    .unwrap();
    let gray = image::GrayImage::from_fn(8, 8, |x, y| image::Luma([(x * 32 + y) as u8]));
    gray.save(root.join("png/gray-8x8.png")).unwrap();
    let rgba = image::RgbaImage::from_fn(12, 10, |x, y| {
        image::Rgba([(x * 20) as u8, (y * 25) as u8, 90, (x * y) as u8])
    });
    rgba.save(root.join("png/rgba-12x10.png")).unwrap();
    let rgb = image::RgbImage::from_fn(9, 9, |x, y| {
        image::Rgb([(x * 28) as u8, 40, (y * 28) as u8])
    });
    rgb.save(root.join("png/rgb-9x9.jpg")).unwrap();
    std::fs::write(
        root.join("config/toy.toml"),
        "extends = \"_base.toml\"\n[loss]\nname = \"hinge\"\n[train]\nsteps = 100\nlr_d = 2e-4\n",
    )
    .unwrap();
    std::fs::write(
        root.join("config/images.toml"),
        "seed = 7\n[data]\nsource = \"mnist5k\"\n[model]\narch = \"dcgan\"\nresolution = 32\n\
         g_hidden = [64, 128]\n[regularizer]\ngradient_penalty = 10.0\n[train]\nbatch_size = 16\n\
         on_divergence = \"rollback\"\n[eval]\nevery = 100\nmetrics = [\"fid\", \"kid\"]\n",
    )
    .unwrap();
    let mut t = tiny_trainer();
    for _ in 0..3 {
        t.train_step().unwrap();
    }
    checkpoint::save(
        &root.join("checkpoint/tiny-toy.safetensors"),
        &t.state_tensors(),
        &t.meta(0.0),
    )
    .unwrap();
}
