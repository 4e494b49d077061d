//! Listing a source: items are added under the lister's lease, then the job is sealed.

use async_trait::async_trait;
use docket_core::{Job, JobBook, JobState, Millis};

use super::sql::{Sql, Statements};
use crate::{NewItem, StoreError};

/// The statements a backend runs for listing. `listing_book` must lock the job row and fail
/// unless `worker` holds the listing of an unfinished, unsealed job.
#[async_trait]
pub(crate) trait ListingDriver: Statements {
    async fn listing_book(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        worker: &str,
    ) -> Result<JobBook, StoreError>;
}

/// Adds listed items to the job, extending the lister's lease.
pub(crate) async fn add_items<D: ListingDriver>(
    driver: &D,
    id: &str,
    worker: &str,
    items: &[NewItem],
    lease_until: Millis,
    now: Millis,
) -> Result<(), StoreError> {
    let mut tx = driver.begin().await?;
    let mut book = driver.listing_book(&mut tx, id, worker).await?;
    driver.insert_items(&mut tx, id, items).await?;
    book.on_items_added(items.len() as i64);
    driver.write_book(&mut tx, id, &book, now).await?;
    driver
        .execute(
            &mut tx,
            Sql::same("UPDATE jobs SET lister_until = $1 WHERE id = $2"),
            &[lease_until.into(), id.into()],
        )
        .await?;
    driver.announce_work(&mut tx).await?;
    driver.commit(tx).await
}

/// Marks the listing complete; a source that held nothing fails the job.
pub(crate) async fn seal<D: ListingDriver>(
    driver: &D,
    id: &str,
    worker: &str,
    now: Millis,
) -> Result<Job, StoreError> {
    let mut tx = driver.begin().await?;
    let mut book = driver.listing_book(&mut tx, id, worker).await?;
    book.sealed = true;
    if book.counts.total == 0 {
        book.finish_early(
            JobState::Failed,
            Some("the source contains no files".into()),
        )?;
    } else {
        book.settle();
    }
    driver.write_book(&mut tx, id, &book, now).await?;
    driver
        .execute(
            &mut tx,
            Sql::same("UPDATE jobs SET lister_id = NULL, lister_until = NULL WHERE id = $1"),
            &[id.into()],
        )
        .await?;
    driver.commit(tx).await?;
    super::jobs::job(driver, id, now)
        .await?
        .ok_or(StoreError::NotFound)
}
