//! The export bundle: `manifest.csv` (the flat columns plus where each item's entries lie),
//! `text/NAME.txt`, `metadata/NAME.json`, `thumbnails/NAME.png` and, when asked, `files/NAME`;
//! as a plain ZIP or as a BagIt 1.0 bag in a ZIP (the same payload under `BAG/data/`, with
//! `bagit.txt`, `bag-info.txt`, `manifest-sha256.txt` and `tagmanifest-sha256.txt`).
//!
//! Entries are written as items arrive. What grows with the job — the manifest rows and, for a
//! bag, the payload manifest — is spooled to anonymous temporary files and copied in at the
//! end, so memory stays flat; only [`SafeNames`] remembers a few bytes per item.

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt, BufWriter};

use crate::bagit::{self, Oxum};
use crate::flat::{csv_record, FlatRow, FLAT_COLUMNS, MANIFEST_COLUMNS};
use crate::zip::{Method, ZipStream};
use crate::{ExportError, SafeNames};

/// At most this many notes (blobs skipped) are listed; the rest are counted.
const MAX_NOTES: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleFormat {
    /// A plain ZIP: `manifest.csv` and the entry folders at its root.
    Zip,
    /// A BagIt 1.0 bag in a ZIP, under one top-level folder named [`BundleInfo::name`].
    BagIt,
}

/// What a bag says about itself.
#[derive(Debug, Clone)]
pub struct BundleInfo {
    /// The bag's folder inside the ZIP (e.g. the job's id); made safe.
    pub name: String,
    /// `Source-Organization`.
    pub source_organization: String,
    /// `External-Identifier`: what the bag is an export of (e.g. the job's id).
    pub external_identifier: String,
    /// `Bagging-Date`, `YYYY-MM-DD`.
    pub bagging_date: String,
    /// `Bag-Software-Agent`.
    pub software_agent: String,
}

/// A byte stream fed into the bundle (a thumbnail, an original).
pub struct Blob {
    /// Its size, where known (large entries get ZIP64 sizes up front).
    pub size: Option<u64>,
    pub stream: BoxStream<'static, Result<Bytes, ExportError>>,
}

/// One finished item.
pub struct BundleItem {
    pub row: FlatRow,
    /// The document's text (succeeded items with a document).
    pub text: Option<String>,
    /// What `metadata/NAME.json` holds.
    pub metadata: Option<serde_json::Value>,
    /// The thumbnail: `Ok(None)` when there is none to have, `Err(note)` when it should be
    /// there but is missing (skipped with the note).
    pub thumbnail: Result<Option<Blob>, String>,
    /// The original, when the bundle includes files; as for `thumbnail`.
    pub file: Result<Option<Blob>, String>,
}

/// What a finished bundle holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleSummary {
    pub items: u64,
    pub documents: u64,
    /// Blobs that were missing and left out (listed in `notes.txt`).
    pub skipped: u64,
    /// Payload files and bytes (everything but the bag's tag files).
    pub payload: Oxum,
    /// The archive's size.
    pub bytes: u64,
}

/// A temporary file that something growing is spooled to.
struct Spool {
    file: BufWriter<tokio::fs::File>,
}

impl Spool {
    fn new() -> Result<Spool, ExportError> {
        let file = tokio::fs::File::from_std(tempfile::tempfile()?);
        Ok(Spool {
            file: BufWriter::with_capacity(64 * 1024, file),
        })
    }

    async fn push(&mut self, s: &str) -> Result<(), ExportError> {
        Ok(self.file.write_all(s.as_bytes()).await?)
    }
}

/// Writes a bundle to any async writer; see the module docs.
pub struct BundleWriter {
    zip: ZipStream,
    format: BundleFormat,
    info: BundleInfo,
    names: SafeNames,
    /// `""` for a plain ZIP, `BAG/data/` for a bag.
    payload_prefix: String,
    bag_prefix: String,
    manifest: Spool,
    /// The bag's `manifest-sha256.txt`, spooled.
    checksums: Option<Spool>,
    /// `tagmanifest-sha256.txt` lines (a handful of tag files).
    tag_lines: String,
    notes: Vec<String>,
    summary: BundleSummary,
}

