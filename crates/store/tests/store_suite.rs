//! The storage conformance suite: every test runs on SQLite, and on PostgreSQL when
//! `SPENDLENS_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use spendlens_domain::{
    ApiKeyRecord, Category, CostLine, Credential, Currency, Day, DayRange, KeyStatus, Money,
    ProviderKind, Quantity, TokenCounts, Unit, WorkspaceRecord,
};
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{
    ConnectionId, ConnectionStatus, NewConnection, OrgId, RollupFilter, Store, StoreError,
    SyncRunFilter, SyncRunOutcome, SyncRunStatus, SyncTrigger, WindowWrite, WriteCounts,
};
use time::OffsetDateTime;
use time::macros::datetime;

pub(crate) const NOW: OffsetDateTime = datetime!(2026-11-22 08:00 UTC);
const ADMIN_KEY: &str = "sk-admin-AbCdefghijklmnopqrstuvwxYz12";

pub(crate) fn day(text: &str) -> Day {
    text.parse().unwrap()
}

pub(crate) fn range(from: &str, to: &str) -> DayRange {
    DayRange::new(day(from), day(to)).unwrap()
}

fn vault() -> Vault {
    Vault::from_key([42; 32])
}

pub(crate) async fn connection(store: &Store, org: OrgId, name: &str) -> ConnectionId {
    let credential = Credential::parse(ProviderKind::OpenAi, ADMIN_KEY).unwrap();
    store
        .create_connection(
            org,
            NewConnection {
                name,
                credential: &credential,
                base_url: None,
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: Some(3),
            },
            &vault(),
            NOW,
        )
        .await
        .unwrap()
        .id
}

pub(crate) fn line(
    on: &str,
    workspace: &str,
    key: Option<&str>,
    model: &str,
    dollars: &str,
) -> CostLine {
    CostLine {
        day: day(on),
        workspace_id: Some(workspace.to_owned()),
        api_key_id: key.map(str::to_owned),
        model: model.to_owned(),
        category: Category::Text,
        unit: Unit::tokens(),
        detail: String::new(),
        tokens: TokenCounts {
            input: 1000,
            output: 100,
            cache_read: 10,
            cache_write: 0,
        },
        requests: Some(3),
        quantity: Quantity::ZERO,
        cost: Money::parse_units(dollars).unwrap(),
        credits: Money::ZERO,
        currency: Currency::usd(),
        estimated: false,
        allocated: key.is_some(),
        billing: None,
        unpriced: false,
    }
}

fn workspaces() -> Vec<WorkspaceRecord> {
    ["proj_a", "proj_b"]
        .into_iter()
        .map(|id| WorkspaceRecord {
            provider_id: id.to_owned(),
            name: format!("Project {id}"),
            archived: false,
            created_at: None,
        })
        .collect()
}

fn keys() -> Vec<ApiKeyRecord> {
    vec![ApiKeyRecord {
        provider_id: "key_1".into(),
        name: Some("backend".into()),
        hint: Some("sk-proj-abc…wxyz".into()),
        workspace_id: Some("proj_a".into()),
        status: KeyStatus::Active,
        created_at: None,
        last_used_at: None,
    }]
}

pub(crate) async fn write(
    store: &Store,
    org: OrgId,
    connection: ConnectionId,
    window: DayRange,
    lines: &[CostLine],
) -> Result<WriteCounts, StoreError> {
    store
        .replace_window(WindowWrite {
            invoice_months: None,
            org,
            connection,
            window,
            workspaces: &workspaces(),
            api_keys: &keys(),
            api_keys_complete: true,
            lines,
            now: NOW,
        })
        .await
}

async fn total_cost(store: &Store, org: OrgId, period: DayRange) -> Money {
    store
        .totals_by_connection(org, period, None, &RollupFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|t| t.current.cost)
        .sum()
}

#[tokio::test]
async fn migrations_run_once_and_reopening_is_harmless() {
    let test = TestStore::new().await.unwrap();
    assert_eq!(test.store.migrate().await.unwrap(), 0);
    test.teardown().await;
}

/// SQLite syncs every commit (synchronous = FULL, 2): an acknowledged event or a finished sync
/// survives a power cut, not only a crash of the process. Checked on several pooled
/// connections, since the setting is per connection.
#[tokio::test]
async fn sqlite_commits_are_synced_to_disk_before_they_return() {
    let test = TestStore::sqlite().await.unwrap();
    let reads = (0..6).map(|_| test.store.scalar_for_tests("PRAGMA synchronous"));
    for level in futures_util::future::join_all(reads).await {
        assert_eq!(level.unwrap(), 2);
    }
    test.teardown().await;
}

