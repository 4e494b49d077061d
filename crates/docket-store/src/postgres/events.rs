//! Item changes, for live progress.

use super::*;

#[async_trait]
impl EventStore for PgStore {
    async fn item_changes(
        &self,
        job_id: &str,
        after: ChangeCursor,
        limit: usize,
    ) -> Result<Vec<ItemChange>, StoreError> {
        let limit = page_limit(limit);
        let rows: Vec<(i64, ItemRow)> = sqlx::query(&format!(
            "SELECT event_seq, {ITEM_COLUMNS} FROM items \
             WHERE job_id = $1 AND event_seq > 0 AND (event_seq, id) > ($2, $3) \
             ORDER BY event_seq, id LIMIT $4"
        ))
        .bind(job_id)
        .bind(after.seq)
        .bind(after.item_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| Ok((row.try_get("event_seq")?, ItemRow::from_row(&row)?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let ids: Vec<i64> = rows.iter().map(|(_, r)| r.id).collect();
        let errors: Vec<ErrorRow> = if ids.is_empty() {
            Vec::new()
        } else {
            sqlx::query_as(
                "SELECT item_id, attempt, at, message, transient FROM item_errors \
                 WHERE item_id = ANY($1::bigint[]) ORDER BY id",
            )
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?
        };
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
