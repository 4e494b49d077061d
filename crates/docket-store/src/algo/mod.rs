//! Transaction algorithms written once, over a small per-backend driver whose methods only run
//! SQL (River's idea: drivers execute, they do not decide). What a transaction does with the
//! job's book lives here; how each backend locks and writes lives in its driver.

pub(crate) mod control;
