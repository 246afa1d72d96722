//! Prices as the HTTP surface uses them: each organization's catalog kept in memory and
//! rebuilt only when the stored price revision moves (one key lookup per use, so a change made
//! by another server or the CLI is seen at the next call), an entry as JSON, and the
//! parameters of a price check turned into canonical usage.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_domain::catalog::entry_to_json;
use spendlens_domain::{
    CanonicalUsage, Day, PriceCatalog, PriceEntry, PriceSource, Pricing, ProviderKind, Quantity,
    Unit,
};
use spendlens_store::{OrgId, Store, StoreError};
use time::OffsetDateTime;

/// Per-organization catalogs and the revision each was read at.
#[derive(Debug, Default)]
pub struct PriceCache {
    catalogs: Mutex<HashMap<OrgId, (i64, Arc<PriceCatalog>)>>,
}

impl PriceCache {
    /// The organization's current catalog (built-in + stored entries).
    pub async fn catalog(
        &self,
        store: &Store,
        org: OrgId,
    ) -> Result<Arc<PriceCatalog>, StoreError> {
        let revision = store.price_revision(org).await?;
        if let Some((seen, catalog)) = self.lock().get(&org)
            && *seen == revision
        {
            return Ok(catalog.clone());
        }
        let snapshot = store.price_catalog(org).await?;
        let catalog = Arc::new(snapshot.catalog);
        self.lock()
            .insert(org, (snapshot.revision, catalog.clone()));
        Ok(catalog)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<OrgId, (i64, Arc<PriceCatalog>)>> {
        // A panic while holding the lock cannot leave the map half-written (inserts only).
        self.catalogs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A stored entry's numeric id, when it has one (built-in entries of the compiled list have
/// text ids).
pub fn stored_id(entry: &PriceEntry) -> Option<i64> {
    entry.id.parse().ok()
}

/// Whether the entry can be edited or deleted (stored and not built-in).
pub fn editable(entry: &PriceEntry) -> bool {
    entry.source != PriceSource::BuiltIn && stored_id(entry).is_some()
}

/// An entry as the API shows it: the price file's fields plus `id` and `editable`.
pub fn entry_json(entry: &PriceEntry) -> Value {
    let mut value = entry_to_json(entry);
    if let Some(map) = value.as_object_mut() {
        let id = match stored_id(entry) {
            Some(n) => json!(n),
            None => json!(entry.id),
        };
        map.insert("id".to_owned(), id);
        map.insert("editable".to_owned(), json!(editable(entry)));
    }
    value
}

/// The parameters of a price check (query string or form), tokens by canonical class.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckParams {
    pub provider: String,
    pub model: String,
    #[serde(default)]
    pub input: Option<i64>,
    #[serde(default)]
    pub cache_read: Option<i64>,
    #[serde(default)]
    pub cache_write: Option<i64>,
    #[serde(default)]
    pub cache_write_1h: Option<i64>,
    #[serde(default)]
    pub output: Option<i64>,
    #[serde(default)]
    pub reasoning: Option<i64>,
    #[serde(default)]
    pub quantity: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub batch: Option<bool>,
    #[serde(default)]
    pub service_tier: Option<String>,
    /// RFC 3339 instant or a UTC day; the present when absent.
    #[serde(default)]
    pub at: Option<String>,
}

/// A check ready to price: provider, model, instant, usage.
pub struct Check {
    pub provider: ProviderKind,
    pub model: String,
    pub at: OffsetDateTime,
    pub usage: CanonicalUsage,
}

/// Reads an instant: RFC 3339 (`2026-11-01T12:00:00Z`) or a UTC day (`2026-11-01`).
pub fn parse_instant(text: &str) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    if let Ok(at) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Ok(at);
    }
    text.parse::<Day>().map(Day::start).map_err(|_| {
        format!("\"{text}\" is not a time: give 2026-11-01T12:00:00Z or a day such as 2026-11-01")
    })
}

impl CheckParams {
    pub fn into_check(self, now: OffsetDateTime) -> Result<Check, String> {
        let provider: ProviderKind = self.provider.parse().map_err(|e| format!("{e}"))?;
        let model = self.model.trim().to_owned();
        if model.is_empty() || model.len() > 200 {
            return Err("give the model id (1 to 200 characters)".to_owned());
        }
        let count = |name: &str, value: Option<i64>| -> Result<i64, String> {
            match value {
                Some(n) if n < 0 => Err(format!("{name} cannot be negative ({n})")),
                Some(n) if n > 1_000_000_000_000 => Err(format!("{name} is absurdly large ({n})")),
                other => Ok(other.unwrap_or(0)),
            }
        };
        let quantity = match (self.quantity.as_deref(), self.unit.as_deref()) {
            (None, None) => None,
            (Some(q), Some(u)) => {
                let quantity = spendlens_domain::money::parse_decimal(q)
                    .map_err(|e| format!("quantity: {e}"))
                    .and_then(|d| {
                        Quantity::from_decimal(d).map_err(|e| format!("quantity: {e}"))
                    })?;
                Some((Unit::parse(u)?, quantity))
            }
            _ => return Err("give quantity and unit together (e.g. 3 images)".to_owned()),
        };
        let at = match self.at.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(text) => parse_instant(text)?,
            None => now,
        };
        Ok(Check {
            provider,
            model,
            at,
            usage: CanonicalUsage {
                input: count("input", self.input)?,
                cache_read: count("cache_read", self.cache_read)?,
                cache_write_5m: count("cache_write", self.cache_write)?,
                cache_write_1h: count("cache_write_1h", self.cache_write_1h)?,
                cache_write_unknown: 0,
                output: count("output", self.output)?,
                reasoning: count("reasoning", self.reasoning)?,
                quantity,
                service_tier: self.service_tier.filter(|t| !t.trim().is_empty()),
                batch: self.batch.unwrap_or(false),
            },
        })
    }
}

/// A check's outcome as JSON: the cost and the entry that priced it, or why it is unpriced.
pub fn pricing_json(check: &Check, pricing: &Pricing) -> Value {
    let base = json!({
        "provider": check.provider.as_str(),
        "model": check.model,
        "at": check.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    });
    let mut value = match pricing {
        Pricing::Priced(p) => json!({
            "status": "priced",
            "cost": p.cost.to_exact_string(),
            "currency": p.currency.to_string(),
            "entry": entry_json(&p.entry),
            "lines": p.lines.iter().map(|l| json!({
                "class": l.class.as_str(),
                "unit": l.unit.to_string(),
                "units": l.units.normalize().to_string(),
                "unit_price": l.unit_price.normalize().to_string(),
                "cost": l.cost.to_exact_string(),
            })).collect::<Vec<_>>(),
            "upstream": p.upstream.as_ref().map(|(provider, model)| json!({"provider": provider.as_str(), "model": model})),
            "assumed_cache_write_5m": p.assumed_cache_write_5m,
        }),
        Pricing::Unpriced(reason) => {
            let mut detail = serde_json::to_value(reason).unwrap_or(Value::Null);
            let code = detail
                .get("reason")
                .cloned()
                .unwrap_or_else(|| json!("unknown"));
            if let Some(map) = detail.as_object_mut() {
                map.remove("reason");
            }
            json!({
                "status": "unpriced",
                "cost": null,
                "reason": code,
                "message": reason.to_string(),
                "detail": detail,
            })
        }
    };
    if let (Some(map), Some(base)) = (value.as_object_mut(), base.as_object()) {
        for (k, v) in base {
            map.insert(k.clone(), v.clone());
        }
    }
    value
}
