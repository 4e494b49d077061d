//! What Docket tells the repository about a document: its identity there (a UUID derived
//! from the target and the content, so a re-publish finds what an earlier one made), its type,
//! and the descriptive metadata of a digital object.

use docket_core::Document;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::Target;

/// Docket's namespace for the UUIDs it gives repository entities (a v4 UUID chosen once).
const NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_4e7a_9b1f_4c1e_8a53_2f6d_0e7b_91a4);

/// The UUID of the digital object holding this content in this target: the same file
/// published twice to one repository is one object.
pub fn object_uuid(target: &Target, sha256: &str) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("object\n{}\n{sha256}", target.url).as_bytes(),
    )
}

/// The UUID of the AMI set of one job in this target.
pub fn set_uuid(target: &Target, job_id: &str) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("ami_set\n{}\n{job_id}", target.url).as_bytes(),
    )
}

/// The file kind a repository sorts a media type under (`documents`, `images`, …).
pub fn file_kind(media_type: &str) -> &'static str {
    match media_type.split('/').next().unwrap_or_default() {
        "image" => "images",
        "audio" => "audios",
        "video" => "videos",
        _ => "documents",
    }
}

/// The AMI/ADO type: the target's mapping of the document's category, else by media type.
pub fn object_type(target: &Target, doc: &Document) -> String {
    if let Some(mapped) = doc.category.as_ref().and_then(|c| target.types.get(c)) {
        return mapped.clone();
    }
    match file_kind(&doc.media_type) {
        "images" => "Photograph",
        "audios" => "Sound",
        "videos" => "Video",
        _ => "Text",
    }
    .to_string()
}

/// A node title: Drupal allows 255 characters.
pub fn label(doc: &Document) -> String {
    let name = doc.name.rsplit('/').next().unwrap_or(&doc.name);
    let name = if name.trim().is_empty() {
        doc.sha256.as_str()
    } else {
        name
    };
    name.chars().take(255).collect()
}

/// What Docket itself learned, carried in the object's metadata.
pub fn docket_facts(doc: &Document) -> Value {
    json!({
        "document_id": doc.id,
        "job_id": doc.job_id,
        "sha256": doc.sha256,
        "media_type": doc.media_type,
        "size": doc.size,
        "pages": doc.pages,
        "category": doc.category,
        "confidence": doc.confidence,
    })
}

/// The `field_descriptive_metadata` of a digital object holding `fid` (what
/// `drush archipelago:jsonapi-ingest` writes).
pub fn object_metadata(target: &Target, doc: &Document, fid: i64) -> Value {
    let kind = file_kind(&doc.media_type);
    let mut metadata = json!({
        "type": object_type(target, doc),
        "label": label(doc),
        "documents": [],
        "images": [],
        "ismemberof": target.collection.iter().collect::<Vec<_>>(),
        "ap:entitymapping": {
            "entity:file": ["documents", "images", "audios", "videos"],
            "entity:node": ["ismemberof"],
        },
        "docket": docket_facts(doc),
    });
    metadata[kind] = json!([fid]);
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn target() -> Target {
        Target {
            name: "archive".into(),
            url: "http://127.0.0.1:9".into(),
            user: "u".into(),
            password: docket_remote::Secret::new("p"),
            mode: docket_core::PublishMode::Objects,
            collection: Some("c0ffee00-0000-4000-8000-000000000000".into()),
            types: BTreeMap::from([("invoices".to_string(), "Text".to_string())]),
            concurrency: 1,
            timeout: std::time::Duration::from_secs(1),
            retry_budget: std::time::Duration::from_secs(1),
            rate: None,
        }
    }

    fn doc(media_type: &str, category: Option<&str>) -> Document {
        Document {
            id: "doc_1".into(),
            user: "alice".into(),
            job_id: Some("job_1".into()),
            name: "scans/inv-001.png".into(),
            sha256: "ab".repeat(32),
            media_type: media_type.into(),
            size: 10,
            pages: 1,
            text: String::new(),
            category: category.map(str::to_string),
            confidence: Some(0.9),
            metadata: json!({}),
            created_at: 0,
        }
    }

    #[test]
    fn uuids_depend_on_target_and_content_only() {
        let t = target();
        let a = object_uuid(&t, "x");
        assert_eq!(a, object_uuid(&t, "x"));
        assert_ne!(a, object_uuid(&t, "y"));
        let other = Target {
            url: "http://127.0.0.2:9".into(),
            ..target()
        };
        assert_ne!(a, object_uuid(&other, "x"));
        assert_ne!(set_uuid(&t, "job_1"), set_uuid(&t, "job_2"));
        assert_eq!(a.get_version_num(), 5);
    }

    #[test]
    fn metadata_sorts_the_file_and_maps_the_type() {
        let t = target();
        let m = object_metadata(&t, &doc("image/png", None), 7);
        assert_eq!(m["type"], "Photograph");
        assert_eq!(m["images"], json!([7]));
        assert_eq!(m["documents"], json!([]));
        assert_eq!(m["label"], "inv-001.png");
        assert_eq!(
            m["ismemberof"],
            json!(["c0ffee00-0000-4000-8000-000000000000"])
        );
        assert_eq!(m["docket"]["category"], Value::Null);
        let m = object_metadata(&t, &doc("application/pdf", Some("invoices")), 8);
        assert_eq!(m["type"], "Text");
        assert_eq!(m["documents"], json!([8]));
        assert_eq!(m["docket"]["confidence"], 0.9);
    }
}
