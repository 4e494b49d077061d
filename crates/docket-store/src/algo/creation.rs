//! Creating a job: an earlier submit with the same idempotency key is returned as it is;
//! otherwise the job and its items are inserted in one transaction and work is announced.

use async_trait::async_trait;
use docket_core::{JobId, Millis};

use super::sql::Statements;
use crate::{Created, NewJob, StoreError};

/// The statements a backend runs for [`create_job`].
#[async_trait]
pub(crate) trait CreationDriver: Statements {
    /// Refuses what this backend cannot store (PostgreSQL text holds no NUL character).
    fn refuse_unstorable(&self, new: &NewJob) -> Result<(), StoreError>;
    /// The job `user` created earlier with this idempotency key.
    async fn existing_by_key(
        &self,
        tx: &mut Self::Tx,
        user: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Inserts the job row (no items yet) as `id`; `false` when a concurrent submit with the
    /// same idempotency key inserted its job first.
    async fn insert_job(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        new: &NewJob,
        now: Millis,
    ) -> Result<bool, StoreError>;
}

pub(crate) async fn create_job<D: CreationDriver>(
    driver: &D,
    new: NewJob,
    now: Millis,
) -> Result<Created, StoreError> {
    if new.items.is_empty() && new.source.is_none() {
        return Err(StoreError::Invalid("a job needs at least one item".into()));
    }
    new.options.validate()?;
    driver.refuse_unstorable(&new)?;
    let mut tx = driver.begin().await?;
    if let Some(key) = &new.idempotency_key {
        if let Some(id) = driver.existing_by_key(&mut tx, &new.user, key).await? {
            driver.rollback(tx).await?;
            return existing(driver, &id, now).await;
        }
    }
    let id = new
        .id
        .clone()
        .unwrap_or_else(|| JobId::generate().to_string());
    if !driver.insert_job(&mut tx, &id, &new, now).await? {
        // Lost the race on the idempotency key: the job that won (committed, so this read
        // sees it) is the answer.
        let key = new.idempotency_key.as_deref().unwrap_or_default();
        let winner = driver.existing_by_key(&mut tx, &new.user, key).await?;
        driver.rollback(tx).await?;
        return match winner {
            Some(id) => existing(driver, &id, now).await,
            None => Err(StoreError::NotFound),
        };
    }
    driver.insert_items(&mut tx, &id, &new.items).await?;
    driver.announce_work(&mut tx).await?;
    driver.commit(tx).await?;
    let job = super::jobs::job(driver, &id, now)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(Created { job, created: true })
}

/// The job an earlier submit with the same idempotency key created.
async fn existing<D: CreationDriver>(
    driver: &D,
    id: &str,
    now: Millis,
) -> Result<Created, StoreError> {
    let job = super::jobs::job(driver, id, now)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(Created {
        job,
        created: false,
    })
}
