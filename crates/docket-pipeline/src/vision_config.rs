//! `[ocr.google_vision]`: trusted server configuration of the Google Vision provider (SPEC
//! §6). The key never leaves the server: it is a [`Secret`] from here on.

use std::path::PathBuf;
use std::time::Duration;

use docket_remote::{Rate, Secret};
use serde::{Deserialize, Serialize};

use crate::vision::{VisionConfig, MAX_IMAGES_PER_REQUEST};

/// The section as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisionSection {
    /// Default `https://vision.googleapis.com`; a compatible service may stand in.
    pub endpoint: Option<String>,
    /// A file holding the API key; else `DOCKET_OCR_GOOGLE_VISION_API_KEY`.
    pub api_key_file: Option<PathBuf>,
    /// Pages per request, 1–16 (the API's limit). Default 16.
    pub max_images_per_request: Option<u32>,
    /// Seconds one request may take. Default 60.
    pub timeout_seconds: Option<u64>,
    /// Requests per second this process sends at most; default no limit.
    pub requests_per_second: Option<f64>,
    /// Requests that may go at once after a quiet spell (with `requests_per_second`).
    /// Default 1.
    pub burst: Option<u32>,
}

/// The environment variable the key may come from.
pub const API_KEY_VARIABLE: &str = "DOCKET_OCR_GOOGLE_VISION_API_KEY";

impl VisionSection {
    /// Resolves the section (the key read); `env` looks up environment variables. The
    /// error says which key is wrong.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Result<VisionConfig, String> {
        let bad = |why: String| format!("[ocr.google_vision]: {why}");
        let endpoint = self
            .endpoint
            .clone()
            .unwrap_or_else(|| "https://vision.googleapis.com".to_owned());
        let url = url::Url::parse(&endpoint).map_err(|e| bad(format!("`endpoint`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad("`endpoint` must be an http(s) URL".into()));
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
            return Err(bad(
                "`endpoint` must carry no credentials or query: the key goes in `api_key_file`"
                    .into(),
            ));
        }
        let key = match (env(API_KEY_VARIABLE), &self.api_key_file) {
            (Some(key), _) if !key.trim().is_empty() => key.trim().to_owned(),
            (_, Some(file)) => std::fs::read_to_string(file)
                .map_err(|e| bad(format!("`api_key_file` {}: {e}", file.display())))?
                .trim()
                .to_owned(),
            _ => {
                return Err(bad(format!(
                    "no API key: set `api_key_file` or {API_KEY_VARIABLE}"
                )))
            }
        };
        if key.is_empty() {
            return Err(bad("the API key is empty".into()));
        }
        let batch = self
            .max_images_per_request
            .unwrap_or(MAX_IMAGES_PER_REQUEST);
        if !(1..=MAX_IMAGES_PER_REQUEST).contains(&batch) {
            return Err(bad(format!(
                "`max_images_per_request` is between 1 and {MAX_IMAGES_PER_REQUEST}"
            )));
        }
        let timeout = self.timeout_seconds.unwrap_or(60);
        if !(1..=3600).contains(&timeout) {
            return Err(bad("`timeout_seconds` is between 1 and 3600".into()));
        }
        let rate = match self.requests_per_second {
            None => None,
            Some(rps) if rps.is_finite() && rps > 0.0 && rps <= 100_000.0 => Some(Rate {
                per_second: rps,
                burst: self.burst.unwrap_or(1).max(1),
            }),
            Some(_) => return Err(bad("`requests_per_second` must be above 0".into())),
        };
        Ok(VisionConfig {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            api_key: Secret::new(key),
            max_images_per_request: batch,
            timeout: Duration::from_secs(timeout),
            rate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_comes_from_the_environment_or_a_file_and_is_checked() {
        let section = VisionSection::default();
        let e = section.resolve(|_| None).unwrap_err();
        assert!(e.contains(API_KEY_VARIABLE), "{e}");
        let c = section
            .resolve(|k| (k == API_KEY_VARIABLE).then(|| "k1".to_owned()))
            .unwrap();
        assert_eq!(c.api_key.expose(), "k1");
        assert_eq!(c.endpoint, "https://vision.googleapis.com");
        assert_eq!(c.max_images_per_request, 16);
        assert!(c.rate.is_none());

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "k2\n").unwrap();
        let section = VisionSection {
            endpoint: Some("http://127.0.0.1:9/".into()),
            api_key_file: Some(file),
            max_images_per_request: Some(4),
            requests_per_second: Some(2.5),
            ..VisionSection::default()
        };
        let c = section.resolve(|_| None).unwrap();
        assert_eq!(c.api_key.expose(), "k2");
        assert_eq!(c.endpoint, "http://127.0.0.1:9");
        assert_eq!(c.rate.map(|r| r.per_second), Some(2.5));

        let too_many = VisionSection {
            max_images_per_request: Some(17),
            ..VisionSection::default()
        };
        assert!(too_many.resolve(|_| Some("k".into())).is_err());
        let keyed = VisionSection {
            endpoint: Some("https://vision.example?key=x".into()),
            ..VisionSection::default()
        };
        assert!(keyed.resolve(|_| Some("k".into())).is_err());
    }
}
