//! `GET /v1/me`: who the caller is, and what they may still store.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::AppState;

/// The caller.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    /// The user the bearer token belongs to.
    pub user: String,
    pub storage: Storage,
    pub limits: UploadLimits,
}

/// The caller's storage: bytes of uploads their jobs keep (released when a job is deleted).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Storage {
    pub used_bytes: u64,
    /// `null`: no quota.
    pub quota_bytes: Option<u64>,
    /// What may still be uploaded before the quota is reached; `null` without a quota.
    pub available_bytes: Option<u64>,
}

/// What one upload may hold.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UploadLimits {
    /// Largest file: the same limit the pipeline processes files up to.
    pub max_file_bytes: u64,
    /// Largest upload, all files together.
    pub max_upload_bytes: u64,
}

/// The caller: their user name, storage used and quota, and the upload limits.
#[utoipa::path(get, path = "/v1/me", tag = "system", operation_id = "get_me",
    responses((status = 200, description = "The caller", body = Me)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Me>> {
    let used_bytes = state.store.storage_used(&caller.0).await?;
    let quota_bytes = state.config.storage_quota_bytes;
    Ok(Json(Me {
        user: caller.0,
        storage: Storage {
            used_bytes,
            quota_bytes,
            available_bytes: quota_bytes.map(|q| q.saturating_sub(used_bytes)),
        },
        limits: UploadLimits {
            max_file_bytes: state.config.max_file_bytes,
            max_upload_bytes: state.config.upload_limit,
        },
    }))
}
