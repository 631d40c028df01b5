//! Small deterministic random numbers for data order and seed derivation.
//!
//! Kept independent of any crate's RNG so that data order never changes with a dependency
//! upgrade, and so that a run's random state is a few integers stored in its checkpoint.

/// SplitMix64 (Steele et al. 2014): a fast, well-mixed 64-bit generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in `0..n` (Lemire's multiply-shift; bias below 2^-32 for our sizes).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// Exclusive use of libtorch's process-wide random generator, held until dropped.
///
/// libtorch draws `randn`, `rand`, dropout masks etc. from one global generator. Every seeded
/// operation here (reseed, then draw) holds this guard, so two trainers on different threads
/// of one process (tests, a host program) never interleave their draws and each stays a pure
/// function of its seed. Every constructor that draws initial weights holds it too, even
/// where the weights are then overwritten by a file's: an unseeded draw on another thread
/// would otherwise land between a trainer's reseed and its draw and change what it draws.
/// Re-entrant: a thread that holds it gets a no-op guard.
pub struct TorchRng {
    guard: Option<std::sync::MutexGuard<'static, ()>>,
}

static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
thread_local!(static HELD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });

/// Takes the global generator (see [`TorchRng`]).
pub fn torch_rng() -> TorchRng {
    if HELD.with(|h| h.get()) {
        return TorchRng { guard: None };
    }
    // poisoning carries no meaning here: every user reseeds before drawing
    let guard = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    HELD.with(|h| h.set(true));
    TorchRng { guard: Some(guard) }
}

/// Takes the global generator and reseeds it with `seed`: the guard to hold while drawing.
pub fn seeded_torch_rng(seed: u64) -> TorchRng {
    let rng = torch_rng();
    rng.seed(seed);
    rng
}

impl TorchRng {
    /// Reseeds the generator.
    pub fn seed(&self, seed: u64) {
        tch::manual_seed(seed as i64);
    }
}

impl Drop for TorchRng {
    fn drop(&mut self) {
        if self.guard.take().is_some() {
            HELD.with(|h| h.set(false));
        }
    }
}

/// FNV-1a, 64 bit: a hash that stays the same across platforms and releases, for fixing
/// splits by name and for comparing configs between processes.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Derives an independent seed from a base seed and a path of integers, e.g.
/// `derive_seed(seed, &[STREAM, step, i])`, so every random draw of a run is a pure
/// function of (seed, position) and resuming reproduces it exactly.
pub fn derive_seed(seed: u64, path: &[u64]) -> u64 {
    let mut r = SplitMix64::new(seed);
    let mut s = r.next_u64();
    for &p in path {
        r = SplitMix64::new(s ^ p.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        s = r.next_u64();
    }
    s
}

/// A uniformly random permutation of `0..n` (Fisher–Yates).
pub fn permutation(n: usize, seed: u64) -> Vec<i64> {
    let mut p: Vec<i64> = (0..n as i64).collect();
    let mut r = SplitMix64::new(seed);
    for i in (1..n).rev() {
        let j = r.below(i as u64 + 1) as usize;
        p.swap(i, j);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published FNV-1a 64-bit test vectors (offset basis, "a", "foobar").
    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn permutation_is_a_permutation_and_seeded() {
        let p = permutation(1000, 7);
        let mut s = p.clone();
        s.sort();
        assert_eq!(s, (0..1000).collect::<Vec<_>>());
        assert_eq!(p, permutation(1000, 7));
        assert_ne!(p, permutation(1000, 8));
    }

    #[test]
    fn derived_seeds_differ_by_path() {
        let a = derive_seed(1, &[0, 5]);
        assert_eq!(a, derive_seed(1, &[0, 5]));
        assert_ne!(a, derive_seed(1, &[5, 0]));
        assert_ne!(a, derive_seed(2, &[0, 5]));
    }
}
