//! Each user's storage counter. The schema keeps it (triggers on `jobs.upload_bytes` and on
//! the deletion of a job's row); this only reads it, and records a new job's upload bytes.

use async_trait::async_trait;
use docket_core::ItemPayload;

use super::sql::{On, Sql, Statements};
use crate::{NewItem, StorageStore, StoreError};

#[async_trait]
impl<D: Statements + 'static> StorageStore for D {
    async fn storage_used(&self, user: &str) -> Result<u64, StoreError> {
        if !self.stores_nul() && user.contains('\0') {
            return Ok(0);
        }
        let row: Option<(i64,)> = self
            .fetch_optional(
                On::Read,
                Sql::same("SELECT upload_bytes FROM user_storage WHERE user_id = $1"),
                &[user.into()],
            )
            .await?;
        Ok(row.map_or(0, |(bytes,)| u64::try_from(bytes).unwrap_or(0)))
    }
}

/// Records the bytes uploaded with job `id` (its items' files), inside the transaction that
/// creates it; the schema adds them to its owner's counter.
pub(crate) async fn record_upload_bytes<D: Statements>(
    driver: &D,
    tx: &mut D::Tx,
    id: &str,
    items: &[NewItem],
) -> Result<(), StoreError> {
    let bytes: u64 = items
        .iter()
        .map(|item| match &item.payload {
            ItemPayload::Upload { size, .. } | ItemPayload::PackedUpload { size, .. } => *size,
            _ => 0,
        })
        .sum();
    if bytes == 0 {
        return Ok(());
    }
    let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
    driver
        .execute(
            tx,
            Sql::same("UPDATE jobs SET upload_bytes = $1 WHERE id = $2"),
            &[bytes.into(), id.into()],
        )
        .await?;
    Ok(())
}
