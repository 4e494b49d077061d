//! The remotes this server is configured with (OCR providers, publish targets) and their
//! health as the database holds it (SPEC §4). Names and states only: never a URL, a key or a
//! password.

use std::sync::Arc;

use docket_core::{ErrorCode, JobOptions, Millis, OcrProvider};
use docket_store::prelude::*;
use serde::Serialize;

use crate::ServiceError;

/// What a remote is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteKind {
    /// An OCR provider (`options.ocr.provider`).
    Ocr,
    /// A publish target (`[publish.targets.NAME]`).
    Publish,
}

/// A remote the configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredRemote {
    pub name: String,
    pub kind: RemoteKind,
}

/// A remote as `GET /v1/remotes` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteStatus {
    pub name: String,
    pub kind: RemoteKind,
    /// `up` or `down`.
    pub up: bool,
    /// When it went into its state; `None` for a remote nothing ever went wrong with.
    pub since: Option<Millis>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Millis>,
}

/// Refuses a job whose OCR provider this server is not configured with.
pub fn check_ocr_provider(
    options: &JobOptions,
    remotes: &[ConfiguredRemote],
) -> Result<(), ServiceError> {
    let provider = options.ocr_provider();
    let configured = !provider.is_remote()
        || remotes
            .iter()
            .any(|r| r.kind == RemoteKind::Ocr && r.name == provider.as_str());
    if configured {
        return Ok(());
    }
    let known: Vec<&str> = std::iter::once(OcrProvider::Tesseract.as_str())
        .chain(
            remotes
                .iter()
                .filter(|r| r.kind == RemoteKind::Ocr)
                .map(|r| r.name.as_str()),
        )
        .collect();
    Err(ServiceError::refused(
        ErrorCode::InvalidOptions,
        format!(
            "the OCR provider `{provider}` is not configured on this server (configured: {})",
            known.join(", ")
        ),
    ))
}

/// Every configured remote with its health, in configuration order.
pub async fn remote_statuses(
    store: &Arc<dyn Store>,
    remotes: &[ConfiguredRemote],
) -> Result<Vec<RemoteStatus>, ServiceError> {
    let health = store.remote_health().await?;
    Ok(remotes
        .iter()
        .map(|remote| {
            let known = health.iter().find(|h| h.name == remote.name);
            RemoteStatus {
                name: remote.name.clone(),
                kind: remote.kind,
                up: known.is_none_or(|h| h.up),
                since: known.map(|h| h.since),
                last_error: known.and_then(|h| h.last_error.clone()),
                last_error_at: known.and_then(|h| h.last_error_at),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_provider_must_be_configured() {
        let vision =
            JobOptions::from_json(&serde_json::json!({"ocr": {"provider": "google_vision"}}))
                .unwrap();
        let e = check_ocr_provider(&vision, &[]).unwrap_err();
        assert!(e.to_string().contains("not configured"), "{e}");
        let configured = [ConfiguredRemote {
            name: "google_vision".into(),
            kind: RemoteKind::Ocr,
        }];
        assert!(check_ocr_provider(&vision, &configured).is_ok());
        assert!(check_ocr_provider(&JobOptions::default(), &[]).is_ok());
        // A publish target of that name is not an OCR provider.
        let target = [ConfiguredRemote {
            name: "google_vision".into(),
            kind: RemoteKind::Publish,
        }];
        assert!(check_ocr_provider(&vision, &target).is_err());
    }
}
