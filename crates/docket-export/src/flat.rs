//! The flat results columns (SPEC §6), shared by `results?format=csv` and a bundle's
//! `manifest.csv`: RFC 4180 CSV, no JSON inside a cell.

/// The flat columns, in order.
pub const FLAT_COLUMNS: [&str; 12] = [
    "name",
    "state",
    "document_id",
    "sha256",
    "media_type",
    "size",
    "pages",
    "category",
    "confidence",
    "matched_by",
    "reused",
    "error",
];

/// A bundle's manifest: the flat columns, then where the item's entries lie in the archive
/// (relative to the manifest; empty where there is none).
pub const MANIFEST_COLUMNS: [&str; 4] =
    ["text_path", "metadata_path", "thumbnail_path", "file_path"];

/// One finished item in the flat columns. Empty cells are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlatRow {
    pub name: String,
    pub state: String,
    pub document_id: Option<String>,
    pub sha256: Option<String>,
    pub media_type: Option<String>,
    pub size: Option<i64>,
    pub pages: Option<i64>,
    pub category: Option<String>,
    pub confidence: Option<f64>,
    pub matched_by: Option<String>,
    pub reused: bool,
    pub error: Option<String>,
}

impl FlatRow {
    /// The cells, in [`FLAT_COLUMNS`] order.
    pub fn cells(&self) -> [String; 12] {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        [
            self.name.clone(),
            self.state.clone(),
            s(&self.document_id),
            s(&self.sha256),
            s(&self.media_type),
            n(self.size),
            n(self.pages),
            s(&self.category),
            self.confidence.map(|c| c.to_string()).unwrap_or_default(),
            s(&self.matched_by),
            self.reused.to_string(),
            s(&self.error),
        ]
    }

    /// The row as one CSV record (CRLF-terminated).
    pub fn csv(&self) -> String {
        csv_record(self.cells().iter().map(String::as_str))
    }
}

/// One RFC 4180 record: cells holding a comma, a quote, CR or LF are quoted, quotes doubled;
/// the record ends with CRLF.
pub fn csv_record<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if cell.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(cell);
        }
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_quote_what_needs_it() {
        assert_eq!(csv_record(["a", "b c", ""]), "a,b c,\r\n");
        assert_eq!(
            csv_record(["x,y", "say \"hi\"", "two\nlines"]),
            "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
        assert_eq!(csv_record(FLAT_COLUMNS), FLAT_COLUMNS.join(",") + "\r\n");
    }

    #[test]
    fn a_row_has_the_flat_columns() {
        let row = FlatRow {
            name: "a.txt".into(),
            state: "succeeded".into(),
            document_id: Some("doc_1".into()),
            size: Some(5),
            pages: Some(1),
            confidence: Some(0.5),
            reused: true,
            ..FlatRow::default()
        };
        assert_eq!(row.cells().len(), FLAT_COLUMNS.len());
        assert_eq!(row.csv(), "a.txt,succeeded,doc_1,,,5,1,,0.5,,true,\r\n");
    }
}
