//! The attributes a caption names, which text-to-image measures (and TAC-GAN's auxiliary
//! term trains on): a skin tone ("thumbs up, dark skin tone; …") and a colour ("purple
//! heart; …"). Read from the caption's words alone, so any caption that names them has them.
//! Also the captions of colour–object combinations the data lacks, which `loss.recoloured`
//! asks G to draw.

/// The skin-tone modifiers' code points and their CLDR names, lightest first.
pub const TONES: [(&str, &str); 5] = [
    ("1F3FB", "light skin tone"),
    ("1F3FC", "medium-light skin tone"),
    ("1F3FD", "medium skin tone"),
    ("1F3FE", "medium-dark skin tone"),
    ("1F3FF", "dark skin tone"),
];

/// Colour words of the coloured objects ("red heart", "blue circle", "green book").
pub const COLOURS: [&str; 9] = [
    "red", "orange", "yellow", "green", "blue", "purple", "brown", "black", "white",
];

/// The colour and object of a name like "purple heart" (one colour word, the rest object).
pub fn colour_object(name: &str) -> Option<(usize, String)> {
    let words: Vec<&str> = name.split(' ').collect();
    let (i, c) = words
        .iter()
        .enumerate()
        .find_map(|(i, w)| COLOURS.iter().position(|c| c == w).map(|c| (i, c)))?;
    let object: Vec<&str> = words
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, w)| *w)
        .collect();
    Some((c, object.join(" ")))
}

/// A caption's name: the text before its first `,` or `;` ("purple heart" of "purple heart;
/// love, like").
pub fn caption_name(caption: &str) -> &str {
    caption.split([',', ';']).next().unwrap_or("").trim()
}

/// The skin tone and colour a caption names: its name is the text before the first `,` or
/// `;`, its tones the comma-separated segments that are a tone's CLDR name. A tone only
/// when exactly one is named (a two-tone handshake has none); a colour when the name holds
/// a colour word ([`colour_object`]).
pub fn caption_attributes(caption: &str) -> (Option<usize>, Option<usize>) {
    let name = caption_name(caption);
    let before_keywords = caption.split(';').next().unwrap_or("");
    let tones: Vec<usize> = before_keywords
        .split(',')
        .skip(1)
        .filter_map(|seg| TONES.iter().position(|(_, t)| *t == seg.trim()))
        .collect();
    let tone = match tones[..] {
        [t] => Some(t),
        _ => None,
    };
    (tone, colour_object(name).map(|(c, _)| c))
}

/// Captions for colour–object combinations that the data has nowhere, made from the
/// training captions (`loss.recoloured`): for each object that comes in two colours or more
/// across `every` caption of the data (all splits), a training caption of it with its colour
/// word (in the name and among the keywords) swapped for each colour that object never has.
/// "purple book; read, library" from "green book; read, library" when no purple book exists.
/// A combination of any split (a held-out "purple heart") is never made, so evaluation's
/// captions stay unseen; nor is one whose object's words contain, or are contained in, those
/// of an object the data has in that colour ("purple large square" when "purple square"
/// exists: the same thing in other words). Returns each caption with its colour (index into
/// [`COLOURS`]), sorted by object, then colour.
pub fn recoloured_captions(train: &[String], every: &[String]) -> Vec<(String, usize)> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut colours: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for c in every.iter().chain(train) {
        if let Some((colour, object)) = colour_object(caption_name(c)) {
            colours.entry(object).or_default().insert(colour);
        }
    }
    // one template per object: its first training caption
    let mut template: BTreeMap<String, (&str, usize)> = BTreeMap::new();
    for c in train {
        if let Some((colour, object)) = colour_object(caption_name(c)) {
            template.entry(object).or_insert((c, colour));
        }
    }
    fn words(o: &str) -> BTreeSet<&str> {
        o.split_whitespace().collect()
    }
    let worded: Vec<(BTreeSet<&str>, &BTreeSet<usize>)> =
        colours.iter().map(|(o, cs)| (words(o), cs)).collect();
    let mut out = Vec::new();
    for (object, (caption, from)) in template {
        if colours[&object].len() < 2 {
            continue;
        }
        let mine = words(&object);
        // the data has colour `to` on this object, maybe in other words
        let held = |to: usize| {
            worded.iter().any(|(theirs, cs)| {
                cs.contains(&to) && (theirs.is_subset(&mine) || mine.is_subset(theirs))
            })
        };
        for to in (0..COLOURS.len()).filter(|&c| !held(c)) {
            out.push((replace_word(caption, COLOURS[from], COLOURS[to]), to));
        }
    }
    out
}

/// `text` with every whole-word `from` (bounded by non-alphanumeric characters) made `to`.
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(if word == from { to } else { word });
        word.clear();
    };
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            word.push(ch);
        } else {
            flush(&mut word, &mut out);
            out.push(ch);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::caption_attributes;

    /// Hearts come in red, blue and (held out) purple, circles in red only, books in green
    /// and orange: hearts and books get every other colour, circles nothing, and the held-out
    /// purple heart is never made. A keyword that is the colour word changes with it. Nor is
    /// "purple large square" made when "purple square" exists (the same thing in other words).
    #[test]
    fn recoloured_captions_fill_the_combinations_no_split_has() {
        let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let train = s(&[
            "red heart; love, red",
            "blue heart; love",
            "red circle; shape",
            "green book; read, reddish",
            "orange book; read",
        ]);
        let every = [&train[..], &s(&["purple heart; love"])].concat();
        let got = super::recoloured_captions(&train, &every);
        let captions: Vec<&str> = got.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(got.len(), 7 + 6, "{captions:?}");
        assert!(
            captions.contains(&"yellow book; read, reddish"),
            "{captions:?}"
        );
        assert!(
            captions.contains(&"white heart; love, white"),
            "{captions:?}"
        );
        assert!(!captions.iter().any(|c| c.starts_with("purple heart")));
        assert!(!captions.iter().any(|c| c.contains("circle")));
        assert!(!captions.contains(&"green book; read, reddish"));
        for (c, colour) in &got {
            assert_eq!(super::caption_attributes(c).1, Some(*colour), "{c}");
        }
        // "purple square" (held out) is "purple large square" in other words: not made; a
        // colour no square has is
        let squares = s(&["black large square; shape", "white large square; shape"]);
        let every = [&squares[..], &s(&["purple square; large"])].concat();
        let got = super::recoloured_captions(&squares, &every);
        let captions: Vec<&str> = got.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(got.len(), 6, "{captions:?}");
        assert!(
            captions.contains(&"red large square; shape"),
            "{captions:?}"
        );
        assert!(
            !captions.iter().any(|c| c.starts_with("purple")),
            "{captions:?}"
        );
    }

    #[test]
    fn a_caption_names_one_tone_and_its_colour() {
        let a = |c: &str| caption_attributes(c);
        assert_eq!(
            a("thumbs up, medium-dark skin tone; yes, good"),
            (Some(3), None)
        );
        assert_eq!(a("thumbs up, dark skin tone"), (Some(4), None));
        assert_eq!(a("purple heart; love, like"), (None, Some(5)));
        assert_eq!(
            a("people holding hands, light skin tone, dark skin tone"),
            (None, None)
        );
        // a tone word among the keywords is not the image's tone
        assert_eq!(a("hand; medium skin tone"), (None, None));
        assert_eq!(a("a red heart drawn in ink"), (None, Some(0)));
        assert_eq!(a(""), (None, None));
    }
}
