//! `GET /api/v1/budgets/denials`: the budget checks each cap denied, per cap and per UTC day,
//! over `from`–`to` (UTC days, inclusive; default the last 30 days through today, at most 366).
//! Any token reads it. This server's tallies are written first, so the answer holds every
//! denial it has answered; other servers add theirs about once a second.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_domain::{Day, DayRange, Money};
use spendlens_store::denials_by_cap;

use crate::AppState;
use crate::auth::ApiOrg;
use crate::error::ApiError;

/// The longest period one request reads.
pub const MAX_DAYS: i64 = 366;

#[derive(Debug, Default, Deserialize)]
pub struct DenialParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The days asked for (`today`: the last day of the default period); the error names the
/// parameter that is wrong and what fits.
pub fn denial_period(params: &DenialParams, today: Day) -> Result<DayRange, String> {
    let day = |value: &Option<String>, name: &str| -> Result<Option<Day>, String> {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<Day>()
                    .map_err(|e| format!("{name}: {e} (a UTC day such as 2026-12-01)"))
            })
            .transpose()
    };
    let to = day(&params.to, "to")?.unwrap_or(today);
    let from = match day(&params.from, "from")? {
        Some(from) => from,
        None => to.add_days(-29).map_err(|e| format!("to: {e}"))?,
    };
    let period = DayRange::new(from, to)
        .map_err(|_| format!("from ({from}) is after to ({to}); give from ≤ to"))?;
    if period.len_days() > MAX_DAYS {
        return Err(format!(
            "the period {from} to {to} is {} days; ask for at most {MAX_DAYS} days at a time",
            period.len_days()
        ));
    }
    Ok(period)
}

pub async fn denials(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Query(params): Query<DenialParams>,
) -> Result<Json<Value>, ApiError> {
    let period = denial_period(&params, Day::of(state.now())).map_err(ApiError::BadRequest)?;
    state.budgets.denials.flush(state.store()).await?;
    let days = state.store().budget_denials(org, period).await?;
    let caps = denials_by_cap(&days);
    let total: i64 = caps.iter().map(|c| c.denials).sum();
    let unpriced: i64 = caps.iter().map(|c| c.unpriced).sum();
    let estimate: Money = caps.iter().map(|c| c.estimate).sum();
    Ok(Json(json!({
        "from": period.from().to_string(),
        "to": period.to().to_string(),
        "denials": total,
        "unpriced": unpriced,
        "estimate": estimate,
        "caps": caps,
        "days": days,
    })))
}

/// The path for the OpenAPI document.
pub fn document_paths(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string", "format": "date"}});
    let money =
        |d: &str| json!({"type": "string", "description": format!("{d} (USD, exact decimal)")});
    let counts = json!({
        "cap_id": {"type": "integer"},
        "cap_name": {"type": "string", "description": "The cap's name at its latest denial (kept after the cap is deleted)"},
        "denials": {"type": "integer", "description": "Checks the cap denied (it was the binding cap)"},
        "unpriced": {"type": "integer", "description": "Of them, checks without an estimate (unpriced model, fail-closed cap)"},
        "estimate": money("The estimates of the priced denied checks, summed"),
        "first_at": {"type": "string", "format": "date-time"},
        "last_at": {"type": "string", "format": "date-time"},
    });
    let mut per_cap = counts.clone();
    let mut per_day = counts;
    if let (Some(c), Some(d)) = (per_cap.as_object_mut(), per_day.as_object_mut()) {
        c.insert(
            "days".to_owned(),
            json!({"type": "integer", "description": "UTC days with a denial"}),
        );
        d.insert(
            "day".to_owned(),
            json!({"type": "string", "format": "date"}),
        );
    }
    let paths = json!({"/budgets/denials": {"get": {
        "summary": "Budget checks denied, per cap and per UTC day. Denials are tallied in memory and written about once a second (and before this answer, for this server's own), so a server that crashes loses at most its last second of denials.",
        "parameters": [
            query("from", "First UTC day, inclusive (default: 29 days before `to`)."),
            query("to", "Last UTC day, inclusive (default: today). At most 366 days in all."),
        ],
        "responses": with_errors(json!({"200": {"description": "Denials", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "denials": {"type": "integer"},
            "unpriced": {"type": "integer"},
            "estimate": money("Estimated cost denied"),
            "caps": {"type": "array", "description": "Per cap, most denials first", "items": {"type": "object", "properties": per_cap}},
            "days": {"type": "array", "description": "Per UTC day and cap", "items": {"type": "object", "properties": per_day}},
        }}}}}}))
    }}});
    if let (Some(target), Value::Object(extra)) =
        (doc.get_mut("paths").and_then(Value::as_object_mut), paths)
    {
        target.extend(extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    fn params(from: Option<&str>, to: Option<&str>) -> DenialParams {
        DenialParams {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
        }
    }

    #[test]
    fn the_period_defaults_to_thirty_days_through_today_and_refuses_bad_ranges() {
        let today = day("2026-12-06");
        let p = denial_period(&params(None, None), today).unwrap();
        assert_eq!((p.from(), p.to()), (day("2026-11-07"), today));
        let p = denial_period(&params(Some("2026-12-01"), Some("2026-12-01")), today).unwrap();
        assert_eq!(p.len_days(), 1);
        let err = denial_period(&params(Some("2026-12-05"), Some("2026-12-01")), today);
        assert!(err.unwrap_err().contains("after to"));
        let err = denial_period(&params(Some("2024-01-01"), None), today);
        assert!(err.unwrap_err().contains("at most 366"));
        let err = denial_period(&params(Some("yesterday"), None), today);
        assert!(err.unwrap_err().starts_with("from:"));
    }
}
