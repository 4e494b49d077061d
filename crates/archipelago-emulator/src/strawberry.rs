//! What strawberryfield does to `field_descriptive_metadata` when a node is saved: the files
//! its `ap:entitymapping` lists are checked, made permanent and described under `as:*`.

use serde_json::{json, Map, Value};

use crate::document::parse_json_text;
use crate::errors::ApiError;
use crate::record::{FileRecord, FileStatus};
use crate::resource::file_url;
use crate::site::Site;
use crate::store::{now, Store};

const FIELD: &str = "field_descriptive_metadata";

/// The file lists read when the metadata has no `ap:entitymapping` of its own.
const DEFAULT_FILE_KEYS: [&str; 5] = ["documents", "images", "audios", "videos", "models"];

/// Every `as:*` key this module writes, so a re-save can replace its own entries.
const AS_KEYS: [&str; 6] = [
    "as:document",
    "as:image",
    "as:audio",
    "as:video",
    "as:text",
    "as:model",
];

/// The metadata to store and the fids it references.
#[derive(Debug)]
pub(crate) struct Saved {
    pub metadata: String,
    pub fids: Vec<u64>,
}

/// Checks every referenced fid exists (else 422) and computes the stored metadata. Writes
/// nothing: call [`make_permanent`] once the entity is stored.
pub(crate) fn prepare(site: &Site, store: &Store, text: &str) -> Result<Saved, ApiError> {
    let mut metadata = parse_json_text(FIELD, text)?;
    let Value::Object(object) = &mut metadata else {
        return Ok(Saved {
            metadata: text.to_owned(),
            fids: Vec::new(),
        });
    };
    let references = file_references(object)?;
    for (key, fid) in &references {
        if !store.files.contains_key(fid) {
            return Err(ApiError::invalid_attribute(
                FIELD,
                format!("the file with id {fid} listed in \"{key}\" does not exist."),
            ));
        }
    }
    let keys: Vec<&str> = references.iter().map(|(key, _)| key.as_str()).collect();
    for as_key in AS_KEYS {
        if let Some(Value::Object(entries)) = object.get_mut(as_key) {
            entries.retain(|_, entry| {
                !entry
                    .get("dr:for")
                    .and_then(Value::as_str)
                    .is_some_and(|key| keys.contains(&key))
            });
        }
    }
    for (sequence, (key, fid)) in references.iter().enumerate() {
        let Some(file) = store.files.get(fid) else {
            continue;
        };
        let as_key = as_key_for(&file.filemime);
        let entries = object
            .entry(as_key)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(entries) = entries {
            entries.insert(
                format!("urn:uuid:{}", file.uuid),
                entry(site, file, key, sequence + 1),
            );
        }
    }
    Ok(Saved {
        metadata: metadata.to_string(),
        fids: references.into_iter().map(|(_, fid)| fid).collect(),
    })
}

/// Drupal's file usage: a file an entity holds is permanent.
pub(crate) fn make_permanent(store: &mut Store, fids: &[u64]) {
    let changed = now();
    for fid in fids {
        if let Some(file) = store.files.get_mut(fid) {
            if file.status != FileStatus::Permanent {
                file.status = FileStatus::Permanent;
                file.changed = changed.clone();
            }
        }
    }
}

/// `(list key, fid)` for every fid in the lists `ap:entitymapping` names as `entity:file`.
fn file_references(object: &Map<String, Value>) -> Result<Vec<(String, u64)>, ApiError> {
    let mapped: Option<Vec<String>> = object
        .get("ap:entitymapping")
        .and_then(|mapping| mapping.get("entity:file"))
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
    let keys = mapped.unwrap_or_else(|| DEFAULT_FILE_KEYS.map(str::to_owned).to_vec());
    let mut references = Vec::new();
    for key in keys {
        let values = match object.get(&key) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(values)) => values.clone(),
            Some(single) => vec![single.clone()],
        };
        for value in values {
            let fid = match &value {
                Value::Number(number) => number.as_u64(),
                Value::String(text) => text.trim().parse().ok(),
                _ => None,
            };
            let Some(fid) = fid else {
                return Err(ApiError::invalid_attribute(
                    FIELD,
                    format!("\"{key}\" must list file ids, found {value}."),
                ));
            };
            if !references.contains(&(key.clone(), fid)) {
                references.push((key.clone(), fid));
            }
        }
    }
    Ok(references)
}

fn as_key_for(mime: &str) -> &'static str {
    match mime.split('/').next().unwrap_or("") {
        "image" => "as:image",
        "audio" => "as:audio",
        "video" => "as:video",
        "text" => "as:text",
        "model" => "as:model",
        _ => "as:document",
    }
}

fn entry(site: &Site, file: &FileRecord, key: &str, sequence: usize) -> Value {
    let as_type = match as_key_for(&file.filemime) {
        "as:image" => "Image",
        "as:audio" => "Audio",
        "as:video" => "Video",
        "as:text" => "Text",
        "as:model" => "Model",
        _ => "Document",
    };
    json!({
        "url": file.uri,
        "name": file.filename,
        "type": as_type,
        "dr:fid": file.fid,
        "dr:for": key,
        "dr:uuid": file.uuid,
        "dr:url": file_url(site, file),
        "checksum": file.sha256,
        "crypHashFunc": "sha256",
        "dr:filesize": file.size,
        "dr:mimetype": file.filemime,
        "sequence": sequence,
    })
}
