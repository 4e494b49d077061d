//! The JSON:API calls publishing makes (`../shared/ARCHIPELAGO.md` is what the real API does).

use std::future::Future;
use std::sync::Arc;

use docket_remote::{Remote, RemoteConfig, RemoteError, Replay};
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use serde_json::{json, Value};

use crate::Target;

const JSONAPI: &str = "application/vnd.api+json";

/// A file the repository holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileRef {
    /// `drupal_internal__fid`: what metadata and AMI set configurations reference.
    pub fid: i64,
    pub uuid: String,
    /// As stored (the repository may have renamed it, `name_0.ext`).
    pub filename: String,
}

/// A JSON:API resource to send.
struct Resource<'a> {
    resource_type: &'a str,
    id: &'a str,
    attributes: Value,
}

/// What a create answered.
#[derive(Debug)]
pub enum Created {
    /// 201: made now.
    New(Value),
    /// 409: an entity with that id exists (an earlier attempt made it).
    Existed,
}

/// A client of one target's JSON:API.
#[derive(Debug, Clone)]
pub struct Archipelago {
    target: Arc<Target>,
    remote: Remote,
}

impl Archipelago {
    /// A client of `target`, paced at its rate; with `health`, every transport failure and
    /// answer is reported to it, and calls stop at once while it says the target is down.
    pub fn new(
        target: Arc<Target>,
        health: Option<Arc<dyn docket_remote::Health>>,
    ) -> Result<Archipelago, RemoteError> {
        let config = RemoteConfig {
            timeout: target.timeout,
            budget: target.retry_budget,
            rate: target.rate,
            ..RemoteConfig::named(target.name.clone())
        };
        let mut remote = Remote::new(config, vec![target.password.clone()])?;
        if let Some(health) = health {
            remote = remote.with_health(health);
        }
        Ok(Archipelago { target, remote })
    }

    /// What the breaker probes while the target is down: the JSON:API entry point, without
    /// credentials (any HTTP answer means the site is reachable again).
    pub fn probe_url(target: &Target) -> String {
        format!("{}/jsonapi", target.url)
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    fn url(&self, path: &str) -> String {
        format!("{}/jsonapi/{path}", self.target.url)
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.basic_auth(&self.target.user, Some(self.target.password.expose()))
    }

    /// `GET /jsonapi/{path}`: the resource document, or `None` on 404.
    pub async fn get(&self, what: &str, path: &str) -> Result<Option<Value>, RemoteError> {
        let url = self.url(path);
        let answer = self
            .remote
            .call(what, &[404], |c| {
                let request = self.authorised(c.get(&url)).header("accept", JSONAPI);
                async move { Ok(request) }
            })
            .await?;
        if answer.status() == 404 {
            return Ok(None);
        }
        self.document(what, answer).await.map(Some)
    }

    /// The file the repository holds under exactly `filename`, if it lets us look (Drupal
    /// core's `file--file` collection with a filter). A repository that does not answer the
    /// question (400, 403, 404, 405) is taken to hold none.
    pub async fn find_file(&self, filename: &str) -> Result<Option<FileRef>, RemoteError> {
        let mut url = url::Url::parse(&self.url("file/file"))
            .map_err(|e| self.remote.broken_answer("looking a file up", e))?;
        url.query_pairs_mut()
            .append_pair("filter[filename]", filename);
        let what = "looking an earlier upload up";
        let answer = self
            .remote
            .call(what, &[400, 403, 404, 405], |c| {
                let request = self
                    .authorised(c.get(url.clone()))
                    .header("accept", JSONAPI);
                async move { Ok(request) }
            })
            .await?;
        if !answer.status().is_success() {
            return Ok(None);
        }
        let document = self.document(what, answer).await?;
        let found = document
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|f| f.pointer("/attributes/filename").and_then(Value::as_str) == Some(filename))
            .filter_map(|f| file_ref(&json!({ "data": f })))
            .min_by_key(|f| f.fid);
        Ok(found)
    }

    /// `POST /jsonapi/{path}` of a resource with a client-chosen `id`.
    pub async fn create(
        &self,
        what: &str,
        path: &str,
        resource_type: &str,
        id: &str,
        attributes: Value,
    ) -> Result<Created, RemoteError> {
        let resource = Resource {
            resource_type,
            id,
            attributes,
        };
        let answer = self
            .send_resource(what, reqwest::Method::POST, path, resource, &[409])
            .await?;
        if answer.status() == 409 {
            return Ok(Created::Existed);
        }
        self.document(what, answer).await.map(Created::New)
    }

    /// `PATCH /jsonapi/{path}` with new attributes.
    pub async fn patch(
        &self,
        what: &str,
        path: &str,
        resource_type: &str,
        id: &str,
        attributes: Value,
    ) -> Result<Value, RemoteError> {
        let resource = Resource {
            resource_type,
            id,
            attributes,
        };
        let answer = self
            .send_resource(what, reqwest::Method::PATCH, path, resource, &[])
            .await?;
        self.document(what, answer).await
    }

