//! Where a trainer's real samples come from: a shuffled in-memory dataset, a streamed image
//! folder (decoded ahead in the background), a toy mixture, or two paired image domains.

use super::shapes::ToyData;
use super::{folder, paired, to_unit_range, toy, Batcher, BatcherState, Dataset};
use crate::config::Config;
use crate::rng;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use tch::{Device, Tensor};

/// Where a trainer's real samples come from.
pub enum Source {
    /// A finite dataset, drawn in shuffled minibatches.
    Images {
        dataset: Dataset,
        batcher: Batcher,
        batch: usize,
        seed: u64,
    },
    /// Fresh draws from a known distribution at every step (the toy benchmarks); the draws
    /// follow libtorch's generator, which the trainer reseeds every step.
    Toy { name: String, data: ToyData },
    /// An image folder decoded batch by batch from disk (`data.stream = true`): memory holds
    /// one batch, whatever the folder's size. Same order and pixels as the in-memory set.
    Stream {
        name: String,
        files: Vec<PathBuf>,
        labels: Option<Tensor>,
        resolution: u32,
        channels: u32,
        batcher: Batcher,
        batch: usize,
        seed: u64,
        /// The next minibatches, decoding in the background while the current one trains.
        ahead: std::collections::VecDeque<Prefetch>,
        /// A copy of the batcher running `prefetch.depth` batches ahead of it.
        lookahead: Option<Batcher>,
        prefetch: PrefetchPlan,
    },
    /// Matched (A, B) images for translation, drawn in shuffled minibatches, with the
    /// held-out pairs kept for sample panels.
    Paired {
        train: paired::PairedSet,
        test: paired::PairedSet,
        batcher: Batcher,
        /// A second, independent order for B, for unpaired training (CycleGAN). Drawn once
        /// per step like A's, it stays at A's position, so one state restores both.
        batcher_b: Batcher,
        batch: usize,
        seed: u64,
    },
}

impl Source {
    /// Minibatches of `batch` images from `dataset`, in an order drawn from `seed`.
    pub fn images(dataset: Dataset, batch: usize, seed: u64) -> Result<Source> {
        if dataset.is_empty() {
            bail!("dataset {} is empty", dataset.name);
        }
        let batcher = Batcher::new(dataset.len(), batch, seed, BatcherState::default())
            .with_context(|| format!("dataset {}", dataset.name))?;
        Ok(Source::Images {
            dataset,
            batcher,
            batch,
            seed,
        })
    }

    /// Short description for logs.
    pub fn describe(&self) -> String {
        match self {
            Source::Images { dataset, .. } => dataset.name.clone(),
            Source::Stream { name, .. } => name.clone(),
            Source::Toy { name, data } => data.describe(name),
            Source::Paired { train, test, .. } => {
                format!("{}; {} held-out pairs", train.name, test.len())
            }
        }
    }

    /// The next minibatch of (A, B) pairs as floats in [-1, 1], for paired sources.
    pub fn next_pair(&mut self, device: Device) -> Option<(Tensor, Tensor)> {
        match self {
            Source::Paired { train, batcher, .. } => {
                let idx = batcher.next_indices();
                let get = |t: &Tensor| to_unit_range(&t.index_select(0, &idx)).to_device(device);
                Some((get(&train.a), get(&train.b)))
            }
            _ => None,
        }
    }

    /// The next minibatches of A and of B drawn independently (unpaired: the pairing is
    /// never seen), for paired sources.
    pub fn next_unpaired(&mut self, device: Device) -> Option<(Tensor, Tensor)> {
        match self {
            Source::Paired {
                train,
                batcher,
                batcher_b,
                ..
            } => {
                let (ia, ib) = (batcher.next_indices(), batcher_b.next_indices());
                let get =
                    |t: &Tensor, i: &Tensor| to_unit_range(&t.index_select(0, i)).to_device(device);
                Some((get(&train.a, &ia), get(&train.b, &ib)))
            }
            _ => None,
        }
    }

