//! Sequence GANs on a tiny oracle benchmark and on Debian's fortunes: maximum likelihood
//! learns the oracle, D learns to tell real from generated sequences, SeqGAN's rewards are
//! D's probabilities averaged over roll-outs, the Gumbel and MLE rounds train, and a
//! resumed run equals an uninterrupted one bit for bit.

use adversarial::checkpoint;
use adversarial::config::TextConfig;
use adversarial::data::text::{self, TextCorpus};
use adversarial::train::text::{Phase, TextTrainer};
use tch::Kind;

/// A small oracle (vocabulary 40, hidden 8, 8 tokens) and matching small networks.
fn tiny(method: &str, mle: u64, dpre: u64, rounds: u64) -> TextConfig {
    TextConfig::resolve(
        None,
        &[
            "threads=1".into(),
            "data.vocab_size=40".into(),
            "data.seq_len=8".into(),
            "data.sequences=2560".into(),
            "data.oracle_hidden=8".into(),
            "generator.emb_dim=8".into(),
            "generator.hidden=16".into(),
            "discriminator.emb_dim=8".into(),
            "discriminator.filter_widths=[1, 2, 4]".into(),
            "discriminator.filter_counts=[6, 6, 6]".into(),
            "train.batch_size=32".into(),
            "train.rollouts=4".into(),
            "train.adv_d_steps=2".into(),
            "train.eval_samples=256".into(),
            "train.lr_d=1e-3".into(),
            format!("train.method={method}"),
            format!("train.mle_steps={mle}"),
            format!("train.d_pretrain_steps={dpre}"),
            format!("train.adv_rounds={rounds}"),
        ],
    )
    .unwrap()
}

#[test]
fn mle_learns_the_oracle() {
    let cfg = tiny("mle", 300, 0, 0);
    let mut t = TextTrainer::new(&cfg).unwrap();
    let before = t.evaluate(0.0);
    let first = t.train_step().unwrap();
    assert_eq!(first.phase, Phase::Mle);
    while t.step < 300 {
        t.train_step().unwrap();
    }
    let after = t.evaluate(0.0);
    let (b, a) = (before.nll_oracle.unwrap(), after.nll_oracle.unwrap());
    // G's samples become likelier under the oracle, and the held-out data under G
    assert!(a < b - 0.5, "NLL_oracle {b} → {a}");
    // the oracle's own held-out data is the floor
    assert!(after.nll_oracle_real.unwrap() < a);
    // (by less: ln 40 = 3.69 is uniform, the oracle's own entropy sets the floor)
    assert!(
        after.nll_test < before.nll_test - 0.2,
        "NLL_test {} → {}",
        before.nll_test,
        after.nll_test
    );
}

#[test]
fn d_learns_real_from_generated_and_rewards_are_its_rollout_averages() {
    // an untrained G, so that there is something to tell apart
    let cfg = tiny("seqgan", 0, 150, 1);
    let mut t = TextTrainer::new(&cfg).unwrap();
    let mut last = None;
    while t.step < 150 {
        last = Some(t.train_step().unwrap());
    }
    assert_eq!(last.unwrap().phase, Phase::DPretrain);
    // draws outside a training step hold the global generator too, so that they never
    // interleave with another test's trainer (whose resume must be exact)
    let _rng = adversarial::rng::seeded_torch_rng(7);
    // on 256 held-out real rows and 256 fresh samples
    let real = t.corpus.test.narrow(0, 0, 256);
    let fake = t.g.sample(256, 8);
    let p = |x: &tch::Tensor| {
        t.d.forward(x, false)
            .sigmoid()
            .mean(Kind::Float)
            .double_value(&[])
    };
    let (pr, pf) = (p(&real), p(&fake));
    assert!(
        pr > pf + 0.1,
        "D after pre-training: real {pr}, generated {pf}"
    );
    // SeqGAN's rewards: one per token, probabilities, the last column D's verdict on the
    // finished sequences themselves
    let x = t.g.sample(16, 8);
    let r = t.rewards(&x);
    assert_eq!(r.size(), [16, 8]);
    assert!(r.min().double_value(&[]) > 0.0 && r.max().double_value(&[]) < 1.0);
    let d = t.d.forward(&x, false).sigmoid();
    assert!((r.select(1, 7) - d).abs().max().double_value(&[]) < 1e-6);
    let round = t.train_step().unwrap();
    assert_eq!(round.phase, Phase::Adversarial);
    assert!(round.reward.is_some() && round.d_loss.is_some());
}

#[test]
fn every_method_resumes_bit_for_bit_across_phases() {
    for method in ["seqgan", "gumbel", "mle", "scheduled-sampling"] {
        // 6 steps span all phases: 2 MLE, 2 D pre-training (none for mle), 2 rounds
        let cfg = tiny(method, 2, 2, 2);
        let total = cfg.total_steps();
        let mut straight = TextTrainer::new(&cfg).unwrap();
        while straight.step < total {
            straight.train_step().unwrap();
        }
        let mut first = TextTrainer::new(&cfg).unwrap();
        for _ in 0..3 {
            first.train_step().unwrap();
        }
        let bytes = checkpoint::encode(&first.state_tensors(), &first.meta(0.0)).unwrap();
        drop(first);
        let mut resumed = TextTrainer::new(&cfg).unwrap();
        resumed
            .restore(&checkpoint::decode(&bytes).unwrap())
            .unwrap();
        while resumed.step < total {
            resumed.train_step().unwrap();
        }
        let (a, b) = (straight.state_tensors(), resumed.state_tensors());
        assert_eq!(a.len(), b.len());
        for ((n, x), (_, y)) in a.iter().zip(&b) {
            assert!(x.equal(y), "{method}: tensor {n} differs after resume");
        }
    }
}

