//! The CLI's tus 1.0 client for `/v1/uploads`: create, ask the offset, append a chunk.
//! Each answer is classified so the uploader knows whether to go on, ask again or stop.

use anyhow::anyhow;
use base64::Engine as _;
use bytes::Bytes;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sha2::{Digest, Sha256};

use crate::client::Client;

const TUS_VERSION: &str = "1.0.0";

/// Why an append did not go through.
#[derive(Debug)]
pub enum AppendError {
    /// The server is at another offset (409), or a checksum failed on the way (460): ask the
    /// offset again and go on from there.
    Resync(String),
    /// The upload is gone (404, 410): it expired or was terminated.
    Gone,
    /// The connection dropped, timed out, or the server is busy (5xx): try again.
    Transient(anyhow::Error),
    /// Anything else: give up with the server's words.
    Fatal(anyhow::Error),
}

impl Client {
    fn tus(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self
            .http
            .request(method, self.url(path))
            .header("tus-resumable", TUS_VERSION);
        match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    }

    /// Creates an upload of `length` bytes named `name`; answers its path (`/v1/uploads/…`).
    pub async fn tus_create(&self, length: u64, name: &str) -> anyhow::Result<String> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(name);
        let request = self
            .tus(Method::POST, "/v1/uploads")
            .header("upload-length", length.to_string())
            .header("upload-metadata", format!("filename {b64}"));
        let response = self.send(request).await?;
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow!("the server created an upload but sent no Location"))?;
        // An absolute URL or a path: keep the path, the server is ours already.
        Ok(match location.find("/v1/uploads/") {
            Some(at) => location[at..].to_string(),
            None => location.to_string(),
        })
    }

    /// The upload's offset; `None` when it is gone (expired, terminated, never existed).
    pub async fn tus_offset(&self, path: &str) -> Result<Option<u64>, AppendError> {
        let response = self
            .tus(Method::HEAD, path)
            .send()
            .await
            .map_err(|e| AppendError::Transient(e.into()))?;
        match response.status() {
            StatusCode::OK => offset_of(&response).map(Some),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            s if s.is_server_error() => Err(AppendError::Transient(anyhow!("HTTP {s}"))),
            s => Err(AppendError::Fatal(anyhow!(
                "asking the offset of {path}: HTTP {s}"
            ))),
        }
    }

    /// Appends `bytes` at `offset` with their SHA-256; answers the new offset.
    pub async fn tus_append(
        &self,
        path: &str,
        offset: u64,
        bytes: Bytes,
    ) -> Result<u64, AppendError> {
        let checksum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
        let response = self
            .tus(Method::PATCH, path)
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", offset.to_string())
            .header("upload-checksum", format!("sha256 {checksum}"))
            .body(bytes)
            .send()
            .await
            .map_err(|e| AppendError::Transient(e.into()))?;
        match response.status().as_u16() {
            204 => offset_of(&response),
            409 | 460 => Err(AppendError::Resync(detail(response).await)),
            404 | 410 => Err(AppendError::Gone),
            408 | 429 | 500..=599 => Err(AppendError::Transient(anyhow!(detail(response).await))),
            _ => Err(AppendError::Fatal(anyhow!(detail(response).await))),
        }
    }
}

fn offset_of(response: &Response) -> Result<u64, AppendError> {
    response
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| AppendError::Fatal(anyhow!("the server sent no Upload-Offset")))
}

async fn detail(response: Response) -> String {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    match body.get("detail").and_then(|d| d.as_str()) {
        Some(d) => format!("{d} (HTTP {status})"),
        None => format!("HTTP {status}"),
    }
}
