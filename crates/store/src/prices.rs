//! The per-organization price catalog: user (and bill-observed) prices added, edited and
//! deleted one by one, built-in prices replaced as a whole by an import, and the catalog that
//! prices metered calls — stored entries plus, until an import, the list compiled into the
//! binary. Prices are exact decimals stored as text; every change bumps the organization's
//! price revision in the same transaction, so a server can cache the catalog.
//!
//! Which entry prices a call (user beats built-in, then the most specific glob, then the newest
//! effective entry on the call's day; observed entries never price a call) is decided by
//! [`spendlens_domain::PriceCatalog`]; this module only stores the entries. Observed entries are
//! written only by `observed_prices.rs` (from synced bills), never added or edited here.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::catalog::{Conditions, TokenPrices, UnitPrice};
use spendlens_domain::{
    Currency, Day, PriceCatalog, PriceEntry, PriceSource, ProviderKind, Unit, UnknownValue,
};

use crate::audit::{Actor, audit_actor, audit_change, lock_org};
use crate::{OrgId, RowExt, Store, StoreError, StoreResult, millis, with_pool};

/// What an import of built-in prices changes (or would change, on a dry run).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PriceImport {
    pub added: Vec<PriceEntry>,
    /// (before, after) for entries whose identity stayed and whose prices or dates changed.
    pub changed: Vec<(PriceEntry, PriceEntry)>,
    pub removed: Vec<PriceEntry>,
    pub unchanged: usize,
    /// The organization's built-in prices were the list compiled into the binary (no import
    /// had been made before).
    pub replaced_compiled: bool,
    pub applied: bool,
}

impl PriceImport {
    pub fn is_noop(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    /// `3 added, 1 changed, 0 removed, 40 unchanged`, as the command line and the audit log
    /// say it.
    pub fn summary(&self) -> String {
        format!(
            "{} added, {} changed, {} removed, {} unchanged",
            self.added.len(),
            self.changed.len(),
            self.removed.len(),
            self.unchanged
        )
    }
}

/// An organization's catalog and the revision it was read at.
#[derive(Clone, Debug)]
pub struct CatalogSnapshot {
    pub revision: i64,
    pub catalog: PriceCatalog,
}

/// The columns an entry is read from.
macro_rules! columns {
    () => {
        "id, provider, model_glob, input_per_m, cache_read_per_m, \
    cache_write_5m_per_m, cache_write_1h_per_m, output_per_m, reasoning_per_m, unit_prices, \
    context_above, batch, service_tier, effective_from, effective_to, currency, provenance, note"
    };
}

fn corrupt(id: i64, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("price entry {id}: {what}"))
}

fn decimal(id: i64, text: Option<String>) -> StoreResult<Option<Decimal>> {
    text.map(|t| Decimal::from_str(&t).map_err(|e| corrupt(id, format!("price \"{t}\": {e}"))))
        .transpose()
}

fn day(id: i64, number: i64) -> StoreResult<Day> {
    i32::try_from(number)
        .ok()
        .and_then(|n| Day::from_number(n).ok())
        .ok_or_else(|| corrupt(id, format!("day {number}")))
}

