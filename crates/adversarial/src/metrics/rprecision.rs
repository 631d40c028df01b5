//! R-precision (Xu et al. 2018, AttnGAN): for each image, its caption ranked among
//! `candidates − 1` other captions drawn at random, by cosine similarity in an image–text
//! embedding space; top-1 accuracy (R = 1, as AttnGAN reports it).

use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// Top-1 R-precision of unit-length image embeddings N×D against caption embeddings K×D,
/// image i's caption being row `truth[i]`; each image's distractors are `candidates − 1`
/// other rows drawn without replacement (seeded). Ties count against the image.
pub fn r_precision(
    images: &Tensor,
    captions: &Tensor,
    truth: &[i64],
    candidates: i64,
    seed: u64,
) -> Result<f64> {
    let (n, k) = (images.size()[0], captions.size()[0]);
    if truth.len() as i64 != n || n == 0 {
        bail!(
            "R-precision: {} images but {} caption indices",
            n,
            truth.len()
        );
    }
    if k < candidates {
        bail!("R-precision with {candidates} candidates needs as many distinct captions, got {k}");
    }
    let sim = images
        .to_kind(Kind::Double)
        .matmul(&captions.to_kind(Kind::Double).tr());
    let sim = Vec::<Vec<f64>>::try_from(sim.to_device(tch::Device::Cpu))?;
    let mut rng = crate::rng::SplitMix64::new(seed);
    let mut hits = 0usize;
    for (row, &t) in sim.iter().zip(truth) {
        let right = row[t as usize];
        // candidates − 1 distinct wrong rows: a partial Fisher–Yates over the others
        let mut pool: Vec<usize> = (0..k as usize).filter(|&j| j as i64 != t).collect();
        let mut beaten = false;
        for d in 0..(candidates - 1) as usize {
            let j = d + rng.below((pool.len() - d) as u64) as usize;
            pool.swap(d, j);
            if row[pool[d]] >= right {
                beaten = true;
                break;
            }
        }
        hits += usize::from(!beaten);
    }
    Ok(hits as f64 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn perfect_and_hopeless_embeddings_score_one_and_zero() {
        let eye = Tensor::eye(120, (Kind::Float, Device::Cpu));
        let truth: Vec<i64> = (0..120).collect();
        assert_eq!(r_precision(&eye, &eye, &truth, 100, 1).unwrap(), 1.0);
        // every image equally close to every caption: each loses on the tie
        let flat = Tensor::ones([120, 4], (Kind::Float, Device::Cpu));
        assert_eq!(r_precision(&flat, &flat, &truth, 100, 1).unwrap(), 0.0);
    }

    #[test]
    fn one_close_rival_beats_an_image_about_as_often_as_it_is_drawn() {
        // caption 0 matches every image better than its own: it is among an image's 9
        // distractors with probability 9/199 (images other than 0)
        let n = 200;
        let img = Tensor::eye(n, (Kind::Float, Device::Cpu)) * 0.5;
        let _ = img.narrow(1, 0, 1).fill_(0.9);
        let caps = Tensor::eye(n, (Kind::Float, Device::Cpu));
        let truth: Vec<i64> = (0..n).collect();
        let r = r_precision(&img, &caps, &truth, 10, 3).unwrap();
        let want = 1.0 - (n - 1) as f64 / n as f64 * 9.0 / 199.0;
        assert!((r - want).abs() < 0.04, "{r} vs {want}");
    }
}
