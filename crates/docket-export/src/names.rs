//! Safe, unique names inside an archive.

use std::collections::HashSet;

/// The longest name handed out, in bytes (before a directory and an added extension such as
/// `.txt`): well under the 255 bytes most filesystems allow for a name.
const MAX_BYTES: usize = 120;

/// Windows device names, refused whatever their extension.
const RESERVED: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Hands out names that are safe inside an archive and unique (ignoring case, since many
/// filesystems fold it) among those it handed out: one path component, no `..`, no absolute
/// paths, no control characters, no backslashes or other characters Windows refuses, no `%`
/// (see [`sanitize`]), at most
/// [`MAX_BYTES`] bytes on a character boundary, unicode kept. A taken name gets a
/// `name (2).ext`-style suffix.
///
/// It remembers every name it handed out (a few dozen bytes each): the one piece of per-item
/// state a bundle keeps.
#[derive(Debug, Default)]
pub struct SafeNames {
    taken: HashSet<String>,
}

impl SafeNames {
    pub fn new() -> SafeNames {
        SafeNames::default()
    }

    /// A safe name for `raw`, unique among the names handed out so far.
    pub fn unique(&mut self, raw: &str) -> String {
        let safe = sanitize(raw);
        if self.taken.insert(safe.to_lowercase()) {
            return safe;
        }
        let (stem, ext) = split_ext(&safe);
        for n in 2u64.. {
            let suffix = format!(" ({n}){ext}");
            let stem = truncate(stem, MAX_BYTES.saturating_sub(suffix.len()));
            let candidate = format!("{stem}{suffix}");
            if self.taken.insert(candidate.to_lowercase()) {
                return candidate;
            }
        }
        unreachable!("u64 suffixes run out")
    }
}

/// One safe path component for `raw` (not yet unique).
pub(crate) fn sanitize(raw: &str) -> String {
    // Only the last component of a path-like name: `a/b/c.txt` is `c.txt`'s business, but keep
    // the rest readable instead of dropping it.
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = match c {
            // `%`: RFC 8493 percent-encodes it in manifests, but bagit-python (the Library of
            // Congress validator) does not decode `%25`; a name without one reads the same in
            // both.
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '%' => '_',
            // Control and format characters (bidi overrides, zero-width, BOM, separators).
            c if docket_core::names::is_hidden(c) => continue,
            c => c,
        };
        out.push(c);
    }
    // No `..` anywhere: runs of dots become one.
    while out.contains("..") {
        out = out.replace("..", ".");
    }
    let trimmed = out.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let mut name = if trimmed.is_empty() {
        "unnamed".to_string()
    } else {
        trimmed.to_string()
    };
    let (stem, _) = split_ext(&name);
    if RESERVED.contains(&stem.to_lowercase().as_str()) {
        name = format!("_{name}");
    }
    if name.len() > MAX_BYTES {
        let (stem, ext) = split_ext(&name);
        let ext = if ext.len() <= 16 { ext } else { "" };
        name = format!("{}{ext}", truncate(stem, MAX_BYTES - ext.len()));
    }
    name
}

/// `("report", ".pdf")` for `report.pdf`; no extension for `README` or `.hidden`.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 && i + 1 < name.len() => name.split_at(i),
        _ => (name, ""),
    }
}

/// At most `max` bytes of `s`, cut on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_safe(name: &str) -> bool {
        !name.is_empty()
            && !name.contains("..")
            && !name.starts_with('/')
            && !name.contains(['/', '\\', ':'])
            && !name.chars().any(char::is_control)
            && name.len() <= MAX_BYTES
    }

    #[test]
    fn hostile_names_are_made_safe() {
        let mut names = SafeNames::new();
        let long = "é".repeat(400) + ".pdf";
        let hostile = [
            "../../etc/passwd",
            "/etc/shadow",
            "C:\\Windows\\system32\\evil.dll",
            "..",
            ".",
            "",
            "   ",
            "a\u{0}b\r\nc\t.txt",
            "CON",
            "nul.txt",
            "...hidden",
            "bad\u{202e}gpj.exe",
            long.as_str(),
            "x/../../y",
            "name.",
        ];
        for raw in hostile {
            let name = names.unique(raw);
            assert!(is_safe(&name), "{raw:?} became {name:?}");
        }
        assert_eq!(sanitize("../../etc/passwd"), "_._etc_passwd");
        assert_eq!(sanitize("a\u{0}b\r\nc\t.txt"), "abc.txt");
        assert_eq!(sanitize(""), "unnamed");
        assert_eq!(sanitize(".."), "unnamed");
        assert_eq!(sanitize("CON"), "_CON");
        assert_eq!(sanitize("nul.txt"), "_nul.txt");
        // Bidi isolates and marks and other format characters go too.
        assert_eq!(sanitize("bad\u{2067}gpj\u{2069}.exe"), "badgpj.exe");
        assert_eq!(sanitize("a\u{061c}b\u{2066}c\u{00ad}d.txt"), "abcd.txt");
        let cut = sanitize(&long);
        assert!(cut.ends_with(".pdf") && cut.len() <= MAX_BYTES, "{cut}");
        assert!(cut.starts_with('é'));
    }

    #[test]
    fn unicode_is_kept() {
        assert_eq!(
            sanitize("Rechnung März 2026 – 東京.pdf"),
            "Rechnung März 2026 – 東京.pdf"
        );
        assert_eq!(sanitize("100% sure.txt"), "100_ sure.txt");
    }

    #[test]
    fn collisions_get_numbered_suffixes_ignoring_case() {
        let mut names = SafeNames::new();
        assert_eq!(names.unique("scan.pdf"), "scan.pdf");
        assert_eq!(names.unique("scan.pdf"), "scan (2).pdf");
        assert_eq!(
            names.unique("SCAN.PDF"),
            "SCAN (3).pdf".replace(".pdf", ".PDF")
        );
        assert_eq!(names.unique("a/scan.pdf"), "a_scan.pdf");
        assert_eq!(names.unique("scan (2).pdf"), "scan (2) (2).pdf");
        assert_eq!(names.unique("README"), "README");
        assert_eq!(names.unique("readme"), "readme (2)");
        // Sanitising can make different names equal: they are still unique.
        assert_eq!(names.unique("x/y"), "x_y");
        assert_eq!(names.unique("x\\y"), "x_y (2)");
        let long = "b".repeat(300) + ".txt";
        let first = names.unique(&long);
        let second = names.unique(&long);
        assert_ne!(first, second);
        assert!(
            second.len() <= MAX_BYTES && second.ends_with(" (2).txt"),
            "{second}"
        );
    }
}
