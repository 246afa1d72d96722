//! The dashboard in a real headless Chromium, driven through chromedriver: sign in, switch
//! views, filter, sort, export CSV and compare it with the table, drill down from a workspace to
//! its keys, rename a workspace and revert it, add a connection with a wrong key type and read
//! the message. Every view is saved as a screenshot under `target/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the
//! test says so and passes, unless `SPENDLENS_REQUIRE_BROWSER=1` (as in CI), when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use spendlens_domain::SyncRequest;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use spendlens_domain::{Money, PriceCatalog, ProviderKind};
use spendlens_fakes::anthropic::AnthropicFake;
use spendlens_fakes::fal::FalFake;
use spendlens_fakes::openai::OpenAiFake;
use spendlens_fakes::runway::RunwayFake;
use spendlens_providers::{CallStats, HttpSettings};
use spendlens_store::Role;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_sync::connections::AddConnection;
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::{date, datetime};

const EMAIL: &str = "admin@browser.test";
const PASSWORD: &str = "browser test password";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find(binary: &str, env: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(binary))
            .find(|candidate| candidate.is_file())
    })
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("..")
        .join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(client: &Client, name: &str) {
    // Full-page: grow the window to the document before the screenshot.
    let height = client
        .execute("return document.documentElement.scrollHeight", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(1000)
        .clamp(600, 6000) as u32;
    let width = client
        .execute("return window.innerWidth", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(1400) as u32;
    client
        .set_window_size(width.max(390), height + 120)
        .await
        .unwrap();
    let png = client.screenshot().await.unwrap();
    assert!(png.len() > 1000, "an empty screenshot of {name}");
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// Whether the page, after running `first` (script statements, or ""), is wider than the
/// window: it would scroll sideways.
async fn page_scrolls_sideways(client: &Client, first: &str) -> bool {
    let wide = client
        .execute(
            &format!(
                "{first} return document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
            ),
            vec![],
        )
        .await
        .unwrap();
    wide.as_bool()
        .unwrap_or_else(|| panic!("the width check returned {wide}"))
}

/// Opens `url` at `width` px and fails when a table scrolls sideways in its frame, naming each
/// such table's width, its frame's and the start of its header (`rows` says what the data
/// holds).
async fn fits_at(client: &Client, url: &str, width: u32, rows: &str) {
    client.set_window_size(width, 1000).await.unwrap();
    client.goto(url).await.unwrap();
    let overflow = client
        .execute(
            "return Array.from(document.querySelectorAll('.table-wrap')).filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.scrollWidth + ' > ' + w.clientWidth + ': ' + (w.querySelector('thead') || w).innerText.slice(0, 80))",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        overflow,
        serde_json::json!([]),
        "{url} scrolls sideways at {width} px{rows}"
    );
}

async fn start_chromedriver() -> Option<(Driver, String)> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let required = std::env::var("SPENDLENS_REQUIRE_BROWSER").as_deref() == Ok("1");
    let (Some(driver), Some(_chromium)) = (
        find("chromedriver", "SPENDLENS_CHROMEDRIVER"),
        find("chromium", "SPENDLENS_CHROMIUM"),
    ) else {
        if required {
            panic!(
                "chromium and chromedriver are required (SPENDLENS_REQUIRE_BROWSER=1): apt-get install chromium chromium-driver"
            );
        }
        eprintln!(
            "SKIPPED: the browser test needs chromium and chromedriver (apt-get install chromium chromium-driver)"
        );
        return None;
    };
    let port = free_port();
    let driver = Driver(
        Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/status")).await.is_ok() {
            return Some((driver, url));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on {url}");
}

async fn browser(driver_url: &str, profile: &std::path::Path) -> Client {
    let chromium = find("chromium", "SPENDLENS_CHROMIUM").unwrap();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(driver_url)
        .await
        .unwrap()
}

/// The dashboard on a random port over data synced from the provider fakes.
async fn start_app() -> (String, SyncEngine, TestStore, Vec<Box<dyn std::any::Any>>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test = TestStore::new().await.unwrap();
    let engine = SyncEngine::new(
        test.store.clone(),
        Vault::from_key([8; 32]),
        PriceCatalog::built_in(),
        Arc::new(FixedClock::new(datetime!(2026-11-22 10:00 UTC))),
        SyncSettings {
            lease: Duration::from_secs(60),
            http: HttpSettings::default(),
            owner: "browser-test".into(),
            allowed_base_url_hosts: Vec::new(),
        },
    );
    let org = engine
        .store()
        .ensure_default_org(engine.now())
        .await
        .unwrap();
    let openai = OpenAiFake::builder()
        .seed(7)
        .today(date!(2026 - 11 - 22))
        .build();
    let openai_key = openai.admin_key().to_owned();
    let openai = openai.spawn().await.unwrap();
    let anthropic = AnthropicFake::builder()
        .seed(7)
        .today(date!(2026 - 11 - 22))
        .build();
    let anthropic_key = anthropic.admin_key().to_owned();
    let anthropic = anthropic.spawn().await.unwrap();
    for (provider, name, key, url) in [
        (
            ProviderKind::OpenAi,
            "OpenAI",
            openai_key.as_str(),
            openai.base_url().to_owned(),
        ),
        (
            ProviderKind::Anthropic,
            "Anthropic",
            anthropic_key.as_str(),
            anthropic.base_url().to_owned(),
        ),
    ] {
        let (row, _) = engine
            .add_connection(
                org,
                AddConnection {
                    provider,
                    name,
                    secret: key,
                    base_url: Some(&url),
                    skip_check: false,
                    sync_interval_secs: 3600,
                    backfill_days: 90,
                    lookback_days: Some(3),
                },
            )
            .await
            .unwrap();
        engine
            .sync_connection(
                org,
                row.id,
                None,
                SyncRequest::Scheduled,
                &CallStats::default(),
            )
            .await
            .unwrap();
    }
    engine
        .store()
        .create_user(
            org,
            EMAIL,
            &hash_password(PASSWORD).unwrap(),
            Role::Admin,
            engine.now(),
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // The Providers page waits for the forecast read however long it takes: a loaded CI
    // machine must not turn the panel this test checks into the pending one.
    tokio::spawn(spendlens_web::serve(
        listener,
        spendlens_web::router(spendlens_web::AppState::with_settings(
            engine.clone(),
            spendlens_web::WebSettings {
                forecast_panel_wait: Duration::from_secs(120),
                ..spendlens_web::WebSettings::default()
            },
        )),
        std::future::pending(),
    ));
    (
        base,
        engine,
        test,
        vec![Box::new(openai), Box::new(anthropic)],
    )
}

async fn wait_for_url(client: &Client, part: &str) {
    for _ in 0..100 {
        if client.current_url().await.unwrap().as_str().contains(part) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the browser never reached a URL with {part}: {}",
        client.current_url().await.unwrap()
    );
}

async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for element in client.find_all(Locator::Css(css)).await.unwrap() {
        out.push(element.text().await.unwrap().trim().to_owned());
    }
    out
}

fn dollars(text: &str) -> Money {
    Money::parse_units(&text.replace(['$', ','], ""))
        .unwrap_or_else(|_| panic!("not money: {text}"))
}

#[tokio::test]
async fn a_person_uses_the_dashboard_in_a_real_browser() {
    let Some((_driver, driver_url)) = start_chromedriver().await else {
        return;
    };
    let (base, engine, test, _fakes) = start_app().await;
    let profile = spendlens_store::testing::tempfile_dir::TempDir::new().unwrap();
    let client = browser(&driver_url, profile.path()).await;

    // Sign in.
    client.goto(&format!("{base}/providers")).await.unwrap();
    wait_for_url(&client, "/login").await;
    shot(&client, "00-login").await;
    client
        .find(Locator::Css("input[name=email]"))
        .await
        .unwrap()
        .send_keys(EMAIL)
        .await
        .unwrap();
    client
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(&client, "/providers").await;
    shot(&client, "01-providers").await;

    // Switch views through the tabs.
    for (tab, path, name) in [
        ("Workspaces", "/workspaces", "02-workspaces"),
        ("API Keys", "/keys", "03-keys"),
        ("Models", "/models", "04-models"),
        (
            "Workspace Management",
            "/workspace-management",
            "05-workspace-management",
        ),
        ("Connections", "/connections", "06-connections"),
        ("Sync Logs", "/sync-logs", "07-sync-logs"),
        ("Users", "/users", "08-users"),
    ] {
        client
            .find(Locator::LinkText(tab))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for_url(&client, path).await;
        let heading = client
            .find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!heading.is_empty(), "{path} has no heading");
        shot(&client, name).await;
    }

    // Filter: choosing a provider applies at once (JavaScript) and lands in the URL.
    client.set_window_size(1400, 1000).await.unwrap();
    client
        .goto(&format!("{base}/keys?period=last-30-days"))
        .await
        .unwrap();
    client
        .find(Locator::Css("select[name=provider]"))
        .await
        .unwrap()
        .select_by_value("anthropic")
        .await
        .unwrap();
    wait_for_url(&client, "provider=anthropic").await;
    let badges = texts(&client, "tbody td .badge").await;
    assert!(
        !badges.is_empty() && badges.iter().all(|b| b == "Anthropic"),
        "{badges:?}"
    );
    // A link with two providers (as shared): the select names both, not the first alone.
    client
        .goto(&format!(
            "{base}/keys?period=last-30-days&provider=openai,anthropic"
        ))
        .await
        .unwrap();
    let chosen = client
        .find(Locator::Css("select[name=provider] option:checked"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(chosen, "OpenAI + Anthropic");
    let badges = texts(&client, "tbody td .badge").await;
    assert!(
        !badges.is_empty()
            && badges.iter().all(|b| b == "Anthropic" || b == "OpenAI")
            && badges.iter().any(|b| b == "OpenAI"),
        "{badges:?}"
    );

    // Sort: the Cost header sorts ascending on the second click.
    client
        .goto(&format!(
            "{base}/keys?period=last-30-days&sort=cost&order=desc"
        ))
        .await
        .unwrap();
    client
        .find(Locator::Css("th a[href*='sort=cost&order=asc']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(&client, "order=asc").await;
    let costs: Vec<Money> = texts(&client, "tbody tr:not(.more) td[data-col=cost]")
        .await
        .iter()
        .map(|t| dollars(t))
        .collect();
    assert!(
        costs.len() > 3 && costs.windows(2).all(|w| w[0] <= w[1]),
        "{costs:?}"
    );
    shot(&client, "09-keys-sorted-ascending").await;

    // CSV export has the table's rows, in its order, and its total.
    let export = client
        .find(Locator::Css("a[download]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let session = client.get_named_cookie("spendlens_session").await.unwrap();
    let csv = reqwest::Client::new()
        .get(format!("{base}{export}"))
        .header("cookie", format!("spendlens_session={}", session.value()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let rows: Vec<&csv::StringRecord> = records
        .iter()
        .skip(4)
        .filter(|r| &r[0] != "Total")
        .collect();
    let table_names = texts(
        &client,
        "tbody tr:not(.more) td:nth-child(1) > a, tbody tr:not(.more) td:nth-child(1)",
    )
    .await;
    let csv_names: Vec<String> = rows.iter().map(|r| r[0].to_owned()).collect();
    for name in &csv_names {
        assert!(
            table_names.iter().any(|t| t.starts_with(name.as_str())),
            "{name} is in the CSV but not the table"
        );
    }
    let csv_total = records.iter().find(|r| &r[0] == "Total").unwrap()[5].to_owned();
    let table_total = client
        .find(Locator::Css("tfoot td[data-col=cost]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The total cell's first line is the amount; a rounding note may follow it.
    let table_total = table_total.lines().next().unwrap_or_default().to_owned();
    assert_eq!(
        Money::parse_units(&csv_total).unwrap().round_to_cents(),
        dollars(&table_total).round_to_cents()
    );

    // Drill down: a workspace row opens its API keys.
    client
        .goto(&format!("{base}/workspaces?period=last-30-days"))
        .await
        .unwrap();
    let link = client
        .find(Locator::Css("tbody td:first-child a"))
        .await
        .unwrap();
    let workspace = link.text().await.unwrap();
    link.click().await.unwrap();
    wait_for_url(&client, "/keys").await;
    let notice = client
        .find(Locator::Css(".notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notice.contains(&workspace), "{notice}");
    shot(&client, "10-drill-down-keys-of-a-workspace").await;

    // Rename a workspace inline, then revert it from its history.
    client
        .goto(&format!("{base}/workspace-management"))
        .await
        .unwrap();
    let label = client
        .find(Locator::Css("td[data-rename] .name-label"))
        .await
        .unwrap();
    let original = label.text().await.unwrap();
    label.click().await.unwrap();
    let input = client
        .find(Locator::Css("td[data-rename] form input[name=name]"))
        .await
        .unwrap();
    input.clear().await.unwrap();
    input.send_keys("Renamed in the browser").await.unwrap();
    client
        .find(Locator::Css("td[data-rename] form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = client
        .wait()
        .for_element(Locator::Css(".notice.ok"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notice.contains("Renamed in the browser"), "{notice}");
    shot(&client, "11-workspace-renamed").await;
    let row = client
        .find(Locator::XPath(
            "//tr[.//span[@class='name-label' and text()='Renamed in the browser']]",
        ))
        .await
        .unwrap();
    row.find(Locator::Css("summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    row.find(Locator::Css("details button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Wait for the revert's own notice: the rename's notice is still on the page until the
    // browser has loaded the next one.
    let reverted =
        "//*[contains(@class, 'notice') and contains(@class, 'ok') and contains(., 'Reverted to')]";
    let notice = client
        .wait()
        .for_element(Locator::XPath(reverted))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notice.contains(&original), "{notice}");
    let names = texts(&client, "td[data-rename] .name-label").await;
    assert!(names.contains(&original) && !names.iter().any(|n| n == "Renamed in the browser"));

    // Add a connection with the wrong kind of key: the page says what to do, nothing is saved.
    client.goto(&format!("{base}/connections")).await.unwrap();
    client
        .find(Locator::Css("select[name=provider]"))
        .await
        .unwrap()
        .select_by_value("anthropic")
        .await
        .unwrap();
    let hint = client
        .find(Locator::Id("credential-hint"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        hint.contains("sk-ant-admin01"),
        "the form shows the expected shape: {hint}"
    );
    client
        .find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("wrong key")
        .await
        .unwrap();
    client
        .find(Locator::Css("textarea[name=credential]"))
        .await
        .unwrap()
        .send_keys("sk-ant-api03-thisIsAStandardKeyNotAnAdminKey0000000000")
        .await
        .unwrap();
    client
        .find(Locator::XPath("//button[text()='Check and add']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let error = client
        .wait()
        .for_element(Locator::Css(".notice.error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        error.contains("Admin key") && error.contains("sk-ant-api03"),
        "{error}"
    );
    shot(&client, "12-wrong-key-type").await;
    assert_eq!(
        engine
            .store()
            .list_connections(
                engine
                    .store()
                    .ensure_default_org(engine.now())
                    .await
                    .unwrap()
            )
            .await
            .unwrap()
            .len(),
        2
    );

    // The brief's scenarios at 1440 px.
    client.set_window_size(1440, 1000).await.unwrap();
    // 1. A cost spike: a provider's workspaces by trend, the top one's keys, then the models
    //    of that workspace — all by clicking.
    client
        .goto(&format!("{base}/providers?period=last-30-days"))
        .await
        .unwrap();
    client
        .find(Locator::Css("tbody td:first-child a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(&client, "/workspaces").await;
    wait_for_url(&client, "provider=").await;
    client
        .find(Locator::Css("th a[href*='sort=trend']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(&client, "sort=trend").await;
    shot(&client, "14-spike-workspaces-by-trend").await;
    // The spend chart: clicking a bar segment shows that workspace on that day (plain links).
    let segment = client
        .find(Locator::Css("section[data-spend-chart] svg a rect"))
        .await
        .unwrap();
    let title = segment
        .find(Locator::Css("title"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    segment.click().await.unwrap();
    wait_for_url(&client, "from=").await;
    let url = client.current_url().await.unwrap().to_string();
    assert!(url.contains("workspace="), "{url}");
    let day = title.split(" · ").next().unwrap_or_default().to_owned();
    assert!(
        url.contains(&format!("from={day}&to={day}")),
        "{url} for {title}"
    );
    shot(&client, "14b-spike-one-day-of-one-workspace").await;
    client.back().await.unwrap();
    wait_for_url(&client, "sort=trend").await;
    let link = client
        .find(Locator::Css("tbody td:first-child a"))
        .await
        .unwrap();
    let spiking = link.text().await.unwrap();
    link.click().await.unwrap();
    wait_for_url(&client, "/keys").await;
    client
        .find(Locator::LinkText("models of this workspace"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(&client, "/models").await;
    let notice = client
        .find(Locator::Css(".notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notice.contains(&spiking), "{notice}");
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("period=last-30-days"),
        "the period carried through the drill-down"
    );
    shot(&client, "15-spike-models-of-the-workspace").await;
    let spike_models = client.current_url().await.unwrap().to_string();

    // 2. Unused keys: API keys by cost, lowest first, lead with keys that cost nothing.
    client
        .goto(&format!(
            "{base}/keys?period=last-30-days&sort=cost&order=asc"
        ))
        .await
        .unwrap();
    let costs = texts(&client, "tbody tr:not(.more) td[data-col=cost]").await;
    assert!(dollars(&costs[0]).is_zero(), "{costs:?}");
    shot(&client, "16-unused-keys").await;

    // 3. Last month's Workspaces and Models CSVs, with the same period: the tab keeps it.
    client.goto(&format!("{base}/workspaces")).await.unwrap();
    client
        .find(Locator::Css("select[name=period]"))
        .await
        .unwrap()
        .select_by_value("last-month")
        .await
        .unwrap();
    wait_for_url(&client, "period=last-month").await;
    let mut periods = Vec::new();
    for (tab, path) in [("Workspaces", "/workspaces"), ("Models", "/models")] {
        client
            .find(Locator::LinkText(tab))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for_url(&client, path).await;
        wait_for_url(&client, "period=last-month").await;
        let export = client
            .find(Locator::Css("a[download]"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        let csv = reqwest::Client::new()
            .get(format!("{base}{export}"))
            .header("cookie", format!("spendlens_session={}", session.value()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        periods.push(csv.lines().nth(1).unwrap_or_default().to_owned());
    }
    shot(&client, "17-models-last-month").await;
    let last_month_models = client.current_url().await.unwrap().to_string();
    assert_eq!(
        periods[0], periods[1],
        "the two CSVs cover different periods"
    );
    assert!(
        periods[0].contains("2026-10-01 to 2026-10-31"),
        "{periods:?}"
    );

    // A stored report, so Cost → Reports has its list to lay out.
    let org = engine
        .store()
        .ensure_default_org(engine.now())
        .await
        .unwrap();
    let token = engine
        .store()
        .create_api_token(org, "browser reports", engine.now())
        .await
        .unwrap()
        .secret;
    let api = reqwest::Client::new();
    let created: serde_json::Value = api
        .post(format!("{base}/api/v1/report-documents"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"kind": "chargeback", "scope": "all", "from": "2026-10-01", "to": "2026-10-31"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let report = created["document"]["id"].as_i64().unwrap();
    for attempt in 0.. {
        let body: serde_json::Value = api
            .get(format!("{base}/api/v1/report-documents/{report}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["status"] == "ready" {
            break;
        }
        assert!(
            attempt < 600 && body["status"] == "building",
            "report {report}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A failed sync whose error is long and carries an unbroken URL: Sync Logs must still fit.
    {
        let store = engine.store();
        let org = store.ensure_default_org(engine.now()).await.unwrap();
        let connection = store
            .list_connections(org)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.provider == ProviderKind::OpenAi)
            .unwrap()
            .id;
        let window = spendlens_domain::DayRange::new(
            spendlens_domain::Day::from_date(date!(2026 - 11 - 19)),
            spendlens_domain::Day::from_date(date!(2026 - 11 - 22)),
        )
        .unwrap();
        let run = store
            .start_sync_run(
                org,
                connection,
                spendlens_store::SyncTrigger::Manual,
                window,
                engine.now(),
            )
            .await
            .unwrap();
        store
            .finish_sync_run(
                run,
                &spendlens_store::SyncRunOutcome {
                    status: spendlens_store::SyncRunStatus::Failed,
                    counts: spendlens_store::WriteCounts::default(),
                    http_calls: 7,
                    retries: 5,
                    error: Some("rate limited (429) on page 3 of /v1/organization/costs after 5 retries over 94 s: the provider said \"Rate limit reached for organization org-AbCdEfGhIjKlMnOpQrStUvWx on requests per min (RPM): Limit 60, Used 60\"; see https://platform.openai.com/docs/guides/rate-limits?context=tier-free#usage-tiers-and-the-organization-admin-api-limits-explained. Nothing of this window was written; the next sync reads it again.".to_owned()),
                    notes: None,
                },
                engine.now(),
            )
            .await
            .unwrap();
    }

    // Layout at 1280 and 1440 px: every action of the admin pages is in view without scrolling
    // sideways.
    for width in [1280, 1440] {
        for (path, name) in [
            ("/cost/reports", "27-reports"),
            ("/workspace-management", "20-workspace-management"),
            ("/connections", "21-connections"),
            ("/sync-logs", "22-sync-logs"),
            ("/users", "23-users"),
        ] {
            fits_at(&client, &format!("{base}{path}"), width, "").await;
            shot(&client, &format!("{name}-{width}")).await;
        }
        // The failed sync's error opened in full (its URL has no space to break at).
        client.goto(&format!("{base}/sync-logs")).await.unwrap();
        assert!(
            !page_scrolls_sideways(
                &client,
                "document.querySelector('table.sync-logs details').open = true;"
            )
            .await,
            "/sync-logs with the error open at {width} px"
        );
        shot(&client, &format!("22-sync-logs-error-open-{width}")).await;
    }
    // Test and Sync now say so while they run (the button is disabled and relabelled on submit).
    client.goto(&format!("{base}/connections")).await.unwrap();
    for (action, busy) in [("/test", "Testing…"), ("/sync", "Starting…")] {
        let shown = client
            .execute(
                &format!(
                    "const f = document.querySelector('form[action$=\"{action}\"]'); f.addEventListener('submit', e => e.preventDefault()); const b = f.querySelector('button'); b.click(); return [b.textContent, b.disabled];"
                ),
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            shown,
            serde_json::json!([busy, true]),
            "{action} while it runs"
        );
    }
    // AWS Bedrock: choosing it shows Access Key ID, Secret and Region instead of the JSON box.
    client.set_window_size(1440, 1000).await.unwrap();
    client.goto(&format!("{base}/connections")).await.unwrap();
    client
        .find(Locator::Css("select[name=provider]"))
        .await
        .unwrap()
        .select_by_value("bedrock")
        .await
        .unwrap();
    let aws = client
        .find(Locator::Css("[data-for-provider=bedrock]"))
        .await
        .unwrap();
    assert!(aws.is_displayed().await.unwrap());
    assert!(
        !client
            .find(Locator::Css("textarea[name=credential]"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
    shot(&client, "24-connections-bedrock-form").await;
    // API tokens: created with a scope, shown once.
    client.goto(&format!("{base}/tokens")).await.unwrap();
    client
        .find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("finance export")
        .await
        .unwrap();
    client
        .find(Locator::Css("input[name=scope_sync]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("form[action='/tokens'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The click submits a form: wait for the next page rather than reading the old one (a
    // loaded machine failed here once).
    let secret = client
        .wait()
        .for_element(Locator::Css("#new-token"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(secret.starts_with("sl_"), "{secret}");
    shot(&client, "25-token-created").await;

    // Phone width.
    client.set_window_size(390, 844).await.unwrap();
    client
        .goto(&format!("{base}/workspaces?period=last-30-days"))
        .await
        .unwrap();
    shot(&client, "26-workspaces-chart-phone").await;
    client
        .goto(&format!("{base}/models?period=last-30-days"))
        .await
        .unwrap();
    shot(&client, "13-models-phone").await;
    for (path, name) in [
        ("/providers?period=last-30-days", "18-providers-phone"),
        ("/keys?period=last-30-days", "19-keys-phone"),
        ("/cost/reports", "28-reports-phone"),
    ] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        shot(&client, name).await;
    }
    // A legend's amount is never broken across lines ("$3,281." above "79") on a phone: the
    // label beside it wraps instead.
    for path in [
        "/workspaces?period=last-30-days",
        "/keys?period=last-30-days",
        "/models?period=last-30-days",
    ] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        let broken = client
            .execute(
                "return Array.from(document.querySelectorAll('.legend li > .muted')).filter(s => { const r = document.createRange(); r.selectNodeContents(s); return r.getClientRects().length > 1; }).map(s => s.textContent)",
                vec![],
            )
            .await
            .unwrap();
        let shown = client
            .execute(
                "return document.querySelectorAll('.legend li > .muted').length",
                vec![],
            )
            .await
            .unwrap();
        assert!(shown.as_u64().unwrap_or(0) > 0, "{path} shows a legend");
        assert_eq!(
            broken,
            serde_json::json!([]),
            "{path}: a legend amount broken across lines at 390 px"
        );
        // ...and a name breaks between its words, not inside one ("Productio" above "n").
        let split = client
            .execute(
                "return Array.from(document.querySelectorAll('.legend li > a')).filter(a => { const r = document.createRange(); r.selectNodeContents(a); const lines = new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size; return lines > a.textContent.trim().split(/[\\s\\-\\/._]+/).length; }).map(a => a.textContent)",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            split,
            serde_json::json!([]),
            "{path}: a legend name broken inside a word (not at a space, hyphen, slash, dot or underscore) at 390 px"
        );
    }
    // The brief's three scenarios end at phone width too, and no page is wider than the phone
    // (tables scroll inside their frame).
    for (url, name) in [
        (
            spike_models.clone(),
            "29-spike-models-of-the-workspace-phone",
        ),
        (
            format!("{base}/keys?period=last-30-days&sort=cost&order=asc"),
            "30-unused-keys-phone",
        ),
        (last_month_models.clone(), "31-models-last-month-phone"),
        (
            format!("{base}/workspace-management"),
            "34-workspace-management-phone",
        ),
        (format!("{base}/connections"), "35-connections-phone"),
        (format!("{base}/sync-logs"), "36-sync-logs-phone"),
    ] {
        client.goto(&url).await.unwrap();
        assert!(
            !page_scrolls_sideways(&client, "").await,
            "{url} is wider than a phone"
        );
        shot(&client, name).await;
    }

    // Work in its own units (fal.ai, Runway) widens the tables: at 1280 and 1440 px every
    // metric view, the Providers anomalies and Cost → Forecasts still fit without scrolling
    // sideways; a phone scrolls inside the table's frame, never the page.
    let _units = add_fal_and_runway(&engine).await;
    for width in [1280, 1440] {
        for (path, name) in [
            ("/providers?period=last-30-days", "providers"),
            ("/workspaces?period=last-30-days", "workspaces"),
            ("/keys?period=last-30-days", "keys"),
            ("/models?period=last-30-days", "models"),
            ("/cost/forecast", "forecast"),
        ] {
            fits_at(
                &client,
                &format!("{base}{path}"),
                width,
                " with fal.ai and Runway rows",
            )
            .await;
            shot(&client, &format!("32-{name}-units-{width}")).await;
        }
    }
    client.set_window_size(390, 844).await.unwrap();
    for (path, name) in [
        ("/models?period=last-30-days", "models"),
        ("/providers?period=last-30-days", "providers"),
    ] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        assert!(
            !page_scrolls_sideways(&client, "").await,
            "{path} at 390 px"
        );
        shot(&client, &format!("33-{name}-units-phone")).await;
    }

    // A server whose forecast read outlasts the page's wait (here: it never waits) shows the
    // Providers page at once, saying the forecast is being read; the script then fills the
    // panel in. Same store and session (a cookie is for the host, not the port).
    client.set_window_size(1440, 900).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hurried = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(spendlens_web::serve(
        listener,
        spendlens_web::router(spendlens_web::AppState::with_settings(
            engine.clone(),
            spendlens_web::WebSettings {
                forecast_panel_wait: Duration::ZERO,
                ..spendlens_web::WebSettings::default()
            },
        )),
        std::future::pending(),
    ));
    client
        .goto(&format!("{hurried}/providers?period=last-30-days"))
        .await
        .unwrap();
    let mut filled = false;
    for _ in 0..100 {
        let pending = client
            .find_all(Locator::Css("[data-forecast-pending]"))
            .await
            .unwrap();
        let panel = client
            .find_all(Locator::Css("section[data-forecast] [data-forecast-cards]"))
            .await
            .unwrap();
        if pending.is_empty() && !panel.is_empty() {
            filled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(filled, "the forecast panel was never filled in");
    assert!(!texts(&client, "section[data-forecast] h2").await.is_empty());
    shot(&client, "37-forecast-filled-in").await;

    client.close().await.unwrap();
    test.teardown().await;
}

/// fal.ai and Runway connected and synced from their fakes (kept alive by the returned value).
async fn add_fal_and_runway(engine: &SyncEngine) -> Vec<Box<dyn std::any::Any>> {
    let org = engine
        .store()
        .ensure_default_org(engine.now())
        .await
        .unwrap();
    let fal = FalFake::builder()
        .seed(7)
        .today(date!(2026 - 11 - 22))
        .build()
        .spawn()
        .await
        .unwrap();
    let runway = RunwayFake::builder()
        .seed(7)
        .today(date!(2026 - 11 - 22))
        .build()
        .spawn()
        .await
        .unwrap();
    for (provider, name, key, url) in [
        (ProviderKind::Fal, "fal.ai", fal.admin_key(), fal.base_url()),
        (
            ProviderKind::Runway,
            "Runway",
            runway.admin_key(),
            runway.base_url(),
        ),
    ] {
        let (row, _) = engine
            .add_connection(
                org,
                AddConnection {
                    provider,
                    name,
                    secret: key,
                    base_url: Some(url),
                    skip_check: true,
                    sync_interval_secs: 3600,
                    backfill_days: 60,
                    lookback_days: Some(3),
                },
            )
            .await
            .unwrap();
        engine
            .sync_connection(
                org,
                row.id,
                None,
                SyncRequest::Scheduled,
                &CallStats::default(),
            )
            .await
            .unwrap();
    }
    vec![Box::new(fal), Box::new(runway)]
}
