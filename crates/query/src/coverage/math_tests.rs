//! Tests of the coverage math: each cause on a small hand-built provider, and a property test
//! that billed = metered + Σ causes (and each cause = Σ its rows) for any inputs.

use proptest::prelude::*;

use super::*;
use crate::coverage::keys::match_key;

fn usd(text: &str) -> Money {
    Money::parse_units(text).unwrap()
}

fn billed(key: &str, model: &str, cost: &str, tokens: i64) -> BilledCell {
    BilledCell {
        key: Some(key.to_owned()),
        workspace: None,
        model: model.to_owned(),
        cost: usd(cost),
        tokens,
        requests: None,
    }
}

fn metered(key: &str, model: &str, cost: &str, tokens: i64) -> MeteredCell {
    MeteredCell {
        key: Some(key.to_owned()),
        workspace: None,
        model: model.to_owned(),
        failed: false,
        cost: usd(cost),
        tokens,
        calls: 10,
        unpriced: 0,
    }
}

fn amount(c: &ProviderCoverage, kind: CauseKind) -> Money {
    c.causes.iter().find(|x| x.cause == kind).unwrap().amount
}

fn adds_up(c: &ProviderCoverage) {
    let causes: Money = c.causes.iter().map(|x| x.amount).sum();
    assert_eq!(c.billed_cost, c.metered_cost + causes, "{c:#?}");
    for cause in &c.causes {
        let rows: Money = cause.rows.iter().map(|r| r.amount).sum();
        assert_eq!(rows, cause.amount, "{:?}", cause.cause);
    }
}

#[test]
fn every_cause_on_one_provider() {
    let input = ProviderInput {
        billed: vec![
            // Metered at 90 % of tokens, the same price: $10 unexplained.
            billed("k1", "gpt-4o-mini", "100", 1_000_000),
            // Never metered.
            billed("k2", "gpt-4o-mini", "40", 400_000),
            // Metered at 90 % of tokens, catalog price 2× the billed one.
            billed("k1", "gpt-4o", "50", 100_000),
            // Reported under a name the catalog does not price.
            billed("k3", "gpt-4.1", "30", 300_000),
        ],
        metered: vec![
            metered("k1", "gpt-4o-mini", "90", 900_000),
            metered("k1", "gpt-4o", "90", 90_000),
            MeteredCell {
                unpriced: 7,
                cost: Money::ZERO,
                ..metered("k3", "ft:gpt-4.1:acme", "0", 270_000)
            },
            MeteredCell {
                failed: true,
                ..metered("k1", "gpt-4o-mini", "2", 20_000)
            },
        ],
        billed_lag: usd("5"),
        metered_lag: usd("8"),
        join: Join::KeyAndModel,
    };
    let c = provider_coverage(&input);
    adds_up(&c);
    assert_eq!(c.billed_cost, usd("225"));
    assert_eq!(c.metered_cost, usd("190"));
    assert_eq!(c.ratio.billed_cost, usd("220"));
    assert_eq!(c.ratio.metered_cost, usd("182"));
    assert_eq!(c.ratio.coverage_pct, Some(Decimal::new(827, 1)));
    assert_eq!(amount(&c, CauseKind::UnmeteredKeys), usd("40"));
    // 90k tokens at the billed $500/1M = $45; the catalog said $90.
    assert_eq!(amount(&c, CauseKind::PriceDrift), usd("-45"));
    // 270k of the 300k billed tokens, at the billed price.
    assert_eq!(amount(&c, CauseKind::UnpricedModels), usd("27"));
    assert_eq!(amount(&c, CauseKind::FailedCalls), usd("-2"));
    assert_eq!(amount(&c, CauseKind::BillingLag), usd("-3"));
    // $10 (gpt-4o-mini) + $5 (gpt-4o) + $3 (gpt-4.1) of tokens the meter did not see.
    assert_eq!(amount(&c, CauseKind::Unexplained), usd("18"));
    let drift = &c.causes[1].rows[0];
    assert_eq!(drift.billed_per_1m, Some(usd("500")));
    assert_eq!(drift.metered_per_1m, Some(usd("1000")));
    assert_eq!(
        c.per_key[&Some("k2".into())].coverage_pct,
        Some(Decimal::ZERO)
    );
}