#[test]
fn scheduled_sampling_rounds_anneal_towards_own_tokens_and_keep_learning() {
    let mut cfg = tiny("scheduled-sampling", 150, 5, 3);
    cfg.train.ss_true_end = 0.25;
    assert_eq!(cfg.d_pretrain_steps(), 0, "no D to pre-train");
    let mut t = TextTrainer::new(&cfg).unwrap();
    while t.step < 150 {
        t.train_step().unwrap();
    }
    let before = t.evaluate(0.0).nll_oracle.unwrap();
    let rounds: Vec<_> = (0..3).map(|_| t.train_step().unwrap()).collect();
    let p: Vec<f64> = rounds.iter().map(|r| r.p_true.unwrap()).collect();
    // linear over the phase's batches: the last batch of the last round reads 25% truth
    assert!(p[0] < 1.0 && p[0] > p[1] && p[1] > p[2], "{p:?}");
    assert!((p[2] - 0.25).abs() < 1e-12, "{p:?}");
    assert!(rounds
        .iter()
        .all(|r| r.d_loss.is_none() && r.g_loss.unwrap().is_finite()));
    // reading its own tokens does not undo what likelihood taught G
    let after = t.evaluate(0.0).nll_oracle.unwrap();
    assert!(after < before + 0.1, "NLL_oracle {before} → {after}");
}

#[test]
fn gumbel_rounds_move_g_towards_what_d_accepts() {
    let cfg = tiny("gumbel", 0, 60, 40);
    let mut t = TextTrainer::new(&cfg).unwrap();
    let mut stats = Vec::new();
    while t.step < cfg.total_steps() {
        stats.push(t.train_step().unwrap());
    }
    let taus: Vec<f64> = stats.iter().filter_map(|s| s.tau).collect();
    assert_eq!(taus.len(), 40);
    assert!((taus[0] - 1.0).abs() < 1e-12 && (taus[39] - 0.1).abs() < 1e-9);
    assert!(stats.iter().all(|s| s.g_loss.unwrap_or(0.0).is_finite()));
}

#[test]
fn fortunes_corpus_is_word_level_with_a_held_out_split() {
    let cfg = TextConfig::resolve(None, &["data.source=fortunes".into()]).unwrap();
    let c = TextCorpus::load(&cfg.data, None).unwrap();
    let (n_train, n_test) = (c.train.size()[0], c.test.size()[0]);
    assert!(n_train > 2000 && n_test > 200, "{n_train} / {n_test}");
    assert_eq!(c.train.size()[1], 20);
    assert!(c.vocab.len() > 1000 && c.vocab.len() <= 5000);
    // rows decode to words, end in <eos> padding, and hold at most one <unk>
    let rows = text::rows(&c.train);
    let unk = |r: &Vec<i64>| r.iter().filter(|&&t| t == text::UNK).count();
    assert!(rows.iter().all(|r| unk(r) <= 1));
    let padded = c.train.eq(text::EOS).to_kind(Kind::Float).mean(Kind::Float);
    assert!(padded.double_value(&[]) > 0.1);
    let s = c.vocab.decode(&rows[0], true);
    assert!(!s.is_empty() && !s.contains("<eos>"), "{s}");
    // the held-out sentences are not training sentences (two sentences can only meet when
    // their rare words both became <unk>)
    let train: std::collections::HashSet<Vec<i64>> = rows.into_iter().collect();
    let test = text::rows(&c.test);
    let shared = test.iter().filter(|r| train.contains(*r)).count();
    assert!(
        shared * 100 <= test.len(),
        "{shared} of {} held-out rows",
        test.len()
    );
}

#[test]
fn adversarial_g_updates_have_their_own_adam_state() {
    // SeqGAN's code builds a second Adam for the policy gradient: its first steps are full
    // size instead of scaled down by the likelihood gradients' running variance
    let cfg = tiny("seqgan", 3, 1, 2);
    let mut t = TextTrainer::new(&cfg).unwrap();
    while t.step < cfg.total_steps() {
        t.train_step().unwrap();
    }
    let steps = |prefix: &str| -> Vec<f64> {
        t.state_tensors()
            .iter()
            .filter(|(n, _)| n.starts_with(&format!("{prefix}.step.")))
            .map(|(_, s)| s.double_value(&[]))
            .collect()
    };
    let (mle, adv) = (steps("opt_g"), steps("opt_g_adv"));
    assert!(!mle.is_empty() && mle.len() == adv.len());
    assert!(mle.iter().all(|&s| s == 3.0), "likelihood steps {mle:?}");
    assert!(adv.iter().all(|&s| s == 2.0), "adversarial steps {adv:?}");

    // a checkpoint written before this optimiser existed still resumes before the
    // adversarial phase, and is refused after it, naming what it lacks
    let strip = |t: &TextTrainer| {
        let kept: Vec<_> = t
            .state_tensors()
            .into_iter()
            .filter(|(n, _)| !n.starts_with("opt_g_adv."))
            .collect();
        checkpoint::decode(&checkpoint::encode(&kept, &t.meta(0.0)).unwrap()).unwrap()
    };
    let mut early = TextTrainer::new(&cfg).unwrap();
    for _ in 0..4 {
        early.train_step().unwrap();
    }
    TextTrainer::new(&cfg)
        .unwrap()
        .restore(&strip(&early))
        .unwrap();
    let err = TextTrainer::new(&cfg)
        .unwrap()
        .restore(&strip(&t))
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("G's adversarial optimiser"),
        "{err:#}"
    );
}
