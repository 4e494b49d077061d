//! How large a page's text is, and how far its image can be reduced before OCR.
//!
//! Tesseract's recogniser scales every text line to a fixed height anyway; what a larger image
//! costs is layout analysis and thresholding over every pixel. On the first pages of 35 man
//! pages (10-point text, an x-height of 19 pixels at 300 dpi) the `tesseract` command read
//! 190-dpi renderings in about 0.8 of the time with a *lower* character error rate: 1.53%
//! against 2.11% (1.72% for the 300-dpi images reduced; BENCHMARKS.md, "OCR at the text size
//! tesseract reads best"). So a page whose lowercase letters stand taller than
//! [`TARGET_X_HEIGHT`] is reduced to it; smaller print is read as it is.

use crate::pix::Pix;

/// The x-height, in pixels, a page is reduced to: 10-point text at about 190 dpi.
const TARGET_X_HEIGHT: f64 = 12.0;

/// Fewer letter-sized shapes than this and the page says too little about its text size.
const MIN_SHAPES: usize = 40;

/// Shapes shorter than this are dust, dots and noise, not letters.
const MIN_SHAPE_HEIGHT: i64 = 4;

/// A reduction smaller than this (a side kept at more than 85%) saves too little to be worth
/// another copy of the page.
const WORTH_REDUCING: f64 = 0.85;

/// Never below a quarter: a page measured with 52-pixel lowercase letters is an unusual page.
const MIN_FACTOR: f64 = 0.25;

/// Grey level below which a pixel counts as ink when measuring.
const INK: i32 = 128;

/// The typical height of the page's lowercase letters, in pixels: the median height of its
/// letter-sized dark shapes, or `None` if it has too few to tell. Most shapes on a page of
/// text are lowercase letters without ascenders, so the median lands on the x-height.
pub(crate) fn x_height(grey: &Pix) -> Option<f64> {
    let (_, page_height) = grey.size();
    let mut heights: Vec<i64> = grey
        .dark_shapes(INK)?
        .into_iter()
        .filter(|&(w, h)| looks_like_a_letter(w, h, page_height))
        .map(|(_, h)| h)
        .collect();
    if heights.len() < MIN_SHAPES {
        return None;
    }
    let middle = heights.len() / 2;
    let (_, median, _) = heights.select_nth_unstable(middle);
    Some(*median as f64)
}

/// Figures, rules and runs of touching letters are not letters.
fn looks_like_a_letter(width: i64, height: i64, page_height: i64) -> bool {
    height >= MIN_SHAPE_HEIGHT && height * 20 <= page_height && width >= 1 && width <= 3 * height
}

/// The factor to scale a page with lowercase letters `x_height` pixels tall by before OCR, or
/// `None` to read it as it is.
pub(crate) fn reduction(x_height: f64) -> Option<f32> {
    if !x_height.is_finite() || x_height <= 0.0 {
        return None;
    }
    let factor = (TARGET_X_HEIGHT / x_height).max(MIN_FACTOR);
    (factor <= WORTH_REDUCING).then_some(factor as f32)
}

/// The page as OCR should see it: grey, and reduced where its text is larger than needed.
pub(crate) fn for_ocr(pix: &Pix) -> Option<Pix> {
    let grey = pix.grey()?;
    match x_height(&grey).and_then(reduction) {
        Some(factor) => grey.scaled(factor),
        None => Some(grey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_point_text_at_300_dpi_is_read_at_about_190() {
        let factor = reduction(19.0).expect("reduced");
        assert!((factor * 300.0 - 189.5).abs() < 1.0, "{factor}");
    }

    #[test]
    fn small_print_is_read_as_it_is() {
        assert_eq!(reduction(12.0), None);
        assert_eq!(reduction(14.0), None);
        assert_eq!(reduction(9.0), None);
    }

    #[test]
    fn large_print_is_reduced_at_most_to_a_quarter() {
        assert_eq!(reduction(24.0), Some(0.5));
        assert_eq!(reduction(200.0), Some(0.25));
    }

    #[test]
    fn nonsense_measures_change_nothing() {
        assert_eq!(reduction(0.0), None);
        assert_eq!(reduction(f64::NAN), None);
        assert_eq!(reduction(f64::INFINITY), None);
    }

    /// A white page of `w` × `h` pixels at 300 ppi with black `letter`-sized blocks (width,
    /// height) in rows, and one long rule.
    fn page(w: i32, h: i32, letter: (usize, usize), count: usize) -> Pix {
        let stride = w as usize * 4;
        let mut data = vec![0xffu8; stride * h as usize];
        let mut ink = |x0: usize, y0: usize, lw: usize, lh: usize| {
            for y in y0..y0 + lh {
                data[y * stride + x0 * 4..y * stride + (x0 + lw) * 4].fill(0);
            }
        };
        let (lw, lh) = letter;
        let per_row = (w as usize - 20) / (lw * 2);
        for i in 0..count {
            ink(
                10 + (i % per_row) * lw * 2,
                10 + (i / per_row) * lh * 3,
                lw,
                lh,
            );
        }
        ink(10, h as usize - 20, w as usize - 20, 4);
        Pix::grey_from_rgb32(&data, w, h, stride as i32, 300).expect("page")
    }

    #[test]
    fn the_x_height_is_the_median_letter_height() {
        let grey = page(1200, 1600, (10, 19), 300);
        assert_eq!(x_height(&grey), Some(19.0));
        let read = for_ocr(&grey).expect("prepared");
        let (w, h) = read.size();
        assert!(
            (w - 1200 * 12 / 19).abs() <= 1 && (h - 1600 * 12 / 19).abs() <= 1,
            "{w}×{h}"
        );
    }

    #[test]
    fn a_page_with_little_text_or_small_text_is_read_as_it_is() {
        let sparse = page(1200, 1600, (10, 19), 30);
        assert_eq!(x_height(&sparse), None);
        assert_eq!(for_ocr(&sparse).expect("prepared").size(), (1200, 1600));
        let small = page(1200, 1600, (7, 11), 300);
        assert_eq!(x_height(&small), Some(11.0));
        assert_eq!(for_ocr(&small).expect("prepared").size(), (1200, 1600));
    }

    #[test]
    fn shapes_that_are_not_letters_are_left_out() {
        assert!(looks_like_a_letter(12, 19, 3300));
        assert!(!looks_like_a_letter(2, 3, 3300), "dust");
        assert!(!looks_like_a_letter(900, 6, 3300), "a rule");
        assert!(!looks_like_a_letter(400, 500, 3300), "a figure");
    }
}
