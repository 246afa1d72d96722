//! The alert rules `spendlens bench meter --alert-rules N` loads before ingest: a realistic mix
//! of every metered kind, scope and period (spend per day, week and month on the organization,
//! a provider, a model, one customer and each customer; spend rates over 1–6 hour windows;
//! average cost per call; unpriced models; price drift), thresholds spread so that some fire
//! during the run and most do not. Deliveries are in-app (no channel), so the figure is the
//! evaluator's cost on ingest, not a webhook's.

use serde_json::json;
use spendlens_store::{OrgId, Store};
use spendlens_web::alerts::input::{RuleInput, describe_rule};

/// Adds `count` rules to `org`.
pub async fn add_rules(
    store: &Store,
    org: OrgId,
    count: usize,
    now: time::OffsetDateTime,
) -> anyhow::Result<()> {
    const MODELS: [&str; 4] = [
        "gpt-4o-mini",
        "gpt-4o",
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
    ];
    for i in 0..count {
        let threshold = |low: &str, high: &str| if i % 3 == 0 { low } else { high }.to_owned();
        let (kind, scope, value, period, window, threshold) = match i % 10 {
            0 => (
                "spend",
                "org",
                None,
                Some("day"),
                None,
                threshold("1", "1000000"),
            ),
            1 => (
                "spend",
                "provider",
                Some("openai".to_owned()),
                Some("week"),
                None,
                threshold("5", "500000"),
            ),
            2 => (
                "spend",
                "model",
                Some(MODELS[i % 4].to_owned()),
                Some("month"),
                None,
                threshold("5", "500000"),
            ),
            3 => (
                "spend",
                "customer",
                Some("*".to_owned()),
                Some("day"),
                None,
                threshold("0.5", "100000"),
            ),
            4 => (
                "spend",
                "customer",
                Some(format!("cus_{}", i % 40)),
                Some("month"),
                None,
                threshold("1", "100000"),
            ),
            5 => (
                "spend_rate",
                "org",
                None,
                None,
                Some(i64::try_from(1 + i % 6)?),
                threshold("1", "100000"),
            ),
            6 => (
                "avg_cost",
                "customer",
                Some(format!("cus_{}", i % 40)),
                Some("day"),
                None,
                threshold("0.0001", "1.25"),
            ),
            7 => (
                "avg_cost",
                "model",
                Some(MODELS[i % 4].to_owned()),
                None,
                Some(1),
                threshold("0.0001", "1.25"),
            ),
            8 => (
                "unpriced_model",
                "org",
                None,
                Some("day"),
                None,
                "0".to_owned(),
            ),
            _ => ("price_drift", "org", None, None, None, "5".to_owned()),
        };
        let rule = RuleInput {
            name: format!("bench rule {i}"),
            kind: kind.to_owned(),
            scope: Some(scope.to_owned()),
            scope_value: value,
            period: period.map(str::to_owned),
            window_hours: window,
            threshold: json!(threshold),
            ..RuleInput::default()
        }
        .into_rule()
        .map_err(anyhow::Error::msg)?;
        let actor = spendlens_store::Actor {
            name: "bench",
            at: now,
        };
        store
            .create_alert_rule(org, &rule, actor, describe_rule)
            .await?;
    }
    Ok(())
}
