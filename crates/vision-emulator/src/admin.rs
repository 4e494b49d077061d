//! `/_emulator/…`: faults and the record over HTTP, for an emulator in another process.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::faults::{DownMode, FailRule, FaultsSnapshot, ImageErrorRule};
use crate::record::Record;
use crate::Site;

#[derive(Debug, Deserialize)]
struct Down {
    millis: u64,
    #[serde(default)]
    mode: DownMode,
}

#[derive(Debug, Deserialize)]
struct Millis {
    millis: u64,
}

async fn record(State(site): State<Arc<Site>>) -> Json<Record> {
    Json(site.record.lock().clone())
}

async fn faults(State(site): State<Arc<Site>>) -> Json<FaultsSnapshot> {
    Json(site.faults.snapshot())
}

async fn fail(State(site): State<Arc<Site>>, Json(rule): Json<FailRule>) -> Json<FaultsSnapshot> {
    site.faults.fail(rule);
    Json(site.faults.snapshot())
}

async fn image_errors(
    State(site): State<Arc<Site>>,
    Json(rule): Json<ImageErrorRule>,
) -> Json<FaultsSnapshot> {
    site.faults.image_errors(rule);
    Json(site.faults.snapshot())
}

async fn down(State(site): State<Arc<Site>>, Json(body): Json<Down>) -> Json<FaultsSnapshot> {
    site.faults
        .down_for(Duration::from_millis(body.millis), body.mode);
    Json(site.faults.snapshot())
}

async fn delay(State(site): State<Arc<Site>>, Json(body): Json<Millis>) -> Json<FaultsSnapshot> {
    site.faults.set_delay(Duration::from_millis(body.millis));
    Json(site.faults.snapshot())
}

async fn clear(State(site): State<Arc<Site>>) -> Json<FaultsSnapshot> {
    site.faults.clear();
    Json(site.faults.snapshot())
}

pub(crate) fn router() -> Router<Arc<Site>> {
    Router::new()
        .route("/_emulator/record", get(record))
        .route("/_emulator/faults", get(faults))
        .route("/_emulator/faults/fail", post(fail))
        .route("/_emulator/faults/image_errors", post(image_errors))
        .route("/_emulator/faults/down", post(down))
        .route("/_emulator/faults/delay", post(delay))
        .route("/_emulator/faults/clear", post(clear))
}
