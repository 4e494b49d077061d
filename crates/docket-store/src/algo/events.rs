//! Item changes, for live progress: written once; SQLite is told which index to walk.

use async_trait::async_trait;

use super::jobs::errors_of;
use super::sql::{On, Sql, Statements};
use crate::row::{page_limit, ItemRow, ITEM_COLUMNS};
use crate::{ChangeCursor, EventStore, ItemChange, StoreError};

/// An item row with the clock tick of its last change.
#[derive(sqlx::FromRow)]
struct ChangeRow {
    event_seq: i64,
    #[sqlx(flatten)]
    item: ItemRow,
}

#[async_trait]
impl<D: Statements + 'static> EventStore for D {
    async fn item_changes(
        &self,
        job_id: &str,
        after: ChangeCursor,
        limit: usize,
    ) -> Result<Vec<ItemChange>, StoreError> {
        let limit = page_limit(limit);
        let rows: Vec<ChangeRow> = self
            .fetch_all(
                On::Read,
                Sql::each(
                    &format!(
                        "SELECT event_seq, {ITEM_COLUMNS} FROM items INDEXED BY items_changes \
                         WHERE job_id = $1 AND event_seq > 0 AND (event_seq, id) > ($2, $3) \
                         ORDER BY event_seq, id LIMIT $4"
                    ),
                    &format!(
                        "SELECT event_seq, {ITEM_COLUMNS} FROM items \
                         WHERE job_id = $1 AND event_seq > 0 AND (event_seq, id) > ($2, $3) \
                         ORDER BY event_seq, id LIMIT $4"
                    ),
                ),
                &[
                    job_id.into(),
                    after.seq.into(),
                    after.item_id.into(),
                    (limit as i64).into(),
                ],
            )
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.item.id).collect();
        let errors = errors_of(self, &ids).await?;
        rows.into_iter()
            .map(|r| {
                let cursor = ChangeCursor {
                    seq: r.event_seq,
                    item_id: r.item.id,
                };
                Ok(ItemChange {
                    cursor,
                    item: r.item.into_item(&errors)?,
                })
            })
            .collect()
    }
}
