//! Cost records and token usage as the API and the Cost pages share them: the filters parsed
//! (with a message for every bad value, never a clamp), API keys masked, the keyset cursor,
//! one record as JSON, and the totals (summary cards, by provider, by model) summed from the
//! rollups' series.
//!
//! Unknown is not zero: a call that reported no tokens has `null` token counts (and is
//! `estimated`), an unpriced call has a `null` cost (shown "unpriced"), and the input / output
//! cost split is given only where it is exactly known (catalog-priced calls stored with their
//! split); a provider-reported total has no split.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_domain::{Day, Money};
use spendlens_store::{
    Metrics, OrgId, RecordCursor, SeriesKey, Store, StoreError, UsageFilter, UsageRecord,
    meter_extra,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Rows per page unless `limit` says otherwise, and the most one page may hold.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 1000;

/// The query parameters, as typed. Empty values filter nothing.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageParams {
    #[serde(default)]
    pub customer: String,
    #[serde(default)]
    pub api_key: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default, alias = "page_size")]
    pub limit: String,
    #[serde(default)]
    pub cursor: String,
}

/// The parameters parsed: the store's filter (API key still as typed), the page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageQuery {
    pub filter: UsageFilter,
    /// The API key as typed (masked or stored form), resolved by [`resolve_keys`].
    pub api_key: Option<String>,
    pub limit: u32,
    pub cursor: Option<RecordCursor>,
}

fn text(value: &str, name: &str) -> Result<Option<String>, String> {
    let value = value.trim();
    if value.chars().count() > 200 {
        return Err(format!("{name} is at most 200 characters"));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// A range bound: a UTC day `YYYY-MM-DD` or an RFC 3339 instant on a whole hour. Returns the
/// hour it starts at and whether it was a day.
fn bound(value: &str, name: &str) -> Result<Option<(i64, bool)>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if let Ok(day) = value.parse::<Day>() {
        return Ok(Some((i64::from(day.number()) * 24, true)));
    }
    let Ok(at) = OffsetDateTime::parse(value, &Rfc3339) else {
        return Err(format!(
            "{name} \"{}\" is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-12-04T10:00:00Z)",
            value.chars().take(40).collect::<String>()
        ));
    };
    let seconds = at.unix_timestamp();
    if seconds.rem_euclid(3600) != 0 || at.nanosecond() != 0 {
        return Err(format!(
            "{name} \"{value}\" is not on a whole hour; totals come from hourly rollups, so give a date or a time like 2026-12-04T10:00:00Z"
        ));
    }
    Ok(Some((seconds.div_euclid(3600), false)))
}

/// Parses the parameters. `from`/`to` dates are inclusive UTC days; instants are a half-open
/// range `[from, to)`.
pub fn parse(params: &UsageParams) -> Result<UsageQuery, String> {
    let from = bound(&params.from, "from")?;
    let to = bound(&params.to, "to")?;
    let from_hour = from.map(|(h, _)| h);
    let to_hour = to.map(|(h, day)| if day { h + 24 } else { h });
    if let (Some(a), Some(b)) = (from_hour, to_hour)
        && a >= b
    {
        return Err(format!(
            "from ({}) is not before to ({}); give from ≤ to (dates are inclusive days)",
            params.from.trim(),
            params.to.trim()
        ));
    }
    let limit = match params.limit.trim() {
        "" => DEFAULT_LIMIT,
        text => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}, got \"{}\"",
                    text.chars().take(20).collect::<String>()
                ));
            }
        },
    };
    let cursor = match params.cursor.trim() {
        "" => None,
        text => Some(decode_cursor(text).ok_or_else(|| {
            "cursor is not one this server gave; pass next_cursor from the previous page unchanged"
                .to_owned()
        })?),
    };
    Ok(UsageQuery {
        filter: UsageFilter {
            provider: text(&params.provider, "provider")?.map(|p| p.to_ascii_lowercase()),
            model: text(&params.model, "model")?,
            customer: text(&params.customer, "customer")?,
            api_keys: None,
            from_hour,
            to_hour,
        },
        api_key: text(&params.api_key, "api_key")?,
        limit,
        cursor,
    })
}