    /// `n` held-out pairs spread over the set (floats in [-1, 1]; training pairs when none
    /// is held out), for paired sources' sample panels.
    pub fn held_out_pairs(&self, n: i64, device: Device) -> Option<(Tensor, Tensor)> {
        match self {
            Source::Paired { test, train, .. } => {
                // a small folder may hold no held-out pair: show training pairs then
                let set = if test.is_empty() { train } else { test };
                let idx = set.spread(n);
                let get = |t: &Tensor| to_unit_range(&t.index_select(0, &idx)).to_device(device);
                Some((get(&set.a), get(&set.b)))
            }
            _ => None,
        }
    }

    /// The toy distribution, when the data is a Gaussian mixture (whose modes are counted).
    pub fn mixture(&self) -> Option<&toy::GaussianMixture> {
        self.toy().and_then(ToyData::mixture)
    }

    /// The toy data, when the data is toy data.
    pub fn toy(&self) -> Option<&ToyData> {
        match self {
            Source::Toy { data, .. } => Some(data),
            _ => None,
        }
    }

    pub fn to_device(self, device: Device) -> Source {
        match self {
            Source::Images {
                dataset,
                batcher,
                batch,
                seed,
            } => Source::Images {
                dataset: dataset.to_device(device),
                batcher,
                batch,
                seed,
            },
            other => other,
        }
    }

    /// The next minibatch of `m` real samples (N×C×H×W floats), on `device`.
    pub fn next_batch(&mut self, m: i64, device: Device) -> Result<Tensor> {
        Ok(self.next_labelled(m, device)?.0)
    }

    /// The next minibatch with its labels (int64, N) when the data has labels. Fails only
    /// for streamed folders, when a file can no longer be read. Image sources draw from
    /// their seeded order at the batch size they were opened with (`train.batch_size`),
    /// which `m` must equal (checked in debug builds); toy sources draw `m`.
    pub fn next_labelled(&mut self, m: i64, device: Device) -> Result<(Tensor, Option<Tensor>)> {
        Ok(match self {
            Source::Images {
                dataset, batcher, ..
            } => {
                debug_assert_eq!(
                    m as usize,
                    batcher.batch_size(),
                    "image sources draw their own batch size"
                );
                let idx = batcher.next_indices().to_device(device);
                let labels = dataset.labels.as_ref().map(|l| l.index_select(0, &idx));
                (dataset.batch(&idx), labels)
            }
            Source::Stream {
                files,
                labels,
                resolution,
                channels,
                batcher,
                ahead,
                lookahead,
                prefetch,
                ..
            } => {
                debug_assert_eq!(
                    m as usize,
                    batcher.batch_size(),
                    "folders draw their own batch size"
                );
                let idx = batcher.next_indices();
                let want = Vec::<i64>::try_from(&idx).expect("int64 indices");
                let (res, ch) = (*resolution, *channels);
                let paths = |indices: &[i64]| -> Vec<PathBuf> {
                    indices.iter().map(|&i| files[i as usize].clone()).collect()
                };
                // the oldest batch decoding in the background is this one unless the
                // position moved (a restore); stale ones are left to finish and dropped
                let data = match ahead.pop_front() {
                    Some(p) if p.indices == want => {
                        p.decoding.join().expect("decoder thread panicked")?
                    }
                    _ => {
                        ahead.clear();
                        *lookahead = None;
                        folder::decode_files(&paths(&want), res, ch)?
                    }
                };
                if prefetch.depth > 0 {
                    let look = lookahead.get_or_insert_with(|| batcher.clone());
                    while ahead.len() < prefetch.depth {
                        let next = Vec::<i64>::try_from(&look.next_indices()).expect("int64");
                        let (picked, threads) = (paths(&next), prefetch.threads);
                        ahead.push_back(Prefetch {
                            decoding: std::thread::spawn(move || {
                                folder::decode_files_on(&picked, res, ch, threads)
                            }),
                            indices: next,
                        });
                    }
                }
                let (r, c) = (res as i64, ch as i64);
                let x = Tensor::from_slice(&data).view([want.len() as i64, c, r, r]);
                let y = labels
                    .as_ref()
                    .map(|l| l.index_select(0, &idx).to_device(device));
                // bytes travel to the device and are scaled there: 4× less to copy, and on a
                // GPU no CPU arithmetic competing with the decoder threads (on the H100 that
                // CPU step took 1.5–41 ms a batch)
                (to_unit_range(&x.to_device(device)), y)
            }
            Source::Toy { data, .. } => {
                let x = data.sample(m, device).view([m, data.dim() as i64, 1, 1]);
                (x, None)
            }
            Source::Paired { .. } => {
                let (_, b) = self.next_pair(device).expect("paired");
                (b, None)
            }
        })
    }

