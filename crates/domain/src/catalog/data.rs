//! The price file: the format of the built-in price list compiled into the binary
//! (`crates/domain/data/prices.json`) and of the files `spendlens prices import` reads.
//!
//! Prices are decimal *strings* (never JSON numbers, which readers parse as floats), per 1M
//! tokens for token classes and per one unit for non-token units.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::calendar::Day;
use crate::money::{Currency, parse_decimal};
use crate::provider::ProviderKind;
use crate::usage::Unit;

use super::entry::{Conditions, PriceEntry, PriceSource, TokenPrices, UnitPrice};

/// The built-in price list.
pub const BUILT_IN_PRICES_JSON: &str = include_str!("../../data/prices.json");

static BUILT_IN: LazyLock<Result<Vec<PriceEntry>, PriceFileError>> =
    LazyLock::new(|| parse_price_file(BUILT_IN_PRICES_JSON, PriceSource::BuiltIn));

/// The built-in entries. The file is checked by a unit test, so it always parses; were it
/// ever broken the catalog would be empty (everything unpriced), never wrong.
pub(crate) fn built_in_entries() -> Vec<PriceEntry> {
    BUILT_IN.as_ref().map(Clone::clone).unwrap_or_default()
}

/// Why a price file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceFileError {
    #[error("the price file is not valid JSON of the expected shape: {0}")]
    Json(String),
    #[error("the price file's format is \"{0}\"; expected \"spendlens-prices/1\"")]
    Format(String),
    #[error("entry {index} ({model}): {message}")]
    Entry {
        index: usize,
        model: String,
        message: String,
    },
}

const FORMAT: &str = "spendlens-prices/1";

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    entries: Vec<FileEntry>,
}

/// One entry as written in the file.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    provider: String,
    model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_read: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "cache_write"
    )]
    cache_write_5m: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_write_1h: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reasoning: Option<String>,
    /// Price per one unit, by unit name (`images`, `seconds`, `characters`, `requests`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    units: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context_above: Option<i64>,
    #[serde(default, skip_serializing_if = "is_false")]
    batch: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_tier: Option<String>,
    effective_from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    effective_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provenance: Option<String>,
    /// Where the price was read and when (required).
    source: String,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Reads a price file. Entries without a `provenance` get `default_source`.
pub fn parse_price_file(
    text: &str,
    default_source: PriceSource,
) -> Result<Vec<PriceEntry>, PriceFileError> {
    let file: PriceFile =
        serde_json::from_str(text).map_err(|e| PriceFileError::Json(e.to_string()))?;
    if file.format != FORMAT {
        return Err(PriceFileError::Format(file.format));
    }
    file.entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let model = entry.model.clone();
            to_entry(entry, default_source).map_err(|message| PriceFileError::Entry {
                index,
                model,
                message,
            })
        })
        .collect()
}

fn to_entry(file: FileEntry, default_source: PriceSource) -> Result<PriceEntry, String> {
    let dec = |field: &str, value: &Option<String>| -> Result<_, String> {
        value
            .as_deref()
            .map(|text| parse_decimal(text).map_err(|e| format!("{field}: {e}")))
            .transpose()
    };
    let provider: ProviderKind = file.provider.parse().map_err(|e| format!("{e}"))?;
    let tokens = TokenPrices {
        input: dec("input", &file.input)?,
        cache_read: dec("cache_read", &file.cache_read)?,
        cache_write_5m: dec("cache_write_5m", &file.cache_write_5m)?,
        cache_write_1h: dec("cache_write_1h", &file.cache_write_1h)?,
        output: dec("output", &file.output)?,
        reasoning: dec("reasoning", &file.reasoning)?,
    };
    let mut units = Vec::new();
    for (name, price) in &file.units {
        units.push(UnitPrice {
            unit: Unit::parse(name)?,
            price: parse_decimal(price).map_err(|e| format!("units.{name}: {e}"))?,
        });
    }
    let day = |field: &str, text: &str| -> Result<Day, String> {
        text.parse().map_err(|e| format!("{field}: {e}"))
    };
    let source = match &file.provenance {
        Some(text) => text.parse()?,
        None => default_source,
    };
    if file.source.trim().is_empty() {
        return Err("source is empty: say where the price was read and when".to_owned());
    }
    let entry = PriceEntry {
        id: String::new(),
        provider,
        model_glob: file.model,
        tokens,
        units,
        conditions: Conditions {
            context_above: file.context_above,
            batch: file.batch,
            service_tier: file.service_tier,
        },
        effective_from: day("effective_from", &file.effective_from)?,
        effective_to: file
            .effective_to
            .as_deref()
            .map(|t| day("effective_to", t))
            .transpose()?,
        currency: match &file.currency {
            Some(code) => Currency::parse(code).map_err(|e| e.to_string())?,
            None => Currency::usd(),
        },
        source,
        note: file.source,
    };
    entry.validate().map_err(|e| e.to_string())
}