/// Before migration 0019 `connections add --lookback-days N` stored N in `lookback_days`;
/// syncs now read only `lookback_override_days`. Migration 22 carries a user's value over.
#[tokio::test]
async fn a_lookback_set_before_the_override_column_survives_the_upgrade() {
    let test = TestStore::unmigrated().await.unwrap();
    let store = &test.store;
    store.migrate_through_for_tests(21).await.unwrap();
    let org = store.ensure_default_org(NOW).await.unwrap();
    let other_org = store.create_org("other", NOW).await.unwrap();
    let ten = connection(store, org, "ten-days").await;
    let default = connection(store, org, "default").await;
    let huge = connection(store, org, "huge").await;
    let edited = connection(store, org, "edited").await;
    let reset = connection(store, org, "reset").await;
    let other_reset = connection(store, other_org, "reset").await;
    for (id, days) in [
        (ten, 10),
        (default, 3),
        (huge, 400),
        (edited, 7),
        (reset, 10),
        (other_reset, 10),
    ] {
        store
            .execute_for_tests(&format!(
                "UPDATE connections SET lookback_days = {days}, lookback_override_days = NULL \
                 WHERE id = {}",
                id.0
            ))
            .await
            .unwrap();
    }
    // Set since the upgrade: the override wins.
    store
        .set_connection_lookback(
            org,
            edited,
            Some(5),
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            "",
        )
        .await
        .unwrap();
    // Returned to the provider's own look-back since the upgrade (audited): stays so.
    store
        .audit(
            org,
            "cli",
            "connection.lookback",
            "reset",
            "OpenAI's own look-back",
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(store.migrate_through_for_tests(22).await.unwrap(), 1);
    store.migrate().await.unwrap();
    let lookback = |id| async move { store.get_connection(org, id).await.unwrap().lookback_days };
    assert_eq!(lookback(ten).await, Some(10));
    assert_eq!(lookback(default).await, None);
    assert_eq!(lookback(huge).await, Some(62));
    assert_eq!(lookback(edited).await, Some(5));
    assert_eq!(lookback(reset).await, None);
    // The audit entry names a connection of the first organization only.
    let other = store
        .get_connection(other_org, other_reset)
        .await
        .unwrap()
        .lookback_days;
    assert_eq!(other, Some(10));
    test.teardown().await;
}

/// Migration 26 marks the PiAPI lines stored before the unpriced mark (raw usage of a usage
/// type with no documented rate, kept at $0) and rebuilds the cost rollups with the counts.
#[tokio::test]
async fn piapi_usage_stored_at_zero_before_the_mark_becomes_unpriced_on_upgrade() {
    let test = TestStore::unmigrated().await.unwrap();
    let store = &test.store;
    store.migrate_through_for_tests(25).await.unwrap();
    let org = store.ensure_default_org(NOW).await.unwrap();
    let openai = connection(store, org, "openai").await;
    let credential = Credential::parse(
        ProviderKind::PiApi,
        r#"{"apiKey": "pk-0123456789abcdef0123", "environment": "production"}"#,
    )
    .unwrap();
    let piapi = store
        .create_connection(
            org,
            NewConnection {
                name: "piapi",
                credential: &credential,
                base_url: None,
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: None,
            },
            &vault(),
            NOW,
        )
        .await
        .unwrap()
        .id;
    let day = day("2026-11-20").number();
    // (connection, model, unit, requests, cost nanos): only PiAPI's $0 `_usage` line is marked.
    for (id, model, unit, requests, cost) in [
        (piapi.0, "mj", "point_usage", 0, 0),
        (piapi.0, "mj", "tasks", 7, 0),
        (piapi.0, "sora2", "tasks", 2, 640_000_000),
        (openai.0, "whisper", "audio_usage", 3, 0),
    ] {
        store
            .execute_for_tests(&format!(
                "INSERT INTO cost_lines (org_id, connection_id, day, model, category, unit, \
                 detail, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, \
                 requests, quantity_micros, cost_nanos, credits_nanos, currency, estimated, \
                 allocated) VALUES ({}, {id}, {day}, '{model}', 'image', '{unit}', '', 0, 0, 0, \
                 0, {requests}, 96000000, {cost}, 0, 'USD', FALSE, FALSE)",
                org.0
            ))
            .await
            .unwrap();
    }
    assert_eq!(store.migrate_through_for_tests(26).await.unwrap(), 1);
    let period = range("2026-11-01", "2026-11-30");
    let models = store
        .totals_by_model(org, period, None, &RollupFilter::default())
        .await
        .unwrap();
    let unpriced: Vec<(&str, &str, i64)> = models
        .iter()
        .filter(|m| m.current.unpriced_lines > 0)
        .map(|m| (m.model.as_str(), m.unit.as_str(), m.current.unpriced_lines))
        .collect();
    assert_eq!(unpriced, [("mj", "point_usage", 1)]);
    // The rebuilt rollups still hold every line's money and requests.
    let totals = store
        .totals_by_connection(org, period, None, &RollupFilter::default())
        .await
        .unwrap();
    let piapi_totals = totals.iter().find(|t| t.connection_id == piapi).unwrap();
    assert_eq!(piapi_totals.current.cost, Money::from_nanos(640_000_000));
    assert_eq!(piapi_totals.current.requests, 9);
    assert_eq!(piapi_totals.current.lines, 3);
    test.teardown().await;
}

#[tokio::test]
async fn credentials_are_stored_encrypted_and_only_the_hint_is_readable() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let id = connection(store, org, "openai-prod").await;
    let row = store.get_connection(org, id).await.unwrap();
    assert_eq!(row.status, ConnectionStatus::Pending);
    assert_eq!(row.credential_hint.as_deref(), Some("sk-admin-AbC…Yz12"));
    let debug = format!("{row:?}");
    assert!(!debug.contains("defghij"), "{debug}");
    let credential = store
        .load_credential(org, id, &vault())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(credential.expose_secret(), ADMIN_KEY);
    // Another master key cannot open it, and says so.
    let err = store
        .load_credential(org, id, &Vault::from_key([1; 32]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("different master key"), "{err}");
    test.teardown().await;
}

#[tokio::test]
async fn connection_names_are_unique_per_organization() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    connection(store, org, "main").await;
    let credential = Credential::parse(ProviderKind::OpenAi, ADMIN_KEY).unwrap();
    let err = store
        .create_connection(
            org,
            NewConnection {
                name: "main",
                credential: &credential,
                base_url: None,
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: Some(3),
            },
            &vault(),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let other = store.create_org("Other", NOW).await.unwrap();
    connection(store, other, "main").await;
    assert_eq!(
        store.find_connection(org, "main").await.unwrap().org_id,
        org
    );
    test.teardown().await;
}

#[tokio::test]
async fn replacing_a_window_twice_never_double_counts() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = connection(store, org, "c").await;
    let window = range("2026-11-01", "2026-11-03");
    let lines = vec![
        line("2026-11-01", "proj_a", Some("key_1"), "gpt-4o", "1.50"),
        line("2026-11-02", "proj_a", Some("key_1"), "gpt-4o", "2.25"),
        line("2026-11-03", "proj_b", None, "gpt-4o-mini", "0.000000001"),
    ];
    let counts = write(store, org, conn, window, &lines).await.unwrap();
    assert_eq!(counts.lines, 3);
    let once = total_cost(store, org, window).await;
    write(store, org, conn, window, &lines).await.unwrap();
    assert_eq!(total_cost(store, org, window).await, once);
    assert_eq!(once.to_exact_string(), "3.750000001");
    test.teardown().await;
}