pub(crate) fn entry_from_row(row: &impl RowExt) -> StoreResult<PriceEntry> {
    let id = row.int("id")?;
    let units_text = row.text("unit_prices")?;
    let units_map: BTreeMap<String, String> =
        serde_json::from_str(&units_text).map_err(|e| corrupt(id, format!("unit prices: {e}")))?;
    let mut units = Vec::with_capacity(units_map.len());
    for (name, price) in units_map {
        units.push(UnitPrice {
            unit: Unit::parse(&name).map_err(|e| corrupt(id, e))?,
            price: decimal(id, Some(price))?.unwrap_or_default(),
        });
    }
    let provider = row.text("provider")?;
    let provenance = row.text("provenance")?;
    Ok(PriceEntry {
        id: id.to_string(),
        provider: ProviderKind::from_str(&provider).map_err(|e| corrupt(id, e))?,
        model_glob: row.text("model_glob")?,
        tokens: TokenPrices {
            input: decimal(id, row.opt_text("input_per_m")?)?,
            cache_read: decimal(id, row.opt_text("cache_read_per_m")?)?,
            cache_write_5m: decimal(id, row.opt_text("cache_write_5m_per_m")?)?,
            cache_write_1h: decimal(id, row.opt_text("cache_write_1h_per_m")?)?,
            output: decimal(id, row.opt_text("output_per_m")?)?,
            reasoning: decimal(id, row.opt_text("reasoning_per_m")?)?,
        },
        units,
        conditions: Conditions {
            context_above: row.opt_int("context_above")?,
            batch: row.flag("batch")?,
            service_tier: row.opt_text("service_tier")?,
        },
        effective_from: day(id, row.int("effective_from")?)?,
        effective_to: row
            .opt_int("effective_to")?
            .map(|n| day(id, n))
            .transpose()?,
        currency: Currency::parse(&row.text("currency")?).map_err(|e| corrupt(id, e))?,
        source: PriceSource::from_str(&provenance).map_err(|_| {
            StoreError::from(UnknownValue {
                what: "price provenance",
                value: provenance.clone(),
                expected: "built_in, observed or user",
            })
        })?,
        note: row.text("note")?,
    })
}

/// The columns of an entry, in the order of `columns!()` after the id.
pub(crate) struct Values {
    pub(crate) provider: &'static str,
    pub(crate) glob: String,
    pub(crate) prices: [Option<String>; 6],
    pub(crate) units: String,
    pub(crate) context_above: Option<i64>,
    pub(crate) batch: bool,
    pub(crate) tier: Option<String>,
    pub(crate) from: i64,
    pub(crate) to: Option<i64>,
    pub(crate) currency: String,
    pub(crate) provenance: &'static str,
    pub(crate) note: String,
}

pub(crate) fn values(entry: &PriceEntry) -> Values {
    let text = |d: Option<Decimal>| d.map(|d| d.normalize().to_string());
    let t = &entry.tokens;
    let units: BTreeMap<String, String> = entry
        .units
        .iter()
        .map(|u| (u.unit.to_string(), u.price.normalize().to_string()))
        .collect();
    Values {
        provider: entry.provider.as_str(),
        glob: entry.model_glob.clone(),
        prices: [
            text(t.input),
            text(t.cache_read),
            text(t.cache_write_5m),
            text(t.cache_write_1h),
            text(t.output),
            text(t.reasoning),
        ],
        units: serde_json::to_string(&units).unwrap_or_else(|_| "{}".to_owned()),
        context_above: entry.conditions.context_above,
        batch: entry.conditions.batch,
        tier: entry.conditions.service_tier.clone(),
        from: i64::from(entry.effective_from.number()),
        to: entry.effective_to.map(|d| i64::from(d.number())),
        currency: entry.currency.to_string(),
        provenance: entry.source.as_str(),
        note: entry.note.clone(),
    }
}

/// Binds [`Values`] to `$2 … $19` of a query whose `$1` is already bound.
macro_rules! bind_values {
    ($query:expr, $v:expr) => {{
        let [input, cache_read, cw5, cw1h, output, reasoning] = $v.prices.clone();
        $query
            .bind($v.provider)
            .bind($v.glob.clone())
            .bind(input)
            .bind(cache_read)
            .bind(cw5)
            .bind(cw1h)
            .bind(output)
            .bind(reasoning)
            .bind($v.units.clone())
            .bind($v.context_above)
            .bind($v.batch)
            .bind($v.tier.clone())
            .bind($v.from)
            .bind($v.to)
            .bind($v.currency.clone())
            .bind($v.provenance)
            .bind($v.note.clone())
    }};
}
pub(crate) use bind_values;