impl BundleWriter {
    /// Starts a bundle on `out` (inside a tokio runtime).
    pub async fn new<W>(
        out: W,
        format: BundleFormat,
        info: BundleInfo,
    ) -> Result<BundleWriter, ExportError>
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let bag = crate::names::sanitize(&info.name);
        let (payload_prefix, bag_prefix, checksums) = match format {
            BundleFormat::Zip => (String::new(), String::new(), None),
            BundleFormat::BagIt => (
                format!("{bag}/data/"),
                format!("{bag}/"),
                Some(Spool::new()?),
            ),
        };
        let mut manifest = Spool::new()?;
        manifest
            .push(&csv_record(
                FLAT_COLUMNS.iter().chain(MANIFEST_COLUMNS.iter()).copied(),
            ))
            .await?;
        let mut writer = BundleWriter {
            zip: ZipStream::new(out),
            format,
            info,
            names: SafeNames::new(),
            payload_prefix,
            bag_prefix,
            manifest,
            checksums,
            tag_lines: String::new(),
            notes: Vec::new(),
            summary: BundleSummary::default(),
        };
        if format == BundleFormat::BagIt {
            writer
                .tag_file("bagit.txt", bagit::BAGIT_TXT.into())
                .await?;
        }
        Ok(writer)
    }

    /// Adds one item: its entries now, its manifest row spooled.
    pub async fn add(&mut self, item: BundleItem) -> Result<(), ExportError> {
        let name = self.names.unique(&item.row.name);
        self.summary.items += 1;
        let mut paths: [String; 4] = Default::default();
        if let Some(text) = item.text {
            self.summary.documents += 1;
            let path = format!("text/{name}.txt");
            self.payload_bytes(&path, Method::Deflated, Bytes::from(text))
                .await?;
            paths[0] = path;
        }
        if let Some(metadata) = item.metadata {
            let path = format!("metadata/{name}.json");
            let json = serde_json::to_vec_pretty(&metadata).map_err(|e| ExportError::Source {
                what: path.clone(),
                message: e.to_string(),
            })?;
            self.payload_bytes(&path, Method::Deflated, Bytes::from(json))
                .await?;
            paths[1] = path;
        }
        let media_type = item.row.media_type.as_deref().unwrap_or("");
        let file_method = if compressed_already(media_type) {
            Method::Stored
        } else {
            Method::Deflated
        };
        for (slot, blob, path, method, what) in [
            (
                2,
                item.thumbnail,
                format!("thumbnails/{name}.png"),
                Method::Stored,
                "thumbnail",
            ),
            (3, item.file, format!("files/{name}"), file_method, "file"),
        ] {
            match blob {
                Ok(None) => {}
                Ok(Some(blob)) => {
                    self.payload_stream(&path, method, blob).await?;
                    paths[slot] = path;
                }
                Err(note) => self.note(format!("{}: {what} skipped: {note}", item.row.name)),
            }
        }
        let cells = item.row.cells();
        let record = csv_record(cells.iter().chain(paths.iter()).map(String::as_str));
        self.manifest.push(&record).await
    }

    /// Writes the manifests and the central directory.
    pub async fn finish(mut self) -> Result<BundleSummary, ExportError> {
        let manifest = std::mem::replace(&mut self.manifest, Spool::new()?);
        self.copy_spool("manifest.csv", manifest).await?;
        let notes = if self.notes.is_empty() {
            None
        } else {
            let mut text = self.notes.join("\n");
            text.push('\n');
            if self.summary.skipped as usize > self.notes.len() {
                text.push_str(&format!(
                    "… and {} more\n",
                    self.summary.skipped as usize - self.notes.len()
                ));
            }
            Some(text)
        };
        match self.format {
            BundleFormat::Zip => {
                if let Some(notes) = notes {
                    self.zip
                        .entry("notes.txt", Method::Deflated, Bytes::from(notes))
                        .await?;
                }
            }
            BundleFormat::BagIt => {
                let checksums = self
                    .checksums
                    .take()
                    .ok_or(ExportError::Usage("no manifest"))?;
                self.copy_tag_spool("manifest-sha256.txt", checksums)
                    .await?;
                let info = bagit::bag_info(&[
                    ("Source-Organization", self.info.source_organization.clone()),
                    ("External-Identifier", self.info.external_identifier.clone()),
                    ("Bagging-Date", self.info.bagging_date.clone()),
                    ("Bag-Software-Agent", self.info.software_agent.clone()),
                    ("Payload-Oxum", self.summary.payload.to_string()),
                    ("Docket-Items", self.summary.items.to_string()),
                    ("Docket-Documents", self.summary.documents.to_string()),
                    ("Docket-Skipped-Files", self.summary.skipped.to_string()),
                ]);
                self.tag_file("bag-info.txt", info).await?;
                if let Some(notes) = notes {
                    self.tag_file("notes.txt", notes).await?;
                }
                let lines = std::mem::take(&mut self.tag_lines);
                let path = format!("{}tagmanifest-sha256.txt", self.bag_prefix);
                self.zip
                    .entry(&path, Method::Deflated, Bytes::from(lines))
                    .await?;
            }
        }
        let mut summary = self.summary;
        summary.bytes = self.zip.finish().await?;
        Ok(summary)
    }

    fn note(&mut self, note: String) {
        self.summary.skipped += 1;
        if self.notes.len() < MAX_NOTES {
            self.notes.push(note);
        }
    }

    /// A small payload entry written whole.
    async fn payload_bytes(
        &mut self,
        path: &str,
        method: Method,
        data: Bytes,
    ) -> Result<(), ExportError> {
        let full = format!("{}{path}", self.payload_prefix);
        self.zip
            .start_entry(&full, method, Some(data.len() as u64))
            .await?;
        let mut hasher = self.checksums.is_some().then(Sha256::new);
        if let Some(h) = hasher.as_mut() {
            h.update(&data);
        }
        let n = data.len() as u64;
        self.zip.write(data).await?;
        self.payload_done(&full, hasher, n).await
    }

    /// A payload entry streamed in; a failing stream fails the bundle (a broken archive, never
    /// a complete-looking one without the entry).
    async fn payload_stream(
        &mut self,
        path: &str,
        method: Method,
        mut blob: Blob,
    ) -> Result<(), ExportError> {
        let full = format!("{}{path}", self.payload_prefix);
        self.zip.start_entry(&full, method, blob.size).await?;
        let mut hasher = self.checksums.is_some().then(Sha256::new);
        let mut n = 0u64;
        while let Some(chunk) = blob.stream.next().await {
            let chunk = chunk?;
            if let Some(h) = hasher.as_mut() {
                h.update(&chunk);
            }
            n += chunk.len() as u64;
            self.zip.write(chunk).await?;
        }
        self.payload_done(&full, hasher, n).await
    }

    async fn payload_done(
        &mut self,
        full: &str,
        hasher: Option<Sha256>,
        n: u64,
    ) -> Result<(), ExportError> {
        self.summary.payload.add(n);
        if let (Some(h), Some(spool)) = (hasher, self.checksums.as_mut()) {
            let rel = full.strip_prefix(&self.bag_prefix).unwrap_or(full);
            spool
                .push(&bagit::manifest_line(&hex::encode(h.finalize()), rel))
                .await?;
        }
        Ok(())
    }

    /// A tag file of the bag (at its root), listed in the tag manifest.
    async fn tag_file(&mut self, name: &str, text: String) -> Result<(), ExportError> {
        let sha = hex::encode(Sha256::digest(text.as_bytes()));
        self.tag_lines.push_str(&bagit::manifest_line(&sha, name));
        let path = format!("{}{name}", self.bag_prefix);
        self.zip
            .entry(&path, Method::Deflated, Bytes::from(text))
            .await
    }

    /// Copies a spooled payload file in (`manifest.csv`), hashed on the way.
    async fn copy_spool(&mut self, path: &str, spool: Spool) -> Result<(), ExportError> {
        let full = format!("{}{path}", self.payload_prefix);
        let (sha, n) = self.copy(&full, spool).await?;
        self.summary.payload.add(n);
        if let Some(checksums) = self.checksums.as_mut() {
            let rel = full.strip_prefix(&self.bag_prefix).unwrap_or(&full);
            checksums.push(&bagit::manifest_line(&sha, rel)).await?;
        }
        Ok(())
    }

    /// Copies a spooled tag file in (`manifest-sha256.txt`), listed in the tag manifest.
    async fn copy_tag_spool(&mut self, name: &str, spool: Spool) -> Result<(), ExportError> {
        let full = format!("{}{name}", self.bag_prefix);
        let (sha, _) = self.copy(&full, spool).await?;
        self.tag_lines.push_str(&bagit::manifest_line(&sha, name));
        Ok(())
    }

    async fn copy(&mut self, full: &str, spool: Spool) -> Result<(String, u64), ExportError> {
        // Flush the buffer first: `into_inner` drops whatever it still holds.
        let mut buffered = spool.file;
        buffered.flush().await?;
        let mut file = buffered.into_inner();
        let size = file.seek(std::io::SeekFrom::End(0)).await?;
        file.seek(std::io::SeekFrom::Start(0)).await?;
        self.zip
            .start_entry(full, Method::Deflated, Some(size))
            .await?;
        let mut hasher = Sha256::new();
        let mut n = 0u64;
        loop {
            let mut buf = vec![0u8; 64 * 1024];
            let read = file.read(&mut buf).await?;
            if read == 0 {
                break;
            }
            buf.truncate(read);
            hasher.update(&buf);
            n += read as u64;
            self.zip.write(Bytes::from(buf)).await?;
        }
        Ok((hex::encode(hasher.finalize()), n))
    }
}

/// Media types whose bytes are already compressed: stored, not deflated again.
fn compressed_already(media_type: &str) -> bool {
    media_type.starts_with("image/")
        || media_type.starts_with("video/")
        || media_type.starts_with("audio/")
        || media_type == "application/pdf"
        || media_type == "application/zip"
        || media_type.starts_with("application/vnd.openxmlformats")
}
