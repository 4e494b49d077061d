//! `objects` mode: one document becomes one digital object, in steps that each survive a
//! crash — look the object up, upload its file (the file's id is saved before anything
//! refers to it), create the object.

use docket_core::{blob_keys, Document, Stage};
use docket_engine::{HandlerError, ItemContext};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::archipelago::{Created, FileRef};
use crate::handler::{blob_error, remote_error, store_error, PublishHandler};
use crate::metadata::{label, object_metadata, object_uuid};

const NODE_TYPE: &str = "node--digital_object";
const NODES: &str = "node/digital_object";
const FILE_DROP: &str = "node/digital_object/field_file_drop";

/// What a publish of one document has done so far.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    /// The name an upload was started under (saved before it starts): if its answer was lost,
    /// the next attempt finds the file by this name instead of uploading it again.
    #[serde(default)]
    uploading: Option<String>,
    /// The uploaded file: saved the moment the upload answers, so a retry never uploads twice.
    file: Option<FileRef>,
}

pub(crate) async fn publish(
    handler: &PublishHandler,
    ctx: &ItemContext,
    target: &str,
    document_id: &str,
) -> Result<Value, HandlerError> {
    let connection = handler.connection(target)?;
    let client = &connection.client;
    ctx.enter_stage(Stage::Loading)?;
    let doc = document(handler, ctx, document_id).await?;
    let uuid = object_uuid(client.target(), &doc.sha256).to_string();
    let path = format!("{NODES}/{uuid}");
    let mut checkpoint: Checkpoint = ctx
        .checkpoint()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();

    // Waits here, not in the engine: other targets' items go on meanwhile.
    let _permit = connection
        .permits
        .acquire()
        .await
        .map_err(|_| HandlerError::Interrupted)?;
    ctx.enter_stage(Stage::Uploading)?;
    if client
        .get("looking the object up", &path)
        .await
        .map_err(remote_error)?
        .is_some()
    {
        return Ok(output(client, &uuid, checkpoint.file.as_ref(), false));
    }
    let file = match checkpoint.file.take() {
        Some(file) => file,
        None => {
            let filename = upload_name(&doc);
            let earlier = match &checkpoint.uploading {
                Some(started) => client
                    .find_file(&crate::archipelago::disposition_name(started))
                    .await
                    .map_err(remote_error)?,
                None => None,
            };
            let file = match earlier {
                Some(file) => file,
                None => {
                    ctx.save_checkpoint(json!(Checkpoint {
                        uploading: Some(filename.clone()),
                        file: None,
                    }))
                    .await?;
                    upload(handler, client, &doc, &filename).await?
                }
            };
            ctx.save_checkpoint(json!(Checkpoint {
                uploading: None,
                file: Some(file.clone()),
            }))
            .await?;
            file
        }
    };

    ctx.enter_stage(Stage::Creating)?;
    let metadata = object_metadata(client.target(), &doc, file.fid);
    let attributes = json!({
        "title": label(&doc),
        "moderation_state": "published",
        "field_descriptive_metadata": metadata.to_string(),
    });
    let created = client
        .create("creating the object", NODES, NODE_TYPE, &uuid, attributes)
        .await
        .map_err(remote_error)?;
    Ok(output(
        client,
        &uuid,
        Some(&file),
        matches!(created, Created::New(_)),
    ))
}

/// The document, if it is still there and the job's owner's.
async fn document(
    handler: &PublishHandler,
    ctx: &ItemContext,
    document_id: &str,
) -> Result<Document, HandlerError> {
    let doc = handler
        .store
        .get_document(document_id)
        .await
        .map_err(|e| store_error("reading the document", e))?;
    match doc {
        Some(doc) if doc.user == ctx.item().user => Ok(doc),
        _ => Err(HandlerError::Permanent(format!(
            "the document {document_id} no longer exists"
        ))),
    }
}

/// The name a document's file is uploaded under: its own stem, marked with the start of its
/// hash (so that an upload whose answer was lost can be found again by name), and the
/// extension of what the file is (repositories allow uploads by extension, and a sniffed
/// media type says more than a name: `README` is a `.txt`).
fn upload_name(doc: &Document) -> String {
    let name = label(doc);
    let mark = doc.sha256.get(..12).unwrap_or(&doc.sha256);
    let (stem, own_ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() && ext.len() <= 8 => {
            (stem, Some(ext))
        }
        _ => (name.as_str(), None),
    };
    match media_extension(&doc.media_type).or(own_ext) {
        Some(ext) => format!("{stem}.{mark}.{ext}"),
        None => format!("{stem}.{mark}"),
    }
}

/// The usual extension of the media types Docket reads.
fn media_extension(media_type: &str) -> Option<&'static str> {
    Some(
        match media_type.split(';').next().unwrap_or_default().trim() {
            "application/pdf" => "pdf",
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "image/tiff" => "tif",
            "image/webp" => "webp",
            "text/plain" => "txt",
            "text/markdown" => "md",
            "text/html" => "html",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
            _ => return None,
        },
    )
}

async fn upload(
    handler: &PublishHandler,
    client: &crate::Archipelago,
    doc: &Document,
    filename: &str,
) -> Result<FileRef, HandlerError> {
    let key = blob_keys::file(&doc.sha256);
    // A missing original fails the item plainly, before the repository is involved.
    handler
        .blobs
        .size(&key)
        .await
        .map_err(|e| blob_error("reading the original", e))?;
    handler
        .upload_blob(client, "uploading the file", FILE_DROP, filename, &key)
        .await
}

fn output(client: &crate::Archipelago, uuid: &str, file: Option<&FileRef>, created: bool) -> Value {
    json!({
        "target": client.target().name,
        "node_uuid": uuid,
        "url": format!("{}/jsonapi/{NODES}/{uuid}", client.target().url),
        "file": file,
        "created": created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, media_type: &str) -> Document {
        Document {
            id: "doc_1".into(),
            user: "u".into(),
            job_id: None,
            name: name.into(),
            sha256: "0123456789abcdef".repeat(4),
            media_type: media_type.into(),
            size: 1,
            pages: 1,
            text: String::new(),
            category: None,
            confidence: None,
            metadata: json!({}),
            created_at: 0,
        }
    }

    #[test]
    fn upload_names_carry_the_hash_and_the_extension_of_what_the_file_is() {
        assert_eq!(
            upload_name(&doc("scans/inv-001.pdf", "application/pdf")),
            "inv-001.0123456789ab.pdf"
        );
        assert_eq!(
            upload_name(&doc("README", "text/plain")),
            "README.0123456789ab.txt"
        );
        assert_eq!(
            upload_name(&doc("scan.PNG.bak", "image/png")),
            "scan.PNG.0123456789ab.png"
        );
        assert_eq!(
            upload_name(&doc("data.xyz", "application/octet-stream")),
            "data.0123456789ab.xyz"
        );
    }
}
