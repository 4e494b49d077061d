//! Helpers every test file shares: a started emulator and a client that speaks to it.

#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use archipelago_emulator::{Emulator, EmulatorConfig};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

pub const JSONAPI: &str = "application/vnd.api+json";

pub struct Site {
    pub emulator: Emulator,
    pub http: reqwest::Client,
}

pub async fn start() -> Site {
    start_with(EmulatorConfig::default()).await
}

pub async fn start_with(config: EmulatorConfig) -> Site {
    let emulator = Emulator::start(config).await.expect("emulator starts");
    Site {
        emulator,
        http: reqwest::Client::new(),
    }
}

impl Site {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.url())
    }

    pub fn authed(&self, builder: RequestBuilder) -> RequestBuilder {
        let config = self.emulator.config();
        builder.basic_auth(&config.user, Some(&config.password))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.authed(self.http.get(self.url(path)))
            .send()
            .await
            .expect("GET answers")
    }

    pub async fn post_document(&self, path: &str, document: &Value) -> Response {
        self.send_document(self.http.post(self.url(path)), document)
            .await
    }

    pub async fn patch_document(&self, path: &str, document: &Value) -> Response {
        self.send_document(self.http.patch(self.url(path)), document)
            .await
    }

    async fn send_document(&self, builder: RequestBuilder, document: &Value) -> Response {
        self.authed(builder)
            .header("Content-Type", JSONAPI)
            .body(document.to_string())
            .send()
            .await
            .expect("request answers")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.authed(self.http.delete(self.url(path)))
            .send()
            .await
            .expect("DELETE answers")
    }

    pub async fn upload(&self, path: &str, filename: &str, bytes: &[u8]) -> Response {
        self.authed(self.http.post(self.url(path)))
            .header("Content-Type", "application/octet-stream")
            .header(
                "Content-Disposition",
                format!("file; filename=\"{filename}\""),
            )
            .body(bytes.to_vec())
            .send()
            .await
            .expect("upload answers")
    }

    /// Uploads into `field_file_drop` and returns the new file's fid.
    pub async fn drop_file(&self, filename: &str, bytes: &[u8]) -> u64 {
        let response = self
            .upload(
                "/jsonapi/node/digital_object/field_file_drop",
                filename,
                bytes,
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("JSON");
        body["data"]["attributes"]["drupal_internal__fid"]
            .as_u64()
            .expect("fid")
    }
}

pub fn node_document(id: &str, title: &str, metadata: &Value) -> Value {
    json!({
        "data": {
            "type": "node--digital_object",
            "id": id,
            "attributes": {
                "title": title,
                "moderation_state": "published",
                "field_descriptive_metadata": metadata.to_string(),
            }
        }
    })
}

pub fn ami_set_document(id: &str, name: &str) -> Value {
    json!({
        "data": {
            "type": "ami_set_entity--ami_set_entity",
            "id": id,
            "attributes": {
                "name": name,
                "set": { "value": json!({"plugin": "spreadsheet", "pluginconfig": {"op": "create"}}).to_string() },
                "status": "READY",
            }
        }
    })
}

/// The first error object of a JSON:API error answer, after checking its media type.
pub async fn error_of(response: Response) -> Value {
    assert_eq!(
        response.headers()["content-type"].to_str().expect("ascii"),
        JSONAPI
    );
    let body: Value = response.json().await.expect("JSON error document");
    body["errors"][0].clone()
}

/// Polls `check` until it is true or `within` passes (then panics with `what`).
pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub const UUID_A: &str = "6f1c2a52-3b1e-4c1d-9a0e-2f4b5c6d7e8f";
pub const UUID_B: &str = "0d5c8e3a-7a64-4b5f-8d2e-9c1b2a3f4e50";