/// The masked form of a stored API key: hints (which carry an ellipsis) as they are, anything
/// else cut to its prefix, three characters and the last four (`key-…` when too short to keep
/// any of it).
pub fn mask_key(stored: &str) -> String {
    spendlens_domain::credential::mask_stored_key(stored)
}

/// Turns the typed API key (its masked form, as shown, or the stored form) into the stored
/// values it names.
pub async fn resolve_keys(
    store: &Store,
    org: OrgId,
    query: &mut UsageQuery,
) -> Result<(), StoreError> {
    if let Some(typed) = &query.api_key {
        let known = store.meter_dimension_values(org, 2).await?;
        query.filter.api_keys = Some(
            known
                .into_iter()
                .filter(|k| k == typed || mask_key(k) == *typed)
                .collect(),
        );
    }
    Ok(())
}

/// `<time_ms>.<hex of the event id>`: opaque to callers, safe in a URL.
pub fn encode_cursor(record: &UsageRecord) -> String {
    format!("{}.{}", record.time_ms, hex::encode(&record.event_id))
}

fn decode_cursor(text: &str) -> Option<RecordCursor> {
    let (time, id) = text.split_once('.')?;
    Some(RecordCursor {
        time_ms: time.parse().ok()?,
        event_id: String::from_utf8(hex::decode(id).ok()?).ok()?,
    })
}

/// One record's figures, with unknowns as `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordFigures {
    /// All input tokens (uncached, cache reads and writes).
    pub input_tokens: Option<i64>,
    /// All output tokens (visible and reasoning).
    pub output_tokens: Option<i64>,
    /// Input, output and other (non-token) cost, when exactly known.
    pub split: Option<(Money, Money, Money)>,
    pub tokens_reported: bool,
    pub cost_reported: bool,
}

impl RecordFigures {
    pub fn of(r: &UsageRecord) -> RecordFigures {
        let tokens_reported = r.input_uncached.is_some();
        let sum = |parts: &[Option<i64>]| -> Option<i64> {
            tokens_reported.then(|| parts.iter().map(|p| p.unwrap_or(0)).sum())
        };
        let split = match (
            r.cost_source.as_str(),
            r.cost,
            r.catalog_input_cost,
            r.catalog_output_cost,
        ) {
            ("catalog", Some(total), Some(input), Some(output)) => {
                Some((input, output, total - input - output))
            }
            _ => None,
        };
        RecordFigures {
            input_tokens: sum(&[r.input_uncached, r.cache_read, r.cache_write]),
            output_tokens: sum(&[r.output_visible, r.reasoning]),
            split,
            tokens_reported,
            cost_reported: r.cost_source == "reported",
        }
    }

    /// Tokens or cost were not reported by the caller (counted from the catalog, or unknown).
    pub fn estimated(&self) -> bool {
        !self.tokens_reported || !self.cost_reported
    }
}

fn time_text(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// One record as JSON: exact decimal strings for money, `null` for unknowns.
pub fn record_json(r: &UsageRecord) -> Value {
    let f = RecordFigures::of(r);
    let money = |m: Option<Money>| m.map(|m| m.to_exact_string());
    json!({
        "id": r.event_id,
        "time": time_text(r.time_ms),
        "customer": r.customer,
        "api_key": r.api_key.as_deref().map(mask_key),
        "provider": r.provider,
        "model": r.model,
        "status": r.status,
        "input_tokens": f.input_tokens,
        "output_tokens": f.output_tokens,
        "total_tokens": f.input_tokens.zip(f.output_tokens).map(|(a, b)| a + b),
        "cache_read_tokens": r.cache_read,
        "cache_write_tokens": r.cache_write,
        "reasoning_tokens": r.reasoning,
        "quantity": r.quantity.as_ref().map(|(q, _)| q.to_decimal().normalize().to_string()),
        "unit": r.quantity.as_ref().map(|(_, u)| u.clone()),
        "input_cost": money(f.split.map(|s| s.0)),
        "output_cost": money(f.split.map(|s| s.1)),
        "other_cost": money(f.split.map(|s| s.2)),
        "total_cost": money(r.cost),
        "priced": r.cost.is_some(),
        "cost_source": r.cost_source,
        "unpriced_reason": if r.cost.is_none() { r.unpriced_reason.clone() } else { None },
        "tokens_reported": f.tokens_reported,
        "cost_reported": f.cost_reported,
        "estimated": f.estimated(),
        "token_flags": r.token_flags.as_deref().map(|t| t.split(',').collect::<Vec<_>>()).unwrap_or_default(),
        "latency_ms": r.latency_ms,
    })
}

/// The totals of a set of series (summary cards, the token-usage summary).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageTotals {
    pub requests: i64,
    /// Requests that reported no token counts.
    pub requests_without_tokens: i64,
    pub input_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_tokens: i64,
    /// The cost of the priced requests.
    pub cost: Money,
    pub unpriced: i64,
    pub reported_cost: i64,
    pub failed: i64,
}