#[test]
fn a_provider_without_metered_traffic_is_all_unmetered() {
    let c = provider_coverage(&ProviderInput {
        billed: vec![billed("k1", "m", "10", 5), billed("k2", "m", "5", 5)],
        join: Join::KeyAndModel,
        ..ProviderInput::default()
    });
    adds_up(&c);
    assert_eq!(c.ratio.coverage_pct, Some(Decimal::ZERO));
    assert_eq!(amount(&c, CauseKind::UnmeteredKeys), usd("15"));
    assert_eq!(amount(&c, CauseKind::Unexplained), Money::ZERO);
}

#[test]
fn metered_with_no_bill_yet_is_lag_not_above_100() {
    let c = provider_coverage(&ProviderInput {
        metered_lag: usd("4"),
        join: Join::KeyAndModel,
        ..ProviderInput::default()
    });
    adds_up(&c);
    assert_eq!(c.ratio.coverage_pct, None);
    assert_eq!(amount(&c, CauseKind::BillingLag), usd("-4"));
}

#[test]
fn metered_above_billed_shows_above_100() {
    let c = provider_coverage(&ProviderInput {
        billed: vec![billed("k1", "m", "10", 1000)],
        metered: vec![metered("k1", "m", "12", 1000)],
        join: Join::KeyAndModel,
        ..ProviderInput::default()
    });
    adds_up(&c);
    assert_eq!(c.ratio.coverage_pct, Some(Decimal::new(1200, 1)));
    assert_eq!(amount(&c, CauseKind::PriceDrift), usd("-2"));
}

#[test]
fn prices_within_the_threshold_are_not_drift() {
    let c = provider_coverage(&ProviderInput {
        billed: vec![billed("k1", "m", "100", 1000)],
        metered: vec![metered("k1", "m", "50.5", 500)],
        join: Join::KeyAndModel,
        ..ProviderInput::default()
    });
    adds_up(&c);
    assert_eq!(amount(&c, CauseKind::PriceDrift), Money::ZERO);
    assert_eq!(amount(&c, CauseKind::Unexplained), usd("49.5"));
}

#[test]
fn keyless_providers_join_by_model() {
    let c = provider_coverage(&ProviderInput {
        billed: vec![
            BilledCell {
                key: None,
                ..billed("", "claude", "10", 100)
            },
            BilledCell {
                key: None,
                ..billed("", "titan", "4", 100)
            },
        ],
        metered: vec![MeteredCell {
            key: Some("whatever".into()),
            ..metered("", "claude", "10", 100)
        }],
        join: Join::Model,
        ..ProviderInput::default()
    });
    adds_up(&c);
    assert_eq!(amount(&c, CauseKind::UnmeteredKeys), usd("4"));
    assert_eq!(amount(&c, CauseKind::Unexplained), Money::ZERO);
    assert_eq!(c.ratio.billed_requests, None);
}

#[test]
fn keyless_providers_join_by_workspace_and_model_when_events_name_workspaces() {
    let cell = |workspace: &str, cost: &str, tokens: i64| BilledCell {
        key: None,
        workspace: Some(workspace.to_owned()),
        ..billed("", "claude", cost, tokens)
    };
    let c = provider_coverage(&ProviderInput {
        billed: vec![cell("w1", "8", 800), cell("w2", "2", 200)],
        metered: vec![MeteredCell {
            key: None,
            workspace: Some("w1".into()),
            ..metered("", "claude", "8", 800)
        }],
        join: Join::WorkspaceAndModel,
        ..ProviderInput::default()
    });
    adds_up(&c);
    // By model alone, w1's calls would stand for both accounts: the gap would be unexplained.
    let unmetered = c
        .causes
        .iter()
        .find(|x| x.cause == CauseKind::UnmeteredKeys)
        .unwrap();
    assert_eq!(unmetered.amount, usd("2"));
    assert_eq!(unmetered.rows.len(), 1);
    assert_eq!(unmetered.rows[0].key.as_deref(), Some("w2"));
    assert_eq!(unmetered.rows[0].model, None);
    assert_eq!(amount(&c, CauseKind::Unexplained), Money::ZERO);
    let w1 = &c.per_workspace[&Some("w1".to_owned())];
    let w2 = &c.per_workspace[&Some("w2".to_owned())];
    assert_eq!(w1.coverage_pct, Some(Decimal::new(1000, 1)));
    assert_eq!(w2.coverage_pct, Some(Decimal::new(0, 1)));
    assert_eq!(c.ratio.coverage_pct, Some(Decimal::new(800, 1)));
}

