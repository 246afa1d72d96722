//! The LiteLLM proxy's spend endpoints (`/user/daily/activity`, `/key/list`, `/team/list`) as
//! serde types, from shared/providers/litellm.md.
//!
//! LiteLLM changes fast, so everything beyond the stable core is optional and unknown fields
//! are ignored. Spend is a Python float: it is kept as its literal JSON text (`1.095e-05`) and
//! parsed exactly. A breakdown cell is read in both shapes seen: nested
//! `{metrics: {…}, metadata, api_key_breakdown}` (the code) and flat `{spend, prompt_tokens, …}`
//! (the abbreviated docs example).

#![allow(
    dead_code,
    reason = "the wire types mirror the documented JSON; not every field is read by the mapping"
)]

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// One page of `/user/daily/activity`, with `results` kept as text: the connector fingerprints
/// it to catch a page served twice, then decodes it as `Vec<DayResult>`.
#[derive(Debug, Deserialize)]
pub struct ActivityPage {
    #[serde(default)]
    pub results: Option<Box<RawValue>>,
    #[serde(default)]
    pub metadata: Option<PageMetadata>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageMetadata {
    #[serde(default, deserialize_with = "lenient_count")]
    pub page: Option<i64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub total_pages: Option<i64>,
    #[serde(default)]
    pub has_more: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct DayResult {
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub metrics: Option<Metrics>,
    #[serde(default)]
    pub breakdown: Option<Breakdown>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Breakdown {
    /// Per deployment model.
    #[serde(default)]
    pub models: Option<BTreeMap<String, Cell>>,
    /// Per virtual key (hash).
    #[serde(default)]
    pub api_keys: Option<BTreeMap<String, Cell>>,
}

/// A breakdown entry: nested (`metrics`) or flat (`spend`, … at the top).
#[derive(Debug, Default, Deserialize)]
pub struct Cell {
    #[serde(default)]
    pub metrics: Option<Metrics>,
    #[serde(default)]
    pub metadata: Option<KeyMetadata>,
    /// Per key within this entry (1.109+); absent on older proxies.
    #[serde(default)]
    pub api_key_breakdown: Option<BTreeMap<String, Cell>>,
    // The flat shape.
    #[serde(default)]
    pub spend: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub prompt_tokens: Option<i64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub completion_tokens: Option<i64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub cache_read_input_tokens: Option<i64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub cache_creation_input_tokens: Option<i64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub api_requests: Option<i64>,
}

impl Cell {
    /// The cell's metrics in either shape.
    pub fn metrics(&self) -> Metrics {
        match &self.metrics {
            Some(metrics) => metrics.clone(),
            None => Metrics {
                spend: self.spend.clone(),
                prompt_tokens: self.prompt_tokens,
                completion_tokens: self.completion_tokens,
                cache_read_input_tokens: self.cache_read_input_tokens,
                cache_creation_input_tokens: self.cache_creation_input_tokens,
                api_requests: self.api_requests,
                total_tokens: None,
            },
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Metrics {
    #[serde(default)]
    pub spend: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub prompt_tokens: Option<i64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub completion_tokens: Option<i64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub total_tokens: Option<i64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub cache_read_input_tokens: Option<i64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub cache_creation_input_tokens: Option<i64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub api_requests: Option<i64>,
}

/// `{key_alias, team_id, user_id, user_email, key_exists}`; anything else (`{}`, `null`) reads
/// as empty.
#[derive(Debug, Clone, Default)]
pub struct KeyMetadata {
    pub key_alias: Option<String>,
    pub team_id: Option<String>,
    pub user_id: Option<String>,
    pub key_exists: Option<bool>,
}

impl<'de> Deserialize<'de> for KeyMetadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KeyMetadata, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let text = |name: &str| {
            value
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        Ok(KeyMetadata {
            key_alias: text("key_alias"),
            team_id: text("team_id"),
            user_id: text("user_id"),
            key_exists: value.get("key_exists").and_then(serde_json::Value::as_bool),
        })
    }
}

/// A count written as an integer, a float (`12.0`) or a numeric string; `null` is absent.
fn lenient_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(serde_json::Value::Number(number)) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|f| f.round() as i64)),
        Some(serde_json::Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    })
}

/// `GET /key/list`: `{keys, total_count, current_page, total_pages}`.
#[derive(Debug, Deserialize)]
pub struct KeyListPage {
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub total_count: Option<i64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub current_page: Option<i64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub total_pages: Option<i64>,
}

/// A full key object, or just its hash (a proxy that ignores `return_full_object`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum KeyEntry {
    Hash(String),
    Full(Box<KeyObject>),
}

