//! The stored price catalog: precedence (user over built-in, most specific glob, newest entry
//! effective on the call's day), exact money through the database, add / edit / delete rules
//! and built-in imports. Runs on SQLite, and on PostgreSQL when `SPENDLENS_TEST_DATABASE_URL`
//! is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::str::FromStr;

use rust_decimal::Decimal;
use spendlens_domain::catalog::observed::{ClassTokens, ObservedCell, ObservedClass};
use spendlens_domain::catalog::{Conditions, TokenPrices, UnitPrice};
use spendlens_domain::{
    CanonicalUsage, Currency, Day, Money, PriceCatalog, PriceEntry, PriceSource, Pricing,
    ProviderKind, Unit, price,
};
use spendlens_store::testing::TestStore;
use spendlens_store::{OrgId, Store, StoreError};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-22 08:00 UTC);

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn user(provider: ProviderKind, glob: &str, input: &str, output: &str, from: &str) -> PriceEntry {
    PriceEntry {
        id: String::new(),
        provider,
        model_glob: glob.to_owned(),
        tokens: TokenPrices {
            input: Some(dec(input)),
            output: Some(dec(output)),
            ..TokenPrices::default()
        },
        units: Vec::new(),
        conditions: Conditions::default(),
        effective_from: Day::from_str(from).unwrap(),
        effective_to: None,
        currency: Currency::usd(),
        source: PriceSource::User,
        note: "negotiated rate, contract 2026-11".to_owned(),
    }
}

fn usage(input: i64, output: i64) -> CanonicalUsage {
    CanonicalUsage {
        input,
        output,
        ..CanonicalUsage::default()
    }
}

/// The entry that priced the call and its cost, or the unpriced reason.
fn priced(
    catalog: &PriceCatalog,
    provider: ProviderKind,
    model: &str,
    at: OffsetDateTime,
) -> Result<(PriceEntry, Money), String> {
    match price(catalog, provider, model, at, &usage(1_000_000, 1_000_000)) {
        Pricing::Priced(p) => Ok((*p.entry, p.cost)),
        Pricing::Unpriced(reason) => Err(reason.to_string()),
    }
}

async fn setup() -> (TestStore, OrgId) {
    let test = TestStore::new().await.unwrap();
    let org = test.store.ensure_default_org(NOW).await.unwrap();
    (test, org)
}

async fn catalog(store: &Store, org: OrgId) -> PriceCatalog {
    store.price_catalog(org).await.unwrap().catalog
}

