//! What SQLite decides in creating a job ([`crate::algo::creation`]); the statements are
//! written once there.

use super::*;
use crate::algo::creation::CreationDriver;

impl CreationDriver for SqliteStore {
    /// SQLite stores any text.
    fn refuse_unstorable(&self, _new: &NewJob) -> Result<(), StoreError> {
        Ok(())
    }
}
