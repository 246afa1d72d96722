//! `spendlens users …` through the real binary (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): a tenant user is added bound to a customer (refused without
//! one, and a customer is refused for any other role), listed with it, moved to another
//! customer and made a viewer — each change audited with before and after.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::process::Command;

use spendlens_store::testing::{TestStore, tempfile_dir};
use spendlens_store::{DatabaseLocation, Role};

fn database_url(location: &DatabaseLocation) -> String {
    match location {
        DatabaseLocation::Sqlite { path } => format!("sqlite://{}", path.display()),
        DatabaseLocation::Postgres { url } => url.clone(),
    }
}

/// Runs `spendlens users <args>`: exit code, stdout, stderr.
fn users(url: &str, data_dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_spendlens"))
        .env_remove("SPENDLENS_DATABASE_URL")
        .arg("--database-url")
        .arg(url)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("users")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn tenant_users_are_bound_to_one_customer_from_the_command_line() {
    let test = TestStore::new().await.unwrap();
    let data_dir = tempfile_dir::TempDir::new().unwrap();
    let url = database_url(test.store.location());
    let run = |args: &[&str]| users(&url, data_dir.path(), args);

    let (code, out, err) = run(&["add", "--email", "ops@acme.example", "--role", "tenant"]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("bound to one customer"), "{err}");
    let (code, _, err) = run(&[
        "add",
        "--email",
        "v@example.com",
        "--role",
        "viewer",
        "--customer",
        "acme",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("only tenant users are bound to a customer"),
        "{err}"
    );

    let (code, out, err) = run(&[
        "add",
        "--email",
        "ops@acme.example",
        "--role",
        "tenant",
        "--customer",
        "acme",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Added ops@acme.example as tenant of acme."),
        "{out}"
    );
    assert!(out.contains("Password (shown once): "), "{out}");
    assert!(out.contains("/portal"), "{out}");
    let (_, list, _) = run(&["list"]);
    assert!(list.contains("tenant of acme"), "{list}");

    let (code, out, err) = run(&[
        "role",
        "ops@acme.example",
        "--role",
        "tenant",
        "--customer",
        "globex",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ops@acme.example is now tenant of globex (was tenant of acme)."),
        "{out}"
    );
    let (code, out, err) = run(&["role", "ops@acme.example", "--role", "viewer"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("is now viewer (was tenant of globex)"),
        "{out}"
    );

    // The organization the commands created (an existing one is returned as it is).
    let org = test
        .store
        .ensure_default_org(time::macros::datetime!(2026-12-04 12:00 UTC))
        .await
        .unwrap();
    let user = test
        .store
        .user_by_email(org, "ops@acme.example")
        .await
        .unwrap();
    assert_eq!((user.role, user.customer), (Role::Viewer, None));
    let audit = test.store.audit_entries(org, 20).await.unwrap();
    let details: Vec<(&str, &str)> = audit
        .iter()
        .map(|e| (e.action.as_str(), e.detail.as_str()))
        .collect();
    assert!(
        details.contains(&("user.create", "role=tenant customer=acme")),
        "{details:?}"
    );
    assert!(
        details.contains(&("user.customer", "customer acme -> globex")),
        "{details:?}"
    );
    assert!(
        details.contains(&("user.role", "tenant of globex -> viewer")),
        "{details:?}"
    );
    assert!(
        details.contains(&("user.customer", "customer globex -> (none)")),
        "{details:?}"
    );
}
