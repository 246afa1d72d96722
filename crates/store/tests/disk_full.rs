//! A full disk is survived: with the SQLite database on a small tmpfs filled to the last byte,
//! writes fail cleanly with a "disk full" error; once space is freed, the next writes succeed at
//! once on every pooled connection (no connection is left holding the write lock, so nothing
//! waits out the 30-second busy timeout), without a restart.
//!
//! Needs to mount a tmpfs (root). Where it cannot, the test says so and passes, unless
//! `SPENDLENS_REQUIRE_TMPFS=1` (set by `.ci/run`) makes that a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use spendlens_store::testing::tempfile_dir::TempDir;
use spendlens_store::{AuditVerdict, DatabaseLocation, Store};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-22 08:00 UTC);

struct Tmpfs {
    mount: PathBuf,
    _dir: TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = TempDir::new().unwrap();
        let mount = dir.path().join("mnt");
        std::fs::create_dir_all(&mount).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount)
            .status();
        match status {
            Ok(status) if status.success() => Some(Tmpfs { mount, _dir: dir }),
            other => {
                let required = std::env::var("SPENDLENS_REQUIRE_TMPFS").is_ok_and(|v| v == "1");
                assert!(
                    !required,
                    "cannot mount a tmpfs ({other:?}) and SPENDLENS_REQUIRE_TMPFS=1"
                );
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs here ({other:?}); the disk-full test needs root"
                );
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

/// Writes zeros to `path` until the filesystem refuses.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 16 * 1024];
    loop {
        if file.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = file.sync_all();
}

async fn big_write(store: &Store, org: spendlens_store::OrgId, n: usize) -> Result<(), String> {
    let detail = "x".repeat(64 * 1024);
    store
        .audit(
            org,
            "test",
            "disk.fill",
            &format!("write {n}"),
            &detail,
            NOW,
        )
        .await
        .map_err(|err| err.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_recover_at_once_after_a_full_disk_is_freed() {
    let Some(fs) = Tmpfs::mount("6m") else { return };
    let location = DatabaseLocation::Sqlite {
        path: fs.mount.join("spendlens.db"),
    };
    let store = Store::open(&location).await.unwrap();
    let org = store.ensure_default_org(NOW).await.unwrap();
    store
        .probe_write(NOW)
        .await
        .expect("an empty disk is writable");

    let filler = fs.mount.join("filler");
    fill(&filler);

    // Writes now fail, with an error that says why.
    let mut failure = None;
    for n in 0..200 {
        if let Err(err) = big_write(&store, org, n).await {
            failure = Some(err);
            break;
        }
    }
    let failure = failure.expect("a write on a full disk fails");
    eprintln!("big write failed: {failure}");
    assert!(
        failure.contains("full") || failure.contains("disk"),
        "the error says the disk is full: {failure}"
    );
    // Small writes may still fit in pages the write-ahead log already holds; use those up.
    let mut small_failed = false;
    for n in 0..2000 {
        if let Err(err) = store
            .audit(org, "test", "disk.small", &format!("small {n}"), "", NOW)
            .await
        {
            eprintln!("small write {n} failed: {err}");
            small_failed = true;
            break;
        }
    }
    assert!(
        small_failed,
        "small writes fail too once the log's spare pages are used"
    );
    // The health probe (a 64 KiB write) says so too, at the latest once the pages the
    // write-ahead log already holds are used up.
    let mut probe_failure = None;
    for _ in 0..500 {
        if let Err(err) = store.probe_write(NOW).await {
            probe_failure = Some(err.to_string());
            break;
        }
    }
    let probe_failure =
        probe_failure.expect("the write probe (/healthz) sees a database that cannot write");
    eprintln!("write probe failed: {probe_failure}");

    // Every pooled connection has seen the failure.
    let mut failures = Vec::new();
    for n in 0..16 {
        let store = store.clone();
        failures.push(tokio::spawn(async move {
            big_write(&store, org, 1000 + n).await
        }));
    }
    for task in failures {
        let _ = task.await.unwrap();
    }

    std::fs::remove_file(&filler).unwrap();

    // Space is back: writes succeed at once, on every connection, concurrently.
    let started = Instant::now();
    let mut writes = Vec::new();
    for n in 0..16 {
        let store = store.clone();
        writes.push(tokio::spawn(async move {
            store
                .audit(
                    org,
                    "test",
                    "disk.freed",
                    &format!("write {n}"),
                    "small",
                    NOW,
                )
                .await
        }));
    }
    for task in writes {
        task.await
            .unwrap()
            .expect("a write after space is freed succeeds");
    }
    let recovered = started.elapsed();
    eprintln!("recovered from a full disk in {recovered:?} (16 concurrent writes)");
    assert!(
        recovered < Duration::from_secs(10),
        "writes waited {recovered:?}: a connection still held the write lock after the failure"
    );
    store
        .probe_write(NOW)
        .await
        .expect("the write probe passes again");
    let verdict = store.verify_audit(org).await.unwrap();
    assert!(
        matches!(verdict, AuditVerdict::Intact { .. }),
        "{verdict:?}"
    );
    store.close().await;
}