#[test]
fn keys_match_by_id_or_by_hint() {
    let keys = vec![
        ("key_abc".to_owned(), Some("sk-proj-abc…wxyz".to_owned())),
        ("key_def".to_owned(), Some("sk-proj-def…1234".to_owned())),
    ];
    assert_eq!(match_key("key_def", &keys), Some("key_def"));
    assert_eq!(match_key("sk-proj-abc…wxyz", &keys), Some("key_abc"));
    assert_eq!(match_key("sk-proj-abcQQQQQwxyz", &keys), Some("key_abc"));
    assert_eq!(match_key("sk-proj-zzz…wxyz", &keys), None);
    assert_eq!(match_key("", &keys), None);
}

fn any_cell() -> impl Strategy<Value = (u8, u8, i64, i64, bool, i64, u8)> {
    (
        0u8..4,
        0u8..4,
        -1_000_000_000_000i64..1_000_000_000_000,
        0i64..10_000_000_000,
        any::<bool>(),
        0i64..3,
        0u8..3,
    )
}

proptest! {
    #[test]
    fn causes_and_metered_add_up_to_billed_exactly(
        bills in proptest::collection::vec(any_cell(), 0..12),
        meters in proptest::collection::vec(any_cell(), 0..12),
        billed_lag in -1_000_000_000_000i64..1_000_000_000_000,
        metered_lag in 0i64..1_000_000_000_000,
        join in 0u8..3,
    ) {
        let key = |k: u8| (k > 0).then(|| format!("k{k}"));
        let workspace = |w: u8| (w > 0).then(|| format!("w{w}"));
        let join = [Join::Model, Join::KeyAndModel, Join::WorkspaceAndModel][usize::from(join)];
        let input = ProviderInput {
            billed: bills.iter().map(|&(k, m, cost, tokens, _, _, w)| BilledCell {
                key: key(k),
                workspace: workspace(w),
                model: format!("m{m}"),
                cost: Money::from_nanos(cost),
                tokens,
                requests: Some(1),
            }).collect(),
            metered: meters.iter().map(|&(k, m, cost, tokens, failed, unpriced, w)| MeteredCell {
                key: key(k),
                workspace: workspace(w),
                model: format!("m{m}"),
                failed,
                cost: Money::from_nanos(cost.abs()),
                tokens,
                calls: 1 + unpriced,
                unpriced,
            }).collect(),
            billed_lag: Money::from_nanos(billed_lag),
            metered_lag: Money::from_nanos(metered_lag),
            join,
        };
        let c = provider_coverage(&input);
        let causes: Money = c.causes.iter().map(|x| x.amount).sum();
        prop_assert_eq!(c.billed_cost, c.metered_cost + causes);
        for cause in &c.causes {
            let rows: Money = cause.rows.iter().map(|r| r.amount).sum();
            prop_assert_eq!(rows, cause.amount);
        }
        let billed: Money = input.billed.iter().map(|b| b.cost).sum::<Money>() + input.billed_lag;
        let metered: Money = input.metered.iter().map(|m| m.cost).sum::<Money>() + input.metered_lag;
        prop_assert_eq!(c.billed_cost, billed);
        prop_assert_eq!(c.metered_cost, metered);
        // Every cell counts in one workspace: the workspaces add up to the provider.
        let ws_billed: Money = c.per_workspace.values().map(|r| r.billed_cost).sum();
        let ws_metered: Money = c.per_workspace.values().map(|r| r.metered_cost).sum();
        prop_assert_eq!(ws_billed, c.ratio.billed_cost);
        prop_assert_eq!(ws_metered, c.ratio.metered_cost);
        // The lag days move the period's totals and the billing-lag cause, nothing else: what
        // a reader keeps of the comparable days stays right while today's calls arrive.
        let mut comparable = input.clone();
        comparable.billed_lag = Money::ZERO;
        comparable.metered_lag = Money::ZERO;
        let mut kept = provider_coverage(&comparable);
        prop_assert!(kept.causes.iter().all(|x| x.cause != CauseKind::BillingLag || x.rows.is_empty()));
        kept.add_lag(input.billed_lag, input.metered_lag);
        prop_assert_eq!(kept, c);
    }
}
