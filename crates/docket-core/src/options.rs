use serde::{Deserialize, Serialize};

use crate::{CoreError, Millis, Priority};

/// Submit options (SPEC §5). Unknown fields are rejected, not ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JobOptions {
    /// At most this many items of the job run at once, across every worker. `None`: no limit
    /// beyond the worker pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_workers: Option<u32>,
    #[serde(default = "default_max_retries")]
    #[cfg_attr(feature = "openapi", schema(maximum = 100))]
    pub max_retries: u32,
    /// 0 turns auto-pause off.
    #[serde(default = "default_auto_pause_after")]
    pub auto_pause_after: u32,
    #[serde(default = "default_item_timeout_seconds")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 604800))]
    pub item_timeout_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 31622400))]
    pub deadline_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr: Option<OcrOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 2048, pattern = r"^https?://[^/\s]\S*$")
    )]
    pub notify_url: Option<String>,
    /// The job's share of the workers next to other running jobs (1 : 2 : 4); changeable
    /// while it runs (`PATCH /v1/jobs/{id}`).
    #[serde(default)]
    pub priority: Priority,
    /// The job stays `queued` until this time (RFC 3339).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::as_rfc3339_opt"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub not_before: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OcrOptions {
    #[serde(default)]
    pub languages: Vec<String>,
    /// Who reads the pages that need OCR (SPEC §6). Pages with a text layer are never sent.
    #[serde(default, skip_serializing_if = "OcrProvider::is_default")]
    pub provider: OcrProvider,
}

/// An OCR provider (SPEC §6): `tesseract` runs here; `google_vision` is Google Cloud Vision's
/// `images:annotate` (or a compatible service), configured in `[ocr.google_vision]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OcrProvider {
    #[default]
    Tesseract,
    GoogleVision,
}

impl OcrProvider {
    pub const ALL: [OcrProvider; 2] = [OcrProvider::Tesseract, OcrProvider::GoogleVision];

    pub fn as_str(self) -> &'static str {
        match self {
            OcrProvider::Tesseract => "tesseract",
            OcrProvider::GoogleVision => "google_vision",
        }
    }

    pub fn is_default(&self) -> bool {
        *self == OcrProvider::Tesseract
    }

    /// Whether pages leave this machine to be read.
    pub fn is_remote(self) -> bool {
        self != OcrProvider::Tesseract
    }
}

impl std::fmt::Display for OcrProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Most OCR languages one job may name: each multiplies recognition time, so more than this
/// is a mistake, not a document.
pub const MAX_OCR_LANGUAGES: usize = 8;

impl OcrOptions {
    /// What can be known of the languages without asking the host: how many, and that each
    /// is a tesseract language name (letters, digits, `_`; they become file names). Whether
    /// they are installed is the submitting service's check.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.languages.len() > MAX_OCR_LANGUAGES {
            return Err(CoreError::InvalidOption(format!(
                "ocr.languages names {} languages; at most {MAX_OCR_LANGUAGES} can be used together",
                self.languages.len()
            )));
        }
        for (i, lang) in self.languages.iter().enumerate() {
            let valid = !lang.is_empty()
                && lang.len() <= 32
                && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(CoreError::InvalidOption(format!(
                    "ocr.languages: {lang:?} is not a language name (tesseract's codes, e.g. \
                     `eng`, `deu`, `chi_sim`)"
                )));
            }
            if self.languages[..i].contains(lang) {
                return Err(CoreError::InvalidOption(format!(
                    "ocr.languages names `{lang}` twice"
                )));
            }
        }
        Ok(())
    }
}

/// A week: longer than any parser should run.
const MAX_ITEM_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;
/// A year.
const MAX_DEADLINE_SECONDS: u64 = 366 * 24 * 3600;

fn default_max_retries() -> u32 {
    3
}
fn default_auto_pause_after() -> u32 {
    5
}
fn default_item_timeout_seconds() -> u64 {
    600
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            max_workers: None,
            max_retries: default_max_retries(),
            auto_pause_after: default_auto_pause_after(),
            item_timeout_seconds: default_item_timeout_seconds(),
            deadline_seconds: None,
            ocr: None,
            notify_url: None,
            priority: Priority::Normal,
            not_before: None,
        }
    }
}

impl JobOptions {
    /// The OCR provider the job asks for (`tesseract` unless it names one).
    pub fn ocr_provider(&self) -> OcrProvider {
        self.ocr.as_ref().map(|o| o.provider).unwrap_or_default()
    }

    /// Parses and validates options given as JSON (an absent or `null` value means defaults).
    pub fn from_json(value: &serde_json::Value) -> Result<JobOptions, CoreError> {
        if value.is_null() {
            return Ok(JobOptions::default());
        }
        let options: JobOptions = serde_json::from_value(value.clone())
            .map_err(|e| CoreError::InvalidOption(e.to_string()))?;
        options.validate()?;
        Ok(options)
    }