#[tokio::test]
async fn user_prices_beat_built_in_ones_and_unknown_models_stay_unpriced() {
    let (test, org) = setup().await;
    let store = &test.store;
    let at = datetime!(2026-11-01 12:00 UTC);
    let before = catalog(store, org).await;
    let (entry, cost) = priced(&before, ProviderKind::OpenAi, "gpt-4o-mini", at).unwrap();
    assert_eq!(entry.source, PriceSource::BuiltIn);
    assert_eq!(
        cost,
        Money::parse_units("0.75").unwrap(),
        "0.15 + 0.60 per 1M"
    );
    let err = priced(&before, ProviderKind::OpenAi, "gpt-99-turbo", at).unwrap_err();
    assert!(err.contains("no price"), "{err}");

    // A broader user glob still beats the more specific built-in entry.
    let added = store
        .add_price(
            org,
            user(ProviderKind::OpenAi, "gpt-4o*", "0.1", "0.2", "2026-01-01"),
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap();
    let after = catalog(store, org).await;
    let (entry, cost) = priced(&after, ProviderKind::OpenAi, "gpt-4o-mini", at).unwrap();
    assert_eq!(entry.id, added.id);
    assert_eq!(cost, Money::parse_units("0.3").unwrap());
    // Other providers' built-in prices are still there.
    let (entry, _) = priced(&after, ProviderKind::Anthropic, "claude-sonnet-4-5", at).unwrap();
    assert_eq!(entry.source, PriceSource::BuiltIn);
    test.teardown().await;
}

#[tokio::test]
async fn the_newest_entry_effective_on_the_calls_day_prices_it() {
    let (test, org) = setup().await;
    let store = &test.store;
    let mut january = user(
        ProviderKind::Anthropic,
        "house-model*",
        "1",
        "1",
        "2026-01-01",
    );
    january.effective_to = Some(Day::from_str("2026-09-30").unwrap());
    let january = store
        .add_price(
            org,
            january,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap();
    let june = store
        .add_price(
            org,
            user(
                ProviderKind::Anthropic,
                "house-model*",
                "2",
                "2",
                "2026-06-01",
            ),
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap();
    let catalog = catalog(store, org).await;
    let on = |at| priced(&catalog, ProviderKind::Anthropic, "house-model-7", at);
    assert_eq!(
        on(datetime!(2026-03-01 00:00 UTC)).unwrap().0.id,
        january.id
    );
    assert_eq!(on(datetime!(2026-07-01 00:00 UTC)).unwrap().0.id, june.id);
    assert_eq!(
        on(datetime!(2026-10-05 00:00 UTC)).unwrap().1,
        Money::parse_units("4").unwrap()
    );
    // Before the first entry starts the model has no price: unpriced, not $0.
    assert!(on(datetime!(2025-12-31 23:59 UTC)).is_err());
    // The last instant of June's predecessor's window is still the newest effective one.
    assert_eq!(
        on(datetime!(2026-05-31 23:59 UTC)).unwrap().0.id,
        january.id
    );
    test.teardown().await;
}

#[tokio::test]
async fn the_most_specific_glob_wins_among_user_prices() {
    let (test, org) = setup().await;
    let store = &test.store;
    let broad = store
        .add_price(
            org,
            user(
                ProviderKind::Anthropic,
                "claude-*",
                "10",
                "10",
                "2026-01-01",
            ),
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap();
    let narrow = store
        .add_price(
            org,
            user(
                ProviderKind::Anthropic,
                "claude-sonnet-4*",
                "3",
                "15",
                "2025-01-01",
            ),
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap();
    let catalog = catalog(store, org).await;
    let at = datetime!(2026-11-01 00:00 UTC);
    let sonnet = priced(&catalog, ProviderKind::Anthropic, "claude-sonnet-4-5", at).unwrap();
    assert_eq!(sonnet.0.id, narrow.id);
    assert_eq!(sonnet.1, Money::parse_units("18").unwrap());
    let haiku = priced(&catalog, ProviderKind::Anthropic, "claude-haiku-4-5", at).unwrap();
    assert_eq!(haiku.0.id, broad.id);
    test.teardown().await;
}

#[tokio::test]
async fn prices_come_back_exactly_and_cost_exact_money() {
    let (test, org) = setup().await;
    let store = &test.store;
    let mut entry = user(
        ProviderKind::Fal,
        "flux-exact",
        "0.0375",
        "12345678.123456789012",
        "2026-01-01",
    );
    entry.tokens.cache_read = Some(dec("0.000000001"));
    entry.units = vec![UnitPrice {
        unit: Unit::images(),
        price: dec("0.0333333333333333333"),
    }];
    entry.conditions = Conditions {
        context_above: Some(200_000),
        batch: true,
        service_tier: Some("flex".to_owned()),
    };
    let added = store
        .add_price(
            org,
            entry.clone(),
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap();
    let read = store
        .get_price(org, added.id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        read,
        PriceEntry {
            id: added.id.clone(),
            ..entry.clone()
        }
    );
    assert_eq!(
        read.tokens.output.unwrap().to_string(),
        "12345678.123456789012"
    );
    // 1M tokens at $0.0375 per 1M is exactly 37,500,000 nano-dollars; 3 images at
    // $0.0333… cost $0.0999999999999999999, rounded once to $0.1000000000.
    let plain = PriceEntry {
        conditions: Conditions::default(),
        ..entry
    };
    store
        .add_price(
            org,
            plain,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap();
    let catalog = catalog(store, org).await;
    let mut call = usage(1_000_000, 0);
    call.quantity = Some((Unit::images(), spendlens_domain::Quantity::from_whole(3)));
    let Pricing::Priced(p) = price(
        &catalog,
        ProviderKind::Fal,
        "flux-exact",
        datetime!(2026-02-01 00:00 UTC),
        &call,
    ) else {
        panic!("unpriced")
    };
    assert_eq!(p.cost.to_exact_string(), "0.1375");
    test.teardown().await;
}

#[tokio::test]
async fn edits_and_deletes_touch_user_entries_only_and_duplicates_are_refused() {
    let (test, org) = setup().await;
    let store = &test.store;
    let revision = store.price_revision(org).await.unwrap();
    let added = store
        .add_price(
            org,
            user(ProviderKind::OpenAi, "gpt-house", "1", "2", "2026-01-01"),
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap();
    assert!(store.price_revision(org).await.unwrap() > revision);
    let id: i64 = added.id.parse().unwrap();
    let dup = store
        .add_price(
            org,
            user(ProviderKind::OpenAi, "GPT-House", "5", "5", "2026-01-01"),
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup}");
    let (before, after) = store
        .edit_price(
            org,
            id,
            user(ProviderKind::OpenAi, "gpt-house", "1.5", "2", "2026-01-01"),
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap();
    assert_eq!(before.tokens.input, Some(dec("1")));
    assert_eq!(
        store.get_price(org, id).await.unwrap().tokens.input,
        after.tokens.input
    );
    let mut bad = user(ProviderKind::OpenAi, "gpt-house", "-1", "2", "2026-01-01");
    let err = store
        .edit_price(
            org,
            id,
            bad.clone(),
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("negative"), "{err}");
    bad.source = PriceSource::BuiltIn;
    bad.tokens.input = Some(dec("1"));
    let err = store
        .add_price(
            org,
            bad,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("prices import"), "{err}");
    // Another organization sees none of it.
    let other = store.create_org("other", NOW).await.unwrap();
    assert!(matches!(
        store.get_price(other, id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        store
            .delete_price(
                other,
                id,
                spendlens_store::Actor {
                    name: "test",
                    at: NOW
                },
                |_| String::new()
            )
            .await
            .is_err()
    );
    let deleted = store
        .delete_price(
            org,
            id,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap();
    assert_eq!(deleted.model_glob, "gpt-house");
    assert!(store.stored_prices(org).await.unwrap().is_empty());

    // Imported built-in rows cannot be edited or deleted one by one.
    let built_in = PriceCatalog::built_in().entries().to_vec();
    store
        .import_built_in_prices(
            org,
            built_in,
            (true).then_some((
                spendlens_store::Actor {
                    name: "test",
                    at: NOW,
                },
                "test",
            )),
        )
        .await
        .unwrap();
    let row = store.stored_prices(org).await.unwrap().remove(0);
    let row_id: i64 = row.id.parse().unwrap();
    let err = store
        .delete_price(
            org,
            row_id,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("built-in"), "{err}");
    let err = store
        .edit_price(
            org,
            row_id,
            row.clone(),
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("built-in"), "{err}");
    test.teardown().await;
}

#[tokio::test]
async fn an_import_replaces_built_in_prices_only_and_says_what_changed() {
    let (test, org) = setup().await;
    let store = &test.store;
    let mine = store
        .add_price(
            org,
            user(ProviderKind::OpenAi, "gpt-house", "1", "2", "2026-01-01"),
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            |_| String::new(),
        )
        .await
        .unwrap();
    let compiled = PriceCatalog::built_in().entries().to_vec();
    let mut file = compiled.clone();
    let removed = file.remove(0);
    let changed_glob = file[0].model_glob.clone();
    file[0].tokens.input = Some(dec("999"));
    let mut new = file[1].clone();
    new.model_glob = "brand-new-model".to_owned();
    new.id = String::new();
    file.push(new);

    let revision = store.price_revision(org).await.unwrap();
    let dry = store
        .import_built_in_prices(
            org,
            file.clone(),
            (false).then_some((
                spendlens_store::Actor {
                    name: "test",
                    at: NOW,
                },
                "test",
            )),
        )
        .await
        .unwrap();
    assert!(!dry.applied && dry.replaced_compiled);
    assert_eq!(dry.added.len(), 1);
    assert_eq!(dry.changed.len(), 1);
    assert_eq!(dry.changed[0].0.model_glob, changed_glob);
    assert_eq!(dry.removed.len(), 1);
    assert_eq!(dry.removed[0].model_glob, removed.model_glob);
    assert_eq!(dry.unchanged, compiled.len() - 2);
    assert_eq!(
        store.price_revision(org).await.unwrap(),
        revision,
        "dry run wrote"
    );
    assert!(store.stored_prices(org).await.unwrap().len() == 1);

    let applied = store
        .import_built_in_prices(
            org,
            file.clone(),
            (true).then_some((
                spendlens_store::Actor {
                    name: "test",
                    at: NOW,
                },
                "test",
            )),
        )
        .await
        .unwrap();
    assert!(applied.applied);
    assert!(store.price_revision(org).await.unwrap() > revision);
    let stored = store.stored_prices(org).await.unwrap();
    assert_eq!(stored.len(), file.len() + 1);
    assert!(stored.iter().any(|e| e.id == mine.id));
    let prices = store.prices(org).await.unwrap();
    assert_eq!(
        prices.len(),
        file.len() + 1,
        "compiled list no longer added"
    );
    // The same file again changes nothing.
    let again = store
        .import_built_in_prices(
            org,
            file,
            (true).then_some((
                spendlens_store::Actor {
                    name: "test",
                    at: NOW,
                },
                "test",
            )),
        )
        .await
        .unwrap();
    assert!(again.is_noop() && !again.replaced_compiled);
    // An empty file or a user entry in it is refused, and nothing changes.
    assert!(
        store
            .import_built_in_prices(
                org,
                Vec::new(),
                (true).then_some((
                    spendlens_store::Actor {
                        name: "test",
                        at: NOW
                    },
                    "test"
                ))
            )
            .await
            .is_err()
    );
    let err = store
        .import_built_in_prices(
            org,
            vec![user(ProviderKind::OpenAi, "x", "1", "1", "2026-01-01")],
            (true).then_some((
                spendlens_store::Actor {
                    name: "test",
                    at: NOW,
                },
                "test",
            )),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("built-in prices only"), "{err}");
    assert_eq!(store.stored_prices(org).await.unwrap().len(), stored.len());
    test.teardown().await;
}

/// An Anthropic connection named `name` (no live call: the store alone).
async fn anthropic(store: &Store, org: OrgId, name: &str) -> spendlens_store::ConnectionId {
    let credential = spendlens_domain::Credential::parse(
        ProviderKind::Anthropic,
        "sk-ant-admin01-abcdefghijklmnopqrstuvwxyz0123456789",
    )
    .unwrap();
    store
        .create_connection(
            org,
            spendlens_store::NewConnection {
                name,
                credential: &credential,
                base_url: None,
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: Some(3),
            },
            &spendlens_store::vault::Vault::from_key([9; 32]),
            NOW,
        )
        .await
        .unwrap()
        .id
}

fn cell(day: &str, class: ObservedClass, dollars: &str, tokens: i64) -> ObservedCell {
    let mut counts = ClassTokens::default();
    match class {
        ObservedClass::Input => counts.input = tokens,
        ObservedClass::CachedInput => counts.cache_read = tokens,
        ObservedClass::CacheWrite => counts.cache_write = tokens,
        ObservedClass::Output => counts.output = tokens,
        ObservedClass::All => counts.input = tokens,
    }
    ObservedCell {
        day: Day::from_str(day).unwrap(),
        model: "claude-sonnet-4".to_owned(),
        class,
        cost: Money::parse_units(dollars).unwrap(),
        tokens: counts,
    }
}

async fn observed_entries(store: &Store, org: OrgId) -> Vec<PriceEntry> {
    store
        .stored_prices(org)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.source == PriceSource::Observed)
        .collect()
}

#[tokio::test]
async fn observed_prices_are_kept_exactly_per_window_and_rebuild_read_only_entries() {
    let (test, org) = setup().await;
    let store = &test.store;
    let a = anthropic(store, org, "a").await;
    let b = anthropic(store, org, "b").await;
    let window = |from: &str, to: &str| {
        spendlens_domain::DayRange::new(Day::from_str(from).unwrap(), Day::from_str(to).unwrap())
            .unwrap()
    };
    let written = store
        .replace_observed_prices(
            org,
            a,
            ProviderKind::Anthropic,
            window("2026-11-01", "2026-11-03"),
            &[
                cell("2026-11-02", ObservedClass::Input, "3", 1_000_000),
                cell("2026-11-03", ObservedClass::Input, "2", 500_000),
                cell("2026-11-03", ObservedClass::Output, "3", 200_000),
            ],
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(written, 1);
    // A second connection's bill of the latest day adds to it.
    store
        .replace_observed_prices(
            org,
            b,
            ProviderKind::Anthropic,
            window("2026-11-03", "2026-11-03"),
            &[cell(
                "2026-11-03",
                ObservedClass::Input,
                "1.000000001",
                500_000,
            )],
            NOW,
        )
        .await
        .unwrap();
    let entries = observed_entries(store, org).await;
    assert_eq!(entries.len(), 1);
    // The same bill again changes nothing: the entry keeps its id and the price revision (what
    // makes servers reload their catalog) stays.
    let revision = store.price_revision(org).await.unwrap();
    store
        .replace_observed_prices(
            org,
            b,
            ProviderKind::Anthropic,
            window("2026-11-03", "2026-11-03"),
            &[cell(
                "2026-11-03",
                ObservedClass::Input,
                "1.000000001",
                500_000,
            )],
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(store.price_revision(org).await.unwrap(), revision);
    assert_eq!(observed_entries(store, org).await, entries);
    let e = &entries[0];
    // $3.000000001 for 1M input tokens; $3 for 0.2M output tokens = $15 per 1M.
    assert_eq!(e.tokens.input, Some(dec("3.000000001")));
    assert_eq!(e.tokens.output, Some(dec("15")));
    assert_eq!(e.tokens.cache_read, None);
    assert_eq!(e.effective_from, Day::from_str("2026-11-03").unwrap());
    assert_eq!(e.effective_to, Some(Day::from_str("2026-11-03").unwrap()));
    // It never prices a call, and cannot be edited or deleted by hand.
    let observed_only = PriceCatalog::new(entries.clone());
    assert!(matches!(
        price(
            &observed_only,
            ProviderKind::Anthropic,
            "claude-sonnet-4",
            datetime!(2026-11-03 10:00 UTC),
            &usage(10, 10)
        ),
        Pricing::Unpriced(_)
    ));
    let id: i64 = e.id.parse().unwrap();
    assert!(matches!(
        store.delete_price(org, id, spendlens_store::Actor { name: "test", at: NOW }, |_| String::new()).await,
        Err(StoreError::Invalid(m)) if m.contains("observed on a bill")
    ));
    let mut by_hand = user(ProviderKind::Anthropic, "claude-x", "1", "1", "2026-11-01");
    by_hand.source = PriceSource::Observed;
    assert!(matches!(
        store.add_price(org, by_hand, spendlens_store::Actor { name: "test", at: NOW }, |_| String::new()).await,
        Err(StoreError::Invalid(m)) if m.contains("only from synced bills")
    ));
    // Exact cells back, summed over connections by day and class.
    let rows = store
        .observed_prices(org, window("2026-11-01", "2026-11-30"), None)
        .await
        .unwrap();
    let got: Vec<(String, ObservedClass, String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.cell.day.to_string(),
                r.cell.class,
                r.cell.cost.to_exact_string(),
                r.cell.tokens.total(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "2026-11-02".to_owned(),
                ObservedClass::Input,
                "3.00".to_owned(),
                1_000_000
            ),
            (
                "2026-11-03".to_owned(),
                ObservedClass::Input,
                "3.000000001".to_owned(),
                1_000_000
            ),
            (
                "2026-11-03".to_owned(),
                ObservedClass::Output,
                "3.00".to_owned(),
                200_000
            ),
        ]
    );
    // A re-sync of a window replaces exactly its days; a cell outside it is refused.
    store
        .replace_observed_prices(
            org,
            a,
            ProviderKind::Anthropic,
            window("2026-11-03", "2026-11-03"),
            &[],
            NOW,
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .replace_observed_prices(
                org,
                a,
                ProviderKind::Anthropic,
                window("2026-11-03", "2026-11-03"),
                &[cell("2026-11-04", ObservedClass::Input, "1", 1)],
                NOW,
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    let latest = store.latest_observed_prices(org).await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(
        latest[0].cell.cost,
        Money::parse_units("1.000000001").unwrap()
    );
    // Deleting a connection forgets what its bills showed; the entry follows the rest.
    let revision = store.price_revision(org).await.unwrap();
    store
        .delete_connection(
            org,
            b,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            "",
        )
        .await
        .unwrap();
    assert!(store.price_revision(org).await.unwrap() > revision);
    let entries = observed_entries(store, org).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].effective_from,
        Day::from_str("2026-11-02").unwrap()
    );
    assert_eq!(entries[0].tokens.input, Some(dec("3")));
    test.teardown().await;
}

/// Creates and edits write their audit entry in the change's own transaction: a done change
/// leaves exactly its entry, a refused one (a name or email taken, a row gone) none, and the
/// chain stays intact.
#[tokio::test]
async fn creates_and_edits_write_their_audit_entry_in_the_same_transaction() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let actor = spendlens_store::Actor {
        name: "root@example.com",
        at: NOW,
    };
    let logged = |entries: &[spendlens_store::AuditEntry], action: &str| {
        entries
            .iter()
            .filter(|e| e.action == action)
            .map(|e| (e.actor.clone(), e.subject.clone(), e.detail.clone()))
            .collect::<Vec<_>>()
    };
    let describe = |e: &PriceEntry| format!("{} {}", e.provider, e.model_glob);

    // A price: added once; the same entry again is a conflict and logs nothing.
    let entry = user(
        ProviderKind::OpenAi,
        "gpt-audit*",
        "0.1",
        "0.2",
        "2026-01-01",
    );
    let added = store
        .add_price(org, entry.clone(), actor, describe)
        .await
        .unwrap();
    let again = store.add_price(org, entry.clone(), actor, describe).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    // Edited; an edit of an entry that is not there logs nothing.
    let mut changed = entry.clone();
    changed.tokens.output = Some(dec("0.3"));
    let id: i64 = added.id.parse().unwrap();
    store
        .edit_price(org, id, changed.clone(), actor, describe)
        .await
        .unwrap();
    let missing = store
        .edit_price(org, 999_999, changed, actor, describe)
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );

    // An ingest key: created, regenerated; a revoked key cannot be regenerated (nothing logged).
    let key = store.create_ingest_key(org, "app", actor).await.unwrap();
    let new = store
        .regenerate_ingest_key(org, key.key.id, actor)
        .await
        .unwrap();
    store
        .revoke_ingest_key(org, key.key.id, actor)
        .await
        .unwrap();
    let refused = store.regenerate_ingest_key(org, key.key.id, actor).await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "{refused:?}"
    );

    // A user: added once; the same email again is a conflict and logs nothing.
    let bob = store
        .create_user_bound(
            org,
            "bob@example.com",
            "h",
            spendlens_store::Role::Viewer,
            None,
            actor,
        )
        .await
        .unwrap();
    let taken = store
        .create_user_bound(
            org,
            "BOB@example.com",
            "h",
            spendlens_store::Role::Viewer,
            None,
            actor,
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    store
        .set_user_access(
            org,
            bob.id,
            spendlens_store::Role::Tenant,
            Some("acme"),
            actor,
        )
        .await
        .unwrap();

    // A report schedule: the same kind and scope twice is a conflict and logs nothing.
    store
        .create_report_schedule(org, spendlens_store::ReportKind::Chargeback, "all", actor)
        .await
        .unwrap();
    let twice = store
        .create_report_schedule(org, spendlens_store::ReportKind::Chargeback, "all", actor)
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");

    // A connection: the same name twice is a conflict and logs nothing.
    let vault = spendlens_store::vault::Vault::from_key([7; 32]);
    let credential = spendlens_domain::Credential::parse(
        ProviderKind::OpenAi,
        "sk-admin-AbCdefghijklmnopqrstuvwxYz12",
    )
    .unwrap();
    let new_connection = || spendlens_store::NewConnection {
        name: "prod",
        credential: &credential,
        base_url: None,
        sync_interval_secs: 3600,
        backfill_days: 90,
        lookback_days: None,
    };
    store
        .create_connection_as(org, new_connection(), &vault, actor)
        .await
        .unwrap();
    let duplicate = store
        .create_connection_as(org, new_connection(), &vault, actor)
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );

    let entries = store.audit_entries(org, 100).await.unwrap();
    let who = "root@example.com".to_owned();
    assert_eq!(
        logged(&entries, "price.add"),
        vec![(
            who.clone(),
            format!("price entry {id}"),
            "openai gpt-audit*".to_owned()
        )]
    );
    assert_eq!(
        logged(&entries, "price.edit"),
        vec![(
            who.clone(),
            format!("price entry {id}"),
            "was openai gpt-audit*; now openai gpt-audit*".to_owned()
        )]
    );
    assert_eq!(
        logged(&entries, "ingest_key.create"),
        vec![(who.clone(), "app".to_owned(), key.key.hint.clone())]
    );
    assert_eq!(
        logged(&entries, "ingest_key.regenerate"),
        vec![(
            who.clone(),
            "app".to_owned(),
            format!("{} replaced by {}", key.key.hint, new.key.hint)
        )]
    );
    assert_eq!(
        logged(&entries, "user.create"),
        vec![(
            who.clone(),
            "bob@example.com".to_owned(),
            "role=viewer".to_owned()
        )]
    );
    assert_eq!(
        logged(&entries, "user.role"),
        vec![(
            who.clone(),
            "bob@example.com".to_owned(),
            "viewer -> tenant of acme".to_owned()
        )]
    );
    assert_eq!(
        logged(&entries, "user.customer"),
        vec![(
            who.clone(),
            "bob@example.com".to_owned(),
            "customer (none) -> acme".to_owned()
        )]
    );
    assert_eq!(logged(&entries, "report_schedule.add").len(), 1);
    assert_eq!(
        logged(&entries, "connection.add"),
        vec![(
            who.clone(),
            "prod".to_owned(),
            format!("openai key {}", credential.hint())
        )]
    );
    assert_eq!(
        store.verify_audit(org).await.unwrap(),
        spendlens_store::AuditVerdict::Intact {
            entries: entries.len()
        }
    );
    test.teardown().await;
}
