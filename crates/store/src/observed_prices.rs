//! Prices observed on bills (`domain::catalog::observed`): each sync replaces its
//! connection's window of observed cells (exact cost and tokens per model, day and token class)
//! and, in the same transaction, rebuilds the organization's `observed` catalog entries of that
//! provider — one per model, its latest observed day's per-class prices — bumping the price
//! revision only when they changed. Observed entries never price calls (the domain's catalog
//! skips them); they are there to be compared with the catalog.

use std::str::FromStr;

use spendlens_domain::catalog::observed::{ClassTokens, ObservedCell, ObservedClass, per_1m};
use spendlens_domain::catalog::{Conditions, TokenPrices};
use spendlens_domain::{Currency, Day, DayRange, Money, PriceEntry, PriceSource, ProviderKind};
use time::OffsetDateTime;

use crate::bulk::{BulkInsert, Value};
use crate::{ConnectionId, OrgId, RowExt, Store, StoreError, StoreResult, with_pool};

/// Observed cost and tokens of one (provider, model, day, class), summed over connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedRow {
    pub provider: ProviderKind,
    pub cell: ObservedCell,
}

const COLUMNS: [&str; 11] = [
    "org_id",
    "connection_id",
    "provider",
    "model",
    "day",
    "token_class",
    "cost_nanos",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
];

/// The summed columns every read selects, after provider, model, day and class.
macro_rules! sums {
    () => {
        "CAST(SUM(o.cost_nanos) AS BIGINT) AS cost_nanos, \
        CAST(SUM(o.input_tokens) AS BIGINT) AS input_tokens, \
        CAST(SUM(o.cache_read_tokens) AS BIGINT) AS cache_read_tokens, \
        CAST(SUM(o.cache_write_tokens) AS BIGINT) AS cache_write_tokens, \
        CAST(SUM(o.output_tokens) AS BIGINT) AS output_tokens"
    };
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("observed price: {what}"))
}

pub(crate) fn row_of(row: &impl RowExt) -> StoreResult<ObservedRow> {
    let provider = row.text("provider")?;
    let class = row.text("token_class")?;
    let day = row.int("day")?;
    Ok(ObservedRow {
        provider: ProviderKind::from_str(&provider).map_err(corrupt)?,
        cell: ObservedCell {
            day: i32::try_from(day)
                .ok()
                .and_then(|n| Day::from_number(n).ok())
                .ok_or_else(|| corrupt(format!("day {day}")))?,
            model: row.text("model")?,
            class: ObservedClass::from_str(&class).map_err(corrupt)?,
            cost: Money::from_nanos(row.int("cost_nanos")?),
            tokens: ClassTokens {
                input: row.int("input_tokens")?,
                cache_read: row.int("cache_read_tokens")?,
                cache_write: row.int("cache_write_tokens")?,
                output: row.int("output_tokens")?,
            },
        },
    })
}

/// The catalog entry of one model's latest observed day: a price per class the bill named
/// (a blended `all` price is no per-class price, so a model observed only blended has none).
pub(crate) fn entry_of(provider: ProviderKind, cells: &[ObservedCell]) -> Option<PriceEntry> {
    let first = cells.first()?;
    let mut tokens = TokenPrices::default();
    let mut said = Vec::new();
    for cell in cells {
        let Some(price) = per_1m(cell.cost, cell.tokens.total()) else {
            continue;
        };
        let slot = match cell.class {
            ObservedClass::Input => &mut tokens.input,
            ObservedClass::CachedInput => &mut tokens.cache_read,
            ObservedClass::CacheWrite => &mut tokens.cache_write_5m,
            ObservedClass::Output => &mut tokens.output,
            ObservedClass::All => continue,
        };
        *slot = Some(price.to_decimal());
        said.push(format!(
            "{} ${} for {} tokens",
            cell.class.label(),
            cell.cost.to_exact_string(),
            cell.tokens.total()
        ));
    }
    if said.is_empty() {
        return None;
    }
    PriceEntry {
        id: String::new(),
        provider,
        model_glob: first.model.clone(),
        tokens,
        units: Vec::new(),
        conditions: Conditions::default(),
        effective_from: first.day,
        effective_to: Some(first.day),
        currency: Currency::usd(),
        source: PriceSource::Observed,
        note: format!(
            "observed on the bill of {}: {} (never prices calls)",
            first.day,
            said.join(", ")
        ),
    }
    .validate()
    .ok()
}

pub(crate) const LATEST: &str = concat!(
    "SELECT o.provider, o.model, o.day, o.token_class, ",
    sums!(),
    " FROM observed_prices o WHERE o.org_id = $1 AND o.provider = $2 AND o.token_class <> 'all' \
    AND o.day = (SELECT MAX(m.day) FROM observed_prices m WHERE m.org_id = o.org_id \
    AND m.provider = o.provider AND m.model = o.model AND m.token_class <> 'all') \
    GROUP BY o.provider, o.model, o.day, o.token_class ORDER BY o.model, o.token_class"
);