    pub fn validate(&self) -> Result<(), CoreError> {
        if self.max_workers == Some(0) {
            return Err(CoreError::InvalidOption(
                "max_workers must be at least 1".into(),
            ));
        }
        if self.max_retries > 100 {
            return Err(CoreError::InvalidOption(
                "max_retries must be at most 100".into(),
            ));
        }
        if !(1..=MAX_ITEM_TIMEOUT_SECONDS).contains(&self.item_timeout_seconds) {
            return Err(CoreError::InvalidOption(format!(
                "item_timeout_seconds must be between 1 and {MAX_ITEM_TIMEOUT_SECONDS}"
            )));
        }
        if let Some(d) = self.deadline_seconds {
            if !(1..=MAX_DEADLINE_SECONDS).contains(&d) {
                return Err(CoreError::InvalidOption(format!(
                    "deadline_seconds must be between 1 and {MAX_DEADLINE_SECONDS}"
                )));
            }
        }
        if let Some(ocr) = &self.ocr {
            ocr.validate()?;
        }
        if let Some(url) = &self.notify_url {
            let rest = url
                .strip_prefix("http://")
                .or_else(|| url.strip_prefix("https://"));
            let host_given = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'));
            if !host_given || url.len() > 2048 || url.chars().any(char::is_whitespace) {
                return Err(CoreError::InvalidOption(
                    "notify_url must be an http:// or https:// URL with a host".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_unknown_fields() {
        let o = JobOptions::from_json(&json!({})).unwrap();
        assert_eq!(o, JobOptions::default());
        assert_eq!(o.max_retries, 3);
        assert_eq!(o.auto_pause_after, 5);
        let e = JobOptions::from_json(&json!({"max_wrokers": 3})).unwrap_err();
        assert!(e.to_string().contains("max_wrokers"), "{e}");
        assert!(JobOptions::from_json(&json!({"max_workers": 0})).is_err());
        assert!(JobOptions::from_json(&json!({"max_workers": "x"})).is_err());
        assert!(JobOptions::from_json(&json!({"item_timeout_seconds": u64::MAX})).is_err());
        assert!(
            JobOptions::from_json(&json!({"deadline_seconds": 10_000_000_000_000u64})).is_err()
        );
    }

    #[test]
    fn the_ocr_provider_is_one_of_the_known_names() {
        let o = JobOptions::from_json(&json!({"ocr": {"provider": "google_vision"}})).unwrap();
        assert_eq!(
            o.ocr.map(|ocr| ocr.provider),
            Some(OcrProvider::GoogleVision)
        );
        let o = JobOptions::from_json(&json!({"ocr": {"languages": ["eng"]}})).unwrap();
        assert_eq!(o.ocr.map(|ocr| ocr.provider), Some(OcrProvider::Tesseract));
        let e = JobOptions::from_json(&json!({"ocr": {"provider": "abbyy"}})).unwrap_err();
        assert!(e.to_string().contains("abbyy"), "{e}");
        assert!(e.to_string().contains("google_vision"), "{e}");
    }

    #[test]
    fn priority_and_not_before() {
        let o = JobOptions::from_json(
            &json!({"priority": "high", "not_before": "2026-12-07T02:00:00+01:00"}),
        )
        .unwrap();
        assert_eq!(o.priority, Priority::High);
        assert_eq!(o.not_before, Some(1_796_605_200_000));
        let shown = serde_json::to_value(&o).unwrap();
        assert_eq!(shown["not_before"], "2026-12-07T01:00:00.000Z");
        assert_eq!(shown["priority"], "high");
        let e = JobOptions::from_json(&json!({"priority": "urgent"})).unwrap_err();
        assert!(e.to_string().contains("urgent"), "{e}");
        let e = JobOptions::from_json(&json!({"not_before": "tomorrow"})).unwrap_err();
        assert!(
            e.to_string().contains("premature end") || e.to_string().contains("input"),
            "{e}"
        );
    }

    #[test]
    fn ocr_language_names_are_checked_before_the_host_is_asked() {
        let ok = JobOptions::from_json(&json!({"ocr": {"languages": ["eng", "chi_sim"]}}));
        assert!(ok.is_ok(), "{ok:?}");
        for (bad, says) in [
            (json!(["../../etc/passwd"]), "not a language name"),
            (json!([""]), "not a language name"),
            (json!(["eng+deu"]), "not a language name"),
            (json!(["eng", "eng"]), "twice"),
            (
                json!(["a", "b", "c", "d", "e", "f", "g", "h", "i"]),
                "at most 8",
            ),
        ] {
            let e = JobOptions::from_json(&json!({"ocr": {"languages": bad}})).unwrap_err();
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
    }
}
