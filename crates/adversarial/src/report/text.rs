//! Text on charts from the public-domain 8×8 bitmap font of the `font8x8` crate: no font
//! files or system libraries, the same pixels everywhere.

use image::{Rgb, RgbImage};

/// Width in pixels of `text` drawn at `scale`.
pub fn width(text: &str, scale: u32) -> u32 {
    text.chars().count() as u32 * 8 * scale
}

/// Draws `text` with its top-left corner at (x, y); characters outside ASCII print as '?'.
/// Pixels outside the image are skipped.
pub fn draw(img: &mut RgbImage, x: i64, y: i64, text: &str, colour: [u8; 3], scale: u32) {
    let s = scale.max(1) as i64;
    for (i, ch) in text.chars().enumerate() {
        let code = if ch.is_ascii() {
            ch as usize
        } else {
            '?' as usize
        };
        let glyph = font8x8::legacy::BASIC_LEGACY[code];
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) == 0 {
                    continue;
                }
                for dy in 0..s {
                    for dx in 0..s {
                        let px = x + (i as i64 * 8 + col) * s + dx;
                        let py = y + row as i64 * s + dy;
                        if px >= 0
                            && py >= 0
                            && (px as u32) < img.width()
                            && (py as u32) < img.height()
                        {
                            img.put_pixel(px as u32, py as u32, Rgb(colour));
                        }
                    }
                }
            }
        }
    }
}

/// A compact number for axis ticks: up to 4 significant digits, no trailing zeros; whole
/// numbers from a thousand to a million (step counts) in full, rounded to the unit.
pub fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let s = if (1e3..1e6).contains(&v.abs()) {
        format!("{v:.0}")
    } else if v.abs() >= 1e6 || v.abs() < 1e-3 {
        format!("{v:.2e}")
    } else {
        let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_sets_pixels_in_its_box_only() {
        let mut img = RgbImage::from_pixel(40, 12, Rgb([255, 255, 255]));
        draw(&mut img, 2, 2, "A1", [0, 0, 0], 1);
        let dark: Vec<(u32, u32)> = img
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [0, 0, 0])
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(dark.len() > 10);
        assert!(dark
            .iter()
            .all(|&(x, y)| (2..18).contains(&x) && (2..10).contains(&y)));
        assert_eq!(width("A1", 2), 32);
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(-0.8737), "-0.8737");
        assert_eq!(tick(1000.0), "1000");
        assert_eq!(tick(15625.0), "15625");
        assert_eq!(tick(15577.6), "15578");
        assert_eq!(tick(2e6), "2.00e6");
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(0.0), "0");
    }
}
