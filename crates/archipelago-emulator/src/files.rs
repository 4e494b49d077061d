//! File uploads (`Controller/FileUpload.php`): a free file, or into an existing entity's field.

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::ami_sets;
use crate::errors::ApiError;
use crate::record::{FileRecord, FileStatus, UploadTarget};
use crate::resource;
use crate::site::Site;
use crate::store::{now, Store};

/// A file field the emulator accepts uploads for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UploadField {
    FileDrop,
    SourceData,
    ZipFile,
}

impl UploadField {
    pub fn find(entity_type: &str, bundle: &str, field: &str) -> Option<Self> {
        match (entity_type, field) {
            ("node", "field_file_drop") if crate::nodes::BUNDLES.contains(&bundle) => {
                Some(Self::FileDrop)
            }
            ("ami_set_entity", "source_data") if bundle == "ami_set_entity" => {
                Some(Self::SourceData)
            }
            ("ami_set_entity", "zip_file") if bundle == "ami_set_entity" => Some(Self::ZipFile),
            _ => None,
        }
    }

    fn extensions(self, site: &Site) -> &[String] {
        match self {
            Self::FileDrop => &site.config.file_drop_extensions,
            Self::SourceData => &site.config.source_data_extensions,
            Self::ZipFile => &site.config.zip_file_extensions,
        }
    }

    fn directory(self) -> &'static str {
        match self {
            Self::FileDrop => "private://ado_tmp",
            Self::SourceData | Self::ZipFile => "private://ami/set",
        }
    }
}

/// `POST /jsonapi/{type}/{bundle}/{field}`: a temporary file, answered 201.
pub(crate) async fn upload_free(
    site: &Site,
    target: UploadTarget,
    field: UploadField,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let upload = receive(site, field, headers, body).await?;
    let mut store = site.store();
    let file = store_file(&mut store, target, field, upload, FileStatus::Temporary);
    Ok(resource::respond(
        StatusCode::CREATED,
        site,
        resource::file(site, &file),
        &resource::file_path(&file.uuid),
    ))
}

/// `POST /jsonapi/ami_set_entity/ami_set_entity/{uuid}/{field}`: the file replaces the field's
/// earlier one and is permanent (Drupal's `FileItem::preSave`: the entity holds it; the
/// replaced file stays, unreferenced); answered 200 with the related file.
pub(crate) async fn upload_into_ami_set(
    site: &Site,
    uuid: &str,
    field: UploadField,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if !site.store().ami_sets.contains_key(uuid) {
        return Err(ami_sets::missing(uuid));
    }
    let upload = receive(site, field, headers, body).await?;
    let mut store = site.store();
    if !store.ami_sets.contains_key(uuid) {
        return Err(ami_sets::missing(uuid));
    }
    let target = UploadTarget {
        entity_type: "ami_set_entity".into(),
        bundle: "ami_set_entity".into(),
        field: field_name(field).into(),
        entity: Some(uuid.to_owned()),
    };
    let file = store_file(&mut store, target, field, upload, FileStatus::Permanent);
    if let Some(set) = store.ami_sets.get_mut(uuid) {
        match field {
            UploadField::SourceData => set.source_data = Some(file.fid),
            UploadField::ZipFile => set.zip_file = Some(file.fid),
            UploadField::FileDrop => {}
        }
        set.changed = now();
    }
    let path = format!("{}/{}", resource::ami_set_path(uuid), field_name(field));
    Ok(resource::respond(
        StatusCode::OK,
        site,
        resource::file(site, &file),
        &path,
    ))
}

fn field_name(field: UploadField) -> &'static str {
    match field {
        UploadField::FileDrop => "field_file_drop",
        UploadField::SourceData => "source_data",
        UploadField::ZipFile => "zip_file",
    }
}

struct Upload {
    filename: String,
    bytes: Bytes,
}

