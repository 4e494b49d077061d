//! Listing a source: items are added under the lister's lease, then the job is sealed.

use async_trait::async_trait;
use docket_core::{Job, JobBook, JobKind, JobSource, JobState, Millis};

use super::sql::{On, Sql, Statements};
use crate::row::{JobRow, JOB_COLUMNS};
use crate::{Listing, ListingStore, NewItem, StoreError};

/// A job whose listing was just leased: id, kind, user, stored source, items listed so far.
pub(crate) type LeasedListing = (String, String, String, Option<String>, i64);

/// How each backend takes a listing lease (one writer against `SKIP LOCKED`).
#[async_trait]
pub(crate) trait ListingDriver: Statements {
    /// Leases the listing of one unsealed job of `kinds` (never empty) to `worker`.
    async fn lease_listing(
        &self,
        worker: &str,
        kinds: &[JobKind],
        lease_until: Millis,
        now: Millis,
    ) -> Result<Option<LeasedListing>, StoreError>;
}

#[async_trait]
impl<D: ListingDriver + 'static> ListingStore for D {
    async fn claim_listing(
        &self,
        worker: &str,
        kinds: &[JobKind],
        lease_until: Millis,
        now: Millis,
    ) -> Result<Option<Listing>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let Some((job_id, kind, user, source, listed)) =
            self.lease_listing(worker, kinds, lease_until, now).await?
        else {
            return Ok(None);
        };
        Ok(Some(Listing {
            job_id,
            kind: kind.parse()?,
            user,
            source: JobSource::from_stored(source.as_deref()),
            listed,
        }))
    }

    async fn add_items(
        &self,
        job_id: &str,
        worker: &str,
        items: Vec<NewItem>,
        lease_until: Millis,
        now: Millis,
    ) -> Result<(), StoreError> {
        add_listed(self, job_id, worker, &items, lease_until, now).await
    }

    async fn seal_job(&self, job_id: &str, worker: &str, now: Millis) -> Result<Job, StoreError> {
        seal(self, job_id, worker, now).await
    }
}

/// A job row with who lists it.
#[derive(sqlx::FromRow)]
struct ListingJobRow {
    #[sqlx(flatten)]
    job: JobRow,
    lister_id: Option<String>,
}

/// Locks a job this worker is listing and returns its book, or fails if the worker lost the
/// listing (another took it over), the job was sealed, or it finished meanwhile.
async fn listing_book<D: Statements>(
    driver: &D,
    tx: &mut D::Tx,
    id: &str,
    worker: &str,
) -> Result<JobBook, StoreError> {
    let row: Option<ListingJobRow> = driver
        .fetch_optional(
            On::Tx(tx),
            Sql::each(
                &format!("SELECT {JOB_COLUMNS}, lister_id FROM jobs WHERE id = $1"),
                &format!("SELECT {JOB_COLUMNS}, lister_id FROM jobs WHERE id = $1 FOR UPDATE"),
            ),
            &[id.into()],
        )
        .await?;
    match row {
        Some(r)
            if r.lister_id.as_deref() == Some(worker)
                && !r.job.sealed
                && r.job.finished_at.is_none() =>
        {
            r.job.book()
        }
        _ => Err(StoreError::Invalid(
            "this worker no longer lists that job".into(),
        )),
    }
}

/// Adds listed items to the job, extending the lister's lease.
async fn add_listed<D: Statements>(
    driver: &D,
    id: &str,
    worker: &str,
    items: &[NewItem],
    lease_until: Millis,
    now: Millis,
) -> Result<(), StoreError> {
    let mut tx = driver.begin().await?;
    let mut book = listing_book(driver, &mut tx, id, worker).await?;
    driver.insert_items(&mut tx, id, items).await?;
    book.on_items_added(items.len() as i64);
    super::write_book(driver, &mut tx, id, &book, now, None).await?;
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
async fn seal<D: Statements>(
    driver: &D,
    id: &str,
    worker: &str,
    now: Millis,
) -> Result<Job, StoreError> {
    let mut tx = driver.begin().await?;
    let mut book = listing_book(driver, &mut tx, id, worker).await?;
    book.sealed = true;
    if book.counts.total == 0 {
        book.finish_early(
            JobState::Failed,
            Some("the source contains no files".into()),
        )?;
    } else {
        book.settle();
    }
    super::write_book(driver, &mut tx, id, &book, now, None).await?;
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
