//! `spendlens budgets …` through the real binary (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): create, list with its summary and scope filter, edit (the
//! version goes up), versions, status, a check that allows and one that denies (exit 2), a
//! refused limit, and a delete that needs --yes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::process::Command;

use spendlens_store::DatabaseLocation;
use spendlens_store::testing::{TestStore, tempfile_dir};

fn database_url(location: &DatabaseLocation) -> String {
    match location {
        DatabaseLocation::Sqlite { path } => format!("sqlite://{}", path.display()),
        DatabaseLocation::Postgres { url } => url.clone(),
    }
}

struct Cli {
    url: String,
    data_dir: std::path::PathBuf,
}

impl Cli {
    /// Runs `spendlens budgets <args>`: exit code, stdout, stderr.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_spendlens"))
            .env_remove("SPENDLENS_DATABASE_URL")
            .arg("--database-url")
            .arg(&self.url)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("budgets")
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "budgets {args:?}: {out}{err}");
        out
    }
}

#[tokio::test]
async fn budgets_are_created_listed_edited_checked_and_deleted_from_the_command_line() {
    let test = TestStore::new().await.unwrap();
    let data_dir = tempfile_dir::TempDir::new().unwrap();
    let cli = Cli {
        url: database_url(test.store.location()),
        data_dir: data_dir.path().to_path_buf(),
    };
    let out = cli.ok(&[
        "create",
        "--name",
        "acme monthly",
        "--customer",
        "acme",
        "--period",
        "monthly",
        "--limit",
        "500",
    ]);
    assert!(out.contains("Added budget 1 (version 1)"), "{out}");
    cli.ok(&[
        "create",
        "--name",
        "everything",
        "--period",
        "DAILY",
        "--limit",
        "25.50",
        "--soft-pct",
        "90",
    ]);

    let (code, _, err) = cli.run(&[
        "create", "--name", "bad", "--period", "DAILY", "--limit", "-3",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("above zero"), "{err}");
    let (code, _, err) = cli.run(&[
        "create",
        "--name",
        "tenant",
        "--customer",
        "acme",
        "--period",
        "DAILY",
        "--limit",
        "900",
        "--tenant",
    ]);
    assert_ne!(code, 0);
    // The tightest platform cap governing it is named: the daily one for everything.
    assert!(err.contains("\"everything\" (id 2"), "{err}");

    let out = cli.ok(&["list"]);
    assert!(
        out.contains("customer acme") && out.contains("$500.00"),
        "{out}"
    );
    assert!(out.contains("2 budgets: 2 enabled, 0 disabled"), "{out}");
    let out = cli.ok(&["list", "--scope", "customer"]);
    assert!(
        out.contains("acme monthly") && !out.contains("everything"),
        "{out}"
    );
    let out = cli.ok(&["list", "--scope", "organization"]);
    assert!(
        !out.contains("acme monthly") && out.contains("everything"),
        "{out}"
    );

    let out = cli.ok(&["edit", "1", "--limit", "400", "--state", "disabled"]);
    assert!(out.contains("version 1 → 2"), "{out}");
    let out = cli.ok(&["versions", "1"]);
    assert!(out.contains("edited") && out.contains("created"), "{out}");
    let out = cli.ok(&["list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["disabled"], 1);

    let out = cli.ok(&["status"]);
    assert!(out.contains("everything") && out.contains("ok"), "{out}");
    let out = cli.ok(&["status", "--json"]);
    let statuses: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(statuses[1]["name"], "everything");
    assert_eq!(statuses[1]["spend"], "0.00");
    assert_eq!(statuses[1]["remaining"], "25.50");

    let out = cli.ok(&["check", "--customer", "acme", "--estimated-cost", "25"]);
    assert!(out.starts_with("allow"), "{out}");
    let (code, out, _) = cli.run(&["check", "--customer", "acme", "--estimated-cost", "26"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.starts_with("deny") && out.contains("everything"),
        "{out}"
    );

    let (code, _, err) = cli.run(&["delete", "2"]);
    assert_ne!(code, 0);
    assert!(err.contains("--yes"), "{err}");
    let out = cli.ok(&["delete", "2", "--yes"]);
    assert!(out.contains("Deleted budget 2"), "{out}");
    let out = cli.ok(&["list"]);
    assert!(out.contains("1 budgets"), "{out}");
    test.teardown().await;
}