/// Headers, extension and size checked; the body read up to the limit and no further.
async fn receive(
    site: &Site,
    field: UploadField,
    headers: &HeaderMap,
    body: Body,
) -> Result<Upload, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    if content_type != Some("application/octet-stream") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "No route found that matches \"Content-Type: {}\"",
                content_type.unwrap_or("")
            ),
        ));
    }
    let filename = filename(headers)?;
    let extension = filename
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    let allowed = field.extensions(site);
    if !allowed.contains(&extension) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "The specified file {filename} could not be uploaded. Only files with the following extensions are allowed: {}.",
                allowed.join(" ")
            ),
        ));
    }
    let limit = site.config.max_upload_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("The file is larger than the maximum file size of {limit} bytes."),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut buffer = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::bad_request(format!("Reading the uploaded file failed: {error}"))
        })?;
        if (buffer.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Upload {
        filename,
        bytes: buffer.freeze(),
    })
}

/// `Content-Disposition: file; filename="NAME"`, reduced to its base name, as Drupal reads it.
fn filename(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get(header::CONTENT_DISPOSITION) else {
        return Err(ApiError::bad_request(
            "\"Content-Disposition\" header is required. A file name in the format \"filename=FILENAME\" must be provided.",
        ));
    };
    let no_name = || {
        ApiError::bad_request(
            "No filename found in \"Content-Disposition\" header. A file name in the format \"filename=FILENAME\" must be provided.",
        )
    };
    let text = value.to_str().map_err(|_| no_name())?;
    if text.contains("filename*=") {
        return Err(ApiError::bad_request(
            "The extended \"filename*\" format is currently not supported in the \"Content-Disposition\" header.",
        ));
    }
    let quoted = text
        .split_once("filename=\"")
        .and_then(|(_, rest)| rest.rsplit_once('"'))
        .map(|(name, _)| name)
        .ok_or_else(no_name)?;
    let base = quoted.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if base.is_empty() || base == "." || base == ".." {
        return Err(no_name());
    }
    Ok(base.to_owned())
}

/// Drupal's `FileSystem::createFilename`: `name.ext`, else `name_0.ext`, `name_1.ext`, …
fn unique_uri(store: &Store, directory: &str, filename: &str) -> (String, String) {
    let uri = format!("{directory}/{filename}");
    if !store.uri_taken(&uri) {
        return (filename.to_owned(), uri);
    }
    let (stem, extension) = match filename.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem, Some(extension)),
        _ => (filename, None),
    };
    (0u64..)
        .map(|counter| match extension {
            Some(extension) => format!("{stem}_{counter}.{extension}"),
            None => format!("{stem}_{counter}"),
        })
        .map(|name| {
            let uri = format!("{directory}/{name}");
            (name, uri)
        })
        .find(|(_, uri)| !store.uri_taken(uri))
        .unwrap_or_else(|| (filename.to_owned(), uri.clone()))
}

fn store_file(
    store: &mut Store,
    target: UploadTarget,
    field: UploadField,
    upload: Upload,
    status: FileStatus,
) -> FileRecord {
    let (filename, uri) = unique_uri(store, field.directory(), &upload.filename);
    let created = now();
    let file = FileRecord {
        fid: store.next_fid(),
        uuid: uuid::Uuid::new_v4().to_string(),
        filemime: mime_for(&filename).into(),
        filename,
        uri,
        size: upload.bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&upload.bytes)),
        status,
        uploaded_for: target,
        created: created.clone(),
        changed: created,
    };
    store.bytes.insert(file.fid, upload.bytes);
    store.files.insert(file.fid, file.clone());
    file
}

/// Drupal's extension mime guesser, for the extensions the emulator accepts.
fn mime_for(filename: &str) -> &'static str {
    let extension = filename
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "csv" => "text/csv",
        "json" => "application/json",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "doc" => "application/msword",
        "odt" => "application/vnd.oasis.opendocument.text",
        "rtf" => "application/rtf",
        "epub" => "application/epub+zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "tif" | "tiff" => "image/tiff",
        "webp" => "image/webp",
        "jp2" => "image/jp2",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "wav" => "audio/x-wav",
        "mp4" => "video/mp4",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}