    /// Captioned data: label k's caption; empty for other sources.
    pub fn captions(&self) -> &[String] {
        match self {
            Source::Images { dataset, .. } => &dataset.captions,
            _ => &[],
        }
    }

    /// Checks that the data can train a model over `classes` classes: it has labels, all in
    /// 0..classes.
    pub fn check_labels(&self, classes: i64) -> Result<()> {
        let labels = match self {
            Source::Images { dataset, .. } => dataset.labels.as_ref(),
            Source::Stream { labels, .. } => labels.as_ref(),
            _ => None,
        };
        let Some(labels) = labels else {
            bail!(
                "config key `model.classes`: {} has no labels, so it cannot train a class-conditional model \
                 (a folder gets labels from one subfolder per class); or set model.classes = 0",
                self.describe()
            );
        };
        let (lo, hi) = (labels.min().int64_value(&[]), labels.max().int64_value(&[]));
        if lo < 0 || hi >= classes {
            bail!(
                "config key `model.classes`: {} has labels {lo}..={hi}, which need model.classes >= {}",
                self.describe(),
                hi + 1
            );
        }
        Ok(())
    }

    /// Position in the data stream, for checkpoints.
    pub fn state(&self) -> BatcherState {
        match self {
            Source::Images { batcher, .. }
            | Source::Stream { batcher, .. }
            | Source::Paired { batcher, .. } => batcher.state(),
            Source::Toy { .. } => BatcherState::default(),
        }
    }

    /// Continues the data stream from a checkpoint's position.
    pub fn restore(&mut self, state: BatcherState) -> Result<()> {
        if let Source::Images {
            dataset,
            batcher,
            batch,
            seed,
        } = self
        {
            *batcher = Batcher::new(dataset.len(), *batch, *seed, state)?;
        }
        if let Source::Stream {
            files,
            batcher,
            batch,
            seed,
            ..
        } = self
        {
            *batcher = Batcher::new(files.len(), *batch, *seed, state)?;
        }
        if let Source::Paired {
            train,
            batcher,
            batcher_b,
            batch,
            seed,
            ..
        } = self
        {
            *batcher = Batcher::new(train.len(), *batch, *seed, state)?;
            *batcher_b = Batcher::new(train.len(), *batch, unpaired_seed(*seed), state)?;
        }
        Ok(())
    }
}

impl Source {
    /// Changes how far a streamed folder decodes ahead (other sources ignore it).
    pub fn set_prefetch(&mut self, plan: PrefetchPlan) {
        if let Source::Stream { prefetch, .. } = self {
            *prefetch = plan;
        }
    }
}

/// How far a streamed folder decodes ahead of training, and on how many threads per batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrefetchPlan {
    /// Batches decoding in the background (0: none, each batch is decoded when asked for).
    pub depth: usize,
    pub threads: usize,
}

impl PrefetchPlan {
    /// Uses the cores training leaves idle: all but one on a GPU, those beyond `threads`
    /// on a CPU. On a CPU run using every core there are none, and decoding ahead would
    /// slow training more than the wait it saves (measured: docs/results/scaling-and-data.md). Several
    /// batches decode at once, each on a share of the spare cores, so the decoding rate
    /// scales with them.
    pub fn for_config(cfg: &Config) -> PrefetchPlan {
        let cores = crate::util::cores();
        let spare = if cfg.device != "cpu" {
            cores.saturating_sub(1).max(1)
        } else if cfg.threads > 0 {
            cores.saturating_sub(cfg.threads)
        } else {
            0
        };
        let depth = spare.min(4);
        PrefetchPlan {
            depth,
            threads: (spare / depth.max(1)).max(1),
        }
    }
}

/// A minibatch of a streamed folder being decoded on a background thread.
pub struct Prefetch {
    indices: Vec<i64>,
    decoding: std::thread::JoinHandle<Result<Vec<u8>>>,
}

/// The seed of B's own order in unpaired training.
pub(super) fn unpaired_seed(seed: u64) -> u64 {
    rng::derive_seed(seed, &[STREAM_UNPAIRED])
}

const STREAM_UNPAIRED: u64 = 3;
