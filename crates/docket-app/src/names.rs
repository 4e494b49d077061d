//! Display names of uploaded files.

/// A display name for an uploaded file: its relative path (a folder upload keeps its
/// structure) without `.`/`..` parts, absolute roots or control characters, bounded. It is only
/// ever a name: files are stored under generated keys. `None` when nothing is left.
pub fn display_name(raw: &str) -> Option<String> {
    let parts: Vec<String> = raw
        .split(['/', '\\'])
        .map(docket_core::visible_name)
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty() && p != "." && p != "..")
        .collect();
    let joined: String = parts.join("/").chars().take(512).collect();
    (!joined.is_empty()).then_some(joined)
}
