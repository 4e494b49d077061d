//! `GET /v1/remotes`: every configured remote (OCR providers, publish targets), up or down,
//! since when, and its last error (SPEC §4). Never a URL, a key or a password.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::AppState;

/// One remote's health.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Remote {
    /// The provider's name (`google_vision`) or the target's name.
    name: String,
    /// `ocr` or `publish`.
    #[schema(example = "ocr")]
    kind: String,
    /// `up` or `down`: down after repeated transport failures; Docket probes it and resumes
    /// the jobs that paused for it (`remote_unavailable`) once it answers.
    #[schema(example = "up")]
    state: String,
    /// When it went into this state; null if nothing ever went wrong with it.
    #[schema(format = DateTime)]
    since: Option<String>,
    /// The last transport failure, in the remote's or the network's words.
    last_error: Option<String>,
    #[schema(format = DateTime)]
    last_error_at: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Remotes {
    remotes: Vec<Remote>,
}

#[utoipa::path(get, path = "/v1/remotes", tag = "system", operation_id = "list_remotes",
    responses((status = 200, description = "Every configured remote and its health", body = Remotes)))]
pub async fn list(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<Remotes>> {
    let statuses = docket_app::remote_statuses(&state.store, &state.config.remotes).await?;
    let time = |ms: Option<i64>| ms.map(docket_core::rfc3339);
    Ok(Json(Remotes {
        remotes: statuses
            .into_iter()
            .map(|s| Remote {
                name: s.name,
                kind: match s.kind {
                    docket_app::RemoteKind::Ocr => "ocr",
                    docket_app::RemoteKind::Publish => "publish",
                }
                .to_owned(),
                state: if s.up { "up" } else { "down" }.to_owned(),
                since: time(s.since),
                last_error: s.last_error,
                last_error_at: time(s.last_error_at),
            })
            .collect(),
    }))
}