pub(crate) const INSERT: &str = "INSERT INTO price_entries (org_id, provider, model_glob, input_per_m, \
    cache_read_per_m, cache_write_5m_per_m, cache_write_1h_per_m, output_per_m, reasoning_per_m, \
    unit_prices, context_above, batch, service_tier, effective_from, effective_to, currency, \
    provenance, note, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) \
    RETURNING id";

const UPDATE: &str = "UPDATE price_entries SET provider = $2, model_glob = $3, input_per_m = $4, \
    cache_read_per_m = $5, cache_write_5m_per_m = $6, cache_write_1h_per_m = $7, \
    output_per_m = $8, reasoning_per_m = $9, unit_prices = $10, context_above = $11, batch = $12, \
    service_tier = $13, effective_from = $14, effective_to = $15, currency = $16, \
    provenance = $17, note = $18, updated_at = $19 WHERE id = $1 AND org_id = $20";

/// A provider's observed entries (`$1` org, `$2` provider).
pub(crate) const OBSERVED: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM price_entries WHERE org_id = $1 AND provider = $2 AND provenance = 'observed'"
);

pub(crate) const BUMP: &str = "INSERT INTO price_revisions (org_id, revision) VALUES ($1, 1) \
    ON CONFLICT (org_id) DO UPDATE SET revision = price_revisions.revision + 1";

/// A unique-index violation means an entry with the same identity exists.
fn conflict(err: sqlx::Error, entry: &PriceEntry) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!(
            "a {} price for {} \"{}\" from {} with the same conditions already exists; edit that entry instead",
            entry.source, entry.provider, entry.model_glob, entry.effective_from
        )),
        _ => StoreError::Database(err),
    }
}

fn check_entry(entry: PriceEntry) -> StoreResult<PriceEntry> {
    let entry = entry
        .validate()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    if entry.source == PriceSource::BuiltIn {
        return Err(StoreError::Invalid(
            "built-in prices come only from `spendlens prices import`; add the price as a user entry (it takes precedence over the built-in one)".to_owned(),
        ));
    }
    if entry.source == PriceSource::Observed {
        return Err(StoreError::Invalid(
            "observed prices come only from synced bills (each sync rebuilds them); add the price as a user entry to price calls with it".to_owned(),
        ));
    }
    Ok(entry)
}

fn read_only(entry: &PriceEntry) -> StoreError {
    if entry.source == PriceSource::Observed {
        return StoreError::Invalid(format!(
            "entry {} is a price observed on a bill and cannot be changed here: each sync rebuilds it; add a user entry for \"{}\" to price calls",
            entry.id, entry.model_glob
        ));
    }
    StoreError::Invalid(format!(
        "entry {} is a built-in price and cannot be changed here: add a user entry for \"{}\" (it takes precedence), or refresh built-in prices with `spendlens prices import`",
        entry.id, entry.model_glob
    ))
}

/// Entries keyed by identity (what the unique index covers), for comparing two lists.
fn by_identity(entries: Vec<PriceEntry>) -> HashMap<String, PriceEntry> {
    entries.into_iter().map(|e| (e.derived_id(), e)).collect()
}

fn same_content(a: &PriceEntry, b: &PriceEntry) -> bool {
    PriceEntry {
        id: String::new(),
        ..a.clone()
    } == PriceEntry {
        id: String::new(),
        ..b.clone()
    }
}

