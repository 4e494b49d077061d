//! Short-lived tickets for WebSockets: a browser cannot set an `Authorization` header on a
//! WebSocket, so it asks for a ticket with its token (`POST /v1/ws-tickets`) and puts that in
//! the URL (`?ticket=`). A ticket names its user and expiry and is signed with the server's
//! key (HMAC-SHA256), so any API process of the deployment accepts it without a database
//! write; it lives [`TICKET_TTL_MS`], so one that leaks into a log is soon worthless.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use docket_core::{now_millis, ErrorCode, Millis};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::AppState;

/// How long a ticket opens a WebSocket.
pub const TICKET_TTL_MS: Millis = 60_000;

/// A ticket for `?ticket=` of a WebSocket route.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WsTicket {
    pub ticket: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: String,
}

fn signature(key: &[u8], user_hex: &str, expires: Millis) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(format!("docket-ws-ticket\0{user_hex}\0{expires}").as_bytes());
    Some(mac)
}

/// A ticket for `user`, valid until `expires`.
pub(crate) fn issue(key: &[u8], user: &str, expires: Millis) -> Option<String> {
    let user_hex = hex::encode(user.as_bytes());
    let sig = signature(key, &user_hex, expires)?.finalize().into_bytes();
    Some(format!("wst_{expires}_{user_hex}_{}", hex::encode(sig)))
}

/// The user of a ticket that is genuine and unexpired at `now`.
pub(crate) fn verify(key: &[u8], ticket: &str, now: Millis) -> Option<String> {
    let mut parts = ticket.strip_prefix("wst_")?.splitn(3, '_');
    let expires: Millis = parts.next()?.parse().ok()?;
    let user_hex = parts.next()?;
    let sig = hex::decode(parts.next()?).ok()?;
    signature(key, user_hex, expires)?.verify_slice(&sig).ok()?;
    if expires <= now {
        return None;
    }
    String::from_utf8(hex::decode(user_hex).ok()?).ok()
}

/// Makes a ticket that opens one of the caller's WebSockets for the next minute.
#[utoipa::path(post, path = "/v1/ws-tickets", tag = "events", operation_id = "create_ws_ticket",
    responses(
        (status = 201, description = "A ticket for `?ticket=` of a WebSocket route, good for \
            60 seconds", body = WsTicket),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<WsTicket>)> {
    let expires = now_millis() + TICKET_TTL_MS;
    let ticket = issue(&state.config.ws_ticket_key, &caller.0, expires)
        .ok_or_else(|| AppError::new(ErrorCode::Internal, "WebSocket tickets are not set up"))?;
    Ok((
        StatusCode::CREATED,
        Json(WsTicket {
            ticket,
            expires_at: docket_core::rfc3339(expires),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_signed_expire_and_name_their_user() {
        let key = b"a key";
        let t = issue(key, "ann_b", 2_000).unwrap();
        assert_eq!(verify(key, &t, 1_999).as_deref(), Some("ann_b"));
        assert_eq!(verify(key, &t, 2_000), None, "expired");
        assert_eq!(verify(b"another key", &t, 1_000), None);
        let forged = t.replace(&hex::encode("ann_b"), &hex::encode("eve"));
        assert_eq!(verify(key, &forged, 1_000), None);
        let later = t.replacen("2000", "9000", 1);
        assert_eq!(verify(key, &later, 1_000), None);
        assert_eq!(verify(key, "wst_x", 0), None);
        assert_eq!(verify(key, "", 0), None);
    }
}
