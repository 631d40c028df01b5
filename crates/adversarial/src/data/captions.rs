//! Image–caption pairs for text-to-image: the 64×64 emoji of npm
//! emoji-datasource-{apple,google,twitter} with captions built from the package's
//! `emoji.json` and npm emojilib's keywords, or a folder of the user's own images with a
//! caption per image.
//!
//! An emoji caption reads "thumbs up, medium-dark skin tone; thumbsup, yes, awesome, good,
//! agree": the emoji's CLDR name (emojilib's first keyword), its skin tones, then up to five
//! more keywords. The vendor is kept out: a vendor is a style, so the same caption has one
//! image per vendor. Three splits:
//! - **held out**: a tenth of the base emoji, by a hash of the base code point, with every
//!   skin-tone variant (as the pix2pix emoji split does);
//! - **compositional**: combinations whose parts are both seen in training: one skin tone of
//!   each hand gesture, and one colour of each coloured object ("purple heart" when red, blue…
//!   hearts and purple circles are trained on);
//! - **train**: the rest.

use super::folder::{decode_to_tensor, list_images};
use crate::config::names::DataSource;
use crate::rng::fnv1a;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use tch::Tensor;

pub use super::attributes::{colour_object, COLOURS, TONES};
pub use crate::config::names::VENDORS;

/// Keywords after the name in an emoji caption.
const KEYWORDS: usize = 5;

/// Which part of the data an image belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    /// A held-out base emoji (every variant of it).
    HeldOut,
    /// A held-out combination of parts that training sees separately.
    Compositional,
}

impl Split {
    /// The split by name: `train`, `test` (held out) or `compositional`.
    pub fn parse(name: &str) -> Result<Split> {
        match name {
            "train" => Ok(Split::Train),
            "test" => Ok(Split::HeldOut),
            "compositional" => Ok(Split::Compositional),
            other => {
                bail!("unknown caption split {other:?}: expected train, test or compositional")
            }
        }
    }
}

/// One image with its caption.
#[derive(Clone, Debug)]
pub struct Captioned {
    pub file: PathBuf,
    pub caption: String,
    /// The base emoji's code point (a folder image's file stem): one group, one split.
    pub group: String,
    /// Skin tone (index into [`TONES`]) of a one-tone variant.
    pub tone: Option<usize>,
    /// Colour (index into [`COLOURS`]) of a coloured object.
    pub colour: Option<usize>,
    pub split: Split,
}

/// Images and captions of one split, decoded.
pub struct CaptionSet {
    /// uint8 N×C×H×W.
    pub images: Tensor,
    pub captions: Vec<String>,
    /// Per image: skin tone index, or −1.
    pub tones: Vec<i64>,
    /// Per image: colour index, or −1.
    pub colours: Vec<i64>,
}

fn held_out(group: &str) -> bool {
    fnv1a(group.as_bytes()) % 10 == 9
}

/// The emoji a code-point string like `1F44D-1F3FE` spells.
fn chars(unified: &str) -> String {
    unified
        .split('-')
        .filter_map(|h| u32::from_str_radix(h, 16).ok().and_then(char::from_u32))
        .collect()
}

/// emojilib's keywords of an emoji (looked up with and without the emoji presentation
/// selector U+FE0F, which the two packages spell differently).
fn keywords<'a>(lib: &'a HashMap<String, Vec<String>>, e: &Value) -> Option<&'a Vec<String>> {
    let s = |k: &str| e[k].as_str().map(chars);
    let full = s("unified")?;
    [
        Some(full.clone()),
        Some(full.replace('\u{fe0f}', "")),
        s("non_qualified"),
    ]
    .into_iter()
    .flatten()
    .find_map(|k| lib.get(&k))
}