impl Store {
    /// The entries stored for the organization (user, observed, and imported built-in ones),
    /// by provider, model and start day.
    pub async fn stored_prices(&self, org: OrgId) -> StoreResult<Vec<PriceEntry>> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM price_entries WHERE org_id = $1 ORDER BY provider, model_glob, effective_from, id"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(org.0).fetch_all(pool).await?;
            rows.iter().map(entry_from_row).collect()
        })
    }

    /// Every entry that prices the organization's calls: the stored ones, plus the built-in
    /// list compiled into the binary when no built-in prices were ever imported.
    pub async fn prices(&self, org: OrgId) -> StoreResult<Vec<PriceEntry>> {
        let mut entries = self.stored_prices(org).await?;
        if !entries.iter().any(|e| e.source == PriceSource::BuiltIn) {
            entries.extend(PriceCatalog::built_in().entries().iter().cloned());
        }
        entries.sort_by_cached_key(|e| {
            (
                e.provider.as_str(),
                e.model_glob.clone(),
                e.effective_from,
                std::cmp::Reverse(e.source),
            )
        });
        Ok(entries)
    }

    /// The number that moves whenever the organization's prices change (0: never changed).
    pub async fn price_revision(&self, org: OrgId) -> StoreResult<i64> {
        let revision: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT revision FROM price_revisions WHERE org_id = $1")
                .bind(org.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(revision.unwrap_or(0))
    }

    /// The catalog that prices the organization's calls, with the revision it was read at
    /// (read before the entries, so a change in between only causes one more reload).
    pub async fn price_catalog(&self, org: OrgId) -> StoreResult<CatalogSnapshot> {
        let revision = self.price_revision(org).await?;
        let entries = self.prices(org).await?;
        Ok(CatalogSnapshot {
            revision,
            catalog: PriceCatalog::new(entries),
        })
    }

    pub async fn get_price(&self, org: OrgId, id: i64) -> StoreResult<PriceEntry> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM price_entries WHERE org_id = $1 AND id = $2"
        );
        let found = with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(org.0)
                .bind(id)
                .fetch_optional(pool)
                .await?
                .map(|row| entry_from_row(&row))
                .transpose()?
        });
        found.ok_or_else(|| StoreError::NotFound {
            what: format!("price entry {id}"),
        })
    }

    /// Adds a user price; returns it with its id. Audited as `actor`'s (`price.add`, `price
    /// entry <id>`, the entry as `describe` words it) in the same transaction.
    pub async fn add_price(
        &self,
        org: OrgId,
        entry: PriceEntry,
        actor: Actor<'_>,
        describe: impl FnOnce(&PriceEntry) -> String,
    ) -> StoreResult<PriceEntry> {
        let mut entry = check_entry(entry)?;
        let v = values(&entry);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            let id: i64 = bind_values!(sqlx::query_scalar(INSERT).bind(org.0), v)
                .bind(millis(actor.at))
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| conflict(e, &entry))?;
            sqlx::query(BUMP).bind(org.0).execute(&mut *tx).await?;
            entry.id = id.to_string();
            let (subject, detail) = (format!("price entry {id}"), describe(&entry));
            audit_actor!(tx, org, actor, "price.add", &subject, &detail);
            tx.commit().await?;
        });
        Ok(entry)
    }

    /// Replaces a user entry's fields; returns (before, after). Built-in and observed entries
    /// are refused. Audited as `actor`'s (`price.edit`, `price entry <id>`, `was …; now …` as
    /// `describe` words the two) in the same transaction.
    pub async fn edit_price(
        &self,
        org: OrgId,
        id: i64,
        entry: PriceEntry,
        actor: Actor<'_>,
        describe: impl Fn(&PriceEntry) -> String,
    ) -> StoreResult<(PriceEntry, PriceEntry)> {
        let before = self.get_price(org, id).await?;
        if before.source != PriceSource::User {
            return Err(read_only(&before));
        }
        let mut entry = check_entry(entry)?;
        entry.id = id.to_string();
        let v = values(&entry);
        let (subject, detail) = (
            format!("price entry {id}"),
            format!("was {}; now {}", describe(&before), describe(&entry)),
        );
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "price.edit", &subject, &detail);
            let changed = bind_values!(sqlx::query(UPDATE).bind(id), v)
                .bind(millis(actor.at))
                .bind(org.0)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, &entry))?
                .rows_affected();
            if changed > 0 {
                sqlx::query(BUMP).bind(org.0).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            changed
        });
        if changed == 0 {
            // Deleted since the read: nothing changed, nothing is logged.
            return Err(StoreError::NotFound {
                what: format!("price entry {id}"),
            });
        }
        Ok((before, entry))
    }

    /// Deletes a user entry; returns what was deleted. Built-in and observed entries are
    /// refused (a user entry overrides them). Audited as `actor`'s (`price.delete`, `price
    /// entry <id>`, the entry as `describe` words it) in the same transaction.
    pub async fn delete_price(
        &self,
        org: OrgId,
        id: i64,
        actor: Actor<'_>,
        describe: impl FnOnce(&PriceEntry) -> String,
    ) -> StoreResult<PriceEntry> {
        let entry = self.get_price(org, id).await?;
        if entry.source != PriceSource::User {
            return Err(read_only(&entry));
        }
        let (subject, detail) = (format!("price entry {id}"), describe(&entry));
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "price.delete", &subject, &detail);
            sqlx::query("DELETE FROM price_entries WHERE org_id = $1 AND id = $2")
                .bind(org.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(BUMP).bind(org.0).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(entry)
    }

    /// Replaces the organization's built-in prices with `entries` (every one of built-in
    /// provenance; user and observed entries are untouched) and says what changed. With `apply`
    /// `None` (a dry run) nothing is written; with `Some((actor, source))` the import is
    /// audited as `actor`'s (`price.import`, `source`, the summary) in the same transaction.
    pub async fn import_built_in_prices(
        &self,
        org: OrgId,
        entries: Vec<PriceEntry>,
        apply: Option<(Actor<'_>, &str)>,
    ) -> StoreResult<PriceImport> {
        if entries.is_empty() {
            return Err(StoreError::Invalid(
                "the file has no entries; nothing was imported (an empty list would leave every model unpriced)".to_owned(),
            ));
        }
        let mut checked = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = entry
                .validate()
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            if entry.source != PriceSource::BuiltIn {
                return Err(StoreError::Invalid(format!(
                    "the entry for {} \"{}\" has provenance {}; an import replaces built-in prices only (add user prices with `spendlens prices add`)",
                    entry.provider, entry.model_glob, entry.source
                )));
            }
            checked.push(entry);
        }
        let mut seen = HashMap::new();
        for entry in &checked {
            if seen.insert(entry.derived_id(), ()).is_some() {
                return Err(StoreError::Invalid(format!(
                    "the file lists {} \"{}\" from {} twice with the same conditions",
                    entry.provider, entry.model_glob, entry.effective_from
                )));
            }
        }
        let stored: Vec<PriceEntry> = self
            .stored_prices(org)
            .await?
            .into_iter()
            .filter(|e| e.source == PriceSource::BuiltIn)
            .collect();
        let replaced_compiled = stored.is_empty();
        let current = if replaced_compiled {
            PriceCatalog::built_in().entries().to_vec()
        } else {
            stored
        };
        let mut old = by_identity(current);
        let mut report = PriceImport {
            replaced_compiled,
            ..PriceImport::default()
        };
        for entry in &checked {
            match old.remove(&entry.derived_id()) {
                None => report.added.push(entry.clone()),
                Some(before) if same_content(&before, entry) => report.unchanged += 1,
                Some(before) => report.changed.push((before, entry.clone())),
            }
        }
        report.removed = old.into_values().collect();
        report.removed.sort_by_cached_key(PriceEntry::derived_id);
        let Some((actor, source)) = apply else {
            return Ok(report);
        };
        let at = millis(actor.at);
        let summary = report.summary();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "price.import", source, &summary);
            sqlx::query("DELETE FROM price_entries WHERE org_id = $1 AND provenance = 'built_in'")
                .bind(org.0)
                .execute(&mut *tx)
                .await?;
            for entry in &checked {
                let v = values(entry);
                let _: i64 = bind_values!(sqlx::query_scalar(INSERT).bind(org.0), v)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, entry))?;
            }
            sqlx::query(BUMP).bind(org.0).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        report.applied = true;
        Ok(report)
    }
}
