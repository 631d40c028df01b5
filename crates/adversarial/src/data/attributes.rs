//! The attributes a caption names, which text-to-image measures (and TAC-GAN's auxiliary
//! term trains on): a skin tone ("thumbs up, dark skin tone; …") and a colour ("purple
//! heart; …"). Read from the caption's words alone, so any caption that names them has them.

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

/// The skin tone and colour a caption names: its name is the text before the first `,` or
/// `;`, its tones the comma-separated segments that are a tone's CLDR name. A tone only
/// when exactly one is named (a two-tone handshake has none); a colour when the name holds
/// a colour word ([`colour_object`]).
pub fn caption_attributes(caption: &str) -> (Option<usize>, Option<usize>) {
    let name = caption.split([',', ';']).next().unwrap_or("").trim();
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

#[cfg(test)]
mod tests {
    use super::caption_attributes;

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
