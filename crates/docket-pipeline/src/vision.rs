//! Google Cloud Vision's REST `images:annotate` with `DOCUMENT_TEXT_DETECTION` (SPEC §6), or a
//! compatible service at another endpoint: `POST {endpoint}/v1/images:annotate?key=…` with
//! `{"requests": [{"image": {"content": base64}, "features": [{"type":
//! "DOCUMENT_TEXT_DETECTION"}], "imageContext": {"languageHints": […]}}]}`; the text of image
//! `i` is `responses[i].fullTextAnnotation.text`, and `responses[i].error` (a `google.rpc.Status`)
//! fails that image only. Calls go through `docket-remote`: the key is a [`Secret`], so it is
//! in no message, and the request URL is dropped from transport errors.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use docket_extract::PageImage;
use docket_remote::{Health, Rate, Remote, RemoteConfig, RemoteError, Secret};
use serde::{Deserialize, Serialize};

/// The name the provider goes by: in job options, in `/v1/remotes`, in messages.
pub const GOOGLE_VISION: &str = "google_vision";

/// The most images one `images:annotate` request may carry (the API's own limit).
pub const MAX_IMAGES_PER_REQUEST: u32 = 16;

/// `[ocr.google_vision]`, resolved (the key read).
#[derive(Debug, Clone)]
pub struct VisionConfig {
    /// Without a trailing slash, e.g. `https://vision.googleapis.com`.
    pub endpoint: String,
    pub api_key: Secret,
    pub max_images_per_request: u32,
    pub timeout: Duration,
    pub rate: Option<Rate>,
}

/// What Vision said about one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRead {
    Text(String),
    /// `responses[i].error`: this page failed; the others of the request did not.
    Failed {
        message: String,
        transient: bool,
    },
}

pub struct GoogleVision {
    remote: Remote,
    endpoint: String,
    key: Secret,
    batch: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AnnotateRequest<'a> {
    image: Image,
    features: [Feature; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    image_context: Option<ImageContext<'a>>,
}

#[derive(Serialize)]
struct Image {
    content: String,
}

#[derive(Serialize)]
struct Feature {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageContext<'a> {
    language_hints: &'a [String],
}

#[derive(Deserialize)]
struct BatchResponse {
    #[serde(default)]
    responses: Vec<ImageResponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageResponse {
    #[serde(default)]
    full_text_annotation: Option<TextAnnotation>,
    #[serde(default)]
    error: Option<Status>,
}

#[derive(Deserialize)]
struct TextAnnotation {
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

/// `google.rpc.Code`s worth trying again: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED,
/// INTERNAL, UNAVAILABLE.
fn transient_code(code: i64) -> bool {
    matches!(code, 4 | 8 | 10 | 13 | 14)
}

/// BCP-47 language hints for tesseract's language codes (Vision takes `en`, not `eng`);
/// codes without a mapping are left out and Vision detects the language itself.
fn language_hints(languages: &[String]) -> Vec<String> {
    const CODES: &[(&str, &str)] = &[
        ("eng", "en"),
        ("deu", "de"),
        ("fra", "fr"),
        ("spa", "es"),
        ("ita", "it"),
        ("por", "pt"),
        ("nld", "nl"),
        ("pol", "pl"),
        ("rus", "ru"),
        ("swe", "sv"),
        ("dan", "da"),
        ("nor", "no"),
        ("fin", "fi"),
        ("ces", "cs"),
        ("tur", "tr"),
        ("ell", "el"),
        ("jpn", "ja"),
        ("kor", "ko"),
        ("chi_sim", "zh"),
        ("ara", "ar"),
        ("heb", "iw"),
        ("hin", "hi"),
        ("ukr", "uk"),
        ("hun", "hu"),
        ("ron", "ro"),
    ];
    languages
        .iter()
        .filter_map(|l| {
            CODES
                .iter()
                .find(|(t, _)| t == l)
                .map(|(_, b)| (*b).to_owned())
        })
        .collect()
}

impl GoogleVision {
    pub fn new(
        config: VisionConfig,
        health: Option<Arc<dyn Health>>,
    ) -> Result<GoogleVision, RemoteError> {
        let remote_config = RemoteConfig {
            timeout: config.timeout,
            rate: config.rate,
            ..RemoteConfig::named(GOOGLE_VISION)
        };
        let mut remote = Remote::new(remote_config, vec![config.api_key.clone()])?;
        if let Some(health) = health {
            remote = remote.with_health(health);
        }
        Ok(GoogleVision {
            remote,
            endpoint: config.endpoint.trim_end_matches('/').to_owned(),
            key: config.api_key,
            batch: config
                .max_images_per_request
                .clamp(1, MAX_IMAGES_PER_REQUEST),
        })
    }

    /// Pages per request.
    pub fn batch(&self) -> u32 {
        self.batch
    }

    /// Where a probe asks whether the service answers at all (no key: a probe carries none).
    pub fn probe_url(&self) -> String {
        format!("{}/", self.endpoint)
    }

    /// Reads `images` in one request (at most [`GoogleVision::batch`] of them), answering
    /// one [`PageRead`] per image, in order.
    pub async fn read(
        &self,
        images: &[PageImage],
        languages: &[String],
    ) -> Result<Vec<PageRead>, RemoteError> {
        let hints = language_hints(languages);
        let requests: Vec<AnnotateRequest<'_>> = images
            .iter()
            .map(|image| AnnotateRequest {
                image: Image {
                    content: base64::engine::general_purpose::STANDARD.encode(&image.png),
                },
                features: [Feature {
                    kind: "DOCUMENT_TEXT_DETECTION",
                }],
                image_context: (!hints.is_empty()).then_some(ImageContext {
                    language_hints: &hints,
                }),
            })
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({ "requests": requests }))
            .map_err(|e| self.remote.broken_answer("encoding the request", e))?;
        let url = format!("{}/v1/images:annotate", self.endpoint);
        let what = format!("reading {} page(s)", images.len());
        let answer = self
            .remote
            .call(&what, &[], |client| {
                let request = client
                    .post(&url)
                    .query(&[("key", self.key.expose())])
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
                async move { Ok(request) }
            })
            .await?;
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| self.remote.broken_answer(&what, e.without_url()))?;
        let batch: BatchResponse =
            serde_json::from_slice(&bytes).map_err(|e| self.remote.broken_answer(&what, e))?;
        if batch.responses.len() != images.len() {
            return Err(self.remote.broken_answer(
                &what,
                format!(
                    "{} responses for {} images",
                    batch.responses.len(),
                    images.len()
                ),
            ));
        }
        Ok(batch
            .responses
            .into_iter()
            .map(|r| match (r.error, r.full_text_annotation) {
                (Some(status), _) => PageRead::Failed {
                    message: self.remote.redact(&format!(
                        "{GOOGLE_VISION}: the page was not read: {} (code {})",
                        status.message, status.code
                    )),
                    transient: transient_code(status.code),
                },
                (None, Some(text)) => PageRead::Text(text.text),
                // No text found on the page: Vision leaves the annotation out.
                (None, None) => PageRead::Text(String::new()),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tesseract_languages_become_bcp47_hints() {
        let langs = ["eng", "deu", "xyz"].map(String::from);
        assert_eq!(language_hints(&langs), ["en", "de"]);
    }
}
