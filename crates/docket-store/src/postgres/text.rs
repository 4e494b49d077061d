//! Text in COPY's text format.

/// Appends `s` escaped for COPY's text format.
pub(super) fn copy_text(buf: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::copy_text;

    #[test]
    fn copy_text_escapes_the_special_bytes() {
        let mut buf = Vec::new();
        copy_text(&mut buf, b"a\\b\tc\nd\re \"\\u00e9\"");
        assert_eq!(buf, b"a\\\\b\\tc\\nd\\re \"\\\\u00e9\"".to_vec());
    }
}