/// Rebuilds the provider's observed catalog entries from `observed_prices`, on `$tx`; returns
/// how many there are. Entries already as wanted are left alone: no rewrite and no price
/// revision bump (which would make every server reload its catalog) when a sync's bill moved
/// no model's latest observed day.
macro_rules! rebuild_entries {
    ($tx:expr, $org:expr, $provider:expr, $now:expr) => {{
        let rows = sqlx::query(crate::observed_prices::LATEST)
            .bind($org.0)
            .bind($provider.as_str())
            .fetch_all(&mut *$tx)
            .await?;
        let mut by_model: std::collections::BTreeMap<String, Vec<spendlens_domain::catalog::observed::ObservedCell>> = std::collections::BTreeMap::new();
        for row in &rows {
            let row = crate::observed_prices::row_of(row)?;
            by_model
                .entry(row.cell.model.clone())
                .or_default()
                .push(row.cell);
        }
        // Compared without ids: the stored ones are row ids, the built ones are not stored.
        let mut wanted: Vec<spendlens_domain::PriceEntry> = by_model
            .values()
            .filter_map(|cells| crate::observed_prices::entry_of($provider, cells))
            .map(|entry| spendlens_domain::PriceEntry {
                id: String::new(),
                ..entry
            })
            .collect();
        wanted.sort_by(|a, b| a.model_glob.cmp(&b.model_glob));
        let stored = sqlx::query(crate::prices::OBSERVED)
            .bind($org.0)
            .bind($provider.as_str())
            .fetch_all(&mut *$tx)
            .await?;
        let mut stored = stored
            .iter()
            .map(|row| {
                crate::prices::entry_from_row(row).map(|entry| spendlens_domain::PriceEntry {
                    id: String::new(),
                    ..entry
                })
            })
            .collect::<crate::StoreResult<Vec<spendlens_domain::PriceEntry>>>()?;
        stored.sort_by(|a, b| a.model_glob.cmp(&b.model_glob));
        if stored != wanted {
            sqlx::query(
                "DELETE FROM price_entries WHERE org_id = $1 AND provider = $2 AND provenance = 'observed'",
            )
            .bind($org.0)
            .bind($provider.as_str())
            .execute(&mut *$tx)
            .await?;
            for entry in &wanted {
                let v = crate::prices::values(entry);
                let _: i64 = crate::prices::bind_values!(
                    sqlx::query_scalar(crate::prices::INSERT).bind($org.0),
                    v
                )
                .bind(crate::millis($now))
                .fetch_one(&mut *$tx)
                .await?;
            }
            sqlx::query(crate::prices::BUMP)
                .bind($org.0)
                .execute(&mut *$tx)
                .await?;
        }
        wanted.len()
    }};
}
pub(crate) use rebuild_entries;

impl Store {
    /// Replaces one connection's observed cells for the days of `window` (cells outside it
    /// are refused) and rebuilds the provider's observed catalog entries; returns how many
    /// entries the catalog now has for the provider's models.
    pub async fn replace_observed_prices(
        &self,
        org: OrgId,
        connection: ConnectionId,
        provider: ProviderKind,
        window: DayRange,
        cells: &[ObservedCell],
        now: OffsetDateTime,
    ) -> StoreResult<usize> {
        if let Some(outside) = cells.iter().find(|c| !window.contains(c.day)) {
            return Err(StoreError::Invalid(format!(
                "an observed price for {} lies outside the window {window}; nothing was written",
                outside.day
            )));
        }
        let rows: Vec<Vec<Value>> = cells
            .iter()
            .map(|c| {
                vec![
                    Value::Int(org.0),
                    Value::Int(connection.0),
                    Value::Text(provider.as_str().to_owned()),
                    Value::Text(c.model.clone()),
                    Value::Int(i64::from(c.day.number())),
                    Value::Text(c.class.as_str().to_owned()),
                    Value::Int(c.cost.nanos()),
                    Value::Int(c.tokens.input),
                    Value::Int(c.tokens.cache_read),
                    Value::Int(c.tokens.cache_write),
                    Value::Int(c.tokens.output),
                ]
            })
            .collect();
        let written = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "DELETE FROM observed_prices WHERE connection_id = $1 AND day >= $2 AND day <= $3",
            )
            .bind(connection.0)
            .bind(i64::from(window.from().number()))
            .bind(i64::from(window.to().number()))
            .execute(&mut *tx)
            .await?;
            if !rows.is_empty() {
                tx.insert_rows("observed_prices", &COLUMNS, rows).await?;
            }
            let written = rebuild_entries!(tx, org, provider, now);
            tx.commit().await?;
            written
        });
        Ok(written)
    }

    /// Observed cells of a range of days, summed over connections, by provider, model, day
    /// and class (`provider` `None`: every provider).
    pub async fn observed_prices(
        &self,
        org: OrgId,
        range: DayRange,
        provider: Option<ProviderKind>,
    ) -> StoreResult<Vec<ObservedRow>> {
        let sql = concat!(
            "SELECT o.provider, o.model, o.day, o.token_class, ",
            sums!(),
            " FROM observed_prices o \
             WHERE o.org_id = $1 AND o.day >= $2 AND o.day <= $3 AND ($4 = '' OR o.provider = $4) \
             GROUP BY o.provider, o.model, o.day, o.token_class \
             ORDER BY o.provider, o.model, o.day, o.token_class"
        );
        let wanted = provider.map(|p| p.as_str()).unwrap_or("");
        with_pool!(self, pool => {
            let rows = sqlx::query(sql)
                .bind(org.0)
                .bind(i64::from(range.from().number()))
                .bind(i64::from(range.to().number()))
                .bind(wanted)
                .fetch_all(pool)
                .await?;
            rows.iter().map(row_of).collect()
        })
    }

    /// Every model's cells of its latest observed day (summed over connections), by
    /// provider and model.
    pub async fn latest_observed_prices(&self, org: OrgId) -> StoreResult<Vec<ObservedRow>> {
        let sql = concat!(
            "SELECT o.provider, o.model, o.day, o.token_class, ",
            sums!(),
            " FROM observed_prices o \
             WHERE o.org_id = $1 AND o.day = (SELECT MAX(m.day) FROM observed_prices m \
             WHERE m.org_id = o.org_id AND m.provider = o.provider AND m.model = o.model) \
             GROUP BY o.provider, o.model, o.day, o.token_class \
             ORDER BY o.provider, o.model, o.token_class"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(org.0).fetch_all(pool).await?;
            rows.iter().map(row_of).collect()
        })
    }
}
