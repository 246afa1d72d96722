//! A login flood against the real server, in a process of its own so its memory can be read:
//! parallel wrong-password attempts must not grow the resident set past a stated bound (password
//! hashing is bounded by a semaphore; the excess is told to come back with 429 + Retry-After).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use spendlens_domain::PriceCatalog;
use spendlens_store::Role;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::datetime;

/// Parallel attempts in the flood (the report used 64; this is more).
const PARALLEL: usize = 128;

/// `SPENDLENS_FLOOD_PARALLEL` overrides [`PARALLEL`] (to measure other sizes by hand).
fn parallel() -> usize {
    std::env::var("SPENDLENS_FLOOD_PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PARALLEL)
}
/// How far the resident set may grow above what it was before the flood, at its peak. argon2
/// takes 19 MiB per hash; a bounded hasher keeps only a few of those alive at once.
const BOUND_MIB: u64 = 160;

/// A line of /proc/self/status in kB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .map(|rest| rest.trim().trim_end_matches("kB").trim().parse().unwrap())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let pair = v.split(';').next()?;
            let (key, value) = pair.split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_keeps_memory_flat_and_the_excess_gets_429() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("skipped: no /proc/self/status on this system");
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test = TestStore::new().await.unwrap();
    let engine = SyncEngine::new(
        test.store.clone(),
        Vault::from_key([9; 32]),
        PriceCatalog::built_in(),
        Arc::new(FixedClock::new(datetime!(2026-11-22 10:00 UTC))),
        SyncSettings::default(),
    );
    let now = engine.now();
    let org = engine.store().ensure_default_org(now).await.unwrap();
    engine
        .store()
        .create_user(
            org,
            "admin@example.com",
            &hash_password("flood test password").unwrap(),
            Role::Admin,
            now,
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(spendlens_web::serve(
        listener,
        spendlens_web::router(spendlens_web::AppState::new(engine.clone())),
        std::future::pending(),
    ));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let response = client.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
    let csrf = csrf_in(&response.text().await.unwrap());

    let before = status_kib("VmRSS");
    let attempts = (0..parallel()).map(|i| {
        let client = client.clone();
        let url = format!("{base}/login");
        let cookie = format!("spendlens_login_csrf={login_cookie}");
        let csrf = csrf.clone();
        tokio::spawn(async move {
            let response = client
                .post(url)
                .header(COOKIE, cookie)
                .form(&[
                    ("email", "admin@example.com"),
                    ("password", &format!("wrong password {i}")),
                    ("csrf", &csrf),
                ])
                .send()
                .await
                .unwrap();
            let retry_after = response.headers().get("retry-after").cloned();
            (response.status(), retry_after)
        })
    });
    let mut refused = 0;
    let mut throttled = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        let (status, retry_after) = attempt.await.unwrap();
        match status {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                throttled += 1;
                let seconds: u64 = retry_after
                    .expect("a 429 says when to retry")
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(seconds >= 1);
            }
            other => panic!("a wrong password answered {other}"),
        }
    }
    let peak = status_kib("VmHWM");
    let after = status_kib("VmRSS");
    let grown_mib = peak.saturating_sub(before) / 1024;
    eprintln!(
        "login flood of {}: {refused} refused (401), {throttled} throttled (429); \
         VmRSS before {} MiB, peak {} MiB (+{grown_mib} MiB), after {} MiB",
        parallel(),
        before / 1024,
        peak / 1024,
        after / 1024
    );
    assert_eq!(refused + throttled, parallel());
    assert!(refused >= 1, "some attempts are checked");
    assert!(
        grown_mib <= BOUND_MIB,
        "the resident set grew by {grown_mib} MiB under a login flood (bound {BOUND_MIB} MiB)"
    );
    // The flood locked the account: the right password is refused too, and says until when.
    let response = client
        .post(format!("{base}/login"))
        .header(COOKIE, format!("spendlens_login_csrf={login_cookie}"))
        .form(&[
            ("email", "admin@example.com"),
            ("password", "flood test password"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let page = response.text().await.unwrap();
    assert!(page.contains("locked"), "{page}");
    assert!(
        page.contains("Try again after 2026-11-22 10:15:00 UTC"),
        "{page}"
    );
    test.teardown().await;
}