/// The caption's name and keyword part: "thumbs up" and "; thumbsup, yes, …".
fn name_and_keywords(lib: &HashMap<String, Vec<String>>, e: &Value) -> (String, String) {
    let fallback = e["name"].as_str().unwrap_or("").to_lowercase();
    let Some(kw) = keywords(lib, e) else {
        return (fallback, String::new());
    };
    let name = kw.first().map_or(fallback, |k| k.replace('_', " "));
    let words: Vec<String> = kw
        .iter()
        .skip(1)
        .map(|k| k.replace('_', " "))
        .filter(|k| {
            *k != name
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || " -'".contains(c))
        })
        .take(KEYWORDS)
        .collect();
    let tail = if words.is_empty() {
        String::new()
    } else {
        format!("; {}", words.join(", "))
    };
    (name, tail)
}

/// The held-out colour of each object that comes in three colours or more: chosen by a hash
/// of the object, moving on to another colour when that one is already held out for another
/// object, so every held-out colour stays in training through other objects.
fn held_out_colours(objects: &BTreeMap<String, BTreeSet<usize>>) -> HashMap<String, usize> {
    let mut taken = BTreeSet::new();
    let mut out = HashMap::new();
    for (object, colours) in objects.iter().filter(|(_, c)| c.len() >= 3) {
        let cs: Vec<usize> = colours.iter().copied().collect();
        let first = fnv1a(object.as_bytes()) as usize % cs.len();
        if let Some(&c) = (0..cs.len())
            .map(|k| &cs[(first + k) % cs.len()])
            .find(|c| !taken.contains(*c))
        {
            taken.insert(c);
            out.insert(object.clone(), c);
        }
    }
    out
}

/// Every image of `vendors` under the emoji cache `dir` (`emoji.json`, `emojilib.json`,
/// one folder per vendor; `scripts/setup-emoji.sh` makes it), captioned and split.
pub fn emoji_captions(dir: &Path, vendors: &[String]) -> Result<Vec<Captioned>> {
    let read = |name: &str| -> Result<String> {
        let p = dir.join(name);
        std::fs::read_to_string(&p).with_context(|| {
            format!(
                "cannot read {}: run scripts/setup-emoji.sh (it fetches the emoji and their metadata)",
                p.display()
            )
        })
    };
    let records: Vec<Value> = serde_json::from_str(&read("emoji.json")?).with_context(|| {
        format!(
            "{}: not emoji-datasource's emoji.json",
            dir.join("emoji.json").display()
        )
    })?;
    let lib: HashMap<String, Vec<String>> = serde_json::from_str(&read("emojilib.json")?)
        .with_context(|| {
            format!(
                "{}: not emojilib's emoji-en-US.json",
                dir.join("emojilib.json").display()
            )
        })?;
    for v in vendors {
        if !VENDORS.contains(&v.as_str()) {
            bail!(
                "unknown emoji vendor {v:?}: expected {}",
                VENDORS.join(", ")
            );
        }
    }
    // each record's name and keywords, and its colour and object when it has them
    let named: Vec<(String, String)> = records.iter().map(|e| name_and_keywords(&lib, e)).collect();
    let coloured: Vec<Option<(usize, String)>> =
        named.iter().map(|(name, _)| colour_object(name)).collect();
    // the coloured objects, to choose each one's held-out colour
    let mut objects: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for (c, o) in coloured.iter().flatten() {
        objects.entry(o.clone()).or_default().insert(*c);
    }
    let held_colours = held_out_colours(&objects);
    let mut out = Vec::new();
    for ((e, (name, tail)), colour) in records.iter().zip(named).zip(coloured) {
        let (Some(base), Some(image)) = (e["unified"].as_str(), e["image"].as_str()) else {
            continue;
        };
        // the skin-tone modifiers themselves are swatches, not emoji
        if e["category"] == "Component" {
            continue;
        }
        // the first code point: gender and skin-tone variants share their base's split
        let group = base.split('-').next().unwrap_or(base).to_string();
        let test = held_out(&group);
        let gesture = e["subcategory"].as_str().unwrap_or("").starts_with("hand");
        let colour_split = match &colour {
            Some((c, o)) if held_colours.get(o) == Some(c) => Split::Compositional,
            _ => Split::Train,
        };
        let mut variants = vec![(image.to_string(), None, String::new(), e.clone())];
        if let Some(vars) = e["skin_variations"].as_object() {
            for (key, v) in vars {
                let Some(file) = v["image"].as_str() else {
                    continue;
                };
                let tones: Vec<usize> = key
                    .split('-')
                    .filter_map(|t| TONES.iter().position(|(cp, _)| *cp == t))
                    .collect();
                let words: Vec<&str> = tones.iter().map(|&t| TONES[t].1).collect();
                let one = if tones.len() == 1 {
                    Some(tones[0])
                } else {
                    None
                };
                variants.push((
                    file.to_string(),
                    one,
                    format!(", {}", words.join(", ")),
                    v.clone(),
                ));
            }
        }
        let held_tone = fnv1a(group.as_bytes()) as usize % TONES.len();
        for (file, tone, tone_words, rec) in variants {
            let split = if test {
                Split::HeldOut
            } else if gesture && tone == Some(held_tone) {
                Split::Compositional
            } else {
                colour_split
            };
            for v in vendors {
                if rec[format!("has_img_{v}")] != Value::Bool(true) {
                    continue;
                }
                let path = dir.join(v).join(&file);
                if !path.is_file() {
                    continue;
                }
                out.push(Captioned {
                    file: path,
                    caption: format!("{name}{tone_words}{tail}"),
                    group: group.clone(),
                    tone,
                    colour: colour.as_ref().map(|(c, _)| *c),
                    split,
                });
            }
        }
    }
    if out.is_empty() {
        bail!(
            "no emoji images of {} under {}: run scripts/setup-emoji.sh",
            vendors.join(", "),
            dir.display()
        );
    }
    Ok(out)
}

