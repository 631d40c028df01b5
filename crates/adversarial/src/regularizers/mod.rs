//! Regularizers of the discriminator (critic): gradient penalty (WGAN-GP), DRAGAN, R1 and
//! weight clipping (WGAN). Spectral normalisation is a layer option, so it lives in
//! [`crate::models::spectral_norm`].

use crate::models::Net;
use tch::{nn, Kind, Tensor};

/// Gradient norms ‖∇x D(x)‖₂ at `x` (which must require grad), one per output of D: per
/// sample, or per pack of samples under PacGAN, whose D input is the whole pack. Keeps the
/// graph so the penalty can itself be differentiated (double backward).
fn input_grad_norms(out: &Tensor, x: &Tensor) -> Tensor {
    input_grads(out, x).norm_scalaropt_dim(2, [1], false)
}

/// ∇x of `out`'s sum, one flattened row per output of D (graph kept, as above).
fn input_grads(out: &Tensor, x: &Tensor) -> Tensor {
    let g = Tensor::run_backward(&[out.sum(Kind::Float)], &[x], true, true)
        .pop()
        .expect("one input");
    g.reshape([out.size()[0], -1])
}

/// One draw from U[0, 1) per sample of `x`, shaped [n, 1, …] to broadcast over the rest.
fn per_sample_uniform(x: &Tensor) -> Tensor {
    let mut shape = vec![x.size()[0]];
    shape.extend(std::iter::repeat_n(1, x.dim() - 1));
    Tensor::rand(shape.as_slice(), (Kind::Float, x.device()))
}

/// WGAN-GP (Gulrajani et al. 2017): E[(‖∇D(x̂)‖₂ − 1)²] on x̂ = εx + (1−ε)x̃, one ε ~ U[0,1]
/// per sample (not per pixel). Multiply by λ outside. A class-conditional critic judges
/// x̂ under the real samples' labels `y`.
pub fn gradient_penalty(d: &Net, real: &Tensor, fake: &Tensor, y: Option<&Tensor>) -> Tensor {
    let eps = per_sample_uniform(real);
    let one_minus: Tensor = 1.0 - &eps;
    let x_hat = (&eps * real.detach() + one_minus * fake.detach()).set_requires_grad(true);
    let norms = input_grad_norms(&d.forward_y(&x_hat, y, true), &x_hat);
    (norms - 1.0).square().mean(Kind::Float)
}

/// DRAGAN (Kodali et al. 2017), as compare_gan (v1, `DRAGAN.py`) computes it:
/// E[(√(10⁻⁴ + ‖∇D(x̂)‖²) − 1)²] at x̂ = x + α·0.5·std(x)·u, with u ~ U[0, 1) per pixel,
/// α ~ U[0, 1) per sample and std the population standard deviation over the whole batch.
/// `on_probability` differentiates σ(D(x̂)), D's probability, as compare_gan does; otherwise
/// the logit D(x̂). Multiply by λ outside.
pub fn dragan_penalty(d: &Net, real: &Tensor, y: Option<&Tensor>, on_probability: bool) -> Tensor {
    let x = real.detach();
    let spread = x.std(false);
    let alpha = per_sample_uniform(&x);
    let x_hat = (&x + Tensor::rand_like(&x) * spread * 0.5 * alpha).set_requires_grad(true);
    let logit = d.forward_y(&x_hat, y, true);
    let out = if on_probability {
        logit.sigmoid()
    } else {
        logit
    };
    // the 10⁻⁴ keeps the norm differentiable where σ saturates and the gradient vanishes
    let squares = input_grads(&out, &x_hat).square();
    let norms = (squares.sum_dim_intlist(1, false, Kind::Float) + 1e-4).sqrt();
    (norms - 1.0).square().mean(Kind::Float)
}

