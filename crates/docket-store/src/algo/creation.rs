//! Creating a job: an earlier submit with the same idempotency key is returned as it is;
//! otherwise the job and its items are inserted in one transaction and work is announced.

use docket_core::{JobId, Millis};

use super::sql::{On, Sql, Statements};
use crate::{Created, NewJob, StoreError};

/// What a backend decides for [`create_job`]; the statements are written once below.
pub(crate) trait CreationDriver: Statements {
    /// Refuses what this backend cannot store (PostgreSQL text holds no NUL character).
    fn refuse_unstorable(&self, new: &NewJob) -> Result<(), StoreError>;
}

const BY_KEY: Sql = Sql::same("SELECT id FROM jobs WHERE user_id = $1 AND idempotency_key = $2");

/// Inserts the job row (no items yet). On SQLite the idempotency lookup ran in this same
/// `BEGIN IMMEDIATE` transaction, so no other submit comes between them and it always
/// inserts. On PostgreSQL two submits with the same key may race past the lookup: the
/// unique index decides, and the loser waits on it and then inserts nothing.
const INSERT_JOB: Sql = Sql::each(
    "INSERT INTO jobs (id, user_id, kind, state, created_at, updated_at, deadline_at, \
     total, pending, running, retrying, succeeded, failed, cancelled, max_workers, \
     max_retries, auto_pause_after, item_timeout_ms, options, idempotency_key, source, \
     sealed, notify_url, notify_state, priority, held_until) \
     VALUES ($1, $2, $3, 'queued', $4, $4, $5, $6, $6, 0, 0, 0, 0, 0, $7, $8, $9, $10, $11, \
     $12, $13, $14, $15, CASE WHEN $15 IS NOT NULL THEN 'pending' END, $16, $17)",
    "INSERT INTO jobs (id, user_id, kind, state, created_at, updated_at, deadline_at, \
     total, pending, running, retrying, succeeded, failed, cancelled, max_workers, \
     max_retries, auto_pause_after, item_timeout_ms, options, idempotency_key, source, \
     sealed, notify_url, notify_state, priority, held_until) \
     VALUES ($1, $2, $3, 'queued', $4, $4, $5, $6, $6, 0, 0, 0, 0, 0, $7, $8, $9, $10, \
     $11::jsonb, $12, $13::jsonb, $14, $15::text, \
     CASE WHEN $15::text IS NOT NULL THEN 'pending' END, $16, $17) \
     ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING",
);

/// The job `user` created earlier with this idempotency key.
async fn existing_by_key<D: CreationDriver>(
    driver: &D,
    tx: &mut D::Tx,
    user: &str,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> = driver
        .fetch_optional(On::Tx(tx), BY_KEY, &[user.into(), key.into()])
        .await?;
    Ok(row.map(|(id,)| id))
}

/// Inserts the job row (no items yet) as `id`; `false` when a concurrent submit with the
/// same idempotency key inserted its job first.
async fn insert_job<D: CreationDriver>(
    driver: &D,
    tx: &mut D::Tx,
    id: &str,
    new: &NewJob,
    now: Millis,
) -> Result<bool, StoreError> {
    let o = &new.options;
    let options = serde_json::to_string(o)?;
    let source = new.source.as_ref().map(serde_json::to_string).transpose()?;
    // A job held until `not_before` is left out of claims until then; its deadline counts
    // from when it may start.
    let held_until = o.not_before.filter(|&t| t > now);
    let starts = held_until.unwrap_or(now);
    let args = [
        id.into(),
        new.user.as_str().into(),
        new.kind.as_str().into(),
        now.into(),
        o.deadline_seconds
            .map(|s| starts.saturating_add((s as i64).saturating_mul(1000)))
            .into(),
        (new.items.len() as i64).into(),
        o.max_workers.map(i64::from).into(),
        (o.max_retries as i64).into(),
        (o.auto_pause_after as i64).into(),
        (o.item_timeout_seconds as i64).saturating_mul(1000).into(),
        options.as_str().into(),
        new.idempotency_key.as_deref().into(),
        source.as_deref().into(),
        new.source.is_none().into(),
        o.notify_url.as_deref().into(),
        o.priority.as_str().into(),
        held_until.into(),
    ];
    Ok(driver.execute(tx, INSERT_JOB, &args).await? == 1)
}

pub(crate) async fn create_job<D: CreationDriver>(
    driver: &D,
    new: NewJob,
    now: Millis,
) -> Result<Created, StoreError> {
    create_job_consuming(driver, new, &[], now).await
}

/// [`create_job`] that also consumes resumable `uploads` in the same transaction, so a job
/// never exists without its uploads and an upload is never submitted twice.
pub(crate) async fn create_job_consuming<D: CreationDriver>(
    driver: &D,
    new: NewJob,
    uploads: &[String],
    now: Millis,
) -> Result<Created, StoreError> {
    if new.items.is_empty() && new.source.is_none() {
        return Err(StoreError::Invalid("a job needs at least one item".into()));
    }
    new.options.validate()?;
    driver.refuse_unstorable(&new)?;
    let mut tx = driver.begin().await?;
    if let Some(key) = &new.idempotency_key {
        if let Some(id) = existing_by_key(driver, &mut tx, &new.user, key).await? {
            driver.rollback(tx).await?;
            return existing(driver, &id, now).await;
        }
    }
    let id = new
        .id
        .clone()
        .unwrap_or_else(|| JobId::generate().to_string());
    if !insert_job(driver, &mut tx, &id, &new, now).await? {
        // Lost the race on the idempotency key: the job that won (committed, so this read
        // sees it) is the answer.
        let key = new.idempotency_key.as_deref().unwrap_or_default();
        let winner = existing_by_key(driver, &mut tx, &new.user, key).await?;
        driver.rollback(tx).await?;
        return match winner {
            Some(id) => existing(driver, &id, now).await,
            None => Err(StoreError::NotFound),
        };
    }
    super::uploads::consume(driver, &mut tx, &id, &new.user, uploads, now).await?;
    driver.insert_items(&mut tx, &id, &new.items).await?;
    super::storage::record_upload_bytes(driver, &mut tx, &id, &new.items).await?;
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
