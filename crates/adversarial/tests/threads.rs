//! Trainers on several threads of one process: libtorch's random generator is global, and
//! the library's lock keeps each trainer a pure function of its seed (the bug that once made
//! the lab tests depend on which other test ran beside them), also while another thread
//! builds networks, whose initial weights come from that same generator.

use adversarial::config::Config;
use adversarial::data;
use adversarial::train::Trainer;

fn final_weights(seed: u64) -> Vec<f32> {
    let cfg = Config::resolve(
        Some(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../configs/toy/ns.toml"
        ))),
        &[
            format!("seed={seed}"),
            "threads=1".into(),
            "train.batch_size=64".into(),
        ],
    )
    .unwrap();
    let mut t = Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap();
    for _ in 0..30 {
        t.train_step().unwrap();
    }
    let vars = t.g.vs.variables();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    names
        .into_iter()
        .flat_map(|n| Vec::<f32>::try_from(vars[n].flatten(0, -1)).unwrap())
        .collect()
}

#[test]
fn concurrent_trainers_match_their_solo_runs() {
    let solo: Vec<Vec<f32>> = (1..=3).map(final_weights).collect();
    let together: Vec<Vec<f32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..=3)
            .map(|seed| s.spawn(move || final_weights(seed)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_ne!(solo[0], solo[1], "different seeds train differently");
    for (i, (a, b)) in solo.iter().zip(&together).enumerate() {
        assert!(a == b, "seed {} changed when trained beside others", i + 1);
    }
}

/// Loading a model draws initial weights before the file's replace them. Built over and
/// over on another thread (a DCGAN pair, as `gan sample` loads one, and a domain
/// classifier, as the metrics load one), that must not reach a seeded trainer beside it:
/// the cause of a once-flaky text-to-image test, whose D changed with what ran next to it.
#[test]
fn networks_built_on_another_thread_leave_a_trainer_unchanged() {
    let solo = final_weights(4);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (beside, built) = std::thread::scope(|s| {
        let builder = s.spawn(|| {
            let dcgan = Config::resolve(None, &["model.arch=\"dcgan\"".into()]).unwrap();
            let mut built = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                adversarial::models::build(&dcgan.model, tch::Device::Cpu).unwrap();
                adversarial::metrics::classifier::DomainClassifier::new("c", tch::Device::Cpu);
                built += 1;
            }
            built
        });
        let beside = final_weights(4);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (beside, builder.join().unwrap())
    });
    assert!(built > 0, "nothing was built beside the trainer");
    assert!(
        solo == beside,
        "the trainer changed while {built} networks were built beside it"
    );
}
