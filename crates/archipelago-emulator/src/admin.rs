//! `/_emulator/…`: driving faults and reading the record over HTTP, without auth, so an
//! emulator in another process can be used the same way as one in process.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::faults::{FailRule, FaultsSnapshot, ResetRule};
use crate::record::Record;
use crate::site::SharedSite;

#[derive(Debug, Deserialize)]
struct Millis {
    millis: u64,
}

async fn record(State(site): State<SharedSite>) -> Json<Record> {
    Json(site.store().record())
}

async fn file_bytes(State(site): State<SharedSite>, Path(fid): Path<u64>) -> Response {
    let store = site.store();
    match (store.files.get(&fid), store.bytes.get(&fid)) {
        (Some(file), Some(bytes)) => (
            [(header::CONTENT_TYPE, file.filemime.clone())],
            bytes.clone(),
        )
            .into_response(),
        _ => (StatusCode::NOT_FOUND, format!("no file {fid}")).into_response(),
    }
}

async fn faults(State(site): State<SharedSite>) -> Json<FaultsSnapshot> {
    Json(site.faults.snapshot())
}

async fn fail(State(site): State<SharedSite>, Json(rule): Json<FailRule>) -> Json<FaultsSnapshot> {
    site.faults.fail(rule);
    Json(site.faults.snapshot())
}

async fn reset(
    State(site): State<SharedSite>,
    Json(rule): Json<ResetRule>,
) -> Json<FaultsSnapshot> {
    site.faults.reset(rule);
    Json(site.faults.snapshot())
}

async fn down(State(site): State<SharedSite>, Json(body): Json<Millis>) -> Json<FaultsSnapshot> {
    site.faults.down_for(Duration::from_millis(body.millis));
    Json(site.faults.snapshot())
}

async fn delay(State(site): State<SharedSite>, Json(body): Json<Millis>) -> Json<FaultsSnapshot> {
    site.faults.set_delay(Duration::from_millis(body.millis));
    Json(site.faults.snapshot())
}

async fn clear(State(site): State<SharedSite>) -> Json<FaultsSnapshot> {
    site.faults.clear();
    Json(site.faults.snapshot())
}

pub(crate) fn router() -> Router<SharedSite> {
    Router::new()
        .route("/_emulator/record", get(record))
        .route("/_emulator/files/{fid}", get(file_bytes))
        .route("/_emulator/faults", get(faults))
        .route("/_emulator/faults/fail", post(fail))
        .route("/_emulator/faults/reset", post(reset))
        .route("/_emulator/faults/down", post(down))
        .route("/_emulator/faults/delay", post(delay))
        .route("/_emulator/faults/clear", post(clear))
}
