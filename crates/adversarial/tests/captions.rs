//! The emoji captions and splits for text-to-image, on the real packages
//! (scripts/setup-emoji.sh): captions read as the CLDR name, skin tones and keywords; every
//! variant of a held-out emoji is held out; each compositional pair's parts are trained on.

use adversarial::data::captions::{self, Captioned, Split, COLOURS, TONES};
use adversarial::data::paired::emoji_dir;
use std::collections::HashSet;

fn all() -> Vec<Captioned> {
    let vendors: Vec<String> = captions::VENDORS.iter().map(|v| v.to_string()).collect();
    captions::emoji_captions(&emoji_dir(), &vendors).expect("run scripts/setup-emoji.sh")
}

#[test]
fn captions_name_the_emoji_its_tone_and_keywords_but_not_the_vendor() {
    let all = all();
    let thumbs: Vec<&Captioned> = all
        .iter()
        .filter(|c| c.file.file_name().unwrap() == "1f44d-1f3fe.png")
        .collect();
    assert_eq!(thumbs.len(), 3, "one image per vendor");
    assert!(thumbs.iter().all(|c| c.caption == thumbs[0].caption));
    let cap = &thumbs[0].caption;
    assert!(
        cap.starts_with("thumbs up, medium-dark skin tone; "),
        "{cap}"
    );
    assert_eq!(thumbs[0].tone, Some(3));
    // the attributes read back from every caption's words are the ones the data assigned
    for c in &all {
        let got = adversarial::data::attributes::caption_attributes(&c.caption);
        assert_eq!(got, (c.tone, c.colour), "{:?}", c.caption);
    }
    assert!(all.iter().all(|c| !c.caption.trim().is_empty()));
    // the vendor is not in the caption: one caption per code point across vendors
    let mut by_file = std::collections::HashMap::new();
    for c in &all {
        let first = by_file
            .entry(c.file.file_name().unwrap().to_owned())
            .or_insert(&c.caption);
        assert_eq!(*first, &c.caption, "{}", c.file.display());
    }
    // about 3,700 images per vendor
    assert!(
        (10_000..12_000).contains(&all.len()),
        "{} images",
        all.len()
    );
}

#[test]
fn splits_hold_out_whole_emoji_and_unseen_combinations_of_seen_parts() {
    let all = all();
    let count = |s: Split| all.iter().filter(|c| c.split == s).count();
    let (train, test, comp) = (
        count(Split::Train),
        count(Split::HeldOut),
        count(Split::Compositional),
    );
    println!("train {train}, held out {test}, compositional {comp}");
    assert!(test * 20 > all.len() && test * 6 < all.len(), "{test}");
    // a group is held out whole or not at all
    let held: HashSet<&str> = all
        .iter()
        .filter(|c| c.split == Split::HeldOut)
        .map(|c| c.group.as_str())
        .collect();
    assert!(all
        .iter()
        .filter(|c| held.contains(c.group.as_str()))
        .all(|c| c.split == Split::HeldOut));
    // compositional: each gesture's held-out tone, and each held-out colour, seen in training
    let trained =
        |f: &dyn Fn(&Captioned) -> bool| all.iter().any(|c| c.split == Split::Train && f(c));
    let mut tones = 0;
    let mut colours = HashSet::new();
    for c in all.iter().filter(|c| c.split == Split::Compositional) {
        if let Some(t) = c.tone {
            tones += 1;
            assert!(
                trained(&|o| o.group == c.group && o.tone != Some(t)),
                "{c:?}"
            );
            assert!(
                trained(&|o| o.group != c.group && o.tone == Some(t)),
                "{c:?}"
            );
        } else {
            let col = c
                .colour
                .expect("a compositional image has a tone or a colour");
            colours.insert(c.caption.split(';').next().unwrap().to_string());
            assert!(
                trained(&|o| o.colour == Some(col) && o.group != c.group),
                "{c:?}"
            );
            let object = c
                .caption
                .split(';')
                .next()
                .unwrap()
                .replace(COLOURS[col], "");
            assert!(
                trained(&|o| o.colour.is_some_and(|x| x != col)
                    && o.caption
                        .split(';')
                        .next()
                        .unwrap()
                        .replace(COLOURS[o.colour.unwrap()], "")
                        == object),
                "{c:?}"
            );
        }
    }
    println!("held-out coloured objects: {colours:?}");
    assert!(tones >= 60, "{tones} gesture × tone images held out");
    assert!(colours.len() >= 3, "{colours:?}");
    assert_eq!(TONES.len(), 5);
}

#[test]
fn a_split_decodes_to_rgb_on_white_with_its_attributes() {
    let all = all();
    let set = captions::load(&all, Split::Compositional, 64, 12).unwrap();
    assert_eq!(set.images.size(), [12, 3, 64, 64]);
    assert_eq!(set.captions.len(), 12);
    assert!(set
        .tones
        .iter()
        .zip(&set.colours)
        .all(|(t, c)| *t >= 0 || *c >= 0));
    // transparent corners composited on white
    let corner = set.images.get(0).narrow(1, 0, 2).narrow(2, 0, 2);
    assert_eq!(corner.min().int64_value(&[]), 255);
}
