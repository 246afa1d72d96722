//! The SQLite database's files and connections: files created private (0600, the data directory 0700, like
//! `master.key`), and tightened when an older install left them readable by others. SQLite gives
//! its `-wal` and `-shm` files the mode of the database file, so a private database file keeps
//! them private too. And no pooled connection goes back to the pool inside a transaction: a
//! write that failed on a full disk can leave one open (SQLite keeps a transaction whose COMMIT
//! failed, and sqlx's rollback of a savepoint does not end it), and that connection would hold
//! the write lock until the process restarts — every other write waiting out the busy timeout
//! and failing with "database is locked" long after space is freed.

use std::path::{Path, PathBuf};

use sqlx::{Connection, SqliteConnection};

use crate::{StoreError, StoreResult};

/// Decides whether a connection returning to the pool is clean: a `ROLLBACK` that succeeds
/// means a transaction was left open (it is rolled back and the connection closed); a
/// connection whose transaction bookkeeping disagrees with SQLite is closed too. Runs after any
/// rollback sqlx queued on the connection, so a cleanly ended transaction is not mistaken for
/// an open one.
pub(crate) async fn release_clean(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    let was_open = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.is_ok();
    if was_open || conn.is_in_transaction() {
        tracing::warn!(
            "a database connection came back with a transaction left open (after a failed write); it was rolled back and closed"
        );
        return Ok(false);
    }
    Ok(true)
}

/// Makes sure the database file at `path` exists and is readable by its owner only (and its
/// directory, when this creates it, too).
pub(crate) fn prepare(path: &Path) -> StoreResult<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && !parent.exists()
    {
        create_private_dir(parent).map_err(|err| {
            StoreError::Location(format!(
                "cannot create the data directory {}: {err}",
                parent.display()
            ))
        })?;
    }
    if !path.exists() {
        create_private_file(path).map_err(|err| {
            StoreError::Location(format!(
                "cannot create the SQLite database {}: {err}",
                path.display()
            ))
        })?;
    }
    for file in [
        path.to_path_buf(),
        sibling(path, "-wal"),
        sibling(path, "-shm"),
    ] {
        make_private(&file).map_err(|err| {
            StoreError::Location(format!(
                "cannot make {} private (mode 0600): {err}",
                file.display()
            ))
        })?;
    }
    Ok(())
}

/// Below this much free space on the database's filesystem, the write probe reports a full
/// disk (SQLite needs room to grow the write-ahead log and checkpoint it into the database).
pub(crate) const MIN_FREE_BYTES: u64 = 1024 * 1024;

/// Free space (for unprivileged writers) on the filesystem holding `path`, when the platform
/// tells.
#[cfg(unix)]
pub(crate) fn free_bytes(path: &Path) -> Option<u64> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(unix))]
pub(crate) fn free_bytes(_path: &Path) -> Option<u64> {
    None
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Drops group and other permissions from `file` if it exists.
#[cfg(unix)]
fn make_private(file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(file) else {
        return Ok(());
    };
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_file: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    #[test]
    fn a_new_database_and_its_directory_are_private() {
        let dir = crate::testing::tempfile_dir::TempDir::new().unwrap();
        let root = dir.path();
        let path = root.join("data").join("spendlens.db");
        prepare(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&root.join("data")), 0o700);
    }

    #[test]
    fn an_existing_readable_database_and_wal_are_tightened() {
        let dir = crate::testing::tempfile_dir::TempDir::new().unwrap();
        let root = dir.path();
        let path = root.join("spendlens.db");
        for file in [path.clone(), sibling(&path, "-wal"), sibling(&path, "-shm")] {
            std::fs::write(&file, b"").unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        prepare(&path).unwrap();
        for file in [path.clone(), sibling(&path, "-wal"), sibling(&path, "-shm")] {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }
}
