//! A seeded, resumable order over a finite dataset: every epoch a fresh permutation,
//! derived from the seed and the epoch, so a resumed run draws the same minibatches.

use crate::rng;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Serializable position in the shuffled stream of minibatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BatcherState {
    pub epoch: u64,
    pub position: usize,
}

/// Yields shuffled minibatch indices, a new permutation each epoch (drawn from the seed and
/// the epoch number, so the stream resumes exactly from a `BatcherState`). The last partial
/// batch of an epoch is dropped so every batch has the same size.
#[derive(Clone)]
pub struct Batcher {
    n: usize,
    batch: usize,
    seed: u64,
    state: BatcherState,
    perm: Vec<i64>,
}

const STREAM_DATA: u64 = 1;

impl Batcher {
    pub fn new(n: usize, batch: usize, seed: u64, state: BatcherState) -> Result<Batcher> {
        if batch == 0 || batch > n {
            bail!("batch size {batch} does not fit a dataset of {n} images");
        }
        let perm = rng::permutation(n, rng::derive_seed(seed, &[STREAM_DATA, state.epoch]));
        Ok(Batcher {
            n,
            batch,
            seed,
            state,
            perm,
        })
    }

    /// Indices of the next minibatch.
    pub fn next_indices(&mut self) -> Tensor {
        if self.state.position + self.batch > self.n {
            self.state = BatcherState {
                epoch: self.state.epoch + 1,
                position: 0,
            };
            self.perm = rng::permutation(
                self.n,
                rng::derive_seed(self.seed, &[STREAM_DATA, self.state.epoch]),
            );
        }
        let p = self.state.position;
        self.state.position += self.batch;
        Tensor::from_slice(&self.perm[p..p + self.batch])
    }

    /// Images per minibatch.
    pub fn batch_size(&self) -> usize {
        self.batch
    }

    pub fn state(&self) -> BatcherState {
        self.state
    }
}