#[tokio::test]
async fn a_new_window_replaces_only_its_own_days() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = connection(store, org, "c").await;
    write(
        store,
        org,
        conn,
        range("2026-11-01", "2026-11-03"),
        &[
            line("2026-11-01", "proj_a", None, "gpt-4o", "1"),
            line("2026-11-03", "proj_a", None, "gpt-4o", "1"),
        ],
    )
    .await
    .unwrap();
    write(
        store,
        org,
        conn,
        range("2026-11-03", "2026-11-04"),
        &[line("2026-11-04", "proj_a", None, "gpt-4o", "5")],
    )
    .await
    .unwrap();
    // Day 1 kept, day 3 replaced by nothing, day 4 added.
    assert_eq!(
        total_cost(store, org, range("2026-11-01", "2026-11-04"))
            .await
            .to_exact_string(),
        "6.00"
    );
    test.teardown().await;
}

#[tokio::test]
async fn a_line_outside_the_window_is_refused_and_nothing_changes() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = connection(store, org, "c").await;
    let window = range("2026-11-01", "2026-11-02");
    write(
        store,
        org,
        conn,
        window,
        &[line("2026-11-01", "proj_a", None, "m", "1")],
    )
    .await
    .unwrap();
    let err = write(
        store,
        org,
        conn,
        window,
        &[line("2026-11-05", "proj_a", None, "m", "9")],
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("outside the window"), "{err}");
    assert_eq!(
        total_cost(store, org, window).await.to_exact_string(),
        "1.00"
    );
    test.teardown().await;
}