/// A folder of the user's images with their captions: a `captions.tsv` in the folder (one
/// `file<TAB>caption` per line, `file` relative to the folder), or else a `name.txt` beside
/// each `name.png`. A tenth of the images (by a hash of the file name) is held out. Images
/// without a caption, empty captions and captions of missing files are refused by name.
pub fn folder_captions(dir: &Path) -> Result<Vec<Captioned>> {
    if !dir.is_dir() {
        bail!("captions: folder {} does not exist", dir.display());
    }
    let tsv = dir.join("captions.tsv");
    let mut captions: BTreeMap<PathBuf, String> = BTreeMap::new();
    if tsv.is_file() {
        let text = std::fs::read_to_string(&tsv)
            .with_context(|| format!("cannot read {}", tsv.display()))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let Some((file, caption)) = line.split_once('\t') else {
                bail!(
                    "{}:{}: expected `file<TAB>caption`, got {line:?}",
                    tsv.display(),
                    i + 1
                );
            };
            let path = dir.join(file.trim());
            if !path.is_file() {
                bail!("{}:{}: no image {}", tsv.display(), i + 1, path.display());
            }
            if caption.trim().is_empty() {
                bail!(
                    "{}:{}: the caption of {file} is empty",
                    tsv.display(),
                    i + 1
                );
            }
            captions.insert(path, caption.trim().to_string());
        }
    }
    let images = list_images(dir)?;
    if images.is_empty() {
        bail!("captions: no images in {}", dir.display());
    }
    let mut out = Vec::new();
    for path in images {
        let caption = match captions.get(&path) {
            Some(c) => c.clone(),
            None => {
                let side = path.with_extension("txt");
                if !side.is_file() {
                    bail!(
                        "captions: {} has no caption: add a line `{}<TAB>caption` to {} or write {}",
                        path.display(),
                        path.strip_prefix(dir).unwrap_or(&path).display(),
                        tsv.display(),
                        side.display()
                    );
                }
                let c = std::fs::read_to_string(&side)
                    .with_context(|| format!("cannot read {}", side.display()))?;
                if c.trim().is_empty() {
                    bail!("captions: {} is empty", side.display());
                }
                c.trim().to_string()
            }
        };
        let group = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let split = if held_out(&group) {
            Split::HeldOut
        } else {
            Split::Train
        };
        out.push(Captioned {
            file: path,
            caption,
            group,
            tone: None,
            colour: None,
            split,
        });
    }
    Ok(out)
}

