//! Shorter forms of a caption, for `loss.keyword_dropout`: its head (the name and any skin
//! tone, the text before `;`) alone, or with a random subset of its keywords. Every heart's
//! caption carries the same keywords ("love, like, affection"), so a held-out "blue heart"
//! caption lies beside a trained heart of another colour; trained on shorter forms too, the
//! networks must read the head, whatever keywords come with it.

use crate::rng::SplitMix64;

/// Shorter forms made per caption: the head alone, then this many minus one random subsets.
pub const FORMS: usize = 4;

/// A caption's head (the text before its first `;`, trimmed) and its keywords (the
/// comma-separated, non-empty segments after it, trimmed, in order).
pub fn head_and_keywords(caption: &str) -> (&str, Vec<&str>) {
    match caption.split_once(';') {
        Some((head, tail)) => (
            head.trim(),
            tail.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .collect(),
        ),
        None => (caption.trim(), Vec::new()),
    }
}

/// [`FORMS`] shorter forms of `caption`: its head alone, then the head with each keyword
/// kept with probability 1/2 (drawn from `rng`, order kept; the head alone when none is
/// kept). A caption without keywords gives its head every time.
pub fn shorter_forms(caption: &str, rng: &mut SplitMix64) -> Vec<String> {
    let (head, keywords) = head_and_keywords(caption);
    let mut forms = vec![head.to_string()];
    for _ in 1..FORMS {
        let kept: Vec<&str> = keywords
            .iter()
            .copied()
            .filter(|_| rng.below(2) == 1)
            .collect();
        forms.push(if kept.is_empty() {
            head.to_string()
        } else {
            format!("{head}; {}", kept.join(", "))
        });
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::{head_and_keywords, shorter_forms, FORMS};
    use crate::rng::SplitMix64;

    #[test]
    fn the_head_is_the_name_and_tone_before_the_keywords() {
        let (head, kw) = head_and_keywords("thumbs up, dark skin tone; hand, ok , ,yes");
        assert_eq!(head, "thumbs up, dark skin tone");
        assert_eq!(kw, ["hand", "ok", "yes"]);
        assert_eq!(head_and_keywords(" red apple "), ("red apple", vec![]));
    }

    /// The first form is the head; every other is the head followed by an in-order subset
    /// of the keywords; over many captions both "none kept" and "all kept" occur, and about
    /// half the keywords are kept.
    #[test]
    fn shorter_forms_are_the_head_and_in_order_keyword_subsets() {
        let caption = "blue heart; love, like, affection, valentines, brand";
        let (_, kw) = head_and_keywords(caption);
        let mut rng = SplitMix64::new(7);
        let (mut kept, mut total, mut empty, mut full) = (0, 0, 0, 0);
        for _ in 0..200 {
            let forms = shorter_forms(caption, &mut rng);
            assert_eq!(forms.len(), FORMS);
            assert_eq!(forms[0], "blue heart");
            for f in &forms[1..] {
                let (head, sub) = head_and_keywords(f);
                assert_eq!(head, "blue heart");
                let mut at = 0;
                for w in &sub {
                    at += kw[at..].iter().position(|k| k == w).expect("in order") + 1;
                }
                kept += sub.len();
                total += kw.len();
                empty += usize::from(sub.is_empty());
                full += usize::from(sub.len() == kw.len());
            }
        }
        let rate = kept as f64 / total as f64;
        assert!((0.45..0.55).contains(&rate), "{rate}");
        assert!(empty > 0 && full > 0, "{empty} {full}");
        let bare = shorter_forms("red apple", &mut rng);
        assert!(bare.iter().all(|f| f == "red apple"), "{bare:?}");
    }
}
