//! U+0000 in text bound for a backend that cannot store it (PostgreSQL's text and JSONB).

/// PostgreSQL's text and JSONB cannot hold U+0000. Submitted items with one are refused; what
/// a worker reports (outputs, checkpoints, error messages) gets U+FFFD in its place, since one
/// such character must not fail the whole batch it came in.
pub(crate) fn json_text(v: &serde_json::Value) -> String {
    let text = v.to_string();
    if !may_hold_nul(text.as_bytes()) {
        return text;
    }
    let mut v = v.clone();
    replace_nul(&mut v);
    v.to_string()
}

/// Text a worker reported, with U+FFFD in place of each NUL (see [`json_text`]).
pub(crate) fn text_without_nul(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Whether serialised JSON may contain an escaped NUL (it is always escaped as `\u0000`).
pub(crate) fn may_hold_nul(json: &[u8]) -> bool {
    json.windows(6).any(|w| w == b"\\u0000")
}

pub(crate) fn holds_nul(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(holds_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

pub(crate) fn replace_nul(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{fffd}"),
        Value::Array(a) => a.iter_mut().for_each(replace_nul),
        Value::Object(o) => {
            let entries = std::mem::take(o);
            for (k, mut v) in entries {
                replace_nul(&mut v);
                o.insert(k.replace('\0', "\u{fffd}"), v);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::json_text;
    use serde_json::json;

    #[test]
    fn nul_characters_are_replaced_in_reported_json() {
        assert_eq!(json_text(&json!({"a": "x"})), r#"{"a":"x"}"#);
        // An escaped backslash followed by `u0000` is not a NUL.
        assert_eq!(json_text(&json!({"a": "\\u0000"})), r#"{"a":"\\u0000"}"#);
        assert_eq!(
            json_text(&json!({"a\u{0}": ["x\u{0}y", 1]})),
            json!({"a\u{fffd}": ["x\u{fffd}y", 1]}).to_string()
        );
    }
}