    async fn send_resource(
        &self,
        what: &str,
        method: reqwest::Method,
        path: &str,
        resource: Resource<'_>,
        accept: &[u16],
    ) -> Result<reqwest::Response, RemoteError> {
        let url = self.url(path);
        let body = json!({"data": {
            "type": resource.resource_type,
            "id": resource.id,
            "attributes": resource.attributes,
        }});
        let body = serde_json::to_vec(&body).map_err(|e| self.remote.broken_answer(what, e))?;
        self.remote
            .call(what, accept, |c| {
                let request = self
                    .authorised(c.request(method.clone(), &url))
                    .header(CONTENT_TYPE, JSONAPI)
                    .header("accept", JSONAPI)
                    .body(body.clone());
                async move { Ok(request) }
            })
            .await
    }

    /// `POST /jsonapi/{path}` of a file's bytes (a free upload, or into an entity's field).
    /// `body` opens the bytes afresh for every attempt, so a large file is streamed.
    ///
    /// Uploads are not idempotent (the same name again is a second file, `name_0.ext`), so
    /// one whose answer was lost is not simply sent again: the repository is asked first
    /// whether it holds a file of exactly `filename` (which callers make unique), and only if
    /// not is it sent once more.
    pub async fn upload<F, Fut>(
        &self,
        what: &str,
        path: &str,
        filename: &str,
        mut body: F,
    ) -> Result<FileRef, RemoteError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<reqwest::Body, RemoteError>>,
    {
        let url = self.url(path);
        let disposition = format!("file; filename=\"{}\"", disposition_name(filename));
        let started = std::time::Instant::now();
        loop {
            let sent = self
                .remote
                .call_with(what, &[], Replay::IfUnsent, |c| {
                    let request = self
                        .authorised(c.post(&url))
                        .header(CONTENT_TYPE, "application/octet-stream")
                        .header(CONTENT_DISPOSITION, disposition.clone())
                        .header("accept", JSONAPI);
                    let opened = body();
                    async move { Ok(request.body(opened.await?)) }
                })
                .await;
            let answer = match sent {
                Ok(answer) => answer,
                Err(e)
                    if e.may_have_arrived
                        && e.is_transient()
                        && started.elapsed() < self.remote.config().budget =>
                {
                    match self.find_file(&disposition_name(filename)).await? {
                        Some(file) => return Ok(file),
                        None => continue,
                    }
                }
                Err(e) => return Err(e),
            };
            let document = self.document(what, answer).await?;
            return file_ref(&document).ok_or_else(|| {
                self.remote
                    .broken_answer(what, "the answer names no file (`drupal_internal__fid`)")
            });
        }
    }

    async fn document(&self, what: &str, answer: reqwest::Response) -> Result<Value, RemoteError> {
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| self.remote.broken_answer(what, e.without_url()))?;
        serde_json::from_slice(&bytes).map_err(|e| self.remote.broken_answer(what, e))
    }
}

/// The file in a `file--file` document (`data` itself, or the first of a list).
pub fn file_ref(document: &Value) -> Option<FileRef> {
    let data = document.get("data")?;
    let data = match data {
        Value::Array(list) => list.first()?,
        one => one,
    };
    let attributes = data.get("attributes")?;
    Some(FileRef {
        fid: attributes.get("drupal_internal__fid")?.as_i64()?,
        uuid: data.get("id")?.as_str()?.to_string(),
        filename: attributes
            .get("filename")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    })
}

/// A filename fit for a quoted `Content-Disposition` parameter: no quotes, backslashes,
/// control characters or path separators (Drupal keeps the base name only anyway).
pub(crate) fn disposition_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = docket_core::visible_name(base)
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '"' | '\\') || !c.is_ascii() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if clean.trim_matches(['.', ' ', '_']).is_empty() {
        "file".to_string()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_made_safe_for_the_header() {
        assert_eq!(disposition_name("../etc/pass\"wd.pdf"), "pass_wd.pdf");
        assert_eq!(disposition_name("a\\b.txt"), "b.txt");
        assert_eq!(disposition_name("ünï.pdf"), "_n_.pdf");
        assert_eq!(disposition_name(".."), "file");
        assert_eq!(
            disposition_name("scan\u{202e}fdp.exe"),
            "scanfdp.exe",
            "no bidi trace"
        );
    }

    #[test]
    fn a_file_document_is_read() {
        let doc = json!({"data": {"type": "file--file", "id": "u-1",
            "attributes": {"drupal_internal__fid": 12, "filename": "a_0.pdf"}}});
        assert_eq!(
            file_ref(&doc),
            Some(FileRef {
                fid: 12,
                uuid: "u-1".into(),
                filename: "a_0.pdf".into()
            })
        );
        assert_eq!(file_ref(&json!({"data": null})), None);
    }
}
