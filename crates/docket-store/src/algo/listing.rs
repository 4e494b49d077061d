//! Listing a source: items are added under the lister's lease, then the job is sealed.

use async_trait::async_trait;
use docket_core::{Job, JobBook, JobState, Millis};

use super::BookDriver;
use crate::{NewItem, StoreError};

/// The statements a backend runs for listing. `listing_book` must lock the job row and fail
/// unless `worker` holds the listing of an unfinished, unsealed job.
#[async_trait]
pub(crate) trait ListingDriver: BookDriver {
    async fn listing_book(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        worker: &str,
    ) -> Result<JobBook, StoreError>;
    async fn extend_listing(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        lease_until: Millis,
    ) -> Result<(), StoreError>;
    async fn release_listing(&self, tx: &mut Self::Tx, id: &str) -> Result<(), StoreError>;
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
    driver.extend_listing(&mut tx, id, lease_until).await?;
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
    driver.release_listing(&mut tx, id).await?;
    driver.commit(tx).await?;
    driver.job(id, now).await?.ok_or(StoreError::NotFound)
}