#[tokio::test]
async fn views_sum_the_same_money_by_every_dimension_with_the_previous_period() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = connection(store, org, "c").await;
    let mut anthropic_like = line("2026-11-04", "proj_b", None, "claude", "4");
    anthropic_like.requests = None;
    write(
        store,
        org,
        conn,
        range("2026-11-01", "2026-11-04"),
        &[
            line("2026-11-01", "proj_a", Some("key_1"), "gpt-4o", "1"),
            line("2026-11-03", "proj_a", Some("key_1"), "gpt-4o", "2"),
            line("2026-11-03", "proj_a", Some("key_2"), "gpt-4o-mini", "0.5"),
            anthropic_like,
        ],
    )
    .await
    .unwrap();
    let current = range("2026-11-03", "2026-11-04");
    let previous = current.previous().unwrap();
    let filter = RollupFilter::default();
    let by_ws = store
        .totals_by_workspace(org, current, Some(previous), &filter)
        .await
        .unwrap();
    let by_key = store
        .totals_by_key(org, current, Some(previous), &filter)
        .await
        .unwrap();
    let by_model = store
        .totals_by_model(org, current, Some(previous), &filter)
        .await
        .unwrap();
    let sum = |costs: Vec<Money>| costs.into_iter().sum::<Money>().to_exact_string();
    assert_eq!(sum(by_ws.iter().map(|r| r.current.cost).collect()), "6.50");
    assert_eq!(sum(by_key.iter().map(|r| r.current.cost).collect()), "6.50");
    assert_eq!(
        sum(by_model.iter().map(|r| r.current.cost).collect()),
        "6.50"
    );
    assert_eq!(
        sum(by_key.iter().map(|r| r.previous.cost).collect()),
        "1.00"
    );
    let claude = by_model.iter().find(|m| m.model == "claude").unwrap();
    assert_eq!(claude.current.known_requests(), None);
    let gpt = by_model.iter().find(|m| m.model == "gpt-4o").unwrap();
    assert_eq!(gpt.current.known_requests(), Some(3));
    assert_eq!(gpt.previous.cost.to_exact_string(), "1.00");
    // The key seen only in usage is kept as an unlisted key.
    let keys = store.list_api_keys(org).await.unwrap();
    let unlisted = keys.iter().find(|k| k.provider_id == "key_2").unwrap();
    assert_eq!(unlisted.status, "unlisted");
    // Drill-down: models of one key come from the lines.
    let key_1 = keys.iter().find(|k| k.provider_id == "key_1").unwrap().id;
    let of_key = store
        .totals_by_model(
            org,
            current,
            Some(previous),
            &RollupFilter {
                api_key: Some(key_1),
                ..RollupFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(of_key.len(), 1);
    assert_eq!(of_key[0].current.cost.to_exact_string(), "2.00");
    test.teardown().await;
}

#[tokio::test]
async fn renames_keep_history_and_revert_and_survive_a_sync() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = connection(store, org, "c").await;
    let window = range("2026-11-01", "2026-11-01");
    write(store, org, conn, window, &[]).await.unwrap();
    let workspace = store
        .list_workspaces(org)
        .await
        .unwrap()
        .into_iter()
        .find(|w| w.provider_id == "proj_a")
        .unwrap();
    assert_eq!(workspace.display_name, "Project proj_a");
    store
        .rename_workspace(
            org,
            workspace.id,
            "Search",
            spendlens_store::Actor {
                name: "alice",
                at: NOW,
            },
        )
        .await
        .unwrap();
    store
        .rename_workspace(
            org,
            workspace.id,
            "Search team",
            spendlens_store::Actor {
                name: "bob",
                at: NOW,
            },
        )
        .await
        .unwrap();
    // A later sync does not undo a user's name.
    write(store, org, conn, window, &[]).await.unwrap();
    assert_eq!(
        store
            .get_workspace(org, workspace.id)
            .await
            .unwrap()
            .display_name,
        "Search team"
    );
    let history = store.workspace_history(org, workspace.id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].changed_by, "bob");
    let first_change = history[1].id;
    let reverted = store
        .revert_workspace_name(
            org,
            workspace.id,
            first_change,
            spendlens_store::Actor {
                name: "carol",
                at: NOW,
            },
        )
        .await
        .unwrap();
    assert_eq!(reverted.display_name, "Project proj_a");
    assert!(!reverted.renamed);
    for bad in ["", "   ", &"x".repeat(500)] {
        assert!(matches!(
            store
                .rename_workspace(
                    org,
                    workspace.id,
                    bad,
                    spendlens_store::Actor {
                        name: "eve",
                        at: NOW
                    }
                )
                .await,
            Err(StoreError::Invalid(_))
        ));
    }
    // Another organization cannot see or rename it.
    let other = store.create_org("Other", NOW).await.unwrap();
    assert!(matches!(
        store
            .rename_workspace(
                other,
                workspace.id,
                "Mine",
                spendlens_store::Actor {
                    name: "mallory",
                    at: NOW
                }
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
    test.teardown().await;
}

#[tokio::test]
async fn only_one_process_holds_a_connections_sync_lease() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = connection(store, org, "c").await;
    let until = NOW + time::Duration::minutes(10);
    assert!(
        store
            .claim_sync_lease(org, conn, "a", NOW, until)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_sync_lease(org, conn, "b", NOW, until)
            .await
            .unwrap()
    );
    // After expiry another process may take it.
    let later = until + time::Duration::seconds(1);
    assert!(
        store
            .claim_sync_lease(org, conn, "b", later, later + time::Duration::minutes(10))
            .await
            .unwrap()
    );
    store.release_sync_lease(org, conn, "b").await.unwrap();
    assert!(
        store
            .claim_sync_lease(org, conn, "a", later, until)
            .await
            .unwrap()
    );
    test.teardown().await;
}

#[tokio::test]
async fn sync_runs_are_logged_and_interrupted_runs_are_closed() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = connection(store, org, "c").await;
    let window = range("2026-11-01", "2026-11-02");
    let run = store
        .start_sync_run(org, conn, SyncTrigger::Manual, window, NOW)
        .await
        .unwrap();
    store
        .finish_sync_run(
            run,
            &SyncRunOutcome {
                status: SyncRunStatus::Failed,
                counts: WriteCounts::default(),
                http_calls: 4,
                retries: 2,
                error: Some("OpenAI returned HTTP 500".into()),
                notes: None,
            },
            NOW,
        )
        .await
        .unwrap();
    store
        .start_sync_run(org, conn, SyncTrigger::Scheduled, window, NOW)
        .await
        .unwrap();
    assert_eq!(store.fail_abandoned_runs(NOW).await.unwrap(), 1);
    let failed = store
        .list_sync_runs(
            org,
            &SyncRunFilter {
                status: Some(SyncRunStatus::Failed),
                ..SyncRunFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().any(|r| r.http_calls == 4 && r.retries == 2));
    assert!(
        failed
            .iter()
            .any(|r| r.error.as_deref().unwrap_or("").contains("interrupted"))
    );
    test.teardown().await;
}

#[tokio::test]
async fn api_tokens_authenticate_until_revoked_and_are_stored_hashed() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let token = store.create_api_token(org, "ci", NOW).await.unwrap();
    assert!(token.secret.starts_with("sl_"));
    assert_eq!(
        store
            .authenticate_api_token(&token.secret, NOW)
            .await
            .unwrap(),
        Some(org)
    );
    assert_eq!(
        store.authenticate_api_token("sl_nope", NOW).await.unwrap(),
        None
    );
    let listed = store.list_api_tokens(org).await.unwrap();
    assert!(!format!("{listed:?}").contains(&token.secret[8..]));
    store
        .revoke_api_token(
            org,
            token.id,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .authenticate_api_token(&token.secret, NOW)
            .await
            .unwrap(),
        None
    );
    test.teardown().await;
}

