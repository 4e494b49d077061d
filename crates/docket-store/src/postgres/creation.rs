//! What PostgreSQL decides in creating a job ([`crate::algo::creation`]); the statements are
//! written once there.

use super::*;
use crate::algo::creation::CreationDriver;

impl CreationDriver for PgStore {
    /// PostgreSQL text and JSON cannot hold a NUL character.
    fn refuse_unstorable(&self, new: &NewJob) -> Result<(), StoreError> {
        let source = new.source.as_ref().map(serde_json::to_value).transpose()?;
        if source.as_ref().is_some_and(holds_nul) {
            return Err(StoreError::Invalid(
                "the source contains a NUL character".into(),
            ));
        }
        Ok(())
    }
}