/// R1 (Mescheder et al. 2018): E‖∇x D(x)‖² on real data, from D's output `out` on `real`
/// (which must require grad). Multiply by γ/2 outside.
pub fn r1_penalty(out: &Tensor, real: &Tensor) -> Tensor {
    input_grad_norms(out, real).square().mean(Kind::Float)
}

/// WGAN's weight clipping: every trainable variable of D into [−c, c].
pub fn clip_weights(vs: &nn::VarStore, c: f64) {
    tch::no_grad(|| {
        for mut t in vs.trainable_variables() {
            let _ = t.clamp_(-c, c);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// A linear critic D(x) = w·x has ∇x D = w everywhere, so both penalties have closed
    /// forms; the penalty's own gradient w.r.t. w (double backward) is checked too.
    fn linear_critic(w: &[f32]) -> Net {
        let vs = nn::VarStore::new(Device::Cpu);
        let lin = nn::linear(
            vs.root() / "fc",
            w.len() as i64,
            1,
            nn::LinearConfig {
                bias: false,
                ..Default::default()
            },
        );
        tch::no_grad(|| {
            lin.ws
                .shallow_clone()
                .copy_(&Tensor::from_slice(w).view([1, -1]))
        });
        let module = nn::seq_t()
            .add_fn(|x| x.flatten(1, -1))
            .add(lin)
            .add_fn(|x| x.view([-1]));
        Net::plain(vs, module)
    }

    /// D(x) = c·Σx, which also keeps the points it was last called on.
    fn summing_critic(c: f64) -> (Net, std::sync::Arc<std::sync::Mutex<Option<Tensor>>>) {
        let vs = nn::VarStore::new(Device::Cpu);
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let s2 = seen.clone();
        let module = nn::seq_t().add_fn(move |x| {
            *s2.lock().unwrap() = Some(x.detach().copy());
            x.flatten(1, -1).sum_dim_intlist(1, false, Kind::Float) * c
        });
        (Net::plain(vs, module), seen)
    }

    #[test]
    fn gradient_penalty_closed_form_and_double_backward() {
        let d = linear_critic(&[3.0, 4.0]); // ‖w‖ = 5
        let real = Tensor::randn([6, 2], (Kind::Float, Device::Cpu));
        let fake = Tensor::randn([6, 2], (Kind::Float, Device::Cpu));
        let gp = gradient_penalty(&d, &real, &fake, None);
        assert!((gp.double_value(&[]) - 16.0).abs() < 1e-4); // (5 − 1)²
        gp.backward();
        // d/dw (‖w‖ − 1)² = 2(‖w‖ − 1) w/‖w‖ = 8/5 · w
        let g = d.vs.trainable_variables()[0].grad();
        assert!(
            (g.double_value(&[0, 0]) - 4.8).abs() < 1e-3
                && (g.double_value(&[0, 1]) - 6.4).abs() < 1e-3,
            "{g}"
        );
    }

    /// The perturbation does not change a linear critic's gradient, so on the logit DRAGAN's
    /// penalty has WGAN-GP's closed form (up to the 10⁻⁴ under the root); the perturbed points
    /// stay within half a (population) standard deviation above the real ones, by a per-sample
    /// fraction α times a per-pixel u, so a quarter of that on average.
    #[test]
    fn dragan_closed_form_and_perturbation() {
        let d = linear_critic(&[3.0, 4.0]);
        let real = Tensor::randn([6, 2], (Kind::Float, Device::Cpu));
        let p = dragan_penalty(&d, &real, None, false);
        let want = (25.0001f64.sqrt() - 1.0).powi(2);
        assert!((p.double_value(&[]) - want).abs() < 1e-4, "{p}");
        p.backward();
        let g = d.vs.trainable_variables()[0].grad();
        assert!((g.double_value(&[0, 1]) - 6.4).abs() < 1e-3, "{g}");
        let (module, seen) = summing_critic(1.0);
        let real = Tensor::randn([256, 1, 4, 4], (Kind::Float, Device::Cpu));
        let _ = dragan_penalty(&module, &real, None, false);
        let shift = seen.lock().unwrap().take().unwrap() - &real;
        let half_std = 0.5 * real.std(false).double_value(&[]);
        assert!(shift.min().double_value(&[]) >= 0.0);
        assert!(shift.max().double_value(&[]) <= half_std + 1e-6);
        let mean = shift.mean(Kind::Float).double_value(&[]) / half_std;
        assert!(
            (0.2..0.3).contains(&mean),
            "mean shift {mean} of half a std, want ≈ 0.25"
        );
    }

    /// On the probability, the gradient at x̂ is σ'(D(x̂))·w: for D(x) = c·Σx over 16 pixels,
    /// ‖∇σ(D)‖ = σ(D)(1 − σ(D))·4c, checked against the points D was called on.
    #[test]
    fn dragan_on_the_probability_matches_its_closed_form() {
        let c = 2.0;
        let (module, seen) = summing_critic(c);
        let real = Tensor::randn([8, 1, 4, 4], (Kind::Float, Device::Cpu)) * 0.1;
        let p = dragan_penalty(&module, &real, None, true).double_value(&[]);
        let x_hat = seen.lock().unwrap().take().unwrap();
        let s = (x_hat.flatten(1, -1).sum_dim_intlist(1, false, Kind::Double) * c).sigmoid();
        let one_minus: Tensor = 1.0 - &s;
        let norm: Tensor = (&s * one_minus * (4.0 * c)).square() + 1e-4;
        let want = (norm.sqrt() - 1.0)
            .square()
            .mean(Kind::Double)
            .double_value(&[]);
        assert!((p - want).abs() < 1e-5, "{p} against {want}");
        // σ' ≤ 1/4, so with 4c = 8 the norm stays at most 2: not the logit's (8 − 1)² = 49
        assert!(p < 1.01, "{p}");
    }

    #[test]
    fn r1_closed_form() {
        let d = linear_critic(&[1.0, 2.0, 2.0]);
        let real = Tensor::randn([4, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let r1 = r1_penalty(&d.forward(&real, true), &real);
        assert!((r1.double_value(&[]) - 9.0).abs() < 1e-4);
    }

    #[test]
    fn one_epsilon_per_sample() {
        // x̂ must lie on the segment between each real and fake sample, so for a critic that
        // reads a sample's first pixel the penalty point shares one ε across all pixels:
        // with real = 0 and fake = 1 everywhere, every pixel of x̂ equals its first pixel.
        let real = Tensor::zeros([5, 1, 2, 2], (Kind::Float, Device::Cpu));
        let fake = Tensor::ones([5, 1, 2, 2], (Kind::Float, Device::Cpu));
        let vs = nn::VarStore::new(Device::Cpu);
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let s2 = seen.clone();
        let module = nn::seq_t().add_fn(move |x| {
            *s2.lock().unwrap() = Some(x.detach().copy());
            x.flatten(1, -1).sum_dim_intlist(1, false, Kind::Float)
        });
        let _ = gradient_penalty(&Net::plain(vs, module), &real, &fake, None);
        let x_hat = seen.lock().unwrap().take().unwrap().flatten(1, -1);
        let spread = (x_hat.amax([1], false) - x_hat.amin([1], false))
            .abs()
            .max()
            .double_value(&[]);
        assert!(spread < 1e-7, "pixels of one sample got different ε");
        assert!(
            x_hat.std(true).double_value(&[]) > 0.01,
            "samples share one ε"
        );
    }

    #[test]
    fn clipping_bounds_every_weight() {
        let d = linear_critic(&[0.5, -0.2, 0.005]);
        clip_weights(&d.vs, 0.01);
        let w = Vec::<f32>::try_from(d.vs.trainable_variables()[0].view([-1])).unwrap();
        assert_eq!(w, vec![0.01, -0.01, 0.005]);
    }
}