/// The captioned images a config's `data.source` names (`emoji-captions` or `captions`),
/// every split.
pub fn entries(d: &crate::config::DataConfig) -> Result<Vec<Captioned>> {
    match d.source() {
        DataSource::EmojiCaptions => {
            let dir = if d.path.is_empty() {
                super::paired::emoji_dir()
            } else {
                PathBuf::from(&d.path)
            };
            let vendors: Vec<String> = if d.vendors.is_empty() {
                VENDORS.iter().map(|v| v.to_string()).collect()
            } else {
                d.vendors.clone()
            };
            emoji_captions(&dir, &vendors)
        }
        DataSource::Captions => folder_captions(Path::new(&d.path)),
        other => bail!(
            "config key `data.source`: {:?} is not a captioned source",
            other.name()
        ),
    }
}

/// The distinct captions of `captions` in order of first appearance, and each caption's
/// row among them: the labels a text-conditional GAN trains on.
pub fn caption_rows(captions: &[String]) -> (Vec<String>, Vec<i64>) {
    let mut rows: HashMap<&str, i64> = HashMap::new();
    let mut distinct = Vec::new();
    let rows_of = captions
        .iter()
        .map(|c| {
            *rows.entry(c).or_insert_with(|| {
                distinct.push(c.clone());
                distinct.len() as i64 - 1
            })
        })
        .collect();
    (distinct, rows_of)
}

/// The images of `split` (at most `limit`, 0 = all) decoded at `resolution`² RGB
/// (transparency composited on white), with their captions and attributes.
pub fn load(
    entries: &[Captioned],
    split: Split,
    resolution: i64,
    limit: usize,
) -> Result<CaptionSet> {
    let mut chosen: Vec<&Captioned> = entries.iter().filter(|e| e.split == split).collect();
    if limit > 0 {
        chosen.truncate(limit);
    }
    let files: Vec<PathBuf> = chosen.iter().map(|e| e.file.clone()).collect();
    let images = decode_to_tensor(&files, resolution as u32, 3)?;
    let attr = |f: fn(&Captioned) -> Option<usize>| -> Vec<i64> {
        chosen
            .iter()
            .map(|e| f(e).map_or(-1, |v| v as i64))
            .collect()
    };
    Ok(CaptionSet {
        images,
        captions: chosen.iter().map(|e| e.caption.clone()).collect(),
        tones: attr(|e| e.tone),
        colours: attr(|e| e.colour),
    })
}

