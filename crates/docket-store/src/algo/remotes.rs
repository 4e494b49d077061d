//! Remotes' circuit breakers, written once. The breaker's rules are `docket_core::RemoteHealth`;
//! a transaction locks the remote's row, lets it decide, and writes it back. Lock order: the
//! remote's row, then job rows (in id order), then items.

use async_trait::async_trait;
use docket_core::{BreakerPolicy, Millis, PauseReason, RemoteHealth};

use super::control::load_book;
use super::sql::{On, Sql, Statements};
use crate::{RemoteStore, StoreError};

const COLUMNS: &str = "name, state, since, failures, window_started_at, last_error, \
                       last_error_at, next_probe_at, probes";

type Row = (
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
);

fn health(row: Row) -> RemoteHealth {
    let (name, state, since, failures, window, last_error, last_error_at, next_probe_at, probes) =
        row;
    RemoteHealth {
        name,
        up: state != "down",
        since,
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        window_started_at: window,
        last_error,
        last_error_at,
        next_probe_at,
        probes: u32::try_from(probes).unwrap_or(u32::MAX),
    }
}

/// The remote's row, locked for this transaction (made first if it has none yet).
async fn lock_remote<D: Statements>(
    driver: &D,
    tx: &mut D::Tx,
    remote: &str,
    now: Millis,
) -> Result<RemoteHealth, StoreError> {
    driver
        .execute(
            tx,
            Sql::same(
                "INSERT INTO remotes (name, state, since, updated_at) VALUES ($1, 'up', $2, $2) \
                 ON CONFLICT (name) DO NOTHING",
            ),
            &[remote.into(), now.into()],
        )
        .await?;
    let row: Row = driver
        .fetch_one(
            On::Tx(tx),
            Sql::each(
                &format!("SELECT {COLUMNS} FROM remotes WHERE name = $1"),
                &format!("SELECT {COLUMNS} FROM remotes WHERE name = $1 FOR UPDATE"),
            ),
            &[remote.into()],
        )
        .await?;
    Ok(health(row))
}

async fn write_remote<D: Statements>(
    driver: &D,
    tx: &mut D::Tx,
    h: &RemoteHealth,
    now: Millis,
) -> Result<(), StoreError> {
    driver
        .execute(
            tx,
            Sql::same(
                "UPDATE remotes SET state = $2, since = $3, failures = $4, \
                 window_started_at = $5, last_error = $6, last_error_at = $7, \
                 next_probe_at = $8, probes = $9, updated_at = $10 WHERE name = $1",
            ),
            &[
                h.name.as_str().into(),
                (if h.up { "up" } else { "down" }).into(),
                h.since.into(),
                i64::from(h.failures).into(),
                h.window_started_at.into(),
                h.last_error.as_deref().into(),
                h.last_error_at.into(),
                h.next_probe_at.into(),
                i64::from(h.probes).into(),
                now.into(),
            ],
        )
        .await?;
    Ok(())
}

/// PostgreSQL's text cannot hold NUL; an error message is only for people.
fn storable(text: &str) -> String {
    text.replace('\0', " ")
}

#[async_trait]
impl<D: Statements + 'static> RemoteStore for D {
    async fn remote_failed(
        &self,
        remote: &str,
        error: &str,
        policy: BreakerPolicy,
        now: Millis,
    ) -> Result<RemoteHealth, StoreError> {
        let remote = storable(remote);
        let mut tx = self.begin().await?;
        let mut h = lock_remote(self, &mut tx, &remote, now).await?;
        h.on_transport_failure(&storable(error), now, &policy);
        write_remote(self, &mut tx, &h, now).await?;
        self.commit(tx).await?;
        Ok(h)
    }

    async fn remote_answered(&self, remote: &str, now: Millis) -> Result<(), StoreError> {
        self.execute_alone(
            Sql::same(
                "UPDATE remotes SET failures = 0, window_started_at = NULL, updated_at = $2 \
                 WHERE name = $1 AND state = 'up' AND failures > 0",
            ),
            &[storable(remote).as_str().into(), now.into()],
        )
        .await?;
        Ok(())
    }

    async fn remote_health(&self) -> Result<Vec<RemoteHealth>, StoreError> {
        let rows: Vec<Row> = self
            .fetch_all(
                On::Read,
                Sql::same(&format!("SELECT {COLUMNS} FROM remotes ORDER BY name")),
                &[],
            )
            .await?;
        Ok(rows.into_iter().map(health).collect())
    }

    async fn take_probe(
        &self,
        remote: &str,
        probes: u32,
        next_probe_at: Millis,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute_alone(
                Sql::same(
                    "UPDATE remotes SET next_probe_at = $2, probes = probes + 1, updated_at = $4 \
                     WHERE name = $1 AND state = 'down' AND probes = $3 AND next_probe_at <= $4",
                ),
                &[
                    storable(remote).as_str().into(),
                    next_probe_at.into(),
                    i64::from(probes).into(),
                    now.into(),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn pause_for_remote(
        &self,
        job_id: &str,
        remote: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let remote = storable(remote);
        let mut tx = self.begin().await?;
        let h = lock_remote(self, &mut tx, &remote, now).await?;
        if h.up {
            self.rollback(tx).await?;
            return Ok(false);
        }
        if let Some(mut book) = load_book(self, &mut tx, job_id).await? {
            // Refused for a finished or already paused job: nothing to do.
            if book.request_pause(PauseReason::RemoteUnavailable).is_ok()
                && book.pause_reason == Some(PauseReason::RemoteUnavailable)
            {
                self.execute(
                    &mut tx,
                    Sql::same(
                        "INSERT INTO remote_waits (remote, job_id, since) VALUES ($1, $2, $3) \
                         ON CONFLICT (remote, job_id) DO NOTHING",
                    ),
                    &[remote.as_str().into(), job_id.into(), now.into()],
                )
                .await?;
                super::write_book(self, &mut tx, job_id, &book, now, None).await?;
            }
        }
        self.commit(tx).await?;
        Ok(true)
    }

    async fn remote_back(&self, remote: &str, now: Millis) -> Result<Vec<String>, StoreError> {
        let remote = storable(remote);
        let mut tx = self.begin().await?;
        let mut h = lock_remote(self, &mut tx, &remote, now).await?;
        let waiting: Vec<(String,)> = self
            .fetch_all(
                On::Tx(&mut tx),
                Sql::same("SELECT job_id FROM remote_waits WHERE remote = $1 ORDER BY job_id"),
                &[remote.as_str().into()],
            )
            .await?;
        let mut resumed = Vec::new();
        for (job_id,) in waiting {
            let Some(mut book) = load_book(self, &mut tx, &job_id).await? else {
                continue;
            };
            // Only a pause this remote caused: never the user's own.
            if book.pause_reason == Some(PauseReason::RemoteUnavailable) && book.resume().is_ok() {
                super::write_book(self, &mut tx, &job_id, &book, now, None).await?;
                resumed.push(job_id);
            }
        }
        self.execute(
            &mut tx,
            Sql::same("DELETE FROM remote_waits WHERE remote = $1"),
            &[remote.as_str().into()],
        )
        .await?;
        if !h.up {
            h.on_back(now);
            write_remote(self, &mut tx, &h, now).await?;
        }
        if !resumed.is_empty() {
            self.announce_work(&mut tx).await?;
        }
        self.commit(tx).await?;
        Ok(resumed)
    }
}
