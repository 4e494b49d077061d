//! Names as people see them. A document's name comes from whoever uploaded it and is shown in
//! listings, download dialogs and archives, so it must display as what it is: a bidi override
//! makes `\u{202e}txt.exe` read as `exe.txt`, and zero-width characters make two different
//! names look the same. Every place a name enters or leaves Docket goes through
//! [`visible_name`].

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Whether `c` has no glyph of its own or rearranges the text around it: control characters
/// (Cc), format characters (Cf: the bidi embeddings, overrides and isolates U+202A–202E and
/// U+2066–2069, the marks U+200E/F and U+061C, zero-width spaces and joiners, the BOM, soft
/// hyphen, tags, …) and the line and paragraph separators (Zl, Zp).
pub fn is_hidden(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// `raw` without the characters [`is_hidden`] describes; everything else is kept.
pub fn visible_name(raw: &str) -> String {
    raw.chars().filter(|c| !is_hidden(*c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_and_other_format_characters_are_removed() {
        assert_eq!(visible_name("invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        for c in [
            '\u{202a}',
            '\u{202b}',
            '\u{202c}',
            '\u{202d}',
            '\u{202e}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200e}',
            '\u{200f}',
            '\u{061c}',
            '\u{200b}',
            '\u{200d}',
            '\u{feff}',
            '\u{00ad}',
            '\u{2060}',
            '\u{e0041}',
            '\u{2028}',
            '\u{2029}',
            '\n',
            '\0',
            '\u{7f}',
            '\u{85}',
        ] {
            assert!(is_hidden(c), "U+{:04X}", c as u32);
            assert_eq!(
                visible_name(&format!("a{c}b.txt")),
                "ab.txt",
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn visible_text_of_any_script_is_kept() {
        for name in [
            "Überweisung 2024.pdf",
            "رسالة.txt",
            "日本語 ファイル.docx",
            "a b.md",
        ] {
            assert_eq!(visible_name(name), name);
        }
    }
}
