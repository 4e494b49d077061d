//! What an emulated site is configured with.

/// The configuration of one emulated Archipelago site.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The Basic auth user every `/jsonapi` request must present.
    pub user: String,
    pub password: String,
    /// `jsonapi.settings read_only`: every write answers 405.
    pub read_only: bool,
    /// Uploads above this many bytes answer 422 (Archipelago's stock limit is 512 MB).
    pub max_upload_bytes: u64,
    /// Extensions accepted by `node--*` `field_file_drop` (lower case, no dot).
    pub file_drop_extensions: Vec<String>,
    /// Extensions accepted by `ami_set_entity` `source_data`.
    pub source_data_extensions: Vec<String>,
    /// Extensions accepted by `ami_set_entity` `zip_file`.
    pub zip_file_extensions: Vec<String>,
}

fn words(list: &str) -> Vec<String> {
    list.split_whitespace().map(str::to_owned).collect()
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            user: "jsonapi".into(),
            password: "secret".into(),
            read_only: false,
            max_upload_bytes: 512 * 1024 * 1024,
            file_drop_extensions: words(
                "pdf txt md html htm xml csv json docx doc odt rtf epub \
                 png jpg jpeg gif tif tiff webp jp2 svg mp3 wav mp4 zip",
            ),
            source_data_extensions: words("csv"),
            zip_file_extensions: words("zip"),
        }
    }
}