impl UsageTotals {
    pub fn add(&mut self, m: &Metrics) {
        let t = &m.totals;
        self.requests += t.requests;
        self.requests_without_tokens += t.requests_unknown;
        self.input_tokens += t.input_tokens + t.cache_read_tokens + t.cache_write_tokens;
        self.cache_read_tokens += t.cache_read_tokens;
        self.cache_write_tokens += t.cache_write_tokens;
        self.output_tokens += t.output_tokens;
        self.reasoning_tokens += m.extra[meter_extra::REASONING_TOKENS];
        self.cost += t.cost;
        self.unpriced += m.extra[meter_extra::UNPRICED];
        self.reported_cost += m.extra[meter_extra::REPORTED_COST];
        self.failed += m.extra[meter_extra::FAILED];
    }

    pub fn of<'a>(series: impl IntoIterator<Item = &'a (SeriesKey, Metrics)>) -> UsageTotals {
        let mut totals = UsageTotals::default();
        for (_, m) in series {
            totals.add(m);
        }
        totals
    }

    pub fn requests_with_tokens(&self) -> i64 {
        self.requests - self.requests_without_tokens
    }

    /// Token counts are known only if some request reported them.
    fn known(&self, value: i64) -> Option<i64> {
        (self.requests_with_tokens() > 0).then_some(value)
    }

    pub fn input(&self) -> Option<i64> {
        self.known(self.input_tokens)
    }

    pub fn output(&self) -> Option<i64> {
        self.known(self.output_tokens)
    }

    pub fn total(&self) -> Option<i64> {
        self.known(self.input_tokens + self.output_tokens)
    }

    /// Total tokens per request that reported tokens, to two decimals (half to even).
    pub fn average_tokens(&self) -> Option<Decimal> {
        let n = self.requests_with_tokens();
        (n > 0).then(|| {
            (Decimal::from(self.input_tokens + self.output_tokens) / Decimal::from(n))
                .round_dp(2)
                .normalize()
        })
    }

    /// The cost, unless no request was priced (then it is unknown, not $0).
    pub fn priced_cost(&self) -> Option<Money> {
        (self.requests > self.unpriced).then_some(self.cost)
    }

    pub fn json(&self) -> Value {
        json!({
            "requests": self.requests,
            "requests_with_tokens": self.requests_with_tokens(),
            "requests_without_tokens": self.requests_without_tokens,
            "input_tokens": self.input(),
            "output_tokens": self.output(),
            "total_tokens": self.total(),
            "cache_read_tokens": self.known(self.cache_read_tokens),
            "cache_write_tokens": self.known(self.cache_write_tokens),
            "reasoning_tokens": self.known(self.reasoning_tokens),
            "average_tokens_per_request": self.average_tokens().map(|d| d.to_string()),
            "total_cost": self.priced_cost().map(Money::to_exact_string),
            "priced_requests": self.requests - self.unpriced,
            "unpriced_requests": self.unpriced,
            "reported_cost_requests": self.reported_cost,
            "failed_requests": self.failed,
        })
    }
}

