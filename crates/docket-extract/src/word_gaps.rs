//! Word breaks that poppler's text call leaves out. `poppler_page_get_text` joins the words of
//! a line with a space only where the PDF itself drew one; `pdftotext` also breaks words where
//! the glyphs are set apart by a gap (wider than a tenth of the font size, its
//! `minWordBreakSpace`). Tables typeset with gaps rather than spaces — man pages, invoices,
//! forms — would otherwise run their columns together (`%apermission`), and full-text search
//! would index words no one wrote.

/// A glyph's box on the page: left, top, right, bottom, in points.
pub(crate) type GlyphBox = [f64; 4];

/// Gap between two glyphs, as a fraction of their height, from which they are two words.
const WORD_BREAK: f64 = 0.1;

/// `text` with a space between neighbouring characters of one line that are set apart by a
/// word-break gap. `boxes` holds one box per character of `text`, in order (what poppler's
/// text layout answers); if it does not, `text` is answered as it is.
pub(crate) fn with_word_gaps(text: &str, boxes: &[GlyphBox]) -> String {
    if text.chars().count() != boxes.len() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut previous: Option<(char, &GlyphBox)> = None;
    for (c, b) in text.chars().zip(boxes) {
        if let Some((p, pb)) = previous {
            if !p.is_whitespace() && !c.is_whitespace() && apart(pb, b) {
                out.push(' ');
            }
        }
        out.push(c);
        previous = Some((c, b));
    }
    out
}

/// Whether `b` follows `a` on the same line after a word-break gap.
fn apart(a: &GlyphBox, b: &GlyphBox) -> bool {
    let height = (a[3] - a[1]).max(b[3] - b[1]);
    // Degenerate (or NaN) boxes say nothing about gaps.
    if height.is_nan() || height <= 0.0 {
        return false;
    }
    // On one line: their vertical extents overlap by at least half the smaller one.
    let overlap = a[3].min(b[3]) - a[1].max(b[1]);
    let smaller = (a[3] - a[1]).min(b[3] - b[1]);
    if overlap < 0.5 * smaller {
        return false;
    }
    b[0] - a[2] > WORD_BREAK * height
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyphs(spec: &[(f64, f64)]) -> Vec<GlyphBox> {
        spec.iter()
            .map(|&(x1, x2)| [x1, 100.0, x2, 110.0])
            .collect()
    }

    #[test]
    fn columns_set_apart_by_a_gap_become_two_words() {
        // "%a" at 10–20, "pe" from 60: a table's two columns.
        let boxes = glyphs(&[(10.0, 15.0), (15.0, 20.0), (60.0, 65.0), (65.0, 70.0)]);
        assert_eq!(with_word_gaps("%ape", &boxes), "%a pe");
    }

    #[test]
    fn tight_and_kerned_glyphs_stay_one_word() {
        let boxes = glyphs(&[(10.0, 15.0), (15.5, 20.0), (19.8, 25.0)]);
        assert_eq!(with_word_gaps("abc", &boxes), "abc");
    }

    #[test]
    fn existing_spaces_and_line_breaks_are_left_alone() {
        let mut boxes = glyphs(&[(10.0, 15.0), (15.0, 20.0), (40.0, 45.0)]);
        assert_eq!(with_word_gaps("a b", &boxes), "a b");
        // The next line starts further left and lower: no space added across the break.
        boxes = vec![
            [10.0, 100.0, 15.0, 110.0],
            [15.0, 100.0, 15.0, 110.0],
            [0.0, 120.0, 5.0, 130.0],
        ];
        assert_eq!(with_word_gaps("a\nb", &boxes), "a\nb");
        let boxes = vec![[10.0, 100.0, 15.0, 110.0], [30.0, 130.0, 35.0, 140.0]];
        assert_eq!(with_word_gaps("ab", &boxes), "ab", "different lines");
    }

    #[test]
    fn a_layout_that_does_not_match_the_text_changes_nothing() {
        let boxes = glyphs(&[(10.0, 15.0), (60.0, 65.0)]);
        assert_eq!(with_word_gaps("abc", &boxes), "abc");
    }
}
