//! Jobs: this backend's name; the rest is written once ([`crate::algo::jobs`]).

use super::*;
use crate::algo::jobs::JobDriver;

impl JobDriver for SqliteStore {
    const BACKEND: &'static str = "sqlite";
}
