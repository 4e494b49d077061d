//! Resumable uploads, written once: the statements read alike in both dialects.

use async_trait::async_trait;
use docket_core::Millis;

use super::creation::{self, CreationDriver};
use super::sql::{On, Sql, Statements};
use crate::{
    Created, NewJob, NewResumableUpload, ResumableUpload, StoreError, UploadAdvance, UploadStore,
};

const UPLOAD_COLUMNS: &str = "id, user_id, length, received, name, media_type, metadata, \
    hash_state, sha256, blob, created_at, updated_at, expires_at, job_id, object_state";

/// Removable: unconsumed and expired, or consumed by a job that is gone.
const REMOVABLE: &str = "((job_id IS NULL AND expires_at <= $1) OR (job_id IS NOT NULL \
    AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = uploads.job_id)))";

const CONSUME: Sql = Sql::same(
    "UPDATE uploads SET job_id = $1, updated_at = $2 WHERE id = $3 AND user_id = $4 \
     AND job_id IS NULL AND received = length AND expires_at > $2",
);

fn to_i64(n: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Invalid(format!("{what} {n} is out of range")))
}

/// Marks `uploads` as consumed by job `job_id`, inside the transaction that creates it.
pub(crate) async fn consume<D: Statements>(
    driver: &D,
    tx: &mut D::Tx,
    job_id: &str,
    user: &str,
    uploads: &[String],
    now: Millis,
) -> Result<(), StoreError> {
    for id in uploads {
        let n = driver
            .execute(
                tx,
                CONSUME,
                &[job_id.into(), now.into(), id.into(), user.into()],
            )
            .await?;
        if n != 1 {
            return Err(StoreError::Conflict(format!(
                "upload {id} is not available to submit (unfinished, expired, already \
                 submitted or not yours)"
            )));
        }
    }
    Ok(())
}

#[async_trait]
impl<D: CreationDriver + 'static> UploadStore for D {
    async fn create_upload(
        &self,
        new: NewResumableUpload,
        now: Millis,
    ) -> Result<ResumableUpload, StoreError> {
        let texts = [
            Some(new.id.as_str()),
            Some(new.user.as_str()),
            Some(new.name.as_str()),
            new.media_type.as_deref(),
            Some(new.metadata.as_str()),
        ];
        if !self.stores_nul() && texts.into_iter().flatten().any(|s| s.contains('\0')) {
            return Err(StoreError::Invalid(
                "an upload's name, type and metadata cannot contain a NUL character".into(),
            ));
        }
        let length = to_i64(new.length, "an upload length of")?;
        let mut tx = self.begin().await?;
        let row: ResumableUpload = self
            .fetch_one(
                On::Tx(&mut tx),
                Sql::same(&format!(
                    "INSERT INTO uploads (id, user_id, length, received, name, media_type, \
                     metadata, hash_state, sha256, blob, created_at, updated_at, expires_at, \
                     object_state) \
                     VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12) \
                     RETURNING {UPLOAD_COLUMNS}"
                )),
                &[
                    new.id.as_str().into(),
                    new.user.as_str().into(),
                    length.into(),
                    new.name.as_str().into(),
                    new.media_type.as_deref().into(),
                    new.metadata.as_str().into(),
                    new.hash_state.as_str().into(),
                    // An empty upload is finished at creation: its hash is that of nothing.
                    (length == 0).then_some(EMPTY_SHA256).into(),
                    new.blob.as_str().into(),
                    now.into(),
                    new.expires_at.into(),
                    new.object_state.as_deref().into(),
                ],
            )
            .await?;
        self.commit(tx).await?;
        Ok(row)
    }

    async fn upload(&self, id: &str, user: &str) -> Result<Option<ResumableUpload>, StoreError> {
        if !self.stores_nul() && (id.contains('\0') || user.contains('\0')) {
            return Ok(None);
        }
        self.fetch_optional(
            On::Read,
            Sql::same(&format!(
                "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1 AND user_id = $2"
            )),
            &[id.into(), user.into()],
        )
        .await
    }

    async fn advance_upload(
        &self,
        id: &str,
        advance: UploadAdvance<'_>,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let from = to_i64(advance.from, "an offset of")?;
        let to = to_i64(advance.to, "an offset of")?;
        if to < from {
            return Err(StoreError::Invalid(format!(
                "an upload cannot move back from {from} to {to}"
            )));
        }
        let n = self
            .execute_alone(
                Sql::same(
                    "UPDATE uploads SET received = $1, hash_state = $2, sha256 = $3, \
                     updated_at = $4, expires_at = $5, object_state = COALESCE($8, object_state) \
                     WHERE id = $6 AND received = $7 AND job_id IS NULL AND expires_at > $4",
                ),
                &[
                    to.into(),
                    advance.hash_state.into(),
                    advance.sha256.into(),
                    now.into(),
                    advance.expires_at.into(),
                    id.into(),
                    from.into(),
                    advance.object_state.into(),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn hold_upload(
        &self,
        id: &str,
        writer: &str,
        until: Millis,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute_alone(
                Sql::same(
                    "UPDATE uploads SET writer = $1, writer_until = $2 WHERE id = $3 \
                     AND (writer IS NULL OR writer = $1 OR writer_until <= $4)",
                ),
                &[writer.into(), until.into(), id.into(), now.into()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn release_upload(&self, id: &str, writer: &str) -> Result<(), StoreError> {
        self.execute_alone(
            Sql::same(
                "UPDATE uploads SET writer = NULL, writer_until = NULL \
                 WHERE id = $1 AND writer = $2",
            ),
            &[id.into(), writer.into()],
        )
        .await?;
        Ok(())
    }

    async fn open_upload_bytes(&self, user: &str, now: Millis) -> Result<u64, StoreError> {
        if !self.stores_nul() && user.contains('\0') {
            return Ok(0);
        }
        let (bytes,): (i64,) = self
            .fetch_one(
                On::Read,
                Sql::same(
                    "SELECT CAST(COALESCE(SUM(length), 0) AS BIGINT) FROM uploads \
                     WHERE user_id = $1 AND job_id IS NULL AND expires_at > $2",
                ),
                &[user.into(), now.into()],
            )
            .await?;
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    async fn expire_upload(&self, id: &str, user: &str, now: Millis) -> Result<bool, StoreError> {
        if !self.stores_nul() && (id.contains('\0') || user.contains('\0')) {
            return Ok(false);
        }
        let n = self
            .execute_alone(
                Sql::same(
                    "UPDATE uploads SET expires_at = $1, updated_at = $1 \
                     WHERE id = $2 AND user_id = $3 AND job_id IS NULL AND expires_at > $1",
                ),
                &[now.into(), id.into(), user.into()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn removable_uploads(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<ResumableUpload>, StoreError> {
        self.fetch_all(
            On::Read,
            Sql::same(&format!(
                "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE {REMOVABLE} \
                 ORDER BY expires_at, id LIMIT $2"
            )),
            &[now.into(), i64::from(limit).into()],
        )
        .await
    }

    async fn forget_upload(&self, id: &str, now: Millis) -> Result<bool, StoreError> {
        let n = self
            .execute_alone(
                Sql::same(&format!(
                    "DELETE FROM uploads WHERE id = $2 AND {REMOVABLE}"
                )),
                &[now.into(), id.into()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn create_job_from_uploads(
        &self,
        new: NewJob,
        uploads: &[String],
        now: Millis,
    ) -> Result<Created, StoreError> {
        creation::create_job_consuming(self, new, uploads, now).await
    }
}

/// The SHA-256 of no bytes.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
