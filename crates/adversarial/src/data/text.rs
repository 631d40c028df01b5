//! Token sequences for sequence GANs: SeqGAN's synthetic oracle data, Debian's fortune
//! cookies, or a user's text file (one sentence per line), as fixed-length rows of token ids
//! with a held-out split.
//!
//! Text is lower-cased and split into words (letters, digits, inner apostrophes) and single
//! punctuation marks. Id 0 is `<eos>` (it pads every sentence to `seq_len` and doubles as
//! the generator's start symbol), id 1 is `<unk>`.

use crate::config::text::TextDataConfig;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

pub const EOS: i64 = 0;
pub const UNK: i64 = 1;

/// Token strings by id (`<eos>`, `<unk>`, then words by falling frequency).
#[derive(Debug, Clone, PartialEq)]
pub struct Vocab {
    pub tokens: Vec<String>,
    index: HashMap<String, i64>,
}

impl Vocab {
    /// The oracle's vocabulary: ids without words, written as `t17`.
    pub fn numbered(n: i64) -> Vocab {
        Vocab::from_tokens((0..n).map(|i| format!("t{i}")).collect())
    }

    pub fn from_tokens(tokens: Vec<String>) -> Vocab {
        let index = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as i64))
            .collect();
        Vocab { tokens, index }
    }

    /// Words seen at least `min_count` times, most frequent first (ties alphabetical), up
    /// to `size` entries with `<eos>` and `<unk>`.
    pub fn build(sentences: &[Vec<String>], size: usize, min_count: usize) -> Vocab {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for w in sentences.iter().flatten() {
            *counts.entry(w).or_default() += 1;
        }
        let mut words: Vec<(&str, usize)> = counts
            .into_iter()
            .filter(|&(_, c)| c >= min_count.max(1))
            .collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut tokens = vec!["<eos>".to_string(), "<unk>".to_string()];
        tokens.extend(
            words
                .into_iter()
                .take(size.saturating_sub(2))
                .map(|(w, _)| w.to_string()),
        );
        Vocab::from_tokens(tokens)
    }

    pub fn len(&self) -> i64 {
        self.tokens.len() as i64
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn id(&self, word: &str) -> i64 {
        self.index.get(word).copied().unwrap_or(UNK)
    }

    /// The words of one row, up to its first `<eos>` (for text; the oracle has no `<eos>`
    /// and keeps every token).
    pub fn words(&self, row: &[i64], stop_at_eos: bool) -> Vec<String> {
        row.iter()
            .take_while(|&&t| !(stop_at_eos && t == EOS))
            .map(|&t| self.tokens.get(t as usize).cloned().unwrap_or_default())
            .collect()
    }

    /// One row as a readable sentence.
    pub fn decode(&self, row: &[i64], stop_at_eos: bool) -> String {
        self.words(row, stop_at_eos).join(" ")
    }
}

/// A tokenised corpus: training and held-out rows of `seq_len` ids.
pub struct TextCorpus {
    pub name: String,
    pub vocab: Vocab,
    /// N×seq_len, int64.
    pub train: Tensor,
    pub test: Tensor,
    /// Whether rows end in `<eos>` padding (text) or are plain token streams (oracle).
    pub has_eos: bool,
}

impl TextCorpus {
    /// Loads what `cfg.source` names. The oracle corpus needs the oracle, which
    /// [`crate::models::lstm::oracle`] builds.
    pub fn load(cfg: &TextDataConfig, oracle: Option<&dyn SequenceSampler>) -> Result<TextCorpus> {
        match cfg.source.as_str() {
            "oracle" => {
                let oracle = oracle.context("the oracle corpus needs the oracle LSTM")?;
                Ok(oracle_corpus(oracle, cfg))
            }
            "fortunes" => {
                let dir = if cfg.path.is_empty() {
                    Path::new(DEBIAN_FORTUNES)
                } else {
                    Path::new(&cfg.path)
                };
                let sentences = read_fortunes(dir)?;
                from_sentences(&format!("fortunes ({})", dir.display()), sentences, cfg)
            }
            "lines" => {
                let path = Path::new(&cfg.path);
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "cannot read text file {} (expected UTF-8, one sentence per line)",
                        path.display()
                    )
                })?;
                let sentences = text.lines().map(str::to_string).collect();
                from_sentences(&path.display().to_string(), sentences, cfg)
            }
            other => bail!("config key `data.source`: unknown text source {other:?}"),
        }
    }

    /// Held-out rows as token lists (up to `<eos>` for text): BLEU's references.
    pub fn test_sentences(&self) -> Vec<Vec<i64>> {
        rows(&self.test)
            .into_iter()
            .map(|r| strip_eos(&r, self.has_eos))
            .collect()
    }
}

