//! The OCR languages installed on this host, so that a submit naming one that is not can be
//! refused at the door instead of failing every item later.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use docket_core::ErrorCode;

use crate::ServiceError;

/// How long an answer is trusted: an operator who installs a language pack sees it accepted
/// within this, without a restart.
const FRESH_FOR: Duration = Duration::from_secs(60);

/// Languages tried first to find tesseract's data directory (see
/// [`docket_extract::installed_ocr_languages`]); the requested ones are tried after them.
const PROBES: &[&str] = &["eng", "osd"];

/// What this host had installed when last asked. Process-wide, because it is a fact about the
/// host, not about a request or a user.
static INSTALLED: Mutex<Option<(Instant, Vec<String>)>> = Mutex::new(None);

/// Refuses `requested` languages that are not installed here, naming them.
pub(crate) async fn check_installed(requested: &[String]) -> Result<(), ServiceError> {
    if requested.is_empty() {
        return Ok(());
    }
    let installed = installed(requested).await?;
    let missing: Vec<&str> = requested
        .iter()
        .filter(|l| !installed.contains(l))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let listed = if installed.is_empty() {
        "none".to_owned()
    } else {
        installed.join(", ")
    };
    let named: Vec<String> = missing.iter().map(|l| format!("`{l}`")).collect();
    let verb = if missing.len() == 1 { "is" } else { "are" };
    Err(ServiceError::refused(
        ErrorCode::InvalidOptions,
        format!(
            "ocr.languages: {} {verb} not installed on this server (installed: {listed})",
            named.join(", ")
        ),
    ))
}

/// The installed languages, from the cache while it is fresh (so a stream of submits naming
/// a missing language does not load a model each).
async fn installed(requested: &[String]) -> Result<Vec<String>, ServiceError> {
    if let Some(cached) = cached() {
        return Ok(cached);
    }
    let probes: Vec<String> = PROBES
        .iter()
        .map(|p| (*p).to_owned())
        .chain(requested.iter().cloned())
        .collect();
    let found =
        tokio::task::spawn_blocking(move || docket_extract::installed_ocr_languages(&probes))
            .await
            .map_err(|e| {
                ServiceError::refused(
                    ErrorCode::Internal,
                    format!("listing the OCR languages failed: {e}"),
                )
            })?;
    // No language at all loads: then none is installed, which is an answer too.
    let installed = found.unwrap_or_default();
    if let Ok(mut cache) = INSTALLED.lock() {
        *cache = Some((Instant::now(), installed.clone()));
    }
    Ok(installed)
}

fn cached() -> Option<Vec<String>> {
    let cache = INSTALLED.lock().ok()?;
    let (at, languages) = cache.as_ref()?;
    (at.elapsed() < FRESH_FOR).then(|| languages.clone())
}
