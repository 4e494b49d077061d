//! The allowed-root check of a server-folder submit. It touches the disk (`canonicalize`,
//! `is_dir`), so it runs on the blocking pool, never on the async threads.

use std::path::{Component, Path, PathBuf};

use docket_core::ErrorCode;

use crate::ServiceError;

/// The canonical folder, if it exists and lies under an allowed root. Symlinks and `..` are
/// resolved first, so neither can escape a root.
pub(crate) async fn allowed_folder(
    roots: Vec<PathBuf>,
    path: PathBuf,
) -> Result<PathBuf, ServiceError> {
    tokio::task::spawn_blocking(move || check(&roots, &path))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the allowed-root check crashed");
            ServiceError::refused(ErrorCode::Internal, "the folder could not be checked")
        })?
}

fn denied() -> ServiceError {
    ServiceError::refused(
        ErrorCode::PathNotAllowed,
        "that folder is not under an allowed root (configure DOCKET_ALLOWED_ROOTS on the server)",
    )
}

fn check(roots: &[PathBuf], path: &Path) -> Result<PathBuf, ServiceError> {
    if !path.is_absolute() {
        return Err(ServiceError::refused(
            ErrorCode::InvalidRequest,
            "`source.path` must be an absolute path",
        ));
    }
    let lexical = normalize(path);
    let canonical = match path.canonicalize() {
        Ok(p) => p,
        // Do not reveal whether a path outside the roots exists.
        Err(_) if !roots.iter().any(|r| lexical.starts_with(r)) => return Err(denied()),
        Err(_) => {
            return Err(ServiceError::refused(
                ErrorCode::PathNotFound,
                "no such folder",
            ))
        }
    };
    if !roots.iter().any(|r| canonical.starts_with(r)) {
        return Err(denied());
    }
    if !canonical.is_dir() {
        return Err(ServiceError::refused(
            ErrorCode::PathNotFound,
            "`source.path` is not a folder",
        ));
    }
    Ok(canonical)
}

/// `path` with `.` and `..` resolved lexically (without touching the disk).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<PathBuf, ServiceError>) -> Option<ErrorCode> {
        match r {
            Err(ServiceError::Refused { code, .. }) => Some(code),
            _ => None,
        }
    }

    #[tokio::test]
    async fn only_existing_folders_under_a_root_are_allowed() {
        let root = tempfile::tempdir().unwrap();
        let root_path = root.path().canonicalize().unwrap();
        let inside = root_path.join("scans");
        std::fs::create_dir(&inside).unwrap();
        std::fs::write(inside.join("a.txt"), b"a").unwrap();
        let roots = vec![root_path.clone()];
        let allowed = allowed_folder(roots.clone(), inside.clone()).await.unwrap();
        assert_eq!(allowed, inside);
        let escape = inside.join("../../");
        assert_eq!(
            code(allowed_folder(roots.clone(), escape).await),
            Some(ErrorCode::PathNotAllowed)
        );
        assert_eq!(
            code(allowed_folder(roots.clone(), root_path.join("missing")).await),
            Some(ErrorCode::PathNotFound)
        );
        assert_eq!(
            code(allowed_folder(roots.clone(), inside.join("a.txt")).await),
            Some(ErrorCode::PathNotFound)
        );
        assert_eq!(
            code(allowed_folder(roots.clone(), PathBuf::from("/nowhere/at/all")).await),
            Some(ErrorCode::PathNotAllowed)
        );
        assert_eq!(
            code(allowed_folder(roots, PathBuf::from("relative")).await),
            Some(ErrorCode::InvalidRequest)
        );
    }
}
