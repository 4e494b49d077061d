//! A job's webhook: where its finished state is announced, and how delivery went.

use serde::{Deserialize, Serialize};

use crate::Millis;

/// Shown on the job resource so a user can see whether their receiver got the news.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub url: String,
    pub state: WebhookState,
    /// Every delivery attempt so far, oldest first.
    pub attempts: Vec<WebhookAttempt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WebhookState {
    /// Owed: the job is not finished yet, or delivery is being retried.
    Pending,
    Delivered,
    /// Every attempt failed; no more will be made.
    Failed,
}

impl WebhookState {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookState::Pending => "pending",
            WebhookState::Delivered => "delivered",
            WebhookState::Failed => "failed",
        }
    }
}

impl std::str::FromStr for WebhookState {
    type Err = crate::CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(WebhookState::Pending),
            "delivered" => Ok(WebhookState::Delivered),
            "failed" => Ok(WebhookState::Failed),
            other => Err(crate::CoreError::Unknown {
                what: "webhook state",
                value: other.to_owned(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookAttempt {
    /// 1 for the first.
    pub attempt: u32,
    #[serde(with = "crate::time::as_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Millis,
    /// The receiver's HTTP status, when it answered.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub status: Option<u16>,
    /// Why the attempt failed, when it did.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: Option<String>,
}
