//! The caption encoder on a small real subset of the emoji captions (scripts/setup-emoji.sh):
//! contrastive training lowers the loss and makes images find their own captions far above
//! chance; a saved encoder reads back to the same embeddings.

use adversarial::data::captions::{self, Split};
use adversarial::data::paired::emoji_dir;
use adversarial::models::text_encoder::DualEncoder;
use adversarial::train::contrastive::{self, ContrastiveConfig};
use tch::Device;

#[test]
fn contrastive_training_pairs_images_with_their_captions_and_round_trips() {
    let all = captions::emoji_captions(&emoji_dir(), &["google".to_string()])
        .expect("run scripts/setup-emoji.sh");
    let pairs = contrastive::pairs_of(&all, Split::Train, 240).unwrap();
    assert_eq!(pairs.captions.len(), 240, "one google image per caption");
    let cfg = ContrastiveConfig {
        steps: 60,
        batch: 48,
        lr: 2e-3,
        seed: 3,
        dim: 32,
        hidden: 32,
        word_dim: 32,
        max_len: 16,
        neighbours: 0,
    };
    let mut losses = Vec::new();
    let enc = contrastive::train_encoder(&pairs, &cfg, Device::Cpu, |_, l| losses.push(l)).unwrap();
    let chance = 1.0 / 20.0;
    let r = contrastive::retrieval(&enc, &pairs, &[], 20, 1).unwrap();
    println!("losses {losses:?}; training-pair R-precision (1 of 20) {r:.3}, chance {chance}");
    // an untrained pair scores about ln 48 and chance
    assert!(losses.last().unwrap() < &(0.9 * (48f64).ln()), "{losses:?}");
    assert!(r > 3.0 * chance, "R-precision {r}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enc.safetensors");
    enc.save(&path, None).unwrap();
    let back = DualEncoder::load(&path, Device::Cpu).unwrap();
    let caps = &pairs.captions[..4];
    let (a, b) = tch::no_grad(|| (enc.encode_text(caps), back.encode_text(caps)));
    assert!(a.equal(&b));
    // a missing settings file is named
    std::fs::remove_file(dir.path().join("enc.json")).unwrap();
    let e = format!("{:#}", DualEncoder::load(&path, Device::Cpu).err().unwrap());
    assert!(e.contains("enc.json"), "{e}");
}
