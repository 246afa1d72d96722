//! The configuration file through the real binary: `serve` takes its data directory and
//! address from `--config`, a `SPENDLENS_*` variable beats the file, a bad file stops the
//! command with the file, the key and the reason, and `config check` lists what the file sets
//! with the database password masked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use spendlens_store::testing::tempfile_dir::TempDir;

/// The binary with no `SPENDLENS_*` setting from the test's own environment.
fn spendlens() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spendlens"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SPENDLENS_") {
            command.env_remove(name);
        }
    }
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// Starts `serve` with `command`, returns the line it prints once listening, and stops it.
fn serving_line(mut command: Command) -> String {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert!(
        line.starts_with("spendlens is serving"),
        "serve did not start: {line:?} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    line
}

#[test]
fn serve_reads_the_file_and_the_environment_beats_it() {
    let dir = TempDir::new().unwrap();
    let port = free_port();
    let config = dir.path().join("spendlens.toml");
    write(
        &config,
        &format!(
            "data_dir = \"{}\"\nlog = \"warn\"\n\n[serve]\nlisten = \"127.0.0.1:{port}\"\nno_scheduler = true\nsession_hours = 24\n",
            dir.path().join("from-file").display()
        ),
    );

    let mut command = spendlens();
    command.arg("--config").arg(&config).arg("serve");
    let line = serving_line(command);
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(line.contains("from-file"), "{line}");
    assert!(dir.path().join("from-file").join("master.key").exists());

    // The environment beats the file; `SPENDLENS_CONFIG` names the file.
    let mut command = spendlens();
    command
        .env("SPENDLENS_CONFIG", &config)
        .env("SPENDLENS_DATA_DIR", dir.path().join("from-env"))
        .arg("serve");
    let line = serving_line(command);
    assert!(line.contains("from-env"), "{line}");
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
}

#[test]
fn a_bad_file_stops_every_command_with_the_key_and_the_reason() {
    let dir = TempDir::new().unwrap();
    let config = dir.path().join("bad.toml");
    let run = |text: &str| {
        write(&config, text);
        let output = spendlens()
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("migrate")
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let (code, err) = run("[serve]\nlisten_on = \"0.0.0.0:80\"\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("bad.toml") && err.contains("listen_on"),
        "{err}"
    );
    let (code, err) = run("[serve]\nsession_idle_minutes = 1\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("serve.session_idle_minutes = 1") && err.contains("5..=43200"),
        "{err}"
    );
    let (code, err) = run("log = [\"info\"]\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("log"), "{err}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing ran with a bad file"
    );

    let output = spendlens()
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .arg("migrate")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot read the configuration file") && err.contains("missing.toml"),
        "{err}"
    );
}

#[test]
fn config_check_lists_the_settings_masks_the_password_and_warns_on_a_readable_file() {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = TempDir::new().unwrap();
    let config = dir.path().join("spendlens.toml");
    write(
        &config,
        "database_url = \"postgres://app:hunter2@db.internal/spend\"\nlog = \"info\"\n[serve]\nmeter_retention_days = 90\n",
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = spendlens()
        .env("SPENDLENS_LOG", "debug")
        .arg("--config")
        .arg(&config)
        .args(["config", "check"])
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{out}{err}");
    assert!(out.contains("is valid: 3 setting(s)"), "{out}");
    assert!(
        out.contains("postgres://app:***@db.internal/spend"),
        "{out}"
    );
    assert!(out.contains("serve.meter_retention_days  90"), "{out}");
    assert!(out.contains("(overridden here by SPENDLENS_LOG)"), "{out}");
    assert!(!out.contains("hunter2") && !err.contains("hunter2"));
    assert!(err.contains("chmod 600"), "{err}");

    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let output = spendlens()
        .arg("--config")
        .arg(&config)
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(!String::from_utf8_lossy(&output.stderr).contains("chmod"));

    let output = spendlens().args(["config", "check"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no configuration file given"));
}
