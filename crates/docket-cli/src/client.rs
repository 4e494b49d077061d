//! The CLI's side of the HTTP API.

use std::path::PathBuf;

use anyhow::{bail, Context};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;

pub struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) token: Option<String>,
}

impl Client {
    pub fn new(server: &str, token: Option<String>) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("docket-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client {
            http,
            base: server.trim_end_matches('/').to_string(),
            token,
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn send(&self, request: RequestBuilder) -> anyhow::Result<Response> {
        let request = match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the Docket server at {}", self.base))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let problem: Option<Value> = serde_json::from_str(&body).ok();
        let detail = problem
            .as_ref()
            .and_then(|p| p.get("detail"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| body.chars().take(300).collect());
        if status == StatusCode::UNAUTHORIZED && self.token.is_none() {
            bail!("{detail}\n(no token: set DOCKET_TOKEN, or run `docket serve` once here to create ./data/token)");
        }
        let code = problem
            .as_ref()
            .and_then(|p| p.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("error");
        bail!("{detail} ({code}, HTTP {})", status.as_u16())
    }

    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .send(self.http.get(self.url(path)))
            .await?
            .json()
            .await?)
    }

    pub async fn post_json(&self, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let mut request = self.http.post(self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        Ok(self.send(request).await?.json().await?)
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = self.http.patch(self.url(path)).json(body);
        Ok(self.send(request).await?.json().await?)
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.send(self.http.delete(self.url(path))).await?;
        Ok(())
    }

    pub async fn get_raw(&self, path: &str) -> anyhow::Result<Response> {
        self.send(self.http.get(self.url(path))).await
    }

    /// Uploads files as one multipart request, streaming each from disk.
    pub async fn submit(
        &self,
        files: Vec<(PathBuf, String)>,
        options: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<Value> {
        let mut form = reqwest::multipart::Form::new();
        if let Some(options) = options {
            form = form.part(
                "options",
                reqwest::multipart::Part::text(options.to_string()).mime_str("application/json")?,
            );
        }
        for (path, name) in files {
            let file = tokio::fs::File::open(&path)
                .await
                .with_context(|| format!("opening {}", path.display()))?;
            let len = file.metadata().await?.len();
            let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
            let part = reqwest::multipart::Part::stream_with_length(body, len).file_name(name);
            form = form.part("files", part);
        }
        let mut request = self.http.post(self.url("/v1/jobs")).multipart(form);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        Ok(self.send(request).await?.json().await?)
    }
}
