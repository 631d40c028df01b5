//! The emoji attribute classifier on a small real subset (scripts/setup-emoji.sh): a few
//! hundred steps teach it to read skin tone far above chance on held-out images of the same
//! kind, and a saved classifier reads back to the same predictions.

use adversarial::data::captions::{self, Captioned, Split};
use adversarial::data::paired::emoji_dir;
use adversarial::metrics::attributes::AttributeClassifier;
use tch::Device;

#[test]
fn reads_skin_tone_above_chance_and_round_trips() {
    let all = captions::emoji_captions(&emoji_dir(), &["google".to_string()])
        .expect("run scripts/setup-emoji.sh");
    let toned: Vec<Captioned> = all
        .into_iter()
        .filter(|c| c.tone.is_some() && c.split == Split::Train)
        .collect();
    // train on every other emoji's variants, test on the rest (new gestures and people)
    let (train, test): (Vec<Captioned>, Vec<Captioned>) = toned
        .into_iter()
        .partition(|c| c.group.len() % 2 == 0 || c.group.ends_with(['0', '2', '4', '6', '8']));
    let train_set = captions::load(&train, Split::Train, 64, 400).unwrap();
    let test_set = captions::load(&test, Split::Train, 64, 200).unwrap();
    let c = AttributeClassifier::new(Device::Cpu, 2);
    c.train(&train_set, 150, 32, 2).unwrap();
    let (tone, _) = c.accuracy(&test_set);
    println!("tone {}/{}", tone.correct, tone.total);
    assert!(tone.total >= 100);
    assert!(tone.rate().unwrap() > 0.4, "{tone:?} (chance 0.2)");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attr.safetensors");
    c.save(&path).unwrap();
    let back = AttributeClassifier::load(&path, Device::Cpu).unwrap();
    assert_eq!(back.predict(&test_set.images), c.predict(&test_set.images));
}