/// Per caption, its `k` nearest other captions by the Jaccard similarity of their word
/// sets (punctuation left out), most similar first, ties by row: the hard negatives of
/// contrastive batches and of the matching-aware D (captions that differ in a word or two).
pub fn word_neighbours(captions: &[String], k: usize) -> Vec<Vec<usize>> {
    let tokens: Vec<Vec<String>> = captions
        .iter()
        .map(|c| crate::data::text::tokenize(c))
        .collect();
    let mut ids = std::collections::HashMap::new();
    let sets: Vec<Vec<usize>> = tokens
        .iter()
        .map(|t| {
            let mut s: Vec<usize> = t
                .iter()
                .filter(|w| w.chars().any(char::is_alphanumeric))
                .map(|w| {
                    let n = ids.len();
                    *ids.entry(w.as_str()).or_insert(n)
                })
                .collect();
            s.sort_unstable();
            s.dedup();
            s
        })
        .collect();
    let shared = |a: &[usize], b: &[usize]| {
        let (mut i, mut j, mut n) = (0, 0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => (n, i, j) = (n + 1, i + 1, j + 1),
            }
        }
        n
    };
    (0..sets.len())
        .map(|r| {
            let mut scored: Vec<(f64, usize)> = (0..sets.len())
                .filter(|&o| o != r)
                .map(|o| {
                    let n = shared(&sets[r], &sets[o]);
                    let union = sets[r].len() + sets[o].len() - n;
                    (n as f64 / union.max(1) as f64, o)
                })
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            scored.into_iter().take(k).map(|(_, o)| o).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jaccard of word sets, by hand: "blue heart; love" and "red heart; love" share 2 of 4
    /// words (0.5); "blue circle; round" shares 1 of 5 with the first (0.2), none with
    /// "cat; animal" (0).
    #[test]
    fn neighbours_are_the_captions_sharing_most_words() {
        let t: Vec<String> = [
            "blue heart; love",
            "red heart; love",
            "blue circle; round",
            "cat; animal",
        ]
        .map(String::from)
        .to_vec();
        let near = word_neighbours(&t, 2);
        assert_eq!(near[0], vec![1, 2]);
        assert_eq!(
            near[1],
            vec![0, 2],
            "0.5 to row 0, then a 0.0 tie broken by row"
        );
        assert_eq!(near[2], vec![0, 1]);
        assert_eq!(
            word_neighbours(&t, 9)[3].len(),
            3,
            "at most the other captions"
        );
    }

    #[test]
    fn colour_and_object_come_apart() {
        assert_eq!(colour_object("purple heart"), Some((5, "heart".into())));
        assert_eq!(
            colour_object("large blue diamond"),
            Some((4, "large diamond".into()))
        );
        assert_eq!(colour_object("thumbs up"), None);
        assert_eq!(chars("1F44D-1F3FE"), "\u{1f44d}\u{1f3fe}");
    }

    #[test]
    fn each_object_holds_out_a_colour_that_training_sees_elsewhere() {
        let mut objects = BTreeMap::new();
        objects.insert("heart".to_string(), BTreeSet::from([0, 4, 5]));
        objects.insert("circle".to_string(), BTreeSet::from([0, 4, 5]));
        objects.insert("book".to_string(), BTreeSet::from([3, 4]));
        let held = held_out_colours(&objects);
        assert_eq!(held.len(), 2, "{held:?}");
        assert_ne!(held["heart"], held["circle"]);
        assert!(
            !held.contains_key("book"),
            "two colours are too few to hold one out"
        );
    }

    #[test]
    fn folder_captions_from_a_file_or_beside_each_image_and_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for n in ["a.png", "b.png", "c.png"] {
            image::RgbImage::new(8, 8).save(d.join(n)).unwrap();
        }
        std::fs::write(
            d.join("captions.tsv"),
            "a.png\ta red square\nb.png\t a blue one \n",
        )
        .unwrap();
        let e = format!("{:#}", folder_captions(d).unwrap_err());
        assert!(e.contains("c.png") && e.contains("has no caption"), "{e}");
        std::fs::write(d.join("c.txt"), "  ").unwrap();
        let e = format!("{:#}", folder_captions(d).unwrap_err());
        assert!(e.contains("c.txt") && e.contains("empty"), "{e}");
        std::fs::write(d.join("c.txt"), "a green circle\n").unwrap();
        let got = folder_captions(d).unwrap();
        let caps: Vec<&str> = got.iter().map(|c| c.caption.as_str()).collect();
        assert_eq!(caps, ["a red square", "a blue one", "a green circle"]);
        std::fs::write(d.join("captions.tsv"), "a.png\t\n").unwrap();
        let e = format!("{:#}", folder_captions(d).unwrap_err());
        assert!(e.contains("captions.tsv:1") && e.contains("empty"), "{e}");
        std::fs::write(d.join("captions.tsv"), "z.png\tx\n").unwrap();
        let e = format!("{:#}", folder_captions(d).unwrap_err());
        assert!(e.contains("captions.tsv:1") && e.contains("z.png"), "{e}");
    }
}
