use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, REPLACEMENT, UTF_16BE, UTF_16LE, UTF_8};
use serde_json::json;

use crate::{media, writer::too_many_chars, ExtractError, Extracted, Limits};

pub(crate) struct Decoded {
    pub(crate) text: String,
    pub(crate) encoding: &'static Encoding,
}

/// Decodes text of unknown encoding. Order of trust: a BOM (unambiguous), then valid UTF-8
/// (legacy text with any non-ASCII byte is almost never valid UTF-8 by accident), then what the
/// document itself declares (HTML `<meta charset>`), then a statistical guess.
pub(crate) fn decode(bytes: &[u8], declared: Option<&'static Encoding>) -> Decoded {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let body = bytes.get(bom_len..).unwrap_or_default();
        let (text, _) = encoding.decode_without_bom_handling(body);
        return Decoded {
            text: text.into_owned(),
            encoding,
        };
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Decoded {
            text: text.to_owned(),
            encoding: UTF_8,
        };
    }
    // Without a BOM a UTF-16 declaration is a lie (WHATWG treats it as UTF-8), and the
    // "replacement" encoding would turn the whole document into U+FFFD.
    let declared = declared.filter(|e| *e != UTF_16LE && *e != UTF_16BE && *e != REPLACEMENT);
    let encoding = declared.unwrap_or_else(|| guess(bytes));
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        encoding,
    }
}

fn guess(bytes: &[u8]) -> &'static Encoding {
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    detector.guess(None, Utf8Detection::Allow)
}

/// `\r\n` and lone `\r` (classic Mac) both become `\n`, so line counts and search snippets do not
/// depend on the machine a file was written on.
pub(crate) fn normalize_newlines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            // NUL is never text, and PostgreSQL refuses it in a text column.
            '\0' => {}
            _ => out.push(ch),
        }
    }
    out
}

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    let decoded = decode(bytes, None);
    let text = normalize_newlines(&decoded.text);
    if text.chars().count() > limits.max_text_chars {
        return Err(too_many_chars(limits.max_text_chars));
    }
    Ok(Extracted {
        media_type: media::TEXT.to_owned(),
        text,
        pages: 1,
        metadata: json!({ "encoding": decoded.encoding.name() }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_are_normalised() {
        assert_eq!(normalize_newlines("a\r\nb\rc\nd\r"), "a\nb\nc\nd\n");
    }

    #[test]
    fn bom_wins_over_content() {
        let d = decode(&[0xFE, 0xFF, 0x00, b'h', 0x00, b'i'], None);
        assert_eq!((d.text.as_str(), d.encoding.name()), ("hi", "UTF-16BE"));
    }

    #[test]
    fn valid_utf8_wins_over_a_declaration() {
        let d = decode("café".as_bytes(), Some(encoding_rs::WINDOWS_1252));
        assert_eq!((d.text.as_str(), d.encoding.name()), ("café", "UTF-8"));
    }
}