/// `LiteLLM_VerificationToken`, the parts spendlens reads.
#[derive(Debug, Deserialize)]
pub struct KeyObject {
    /// The key's SHA-256 hash: its id.
    pub token: String,
    /// Masked: `sk-...` + the last 4 characters.
    #[serde(default)]
    pub key_name: Option<String>,
    #[serde(default)]
    pub key_alias: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub blocked: Option<bool>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub last_active: Option<String>,
}

/// `GET /team/list`: a JSON array (or, on some versions, `{teams: […]}`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum TeamList {
    Array(Vec<Team>),
    Object {
        #[serde(default)]
        teams: Vec<Team>,
    },
}

impl TeamList {
    pub fn into_teams(self) -> Vec<Team> {
        match self {
            TeamList::Array(teams) | TeamList::Object { teams } => teams,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Team {
    pub team_id: String,
    #[serde(default)]
    pub team_alias: Option<String>,
    #[serde(default)]
    pub blocked: Option<bool>,
    #[serde(default)]
    pub created_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::number_text;

    #[test]
    fn nested_and_flat_cells_read_the_same() {
        let nested: Cell = serde_json::from_str(
            r#"{"metrics":{"spend":1.095e-05,"prompt_tokens":25,"completion_tokens":12,"api_requests":1},
                "metadata":{},"api_key_breakdown":{"abc":{"metrics":{"spend":0.0},"metadata":{"key_alias":"k","team_id":null}}}}"#,
        )
        .unwrap();
        let flat: Cell = serde_json::from_str(
            r#"{"spend":1.095e-05,"prompt_tokens":25,"completion_tokens":12.0,"api_requests":"1"}"#,
        )
        .unwrap();
        for cell in [&nested, &flat] {
            let metrics = cell.metrics();
            assert_eq!(
                metrics.spend.as_deref().and_then(number_text).as_deref(),
                Some("1.095e-05")
            );
            assert_eq!(metrics.completion_tokens, Some(12));
            assert_eq!(metrics.api_requests, Some(1));
        }
        let keys = nested.api_key_breakdown.as_ref().unwrap();
        assert_eq!(
            keys["abc"].metadata.as_ref().unwrap().key_alias.as_deref(),
            Some("k")
        );
        assert!(flat.api_key_breakdown.is_none());
    }

    #[test]
    fn key_lists_of_objects_or_hashes_parse() {
        let page: KeyListPage = serde_json::from_str(
            r#"{"keys":[{"token":"abc","key_name":"sk-...wxyz","key_alias":"prod","team_id":"t1","spend":0.5,"max_budget":null}],
                "total_count":1,"current_page":1,"total_pages":1}"#,
        )
        .unwrap();
        assert!(matches!(&page.keys[0], KeyEntry::Full(key) if key.token == "abc"));
        let hashes: KeyListPage =
            serde_json::from_str(r#"{"keys":["abc","def"],"total_count":2}"#).unwrap();
        assert!(matches!(&hashes.keys[1], KeyEntry::Hash(hash) if hash == "def"));
    }

    #[test]
    fn team_lists_parse_in_both_shapes() {
        let array: TeamList =
            serde_json::from_str(r#"[{"team_id":"t1","team_alias":"Platform","spend":1.5}]"#)
                .unwrap();
        assert_eq!(array.into_teams()[0].team_id, "t1");
        let object: TeamList =
            serde_json::from_str(r#"{"teams":[{"team_id":"t2"}],"total":1}"#).unwrap();
        assert_eq!(object.into_teams()[0].team_id, "t2");
    }
}
