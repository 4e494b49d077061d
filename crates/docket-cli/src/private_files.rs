//! Files at rest are the account's own: `serve`, `worker` and `migrate` create files 0600 and
//! directories 0700 (the database, SQLite's `-wal`/`-shm`, blobs, staging and temporary files,
//! the token and the webhook secret).

use std::path::Path;

use anyhow::Context;

/// Sets the process umask to 077. The files are created by libraries with their default modes
/// (SQLite's VFS, `object_store`'s `LocalFileSystem` with its staging files, `tempfile`), which
/// the umask narrows; it is the one setting that reaches every one of them, also those made
/// long after start. The database file and the data and blob directories are made private
/// explicitly as well, so an older installation's files are tightened too.
pub fn restrict_new_files() {
    #[cfg(unix)]
    // SAFETY: umask(2) only sets the calling process's file mode creation mask; it cannot fail
    // and touches no memory.
    unsafe {
        libc::umask(0o077);
    }
}

/// The data directory (token, webhook secret and, by default, the database and blobs), created
/// 0700, or narrowed to 0700 if it exists.
pub fn private_data_dir(dir: &Path) -> anyhow::Result<()> {
    docket_blobs::private_dir(dir)
        .with_context(|| format!("making the data directory {} private", dir.display()))
}