#[tokio::test]
async fn deleting_a_connection_removes_its_data_and_nothing_else() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let keep = connection(store, org, "keep").await;
    let drop = connection(store, org, "drop").await;
    let window = range("2026-11-01", "2026-11-01");
    for conn in [keep, drop] {
        write(
            store,
            org,
            conn,
            window,
            &[line("2026-11-01", "proj_a", None, "m", "1")],
        )
        .await
        .unwrap();
    }
    store
        .delete_connection(
            org,
            drop,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            "",
        )
        .await
        .unwrap();
    assert_eq!(
        total_cost(store, org, window).await.to_exact_string(),
        "1.00"
    );
    assert_eq!(store.list_connections(org).await.unwrap().len(), 1);
    test.teardown().await;
}

#[tokio::test]
async fn a_sync_outcome_updates_the_connection() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = connection(store, org, "c").await;
    store
        .record_sync_outcome(
            org,
            conn,
            ConnectionStatus::Connected,
            None,
            Some(day("2026-11-20")),
            false,
            Some("note"),
            NOW,
            None,
        )
        .await
        .unwrap();
    let row = store.get_connection(org, conn).await.unwrap();
    assert_eq!(row.status, ConnectionStatus::Connected);
    assert_eq!(row.synced_through, Some(day("2026-11-20")));
    assert_eq!(row.notes.as_deref(), Some("note"));
    assert_eq!(row.last_success_at, Some(NOW));
    for attempt in 1..=2 {
        store
            .record_sync_outcome(
                org,
                conn,
                ConnectionStatus::Error,
                Some("bad"),
                None,
                true,
                None,
                NOW,
                None,
            )
            .await
            .unwrap();
        let row = store.get_connection(org, conn).await.unwrap();
        assert_eq!(row.status, ConnectionStatus::Error);
        assert_eq!(row.auth_failures, attempt);
        assert_eq!(row.synced_through, Some(day("2026-11-20")));
    }
    test.teardown().await;
}

