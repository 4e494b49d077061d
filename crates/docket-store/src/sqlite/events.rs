//! Item changes, for live progress.

use super::*;

#[async_trait]
impl EventStore for SqliteStore {
    async fn item_changes(
        &self,
        job_id: &str,
        after: ChangeCursor,
        limit: usize,
    ) -> Result<Vec<ItemChange>, StoreError> {
        let limit = page_limit(limit);
        let rows: Vec<(i64, ItemRow)> = sqlx::query(&format!(
            "SELECT event_seq, {ITEM_COLUMNS} FROM items INDEXED BY items_changes \
             WHERE job_id = ?1 AND event_seq > 0 AND (event_seq, id) > (?2, ?3) \
             ORDER BY event_seq, id LIMIT ?4"
        ))
        .bind(job_id)
        .bind(after.seq)
        .bind(after.item_id)
        .bind(limit as i64)
        .fetch_all(&self.reader)
        .await?
        .into_iter()
        .map(|row| Ok((row.try_get("event_seq")?, ItemRow::from_row(&row)?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let errors: Vec<ErrorRow> = sqlx::query_as(
            "SELECT item_id, attempt, at, message, transient FROM item_errors \
             WHERE item_id IN (SELECT value FROM json_each(?)) ORDER BY id",
        )
        .bind(ids_json(rows.iter().map(|(_, r)| r.id)))
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|(seq, r)| {
                let cursor = ChangeCursor { seq, item_id: r.id };
                Ok(ItemChange {
                    cursor,
                    item: r.into_item(&errors)?,
                })
            })
            .collect()
    }
}
