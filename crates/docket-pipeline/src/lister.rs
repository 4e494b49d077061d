use std::path::PathBuf;

use async_trait::async_trait;
use docket_core::{ItemPayload, JobSource};
use docket_engine::{HandlerError, Lister};
use docket_store::NewItem;
use tokio::sync::mpsc;

/// Lists the regular files under a folder, sorted, so an interrupted listing can resume by
/// skipping what it already added. Symlinks are not followed: a link must not lead a job out
/// of the allowed roots.
pub struct FolderLister {
    pub chunk: usize,
}

impl Default for FolderLister {
    fn default() -> Self {
        FolderLister { chunk: 1000 }
    }
}

#[async_trait]
impl Lister for FolderLister {
    async fn list(
        &self,
        source: &JobSource,
        skip: u64,
        sink: mpsc::Sender<Vec<NewItem>>,
    ) -> Result<(), HandlerError> {
        let root = match source {
            JobSource::Folder { path } => path.clone(),
            JobSource::Unreadable(why) => return Err(HandlerError::Permanent(why.clone())),
            other => {
                return Err(HandlerError::Permanent(format!(
                    "a folder listing needs a server folder, but the job's source is {}",
                    other.describe()
                )))
            }
        };
        let chunk = self.chunk.max(1);
        tokio::task::spawn_blocking(move || walk(root, skip, chunk, sink))
            .await
            .map_err(|e| HandlerError::Permanent(format!("listing crashed: {e}")))?
    }
}

fn walk(
    root: PathBuf,
    skip: u64,
    chunk: usize,
    sink: mpsc::Sender<Vec<NewItem>>,
) -> Result<(), HandlerError> {
    let mut seen: u64 = 0;
    let mut batch = Vec::with_capacity(chunk);
    let walker = walkdir::WalkDir::new(&root)
        .follow_links(false)
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            HandlerError::Permanent(format!(
                "cannot read the folder at {path}: {}",
                e.io_error()
                    .map_or_else(|| e.to_string(), |io| io.to_string())
            ))
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        seen += 1;
        if seen <= skip {
            continue;
        }
        let relative = entry.path().strip_prefix(&root).unwrap_or(entry.path());
        batch.push(NewItem {
            name: docket_core::visible_name(&relative.display().to_string()),
            payload: ItemPayload::ServerFile {
                path: entry.path().to_path_buf(),
            },
        });
        if batch.len() >= chunk && sink.blocking_send(std::mem::take(&mut batch)).is_err() {
            return Err(HandlerError::Interrupted);
        }
    }
    if !batch.is_empty() && sink.blocking_send(batch).is_err() {
        return Err(HandlerError::Interrupted);
    }
    Ok(())
}
