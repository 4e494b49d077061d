//! The database file and SQLite's companions (`-wal`, `-shm`, `-journal`) are readable by this
//! account only: documents' text and tokens' hashes live there.

use std::path::{Path, PathBuf};

use crate::StoreError;

/// Creates the database's directory (if missing) as 0700 and the database file (if missing)
/// as 0600 before SQLite opens it — SQLite gives the `-wal` and `-shm` files it creates the
/// database file's mode — and takes group and other access away from files that exist.
pub(super) fn make_private(db: &Path) -> Result<(), StoreError> {
    let name = db.as_os_str().to_string_lossy();
    if name.is_empty() || name.starts_with(':') || name.starts_with("file:") {
        return Ok(()); // in memory
    }
    let fail = |what: &Path, e: std::io::Error| {
        StoreError::Config(format!("cannot make {} private: {e}", what.display()))
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| fail(dir, e))?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(db)
            .map_err(|e| fail(db, e))?;
        for file in companions(db) {
            let mode = match std::fs::metadata(&file) {
                Ok(m) => m.permissions().mode(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(fail(&file, e)),
            };
            if mode & 0o077 != 0 {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700))
                    .map_err(|e| fail(&file, e))?;
            }
        }
    }
    #[cfg(not(unix))]
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    }
    Ok(())
}

/// The database file and the files SQLite keeps beside it.
fn companions(db: &Path) -> Vec<PathBuf> {
    let mut files = vec![db.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files
}