/// One entry in the file's JSON shape — also the body the API takes for a new or edited entry.
/// Without a `provenance`, the entry gets `default_source`.
pub fn entry_from_json(
    value: serde_json::Value,
    default_source: PriceSource,
) -> Result<PriceEntry, String> {
    let file: FileEntry = serde_json::from_value(value).map_err(|e| e.to_string())?;
    to_entry(file, default_source)
}

/// An entry in the file's JSON shape (what `entry_from_json` reads back).
pub fn entry_to_json(entry: &PriceEntry) -> serde_json::Value {
    serde_json::to_value(to_file_entry(entry)).unwrap_or(serde_json::Value::Null)
}

fn to_file_entry(e: &PriceEntry) -> FileEntry {
    let text = |v: Option<rust_decimal::Decimal>| v.map(|d| d.normalize().to_string());
    FileEntry {
        provider: e.provider.as_str().to_owned(),
        model: e.model_glob.clone(),
        input: text(e.tokens.input),
        cache_read: text(e.tokens.cache_read),
        cache_write_5m: text(e.tokens.cache_write_5m),
        cache_write_1h: text(e.tokens.cache_write_1h),
        output: text(e.tokens.output),
        reasoning: text(e.tokens.reasoning),
        units: e
            .units
            .iter()
            .map(|u| (u.unit.to_string(), u.price.normalize().to_string()))
            .collect(),
        context_above: e.conditions.context_above,
        batch: e.conditions.batch,
        service_tier: e.conditions.service_tier.clone(),
        effective_from: e.effective_from.to_string(),
        effective_to: e.effective_to.map(|d| d.to_string()),
        currency: Some(e.currency.to_string()),
        provenance: Some(e.source.as_str().to_owned()),
        source: e.note.clone(),
    }
}

/// Writes entries in the price file format (what `spendlens prices export` prints and
/// `import` reads back).
pub fn write_price_file(entries: &[PriceEntry]) -> Result<String, PriceFileError> {
    let file = PriceFile {
        format: FORMAT.to_owned(),
        description: None,
        entries: entries.iter().map(to_file_entry).collect(),
    };
    serde_json::to_string_pretty(&file).map_err(|e| PriceFileError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_file_parses_and_every_entry_names_its_source() {
        let entries = parse_price_file(BUILT_IN_PRICES_JSON, PriceSource::BuiltIn).unwrap();
        assert!(entries.len() > 40, "{}", entries.len());
        for entry in &entries {
            assert!(!entry.note.trim().is_empty(), "{}", entry.id);
            assert_eq!(entry.source, PriceSource::BuiltIn, "{}", entry.id);
        }
        let mut ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "two built-in entries share an id");
    }

    #[test]
    fn a_file_round_trips() {
        let entries = parse_price_file(BUILT_IN_PRICES_JSON, PriceSource::BuiltIn).unwrap();
        let text = write_price_file(&entries).unwrap();
        assert_eq!(parse_price_file(&text, PriceSource::User).unwrap(), entries);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let err = parse_price_file("{", PriceSource::User).unwrap_err();
        assert!(matches!(err, PriceFileError::Json(_)), "{err}");
        let err = parse_price_file(r#"{"format":"x","entries":[]}"#, PriceSource::User)
            .unwrap_err()
            .to_string();
        assert!(err.contains("spendlens-prices/1"), "{err}");
        let bad_price = r#"{"format":"spendlens-prices/1","entries":[
            {"provider":"openai","model":"gpt-x*","input":"1,5","effective_from":"2026-01-01","source":"me"}]}"#;
        let err = parse_price_file(bad_price, PriceSource::User)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("entry 0 (gpt-x*)") && err.contains("input"),
            "{err}"
        );
        let negative = r#"{"format":"spendlens-prices/1","entries":[
            {"provider":"openai","model":"gpt-x*","input":"-1","effective_from":"2026-01-01","source":"me"}]}"#;
        let err = parse_price_file(negative, PriceSource::User)
            .unwrap_err()
            .to_string();
        assert!(err.contains("negative"), "{err}");
        let unknown_field = r#"{"format":"spendlens-prices/1","entries":[
            {"provider":"openai","model":"gpt-x*","inptu":"1","effective_from":"2026-01-01","source":"me"}]}"#;
        let err = parse_price_file(unknown_field, PriceSource::User)
            .unwrap_err()
            .to_string();
        assert!(err.contains("inptu"), "{err}");
        let no_provider = r#"{"format":"spendlens-prices/1","entries":[
            {"provider":"azure","model":"gpt-x*","input":"1","effective_from":"2026-01-01","source":"me"}]}"#;
        let err = parse_price_file(no_provider, PriceSource::User)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown provider"), "{err}");
    }
}
