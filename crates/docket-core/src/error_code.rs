//! The closed set of machine-readable `code`s an API error carries (RFC 9457 problem details).
//! A client matches on these; adding one is an API change, renaming one breaks clients.

use serde::{Deserialize, Serialize};

/// Why a request failed, for programs. Each code has one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request is well-formed JSON but means nothing valid (a missing or unknown field,
    /// an unknown job kind, a value out of range).
    InvalidRequest,
    /// 400: the body, or the `options` part of an upload, is not valid JSON.
    MalformedJson,
    /// 400: the multipart body cannot be read as `multipart/form-data`.
    MalformedMultipart,
    /// 400: a multipart part other than `files` and `options`.
    UnknownPart,
    /// 400: an upload without files, or with only empty ones.
    EmptyUpload,
    /// 400: `POST /v1/classify` without a `file` part.
    MissingFile,
    /// 400: the upload stopped before it was complete.
    UploadInterrupted,
    /// 400: the uploaded file's text cannot be extracted.
    UnreadableFile,
    /// 400: the submit's `options` are invalid.
    InvalidOptions,
    /// 400: the `notify_url` is refused by the webhook policy: not http(s), carries
    /// credentials, or its host does not resolve to a public address (or an allowed range).
    NotifyUrlRefused,
    /// 400: the query string names an unknown filter value or parameter.
    InvalidQuery,
    /// 400: a pagination cursor that this API did not hand out.
    InvalidCursor,
    /// 400: a `Last-Event-ID` that is not an event id of this stream.
    InvalidLastEventId,
    /// 400: the `Idempotency-Key` header is empty, too long or not visible ASCII.
    InvalidIdempotencyKey,
    /// 400: a category rule that cannot work (an invalid regex, an unknown algorithm, …).
    InvalidCategory,
    /// 400: a label names a category the user does not have.
    UnknownCategory,
    /// 400: the server folder of a submit does not exist or is not a folder.
    PathNotFound,
    /// 400: a publish names a target the server's configuration does not have.
    UnknownTarget,
    /// 400: a submit names a resumable upload that has not received all its bytes yet.
    UploadIncomplete,
    /// 400: a schedule that cannot work: its `cron`, `timezone` or `job` (the detail names the
    /// field).
    InvalidSchedule,
    /// 401: no bearer token, or one that is unknown or revoked.
    Unauthorized,
    /// 403: the server folder of a submit is not under an allowed root.
    PathNotAllowed,
    /// 404: no such resource (also for one of another user).
    NotFound,
    /// 409: the request conflicts with the current state (pausing a finished job, deleting an
    /// unfinished one, reusing an idempotency key differently, …).
    Conflict,
    /// 409: a tus `PATCH` whose `Upload-Offset` is not the upload's current offset.
    OffsetMismatch,
    /// 409: a submit names a resumable upload already submitted with another job.
    UploadConsumed,
    /// 410: a resumable upload that expired before it was finished or submitted.
    UploadExpired,
    /// 412: a tus request without `Tus-Resumable: 1.0.0`.
    TusVersionUnsupported,
    /// 460: a tus `PATCH` whose body does not match its `Upload-Checksum`; nothing was stored.
    ChecksumMismatch,
    /// 409: the user already has a category of that name.
    CategoryExists,
    /// 409: a publish of a job that has no succeeded documents (yet).
    NothingToPublish,
    /// 413: the upload or request body exceeds its limit.
    PayloadTooLarge,
    /// 507: the upload would take the user past their storage quota (see `GET /v1/me`).
    QuotaExceeded,
    /// 415: the body's content type is not one the endpoint accepts.
    UnsupportedMediaType,
    /// 429: the token's request budget is spent, or this address failed authentication too
    /// often; `Retry-After` says when to try again.
    RateLimited,
    /// 500: a fault on the server's side; it has been logged.
    Internal,
    /// 503: the database or blob store is busy or unreachable; try again shortly.
    Unavailable,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [ErrorCode; 37] = [
        ErrorCode::InvalidRequest,
        ErrorCode::MalformedJson,
        ErrorCode::MalformedMultipart,
        ErrorCode::UnknownPart,
        ErrorCode::EmptyUpload,
        ErrorCode::MissingFile,
        ErrorCode::UploadInterrupted,
        ErrorCode::UnreadableFile,
        ErrorCode::InvalidOptions,
        ErrorCode::NotifyUrlRefused,
        ErrorCode::InvalidQuery,
        ErrorCode::InvalidCursor,
        ErrorCode::InvalidLastEventId,
        ErrorCode::InvalidIdempotencyKey,
        ErrorCode::InvalidCategory,
        ErrorCode::UnknownCategory,
        ErrorCode::PathNotFound,
        ErrorCode::UnknownTarget,
        ErrorCode::UploadIncomplete,
        ErrorCode::InvalidSchedule,
        ErrorCode::Unauthorized,
        ErrorCode::PathNotAllowed,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::OffsetMismatch,
        ErrorCode::UploadConsumed,
        ErrorCode::UploadExpired,
        ErrorCode::TusVersionUnsupported,
        ErrorCode::ChecksumMismatch,
        ErrorCode::CategoryExists,
        ErrorCode::NothingToPublish,
        ErrorCode::PayloadTooLarge,
        ErrorCode::QuotaExceeded,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
    ];

    /// The code as it appears in the `code` field.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::MalformedMultipart => "malformed_multipart",
            ErrorCode::UnknownPart => "unknown_part",
            ErrorCode::EmptyUpload => "empty_upload",
            ErrorCode::MissingFile => "missing_file",
            ErrorCode::UploadInterrupted => "upload_interrupted",
            ErrorCode::UnreadableFile => "unreadable_file",
            ErrorCode::InvalidOptions => "invalid_options",
            ErrorCode::NotifyUrlRefused => "notify_url_refused",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::InvalidCursor => "invalid_cursor",
            ErrorCode::InvalidLastEventId => "invalid_last_event_id",
            ErrorCode::InvalidIdempotencyKey => "invalid_idempotency_key",
            ErrorCode::InvalidCategory => "invalid_category",
            ErrorCode::UnknownCategory => "unknown_category",
            ErrorCode::PathNotFound => "path_not_found",
            ErrorCode::UnknownTarget => "unknown_target",
            ErrorCode::UploadIncomplete => "upload_incomplete",
            ErrorCode::InvalidSchedule => "invalid_schedule",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::PathNotAllowed => "path_not_allowed",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::OffsetMismatch => "offset_mismatch",
            ErrorCode::UploadConsumed => "upload_consumed",
            ErrorCode::UploadExpired => "upload_expired",
            ErrorCode::TusVersionUnsupported => "tus_version_unsupported",
            ErrorCode::ChecksumMismatch => "checksum_mismatch",
            ErrorCode::CategoryExists => "category_exists",
            ErrorCode::NothingToPublish => "nothing_to_publish",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
        }
    }

    /// The HTTP status every error of this code answers with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::Unauthorized => 401,
            ErrorCode::PathNotAllowed => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict
            | ErrorCode::CategoryExists
            | ErrorCode::NothingToPublish
            | ErrorCode::OffsetMismatch
            | ErrorCode::UploadConsumed => 409,
            ErrorCode::UploadExpired => 410,
            ErrorCode::TusVersionUnsupported => 412,
            ErrorCode::ChecksumMismatch => 460,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
            ErrorCode::QuotaExceeded => 507,
            _ => 400,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn every_code_is_listed_once_and_serializes_as_its_str() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} listed twice");
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::json!(code.as_str())
            );
            assert!((400..600).contains(&code.status()));
        }
    }
}