/// Where Debian's `fortunes` package puts its quotation files.
pub const DEBIAN_FORTUNES: &str = "/usr/share/games/fortunes";

/// The random stream of the oracle's weights and of its corpus, under `data.oracle_seed`.
pub const ORACLE_STREAM: u64 = 0x0a_c1e;

/// A model that writes token sequences: the oracle of SeqGAN's synthetic benchmark, an LSTM
/// (see [`crate::models::lstm::oracle`]), whose samples are that benchmark's corpus.
pub trait SequenceSampler {
    /// `n` sequences of `len` tokens, drawn from libtorch's generator.
    fn sample(&self, n: i64, len: i64) -> Tensor;
}

fn oracle_corpus(oracle: &dyn SequenceSampler, cfg: &TextDataConfig) -> TextCorpus {
    let _rng = crate::rng::seeded_torch_rng(crate::rng::derive_seed(
        cfg.oracle_seed,
        &[ORACLE_STREAM, 1],
    ));
    let n_test = ((cfg.sequences as f64) * cfg.test_fraction).round() as i64;
    let train = oracle
        .sample(cfg.sequences, cfg.seq_len)
        .to_device(Device::Cpu);
    let test = oracle
        .sample(n_test.max(1), cfg.seq_len)
        .to_device(Device::Cpu);
    TextCorpus {
        name: format!(
            "oracle LSTM (vocabulary {}, hidden {}, seed {})",
            cfg.vocab_size, cfg.oracle_hidden, cfg.oracle_seed
        ),
        vocab: Vocab::numbered(cfg.vocab_size),
        train,
        test,
        has_eos: false,
    }
}

/// Lower-cased words (letters and digits, with apostrophes inside words) and single
/// punctuation marks.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let inner_apostrophe =
            c == '\'' && !word.is_empty() && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || inner_apostrophe {
            word.extend(c.to_lowercase());
            continue;
        }
        if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        if c.is_ascii_punctuation() {
            out.push(c.to_string());
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// The quotations of a fortune folder: files of entries separated by lines holding `%`,
/// with attribution lines (`-- Someone`) removed and whitespace joined. `.dat` index files
/// and `.u8` links are skipped.
pub fn read_fortunes(dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot read fortune folder {} (install Debian's `fortunes` package, or set data.path)",
            dir.display()
        )
    })?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && !p
                    .extension()
                    .is_some_and(|e| e == "dat" || e == "u8" || e == "gz")
        })
        .collect();
    files.sort();
    let mut quotes = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        let mut current: Vec<&str> = Vec::new();
        for line in text.lines().chain(std::iter::once("%")) {
            if line.trim() == "%" {
                if !current.is_empty() {
                    quotes.push(
                        current
                            .join(" ")
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" "),
                    );
                    current.clear();
                }
            } else {
                let t = line.trim();
                if !(t.starts_with("--") || t.starts_with('—') || t.is_empty()) {
                    current.push(t);
                }
            }
        }
    }
    if quotes.is_empty() {
        bail!(
            "fortune folder {} holds no quotations (expected text files of entries separated by `%` lines)",
            dir.display()
        );
    }
    Ok(quotes)
}

/// Tokenises sentences, keeps those of 1..=seq_len tokens (once each), splits them by a
/// hash of the sentence, and builds the vocabulary from the training split.
fn from_sentences(name: &str, sentences: Vec<String>, cfg: &TextDataConfig) -> Result<TextCorpus> {
    let len = cfg.seq_len as usize;
    let mut seen = std::collections::HashSet::new();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for s in sentences {
        let toks = tokenize(&s);
        if toks.is_empty() || toks.len() > len || !seen.insert(toks.clone()) {
            continue;
        }
        let bucket = (crate::rng::fnv1a(toks.join(" ").as_bytes()) % 10_000) as f64;
        let held_out = bucket < cfg.test_fraction * 10_000.0;
        if held_out {
            test.push(toks);
        } else {
            train.push(toks);
        }
    }
    let vocab = Vocab::build(&train, cfg.vocab_size as usize, cfg.min_count);
    let encode = |set: &[Vec<String>]| -> Vec<i64> {
        let mut ids = Vec::new();
        for toks in set {
            let row: Vec<i64> = toks.iter().map(|w| vocab.id(w)).collect();
            if row.iter().filter(|&&t| t == UNK).count() > cfg.max_unknown {
                continue;
            }
            ids.extend(&row);
            ids.extend(std::iter::repeat_n(EOS, len - row.len()));
        }
        ids
    };
    let (tr, te) = (encode(&train), encode(&test));
    if tr.len() < len * 2 {
        bail!(
            "{name}: fewer than 2 usable training sentences of at most {len} tokens \
             (data.seq_len = {len}, data.max_unknown = {})",
            cfg.max_unknown
        );
    }
    let to_rows = |ids: Vec<i64>| Tensor::from_slice(&ids).view([-1, len as i64]);
    Ok(TextCorpus {
        name: name.to_string(),
        vocab,
        train: to_rows(tr),
        test: if te.is_empty() {
            Tensor::zeros([0, len as i64], (Kind::Int64, Device::Cpu))
        } else {
            to_rows(te)
        },
        has_eos: true,
    })
}

