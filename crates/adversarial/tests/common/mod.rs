//! Helpers shared by the integration tests.

use adversarial::checkpoint;
use adversarial::config::Config;
use adversarial::data;
use adversarial::train::Trainer;

/// Trains 4 iterations straight, and 2 + checkpoint round trip + 2 in a fresh trainer, and
/// asserts that every state tensor is equal. Returns the names of the state tensors.
pub fn assert_resumes_bit_for_bit(cfg: &Config, label: &str) -> Vec<String> {
    let fresh = || Trainer::new(cfg, data::open(cfg).unwrap()).unwrap();
    let mut straight = fresh();
    for _ in 0..4 {
        straight.train_step().unwrap();
    }
    let mut first = fresh();
    for _ in 0..2 {
        first.train_step().unwrap();
    }
    let bytes = checkpoint::encode(&first.state_tensors(), &first.meta(0.0)).unwrap();
    drop(first);
    let mut resumed = fresh();
    resumed
        .restore(&checkpoint::decode(&bytes).unwrap())
        .unwrap();
    for _ in 0..2 {
        resumed.train_step().unwrap();
    }
    let (a, b) = (straight.state_tensors(), resumed.state_tensors());
    assert_eq!(a.len(), b.len(), "{label}");
    for ((n, x), (_, y)) in a.iter().zip(&b) {
        assert!(x.equal(y), "{label}: tensor {n} differs after resume");
    }
    a.into_iter().map(|(n, _)| n).collect()
}

/// The error (with its causes) that `overrides` meet: from resolving the config, or else
/// from `then` on the resolved config. Panics when both accept them.
#[allow(dead_code)] // not every test binary that includes this module refuses configs
pub fn refusal<T>(overrides: &[&str], then: impl FnOnce(&Config) -> anyhow::Result<T>) -> String {
    let all: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let outcome = Config::resolve(None, &all).and_then(|cfg| then(&cfg).map(|_| ()));
    match outcome {
        Err(e) => format!("{e:#}"),
        Ok(()) => panic!("{overrides:?} was accepted"),
    }
}
