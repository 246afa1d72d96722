//! Helpers of the FOCUS suites: the sync engine and real server they run, the FinOps
//! Foundation's validator (found, run, its JUnit report read), the CSV parsed into rows, exact
//! sums, and the session cookie of a sign-in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use spendlens_domain::{FixedClock, Money, PriceCatalog};
use spendlens_providers::HttpSettings;
use spendlens_store::Store;
use spendlens_store::vault::Vault;
use spendlens_sync::{SyncEngine, SyncSettings};
use time::OffsetDateTime;

/// A sync engine on `store` whose clock stands at `now` (tiny backoffs, so stand-ins' faults
/// cost nothing), and the real server over it on a random port: the engine and the base URL.
pub async fn engine_and_server(
    store: &Store,
    now: OffsetDateTime,
    owner: &str,
) -> (SyncEngine, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let engine = SyncEngine::new(
        store.clone(),
        Vault::from_key([5; 32]),
        PriceCatalog::built_in(),
        std::sync::Arc::new(FixedClock::new(now)),
        SyncSettings {
            lease: std::time::Duration::from_secs(60),
            http: HttpSettings {
                timeout: std::time::Duration::from_secs(20),
                connect_timeout: std::time::Duration::from_secs(2),
                max_retries: 2,
                base_backoff: std::time::Duration::from_millis(1),
                max_backoff: std::time::Duration::from_millis(2),
                max_retry_after: std::time::Duration::from_millis(10),
            },
            owner: owner.into(),
            allowed_base_url_hosts: Vec::new(),
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = spendlens_web::router(spendlens_web::AppState::new(engine.clone()));
    tokio::spawn(spendlens_web::serve(
        listener,
        router,
        std::future::pending(),
    ));
    (engine, base)
}

/// Rules that fail whatever the data: FOCUS 1.2's InvoiceId-C-004-C ("null when not
/// associated with an invoice") and InvoiceId-C-005-C ("not null when associated") carry no
/// condition in the validator's rule model 1.2.0.1, so one of the two fails on every file —
/// with InvoiceId empty (ours: the providers' usage APIs give no invoice ids) it is C-005.
pub const KNOWN_NOISE: &[&str] = &["InvoiceId-C-005-C"];

/// The applicability criteria spendlens's data meets (see README "FOCUS export"): usage is
/// measured (tokens, images, seconds), workspaces / projects are sub accounts, and every
/// billing account (a connection) has a name. Not claimed: public price lists and unit
/// prices (bills are amounts per day, model and key, not quantity × a published unit price),
/// commitment discounts, capacity reservations, regions, resources, tags, virtual currency.
pub const CRITERIA: &str =
    "USAGE_MEASUREMENT_SUPPORTED,SUB_ACCOUNT_SUPPORTED,ACCOUNT_NAMING_SUPPORTED";

pub fn cookie_of(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (key, value) = v.split(';').next()?.split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
        .unwrap_or_else(|| panic!("no cookie {name}"))
}

/// The validator's virtualenv, or `None` (loudly) when absent.
pub fn validator_venv() -> Option<PathBuf> {
    let required = std::env::var("SPENDLENS_REQUIRE_FOCUS").is_ok_and(|v| v == "1");
    let venv = std::env::var_os("SPENDLENS_FOCUS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/focus-venv")
        });
    if venv.join("bin/focus-validator").exists() && site_packages(&venv).is_some() {
        return Some(venv);
    }
    let help = format!(
        "focus-validator is not in {}; make it with\n  PYENV_VERSION=3.12.1 python3.12 -m venv target/focus-venv && \
         target/focus-venv/bin/pip install 'focus-validator==2.2.1' 'pyarrow<18'\n\
         (or point SPENDLENS_FOCUS_VENV at such a virtualenv; .ci/run does this and sets SPENDLENS_REQUIRE_FOCUS=1)",
        venv.display()
    );
    if required {
        panic!("SPENDLENS_REQUIRE_FOCUS=1 but {help}");
    }
    eprintln!("\n**********\nSKIPPING the FOCUS validator run: {help}\n**********\n");
    None
}

pub fn site_packages(venv: &Path) -> Option<PathBuf> {
    std::fs::read_dir(venv.join("lib"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.join("focus_validator").is_dir())
}

/// Runs the validator on `csv` (from its package's parent directory: it opens a data file
/// relative to the working directory) and returns the ids of the failed and errored rules
/// other than [`KNOWN_NOISE`], with the report's summary line.
pub fn validate(venv: &Path, csv: &Path, dir: &Path) -> (Vec<String>, String) {
    let report = dir.join("focus-report.xml");
    let output = std::process::Command::new(venv.join("bin/focus-validator"))
        .current_dir(site_packages(venv).unwrap())
        .args(["--data-file"])
        .arg(csv)
        .args([
            "--validate-version",
            "1.2",
            "--block-download",
            "--applicability-criteria",
            CRITERIA,
        ])
        .args(["--output-type", "unittest", "--output-destination"])
        .arg(&report)
        .output()
        .unwrap();
    // It exits 0 even when rules fail; a crash or a bad argument is non-zero.
    assert!(
        output.status.success(),
        "focus-validator crashed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let xml = std::fs::read_to_string(&report).unwrap();
    // <testcase name="RuleId :: Check"> … <failure …/> or <error …/>: each failed case names
    // its rule before " :: ".
    let mut failed = Vec::new();
    for case in xml.split("<testcase ").skip(1) {
        let body = case.split("</testcase>").next().unwrap_or(case);
        if body.contains("<failure") || body.contains("<error") {
            let name = body.split('"').nth(1).unwrap_or_default();
            let rule = name.split(" :: ").next().unwrap_or(name);
            if !KNOWN_NOISE.contains(&rule) {
                failed.push(rule.to_owned());
            }
        }
    }
    let head = xml
        .lines()
        .find(|l| l.contains("<testsuites"))
        .unwrap_or_default()
        .to_owned();
    (failed, head)
}

/// A Parquet file as pyarrow reads it (the validator's virtualenv has it): its schema, column
/// order and every cell as text (decimals exact, timestamps `YYYY-MM-DDTHH:MM:SSZ`, nulls "").
pub fn read_parquet(venv: &Path, file: &Path) -> Value {
    let output = std::process::Command::new(venv.join("bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/focus_support/read_parquet.py"))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pyarrow could not read {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The CSV as rows of column → value.
pub fn parse(csv: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .map(str::to_owned)
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

pub fn sum(rows: &[&BTreeMap<String, String>], column: &str) -> Money {
    rows.iter()
        .filter(|r| !r[column].is_empty())
        .map(|r| {
            Money::parse_units(&r[column])
                .unwrap_or_else(|e| panic!("{column} {:?}: {e}", r[column]))
        })
        .sum()
}

pub fn money(value: &Value) -> Money {
    Money::parse_units(value.as_str().unwrap()).unwrap()
}
