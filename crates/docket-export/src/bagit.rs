//! BagIt 1.0 (RFC 8493): the tag files of a bag, and how manifests name files.

/// `bagit.txt`.
pub const BAGIT_TXT: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

/// A file path as a manifest line names it (RFC 8493 §2.1.3): CR, LF and `%` percent-encoded,
/// so that one line holds one path.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// One manifest line: the checksum, two spaces, the encoded path.
pub fn manifest_line(sha256_hex: &str, path: &str) -> String {
    format!("{sha256_hex}  {}\n", encode_path(path))
}

/// `Payload-Oxum`: the payload's octet count and stream (file) count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Oxum {
    pub octets: u64,
    pub streams: u64,
}

impl Oxum {
    pub fn add(&mut self, octets: u64) {
        self.octets += octets;
        self.streams += 1;
    }
}

impl std::fmt::Display for Oxum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.octets, self.streams)
    }
}

/// `bag-info.txt` from its labels and values, in order. Values are kept on one line (line
/// breaks become spaces), so a label's value can never start a label of its own.
pub fn bag_info(fields: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (label, value) in fields {
        let value: String = value
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        out.push_str(label);
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_are_percent_encoded() {
        assert_eq!(encode_path("data/a b.txt"), "data/a b.txt");
        assert_eq!(encode_path("data/100%.txt"), "data/100%25.txt");
        assert_eq!(encode_path("data/x\r\ny"), "data/x%0D%0Ay");
        assert_eq!(encode_path("data/%0A"), "data/%250A");
        assert_eq!(
            manifest_line("ab", "data/100%.txt"),
            "ab  data/100%25.txt\n"
        );
    }

    #[test]
    fn payload_oxum_counts_octets_and_streams() {
        let mut oxum = Oxum::default();
        assert_eq!(oxum.to_string(), "0.0");
        oxum.add(10);
        oxum.add(0);
        oxum.add(32);
        assert_eq!(oxum.to_string(), "42.3");
    }

    #[test]
    fn bag_info_keeps_each_value_on_its_line() {
        let info = bag_info(&[
            ("Source-Organization", "Docket".into()),
            ("External-Description", "two\nlines".into()),
        ]);
        assert_eq!(
            info,
            "Source-Organization: Docket\nExternal-Description: two lines\n"
        );
    }
}
