//! Paired images for image-to-image translation: two folders holding the same file names
//! (pix2pix's A/ and B/ layout), such as the emoji of two vendors paired by code point.
//!
//! The held-out split is fixed by the file names alone: a pair is held out when the FNV-1a
//! hash of its group key falls in the last tenth. For emoji the key is the first code point
//! of the name, so every skin-tone and gender variant of one emoji lands on the same side
//! and no near-copy of a test image is trained on.

use super::folder::{decode_to_tensor, list_images};
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tch::Tensor;

/// Matched images of domains A and B, N×C×H×W bytes each, row i of both from `names[i]`.
pub struct PairedSet {
    pub name: String,
    pub a: Tensor,
    pub b: Tensor,
    pub names: Vec<String>,
}

impl PairedSet {
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Indices of `k` pairs spread evenly over the set (sorted names group similar emoji,
    /// so the first k would all be keycaps or flags), for sample panels.
    pub fn spread(&self, k: i64) -> Tensor {
        let n = self.len() as i64;
        let k = k.min(n).max(1);
        let idx: Vec<i64> = (0..k).map(|i| i * n / k).collect();
        Tensor::from_slice(&idx)
    }

    /// The same pairs translated the other way (B → A).
    pub fn reversed(self) -> PairedSet {
        PairedSet {
            a: self.b,
            b: self.a,
            ..self
        }
    }
}

/// How file names form the groups that the split keeps together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Each file is its own group.
    File,
    /// Files sharing the text before the first `-` (the emoji's base code point).
    Prefix,
}

/// Whether the pair named `name` belongs to the held-out tenth.
pub fn held_out(name: &str, grouping: Grouping) -> bool {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let key = match grouping {
        Grouping::File => stem,
        Grouping::Prefix => stem.split('-').next().unwrap_or(stem),
    };
    crate::rng::fnv1a(key.as_bytes()) % 10 == 9
}

/// Loads the pairs of `a_dir` and `b_dir` (files with the same path relative to each
/// folder) of the chosen `split` (`train`, `test` or `all`), at `resolution`² with
/// `channels` channels, at most `limit` (0 = all). A split may come out empty (a small
/// folder may hold no held-out name); callers that need pairs say so.
pub fn load_pairs(
    a_dir: &Path,
    b_dir: &Path,
    split: &str,
    grouping: Grouping,
    resolution: i64,
    channels: i64,
    limit: usize,
) -> Result<PairedSet> {
    let index = |dir: &Path| -> Result<BTreeMap<String, PathBuf>> {
        if !dir.is_dir() {
            bail!("paired images: folder {} does not exist", dir.display());
        }
        Ok(list_images(dir)?
            .into_iter()
            .map(|p| {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                (rel, p)
            })
            .collect())
    };
    let (a, b) = (index(a_dir)?, index(b_dir)?);
    let matched: Vec<&String> = a.keys().filter(|k| b.contains_key(*k)).collect();
    if matched.is_empty() {
        bail!(
            "paired images: none of the {} images in {} has a file of the same name in {} ({} images); \
             pairs are matched by file name",
            a.len(),
            a_dir.display(),
            b_dir.display(),
            b.len()
        );
    }
    let mut names: Vec<String> = matched
        .into_iter()
        .filter(|n| match split {
            "train" => !held_out(n, grouping),
            "test" => held_out(n, grouping),
            _ => true,
        })
        .cloned()
        .collect();
    if limit > 0 {
        names.truncate(limit);
    }
    let files = |m: &BTreeMap<String, PathBuf>| -> Vec<PathBuf> {
        names.iter().map(|n| m[n].clone()).collect()
    };
    let decode = |fs: Vec<PathBuf>| decode_to_tensor(&fs, resolution as u32, channels as u32);
    let unmatched = a.len() + b.len() - 2 * a.keys().filter(|k| b.contains_key(*k)).count();
    let skipped = if unmatched > 0 {
        format!(", {unmatched} unpaired files skipped")
    } else {
        String::new()
    };
    Ok(PairedSet {
        name: format!(
            "{} → {} {split} ({} pairs{skipped})",
            a_dir.display(),
            b_dir.display(),
            names.len()
        ),
        a: decode(files(&a))?,
        b: decode(files(&b))?,
        names,
    })
}

/// Where `scripts/setup-emoji.sh` puts the emoji: `$GAN_CACHE/emoji` (default
/// `~/.cache/adversarial/emoji`), one folder per vendor.
pub fn emoji_dir() -> PathBuf {
    crate::util::fs::cache_dir().join("emoji")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_fixed_by_names_and_keeps_variants_together() {
        assert_eq!(
            held_out("1f44d.png", Grouping::Prefix),
            held_out("1f44d-1f3fb.png", Grouping::Prefix)
        );
        let names: Vec<String> = (0..2000).map(|i| format!("{i:05x}.png")).collect();
        let test = names.iter().filter(|n| held_out(n, Grouping::File)).count();
        assert!((150..250).contains(&test), "{test} of 2000 held out");
    }

    #[test]
    fn pairs_match_by_name_and_refuse_disjoint_folders() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("A"), dir.path().join("B"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let px = |v: u8| image::RgbImage::from_pixel(8, 8, image::Rgb([v, v, v]));
        px(10).save(a.join("x.png")).unwrap();
        px(20).save(a.join("y.png")).unwrap();
        px(30).save(b.join("y.png")).unwrap();
        px(40).save(b.join("z.png")).unwrap();
        let s = load_pairs(&a, &b, "all", Grouping::File, 8, 3, 0).unwrap();
        assert_eq!(s.names, vec!["y.png"]);
        assert_eq!(s.a.int64_value(&[0, 0, 0, 0]), 20);
        assert_eq!(s.b.int64_value(&[0, 0, 0, 0]), 30);
        assert!(s.name.contains("2 unpaired files skipped"), "{}", s.name);
        std::fs::remove_file(b.join("y.png")).unwrap();
        let e = format!(
            "{:#}",
            load_pairs(&a, &b, "all", Grouping::File, 8, 3, 0)
                .err()
                .unwrap()
        );
        assert!(e.contains("same name"), "{e}");
        let e = format!(
            "{:#}",
            load_pairs(
                &a,
                &dir.path().join("missing"),
                "all",
                Grouping::File,
                8,
                3,
                0
            )
            .err()
            .unwrap()
        );
        assert!(e.contains("does not exist"), "{e}");
    }
}