/// The rows of an N×T int64 tensor.
pub fn rows(x: &Tensor) -> Vec<Vec<i64>> {
    let x = x.to_device(Device::Cpu).contiguous();
    let t = x.size()[1] as usize;
    let flat = Vec::<i64>::try_from(x.flatten(0, -1)).expect("int64 rows");
    flat.chunks(t.max(1)).map(<[i64]>::to_vec).collect()
}

/// A row without its `<eos>` padding (when the corpus has any).
pub fn strip_eos(row: &[i64], has_eos: bool) -> Vec<i64> {
    if has_eos {
        row.iter().copied().take_while(|&t| t != EOS).collect()
    } else {
        row.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_splits_words_and_punctuation() {
        assert_eq!(
            tokenize("Don't PANIC -- it's 42, isn't it?"),
            ["don't", "panic", "-", "-", "it's", "42", ",", "isn't", "it", "?"]
        );
        assert_eq!(tokenize("  'quoted' "), ["'", "quoted", "'"]);
    }

    #[test]
    fn fortunes_are_split_deduplicated_and_encoded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("wisdom"),
            "A stitch in time\nsaves nine.\n\t\t-- Proverb\n%\nHaste makes waste.\n%\nHaste makes waste.\n%\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("wisdom.dat"), [0u8, 1, 2]).unwrap();
        let quotes = read_fortunes(dir.path()).unwrap();
        assert_eq!(
            quotes,
            [
                "A stitch in time saves nine.",
                "Haste makes waste.",
                "Haste makes waste."
            ]
        );
        let cfg = TextDataConfig {
            source: "fortunes".into(),
            path: dir.path().display().to_string(),
            seq_len: 8,
            min_count: 1,
            test_fraction: 0.0,
            ..Default::default()
        };
        let c = TextCorpus::load(&cfg, None).unwrap();
        assert_eq!(c.train.size(), [2, 8]);
        let first = rows(&c.train)[0].clone();
        assert_eq!(
            c.vocab.decode(&first, true),
            "a stitch in time saves nine ."
        );
        assert_eq!(first[7], EOS);
        // an empty folder is an error that says what was expected
        let empty = tempfile::tempdir().unwrap();
        let err = read_fortunes(empty.path()).unwrap_err().to_string();
        assert!(err.contains("no quotations"), "{err}");
    }

    #[test]
    fn a_text_file_gives_one_sentence_per_line_split_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corpus.txt");
        let lines: Vec<String> = (0..200)
            .map(|i| format!("line number {i} is here ."))
            .collect();
        std::fs::write(
            &path,
            lines.join("\n") + "\n\nway too long a line for eight tokens of room\n",
        )
        .unwrap();
        let cfg = TextDataConfig {
            source: "lines".into(),
            path: path.display().to_string(),
            seq_len: 8,
            min_count: 1,
            max_unknown: 0,
            ..Default::default()
        };
        let c = TextCorpus::load(&cfg, None).unwrap();
        // the empty and the over-long line are dropped; about a tenth is held out, and
        // held-out lines whose number never occurs in training hold an <unk>: with
        // max_unknown = 0 they are dropped too
        let (tr, te) = (c.train.size()[0], c.test.size()[0]);
        assert!((150..=195).contains(&tr) && tr + te <= 200, "{tr} + {te}");
        assert_eq!(
            c.vocab.decode(&rows(&c.train)[0], true).split(' ').count(),
            6
        );
        assert!(rows(&c.test).iter().all(|r| !r.contains(&UNK)));
    }

    #[test]
    fn vocabulary_orders_by_frequency_and_maps_rare_words_to_unk() {
        let s: Vec<Vec<String>> = [["b", "a", "b"], ["c", "b", "a"]]
            .iter()
            .map(|r| r.iter().map(|w| w.to_string()).collect())
            .collect();
        let v = Vocab::build(&s, 10, 2);
        assert_eq!(v.tokens, ["<eos>", "<unk>", "b", "a"]);
        assert_eq!(v.id("c"), UNK);
        assert_eq!(Vocab::build(&s, 3, 1).tokens, ["<eos>", "<unk>", "b"]);
    }
}
