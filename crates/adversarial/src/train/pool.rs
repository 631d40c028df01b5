//! CycleGAN's pool of past fakes (Shrivastava et al. 2017): D sees each new fake or, with
//! probability ½ once the pool is full, an older one that the new fake replaces, so D does
//! not chase G's latest output alone.

use tch::{Device, Kind, Tensor};

/// Up to `size` stored fakes.
pub struct ImagePool {
    size: usize,
    images: Vec<Tensor>,
}

impl ImagePool {
    pub fn new(size: usize) -> ImagePool {
        ImagePool {
            size,
            images: Vec::new(),
        }
    }

    /// The batch D should see in place of `fakes`, updating the pool. The coin flips and
    /// picks come from libtorch's generator (drawn for every image, whatever happens, so the
    /// stream stays aligned for exact resumes).
    pub fn query(&mut self, fakes: &Tensor) -> Tensor {
        let fakes = fakes.detach();
        if self.size == 0 {
            return fakes;
        }
        let n = fakes.size()[0];
        let coins = Vec::<f64>::try_from(Tensor::rand([n], (Kind::Double, Device::Cpu))).unwrap();
        let picks = Vec::<i64>::try_from(Tensor::randint(
            self.size as i64,
            [n],
            (Kind::Int64, Device::Cpu),
        ))
        .unwrap();
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n as usize {
            let img = fakes.get(i as i64).copy();
            if self.images.len() < self.size {
                self.images.push(img.copy());
                out.push(img);
            } else if coins[i] > 0.5 {
                let j = picks[i] as usize;
                out.push(std::mem::replace(&mut self.images[j], img));
            } else {
                out.push(img);
            }
        }
        Tensor::stack(&out, 0)
    }

    /// The stored fakes as one tensor, for checkpoints (None while empty).
    pub fn state(&self) -> Option<Tensor> {
        (!self.images.is_empty()).then(|| Tensor::stack(&self.images, 0))
    }

    /// Refills the pool from a checkpoint's tensor.
    pub fn restore(&mut self, stored: Option<&Tensor>, device: Device) {
        self.images = match stored {
            Some(t) => (0..t.size()[0])
                .map(|i| t.get(i).to_device(device))
                .collect(),
            None => Vec::new(),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_fills_then_mixes_old_and_new() {
        let _rng = crate::rng::seeded_torch_rng(3);
        let mut pool = ImagePool::new(4);
        let batch = |v: f64| Tensor::full([4, 1, 2, 2], v, (Kind::Float, Device::Cpu));
        // filling: the new fakes come straight back
        assert!(pool.query(&batch(1.0)).equal(&batch(1.0)));
        let out = pool.query(&batch(2.0));
        let firsts = Vec::<f32>::try_from(out.flatten(1, -1).select(1, 0)).unwrap();
        let old = firsts.iter().filter(|&&v| v == 1.0).count();
        assert!(firsts.iter().all(|&v| v == 1.0 || v == 2.0));
        // each image is swapped for a stored one with probability ½: some of both here
        assert!((1..4).contains(&old), "{firsts:?}");
        let saved = pool.state().unwrap();
        let mut back = ImagePool::new(4);
        back.restore(Some(&saved), Device::Cpu);
        assert!(back.state().unwrap().equal(&saved));
        assert!(ImagePool::new(0).query(&batch(5.0)).equal(&batch(5.0)));
    }
}
