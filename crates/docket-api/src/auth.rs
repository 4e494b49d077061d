//! Bearer tokens: random, shown once, stored as a SHA-256 hash (they carry 160 bits of
//! randomness, so a slow password hash would add nothing but latency to every request).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::AppState;

pub fn new_token() -> String {
    let bytes: [u8; 20] = rand::random();
    format!("dkt_{}", hex::encode(bytes))
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Recently seen tokens, so a status poll does not cost a database read for auth. A revoked
/// token stops working within [`TokenCache::TTL`] on other processes, at once on this one.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (Option<String>, Instant)>>,
}

impl TokenCache {
    const TTL: Duration = Duration::from_secs(10);

    fn get(&self, hash: &str) -> Option<Option<String>> {
        let entries = self.entries.lock().ok()?;
        let (user, at) = entries.get(hash)?;
        (at.elapsed() < Self::TTL).then(|| user.clone())
    }

    fn put(&self, hash: String, user: Option<String>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.retain(|_, (_, at)| at.elapsed() < Self::TTL);
            }
            entries.insert(hash, (user, Instant::now()));
        }
    }

    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

/// The authenticated user of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub String);

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, AppError> {
        // The rate limiter authenticated this request already.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                AppError::unauthorized(
                    "send `Authorization: Bearer <token>`; create one with `docket token create`",
                )
            })?;
        Ok(authenticate(state, header).await?.0)
    }
}

/// The user of an `Authorization` header, and the hash of its token (what identifies the
/// token without holding it).
pub(crate) async fn authenticate(
    state: &AppState,
    header: &HeaderValue,
) -> Result<(Caller, String), AppError> {
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AppError::unauthorized("the Authorization header must be `Bearer <token>`")
        })?;
    let hash = hash_token(token);
    let user = match state.tokens.get(&hash) {
        Some(user) => user,
        None => {
            let user = state.store.token_user(&hash).await?;
            state.tokens.put(hash.clone(), user.clone());
            user
        }
    };
    user.map(|user| (Caller(user), hash))
        .ok_or_else(|| AppError::unauthorized("unknown or revoked token"))
}
