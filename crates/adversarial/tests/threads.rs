//! Trainers on several threads of one process: libtorch's random generator is global, and
//! the library's lock keeps each trainer a pure function of its seed (the bug that once made
//! the lab tests depend on which other test ran beside them).

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
