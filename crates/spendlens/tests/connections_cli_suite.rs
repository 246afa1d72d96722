//! `spendlens connections …` through the real binary (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`) against the OpenAI fake: a connection is added, its key
//! removed (history kept, and the message says how to resume), then `set-key` refuses a key of
//! the wrong kind and one the provider refuses, changing nothing, and takes the provider's key:
//! same connection, pending, the new key sealed, audited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::io::Write as _;
use std::process::{Command, Stdio};

use spendlens_domain::ConnectionStatus;
use spendlens_store::DatabaseLocation;
use spendlens_store::testing::{TestStore, tempfile_dir};

fn database_url(location: &DatabaseLocation) -> String {
    match location {
        DatabaseLocation::Sqlite { path } => format!("sqlite://{}", path.display()),
        DatabaseLocation::Postgres { url } => url.clone(),
    }
}

/// Runs `spendlens connections <args>` with `stdin` on standard input: exit code, stdout,
/// stderr.
fn connections(
    url: &str,
    data_dir: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spendlens"))
        .env_remove("SPENDLENS_DATABASE_URL")
        .arg("--database-url")
        .arg(url)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("connections")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

// Multi-threaded: the fake serves the binary's calls while this thread waits for the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_key_is_replaced_from_the_command_line_checked_live() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test = TestStore::new().await.unwrap();
    let data_dir = tempfile_dir::TempDir::new().unwrap();
    let url = database_url(test.store.location());
    let run = |args: &[&str], stdin: &str| connections(&url, data_dir.path(), args, stdin);
    let fake = spendlens_fakes::openai::OpenAiFake::builder()
        .seed(5)
        .today(time::macros::date!(2026 - 11 - 22))
        .build();
    let good_key = fake.admin_key().to_owned();
    let fake = fake.spawn().await.unwrap();
    let base = fake.base_url().trim_end_matches('/').to_owned();

    let (code, out, err) = run(
        &[
            "add",
            "--provider",
            "openai",
            "--name",
            "openai-cli",
            "--credential-stdin",
            "--base-url",
            &base,
        ],
        &good_key,
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&["remove", "openai-cli"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("its history"), "{out}");
    assert!(out.contains("spendlens connections set-key"), "{out}");

    let org = test
        .store
        .ensure_default_org(time::macros::datetime!(2026-11-22 12:00 UTC))
        .await
        .unwrap();
    let row = test.store.find_connection(org, "openai-cli").await.unwrap();
    assert_eq!(row.status, ConnectionStatus::Disconnected);
    assert!(!row.has_credential);

    // A project key (the wrong kind) and an admin key the provider refuses change nothing, and
    // the key never comes back in what is printed.
    for bad in [
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
        "sk-admin-refusedrefusedrefusedrefusedrefusedrefus",
    ] {
        let (code, out, err) = run(&["set-key", "openai-cli", "--credential-stdin"], bad);
        assert_ne!(code, 0, "{bad}: {out}");
        assert!(err.contains("The key was not changed."), "{bad}: {err}");
        assert!(!err.contains(bad) && !out.contains(bad), "{err}{out}");
        let row = test.store.find_connection(org, "openai-cli").await.unwrap();
        assert_eq!(row.status, ConnectionStatus::Disconnected, "{bad}");
        assert!(!row.has_credential, "{bad} was saved");
    }

    let (code, out, err) = run(
        &["set-key", &row.id.0.to_string(), "--credential-stdin"],
        &good_key,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Gave connection \"openai-cli\""), "{out}");
    assert!(!out.contains(&good_key), "{out}");
    let after = test.store.find_connection(org, "openai-cli").await.unwrap();
    assert_eq!(after.id, row.id);
    assert_eq!(after.status, ConnectionStatus::Pending);
    assert!(after.has_credential);
    let audit = test.store.audit_entries(org, 20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "connection.replace_credential" && e.actor == "cli"),
        "{audit:?}"
    );
    test.teardown().await;
}
