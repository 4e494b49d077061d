//! Webhook signatures, Stripe style: `Docket-Signature: t=<unix seconds>,v1=<hex
//! HMAC-SHA256(secret, "<t>.<body>")>`, with the same `t` in `Docket-Timestamp`. The time is
//! signed with the body, and a verifier refuses a time more than [`TOLERANCE`] away from its
//! clock, so a captured delivery cannot be replayed later.

use std::time::Duration;

use docket_core::now_millis;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a delivery's signed time may be from the receiver's clock.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The `Docket-Signature` value for `body` signed at `unix_seconds`.
pub fn signature(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    let v1 = mac(secret, unix_seconds, body)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("t={unix_seconds},v1={v1}")
}

/// The MAC over `"{t}.{body}"`; `None` only if the key were refused, which HMAC never does.
fn mac(secret: &str, unix_seconds: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// Why a delivery does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header has no `t=` or no `v1=`")]
    Malformed,
    #[error("no `v1` signature matches the body and time")]
    Mismatch,
    #[error("the signed time is more than the tolerance away from now (a replay?)")]
    Stale,
}

/// Verifies a `Docket-Signature` header against `body` at the receiver's time `now_unix_seconds`,
/// in constant time: the MAC must match (any one `v1`, so a receiver can roll its secret) and
/// the signed time must be within [`TOLERANCE`] of now.
pub fn verify_at(
    secret: &str,
    header: &str,
    body: &[u8],
    now_unix_seconds: i64,
) -> Result<(), VerifyError> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let Some(t) = t.filter(|_| !v1.is_empty()) else {
        return Err(VerifyError::Malformed);
    };
    let matches = v1
        .iter()
        .any(|sig| mac(secret, t, body).is_some_and(|m| m.verify_slice(sig).is_ok()));
    if !matches {
        return Err(VerifyError::Mismatch);
    }
    if now_unix_seconds.abs_diff(t) > TOLERANCE.as_secs() {
        return Err(VerifyError::Stale);
    }
    Ok(())
}

/// [`verify_at`] against this machine's clock: what a receiver written in Rust calls.
pub fn verify(secret: &str, header: &str, body: &[u8]) -> Result<(), VerifyError> {
    verify_at(secret, header, body, now_millis() / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec";
    const BODY: &[u8] = br#"{"id":"job_1","state":"completed"}"#;

    #[test]
    fn a_fresh_delivery_verifies_and_a_replayed_one_does_not() {
        let t = 1_800_000_000;
        let header = signature(SECRET, t, BODY);
        assert_eq!(verify_at(SECRET, &header, BODY, t), Ok(()));
        assert_eq!(verify_at(SECRET, &header, BODY, t + 299), Ok(()));
        assert_eq!(
            verify_at(SECRET, &header, BODY, t - 299),
            Ok(()),
            "clock skew"
        );
        // The same captured request, sent again six minutes later.
        assert_eq!(
            verify_at(SECRET, &header, BODY, t + 360),
            Err(VerifyError::Stale)
        );
        // Moving the time forward breaks the MAC.
        let forged = header.replace(&format!("t={t}"), &format!("t={}", t + 360));
        assert_eq!(
            verify_at(SECRET, &forged, BODY, t + 360),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn wrong_secret_body_or_header_is_refused() {
        let t = 1_800_000_000;
        let header = signature(SECRET, t, BODY);
        assert_eq!(
            verify_at("other", &header, BODY, t),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_at(SECRET, &header, b"{}", t),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_at(SECRET, "v1=00", BODY, t),
            Err(VerifyError::Malformed)
        );
        let rolled = format!("{header},v1={}", "ab".repeat(32));
        assert_eq!(
            verify_at(SECRET, &rolled, BODY, t),
            Ok(()),
            "any v1 may match"
        );
    }
}