/// Rollup blocks of every level agree with the lines they summarize, for any period, after
/// overlapping window replacements.
#[tokio::test]
async fn rollups_agree_with_their_lines_for_any_period() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = connection(store, org, "c").await;
    let start = day("2026-06-01");
    let mut seed = 12345u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    // The expected cost per (day number, key), kept in memory as the store should.
    let mut truth: std::collections::BTreeMap<(i32, Option<String>), i64> = Default::default();
    for _ in 0..12 {
        let from = start.add_days((next() % 150) as i64).unwrap();
        let to = from.add_days((next() % 40) as i64).unwrap();
        let window = DayRange::new(from, to).unwrap();
        let mut lines = Vec::new();
        for d in window.days() {
            for key in ["key_1", "key_2"] {
                if next() % 3 == 0 {
                    continue;
                }
                let mut l = line(&d.to_string(), "proj_a", Some(key), "gpt-4o", "0");
                l.cost = Money::from_nanos((next() % 1_000_000_000) as i64);
                lines.push(l);
            }
        }
        truth.retain(|(d, _), _| !window.contains(Day::from_number(*d).unwrap()));
        for l in &lines {
            *truth
                .entry((l.day.number(), l.api_key_id.clone()))
                .or_default() += l.cost.nanos();
        }
        write(store, org, conn, window, &lines).await.unwrap();
    }
    for _ in 0..25 {
        let from = start.add_days((next() % 180) as i64).unwrap();
        let period = DayRange::new(from, from.add_days((next() % 120) as i64).unwrap()).unwrap();
        let previous = period.previous().unwrap();
        let rows = store
            .totals_by_key(org, period, Some(previous), &RollupFilter::default())
            .await
            .unwrap();
        let expected = |range: DayRange| -> i64 {
            truth
                .iter()
                .filter(|((d, _), _)| range.contains(Day::from_number(*d).unwrap()))
                .map(|(_, v)| v)
                .sum()
        };
        let current: i64 = rows.iter().map(|r| r.current.cost.nanos()).sum();
        let before: i64 = rows.iter().map(|r| r.previous.cost.nanos()).sum();
        assert_eq!(current, expected(period), "{period}");
        assert_eq!(before, expected(previous), "{previous}");
        let by_model: i64 = store
            .totals_by_model(org, period, Some(previous), &RollupFilter::default())
            .await
            .unwrap()
            .iter()
            .map(|r| r.current.cost.nanos())
            .sum();
        assert_eq!(by_model, expected(period), "{period}");
        // The models of one workspace come from the workspace x model rollup.
        let workspace = store.list_workspaces(org).await.unwrap()[0].id;
        let of_workspace: i64 = store
            .totals_by_model(
                org,
                period,
                Some(previous),
                &RollupFilter {
                    workspaces: Some(vec![workspace]),
                    ..RollupFilter::default()
                },
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.current.cost.nanos())
            .sum();
        assert_eq!(of_workspace, expected(period), "{period} of one workspace");
    }
    test.teardown().await;
}

#[tokio::test]
async fn sessions_name_their_user_until_they_expire_or_end() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let user = store
        .create_user(
            org,
            " Alice@Example.com ",
            "$argon2id$fake",
            spendlens_store::Role::Viewer,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(user.email, "alice@example.com");
    assert!(matches!(
        store
            .create_user(
                org,
                "alice@example.com",
                "x",
                spendlens_store::Role::Admin,
                NOW
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    let session = store
        .create_session(&user, NOW, time::Duration::hours(1))
        .await
        .unwrap();
    let found = store
        .session(&session.token, NOW, time::Duration::hours(12))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user.id, user.id);
    assert_eq!(found.csrf_token, session.csrf_token);
    assert!(
        store
            .session("not-a-token", NOW, time::Duration::hours(12))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session(
                &session.token,
                NOW + time::Duration::hours(2),
                time::Duration::hours(12)
            )
            .await
            .unwrap()
            .is_none()
    );
    store.delete_session(&session.token).await.unwrap();
    assert!(
        store
            .session(&session.token, NOW, time::Duration::hours(12))
            .await
            .unwrap()
            .is_none()
    );
    test.teardown().await;
}

#[tokio::test]
async fn idle_sessions_end_and_disabled_or_removed_users_lose_theirs() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let idle = time::Duration::minutes(30);
    let admin = store
        .create_user(
            org,
            "root@example.com",
            "h",
            spendlens_store::Role::Admin,
            NOW,
        )
        .await
        .unwrap();
    let bob = store
        .create_user(
            org,
            "bob@example.com",
            "h",
            spendlens_store::Role::Viewer,
            NOW,
        )
        .await
        .unwrap();
    let week = time::Duration::days(7);

    // Used every 20 minutes, a session lives on; left alone for 31 minutes, it ends.
    let session = store.create_session(&bob, NOW, week).await.unwrap();
    let mut at = NOW;
    for _ in 0..4 {
        at += time::Duration::minutes(20);
        assert!(
            store
                .session(&session.token, at, idle)
                .await
                .unwrap()
                .is_some()
        );
    }
    assert!(
        store
            .session(&session.token, at + time::Duration::minutes(31), idle)
            .await
            .unwrap()
            .is_none()
    );

    // Sessions are listed and ended one by one or all at once.
    let one = store.create_session(&bob, NOW, week).await.unwrap();
    let two = store.create_session(&bob, NOW, week).await.unwrap();
    let listed = store.list_sessions(org, bob.id, NOW).await.unwrap();
    assert_eq!(listed.len(), 3);
    let one_id = Store::session_id_of(&one.token);
    assert!(listed.iter().any(|s| s.id == one_id));
    assert_eq!(
        store
            .revoke_sessions(
                org,
                bob.id,
                Some(&one_id),
                spendlens_store::Actor {
                    name: "test",
                    at: NOW
                }
            )
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .session(&one.token, NOW, idle)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session(&two.token, NOW, idle)
            .await
            .unwrap()
            .is_some()
    );

    // Disabling signs the user out everywhere and keeps them out until enabled again.
    let disabled = store
        .set_user_disabled(
            org,
            bob.id,
            true,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
        )
        .await
        .unwrap();
    assert_eq!(disabled.disabled_at, Some(NOW));
    assert!(
        store
            .session(&two.token, NOW, idle)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .list_sessions(org, bob.id, NOW)
            .await
            .unwrap()
            .is_empty()
    );
    let enabled = store
        .set_user_disabled(
            org,
            bob.id,
            false,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
        )
        .await
        .unwrap();
    assert_eq!(enabled.disabled_at, None);

    // The last active admin can be neither disabled nor removed.
    for result in [
        store
            .set_user_disabled(
                org,
                admin.id,
                true,
                spendlens_store::Actor {
                    name: "test",
                    at: NOW,
                },
            )
            .await
            .map(|_| ()),
        store
            .remove_user(
                org,
                admin.id,
                spendlens_store::Actor {
                    name: "test",
                    at: NOW,
                },
            )
            .await
            .map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(StoreError::Conflict(ref m)) if m.contains("last active admin")),
            "{result:?}"
        );
    }
    let bob_session = store.create_session(&bob, NOW, week).await.unwrap();
    store
        .remove_user(
            org,
            bob.id,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .session(&bob_session.token, NOW, idle)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .user_for_login("bob@example.com")
            .await
            .unwrap()
            .is_none()
    );
    test.teardown().await;
}