/// Totals grouped by one dimension's value (0 provider, 1 model…), largest cost first.
pub fn group_by(series: &[(SeriesKey, Metrics)], dim: usize) -> Vec<(String, UsageTotals)> {
    let mut groups: BTreeMap<String, UsageTotals> = BTreeMap::new();
    for (key, m) in series {
        let name = key
            .dims
            .get(dim)
            .and_then(|d| d.text())
            .unwrap_or_default()
            .to_owned();
        groups.entry(name).or_default().add(m);
    }
    let mut out: Vec<(String, UsageTotals)> = groups.into_iter().collect();
    out.sort_by(|a, b| b.1.cost.cmp(&a.1.cost).then_with(|| a.0.cmp(&b.0)));
    out
}

/// A range bound back as text for answers: the hour as an RFC 3339 instant.
pub fn hour_text(hour: Option<i64>) -> Option<String> {
    hour.map(|h| time_text(h * 3_600_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> UsageParams {
        let mut p = UsageParams::default();
        for (k, v) in pairs {
            let v = (*v).to_owned();
            match *k {
                "from" => p.from = v,
                "to" => p.to = v,
                "limit" => p.limit = v,
                "cursor" => p.cursor = v,
                _ => unreachable!(),
            }
        }
        p
    }

    #[test]
    fn dates_are_inclusive_days_and_instants_whole_hours() {
        let q = parse(&params(&[("from", "2026-12-01"), ("to", "2026-12-01")])).unwrap();
        let day = i64::from("2026-12-01".parse::<Day>().unwrap().number());
        assert_eq!(q.filter.from_hour, Some(day * 24));
        assert_eq!(q.filter.to_hour, Some(day * 24 + 24));
        let q = parse(&params(&[
            ("from", "2026-12-01T10:00:00Z"),
            ("to", "2026-12-01T13:00:00+01:00"),
        ]))
        .unwrap();
        assert_eq!(q.filter.from_hour, Some(day * 24 + 10));
        assert_eq!(q.filter.to_hour, Some(day * 24 + 12));
        assert_eq!(q.limit, DEFAULT_LIMIT);
    }

    #[test]
    fn bad_input_is_an_error_never_a_clamp() {
        for (pairs, needle) in [
            (vec![("from", "2026-13-01")], "neither a date"),
            (vec![("from", "2026-12-01T10:30:00Z")], "whole hour"),
            (
                vec![("from", "2026-12-02"), ("to", "2026-12-01")],
                "not before",
            ),
            (vec![("limit", "0")], "from 1 to 1000"),
            (vec![("limit", "5000")], "from 1 to 1000"),
            (vec![("limit", "ten")], "from 1 to 1000"),
            (vec![("cursor", "nope")], "cursor"),
        ] {
            let err = parse(&params(&pairs)).unwrap_err();
            assert!(err.contains(needle), "{pairs:?}: {err}");
        }
        assert_eq!(parse(&params(&[("limit", "1000")])).unwrap().limit, 1000);
    }

    #[test]
    fn keys_are_masked_and_hints_kept() {
        assert_eq!(mask_key("sk-proj-abc…wxyz"), "sk-proj-abc…wxyz");
        assert_eq!(mask_key("key-1"), "key-…");
        let masked = mask_key("acct_1234567890abcdef");
        assert_eq!(masked, "acct_123…cdef");
        assert!(!masked.contains("4567890ab"));
    }

    #[test]
    fn cursors_round_trip() {
        let record = UsageRecord {
            event_id: "ünïcode.id/1".into(),
            time_ms: 1_764_000_000_123,
            provider: String::new(),
            model: String::new(),
            customer: None,
            api_key: None,
            status: "ok".into(),
            input_uncached: None,
            cache_read: None,
            cache_write: None,
            output_visible: None,
            reasoning: None,
            token_flags: None,
            quantity: None,
            cost: None,
            cost_source: "unpriced".into(),
            reported_cost: None,
            catalog_cost: None,
            catalog_input_cost: None,
            catalog_output_cost: None,
            unpriced_reason: None,
            latency_ms: None,
        };
        let cursor = decode_cursor(&encode_cursor(&record)).unwrap();
        assert_eq!(cursor.time_ms, record.time_ms);
        assert_eq!(cursor.event_id, record.event_id);
        let f = RecordFigures::of(&record);
        assert_eq!((f.input_tokens, f.split, f.estimated()), (None, None, true));
    }
}