/// The audit entry of a removal is written in the removal's transaction: a refused removal
/// leaves no entry, a done one exactly one, and two admins removing each other at once leave
/// one admin (the last-admin rule is checked under the organization's lock).
#[tokio::test]
async fn removals_write_their_audit_entry_in_the_same_transaction() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let actor = spendlens_store::Actor {
        name: "root@example.com",
        at: NOW,
    };
    let mut admins = Vec::new();
    for email in ["a@example.com", "b@example.com"] {
        admins.push(
            store
                .create_user(org, email, "h", spendlens_store::Role::Admin, NOW)
                .await
                .unwrap(),
        );
    }
    let removals = |entries: &[spendlens_store::AuditEntry]| {
        entries
            .iter()
            .filter(|e| e.action == "user.remove")
            .map(|e| (e.actor.clone(), e.subject.clone(), e.detail.clone()))
            .collect::<Vec<_>>()
    };

    let (first, second) = tokio::join!(
        store.remove_user(org, admins[0].id, actor),
        store.remove_user(org, admins[1].id, actor)
    );
    let refused: Vec<_> = [&first, &second]
        .into_iter()
        .filter_map(|r| r.as_ref().err())
        .collect();
    assert_eq!(refused.len(), 1, "{first:?} {second:?}");
    assert!(
        matches!(refused[0], StoreError::Conflict(m) if m.contains("last active admin")),
        "{refused:?}"
    );
    let left = store.list_users(org).await.unwrap();
    assert_eq!(left.len(), 1, "one admin is left");
    let entries = store.audit_entries(org, 100).await.unwrap();
    let removed = removals(&entries);
    assert_eq!(
        removed.len(),
        1,
        "only the removal that happened is logged: {removed:?}"
    );
    assert_ne!(removed[0].1, left[0].email);
    assert_eq!(removed[0].0, "root@example.com");
    assert_eq!(removed[0].2, "role=admin");
    assert_eq!(
        store.verify_audit(org).await.unwrap(),
        spendlens_store::AuditVerdict::Intact {
            entries: entries.len()
        }
    );

    // A token's revocation and its entry go together; a second revocation changes and logs nothing.
    let token = store.create_api_token(org, "ci", NOW).await.unwrap();
    store.revoke_api_token(org, token.id, actor).await.unwrap();
    assert!(matches!(
        store.revoke_api_token(org, token.id, actor).await,
        Err(StoreError::NotFound { .. })
    ));
    let entries = store.audit_entries(org, 100).await.unwrap();
    let revoked: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "token.revoke")
        .collect();
    assert_eq!(revoked.len(), 1, "{entries:?}");
    assert_eq!(revoked[0].subject, "ci");
    assert_eq!(revoked[0].detail, format!("token {}", token.id));
    test.teardown().await;
}

#[tokio::test]
async fn an_edited_or_removed_audit_entry_breaks_the_chain() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    for i in 0..4 {
        store
            .audit(
                org,
                "alice",
                "workspace.rename",
                &format!("workspace {i}"),
                "a → b",
                NOW,
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store.verify_audit(org).await.unwrap(),
        spendlens_store::AuditVerdict::Intact { entries: 4 }
    );
    let entries = store.audit_entries(org, 10).await.unwrap();
    let second = entries[2].id;
    // Tamper through SQL, as someone with database access could.
    let url = test.store.location().clone();
    let tamper = spendlens_store::Store::connect(&url).await.unwrap();
    tamper
        .execute_for_tests(&format!(
            "UPDATE audit_log SET actor = 'mallory' WHERE id = {second}"
        ))
        .await
        .unwrap();
    assert!(matches!(
        store.verify_audit(org).await.unwrap(),
        spendlens_store::AuditVerdict::Broken { entry_id, .. } if entry_id == second
    ));
    tamper
        .execute_for_tests(&format!("DELETE FROM audit_log WHERE id = {second}"))
        .await
        .unwrap();
    assert!(matches!(
        store.verify_audit(org).await.unwrap(),
        spendlens_store::AuditVerdict::Broken { .. }
    ));
    tamper.close().await;
    test.teardown().await;
}

#[tokio::test]
async fn two_first_run_setups_at_once_make_one_admin() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let (first, second) = tokio::join!(
        store.create_first_admin(org, "a@example.com", "h", NOW),
        store.create_first_admin(org, "b@example.com", "h", NOW)
    );
    let made = [&first, &second].iter().filter(|r| r.is_ok()).count();
    assert_eq!(made, 1, "{first:?} {second:?}");
    let refused = [first, second].into_iter().find_map(Result::err).unwrap();
    assert!(
        matches!(&refused, spendlens_store::StoreError::Conflict(m) if m.contains("setup is done")),
        "{refused}"
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
    // The one audit entry is the admin's own.
    let entries = store.audit_entries(org, 10).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].action, "user.create");
}

/// A line of `on` billed in `code` (the USD cost converted at 1:1 for the test).
fn billed_in(on: &str, model: &str, code: &str) -> CostLine {
    let mut l = line(on, "proj_a", None, model, "2.00");
    l.billing = Some(spendlens_domain::Billed {
        currency: Currency::parse(code).unwrap(),
        cost: Money::parse_units("2.00").unwrap(),
        credits: Money::ZERO,
    });
    l
}

#[tokio::test]
async fn foreign_billing_currencies_are_those_billed_inside_the_days_asked() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let (a, b) = (
        connection(store, org, "a").await,
        connection(store, org, "b").await,
    );
    let window = DayRange::new(day("2026-03-01"), day("2026-03-31")).unwrap();
    let lines_a = vec![
        billed_in("2026-03-02", "m1", "EUR"),
        billed_in("2026-03-20", "m2", "JPY"),
        billed_in("2026-03-25", "m3", "USD"), // billed in USD: not foreign
        line("2026-03-10", "proj_a", None, "m4", "1.00"),
    ];
    write(store, org, a, window, &lines_a).await.unwrap();
    write(
        store,
        org,
        b,
        window,
        &[billed_in("2026-03-05", "m1", "INR")],
    )
    .await
    .unwrap();
    let ask = |from: &str, to: &str, connections: Vec<ConnectionId>| {
        let days = DayRange::new(day(from), day(to)).unwrap();
        async move {
            store
                .foreign_billing_currencies(&connections, days)
                .await
                .unwrap()
        }
    };
    let code = |c: ConnectionId, s: &str| (c, s.to_owned());
    assert_eq!(
        ask("2026-03-01", "2026-03-31", vec![a, b]).await,
        vec![code(a, "EUR"), code(a, "JPY"), code(b, "INR")]
    );
    // Each currency only when one of its lines lies inside the days.
    assert_eq!(
        ask("2026-03-03", "2026-03-31", vec![a]).await,
        vec![code(a, "JPY")]
    );
    assert_eq!(
        ask("2026-03-01", "2026-03-19", vec![a]).await,
        vec![code(a, "EUR")]
    );
    assert!(ask("2026-03-21", "2026-03-31", vec![a, b]).await.is_empty());
}

#[tokio::test]
async fn the_last_day_with_spend_skips_days_whose_lines_cost_nothing() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let (a, b) = (
        connection(store, org, "a").await,
        connection(store, org, "b").await,
    );
    let window = DayRange::new(day("2026-03-01"), day("2026-03-31")).unwrap();
    let lines_a = vec![
        line("2026-03-02", "proj_a", None, "m1", "1.00"),
        line("2026-03-09", "proj_a", None, "m1", "2.00"),
        // A later day whose lines cost nothing: not a day with spend.
        line("2026-03-15", "proj_a", None, "m1", "0"),
        // proj_b: only lines that cost nothing.
        line("2026-03-04", "proj_b", None, "m1", "0"),
    ];
    write(store, org, a, window, &lines_a).await.unwrap();
    let last = store.last_spend_days(org).await.unwrap();
    let by_name = |days: &std::collections::HashMap<spendlens_store::WorkspaceId, Day>| {
        let mut out: Vec<(i64, Day)> = days.iter().map(|(w, d)| (w.0, *d)).collect();
        out.sort();
        out
    };
    assert_eq!(last.len(), 1, "{last:?}");
    assert_eq!(last.values().next(), Some(&day("2026-03-09")));

    // Spend on the zero day arrives (a sync rewrites the window), and another connection's
    // workspace spends later.
    let mut again = lines_a.clone();
    again[2] = line("2026-03-15", "proj_a", None, "m1", "0.50");
    write(store, org, a, window, &again).await.unwrap();
    write(
        store,
        org,
        b,
        window,
        &[line("2026-03-20", "proj_a", None, "m2", "3.00")],
    )
    .await
    .unwrap();
    let last = by_name(&store.last_spend_days(org).await.unwrap());
    assert_eq!(
        last.iter().map(|(_, d)| *d).collect::<Vec<_>>(),
        vec![day("2026-03-15"), day("2026-03-20")],
        "{last:?}"
    );
}
