//! Anthropic's Admin API (usage and cost reports, workspaces, API keys) as serde types, from
//! shared/providers/anthropic.md.
//!
//! Lenient on purpose: both doc generations parse, unknown fields are ignored, newer fields
//! are `Option`. The cost `amount` is kept as its literal JSON text (cents, a decimal string).

#![allow(
    dead_code,
    reason = "the wire types mirror the documented JSON; not every field is read by the mapping"
)]

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::paging::{BucketPaged, HasId, IdPaged};

/// Workspaces and API keys: `{data, has_more, first_id, last_id}`.
#[derive(Debug, Deserialize)]
pub struct ListPage<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub first_id: Option<String>,
    #[serde(default)]
    pub last_id: Option<String>,
}

impl<T: DeserializeOwned + HasId> IdPaged for ListPage<T> {
    type Item = T;
    fn into_parts(self) -> (Vec<T>, bool, Option<String>) {
        (self.data, self.has_more, self.last_id)
    }
}

#[derive(Debug, Deserialize)]
pub struct Workspace {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub archived_at: Option<String>,
    #[serde(default)]
    pub display_color: Option<String>,
}

impl HasId for Workspace {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Deserialize)]
pub struct ApiKey {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `None`: the field is absent (newest API, see `scope`); `Some(None)`: `null`, the
    /// default workspace.
    #[serde(default, deserialize_with = "present")]
    pub workspace_id: Option<Option<String>>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub partial_key_hint: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub scope: Option<Scope>,
}

impl HasId for ApiKey {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Newest API: `{type:"workspace", workspace_id}` (the real id, even for the default
/// workspace) or `{type:"organization"}`.
#[derive(Debug, Deserialize)]
pub struct Scope {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
}

/// Tells a field that is `null` (`Some(None)`) from one that is absent (`None`, by `default`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Usage and cost reports: `{data:[bucket], has_more, next_page}`.
#[derive(Debug, Deserialize)]
pub struct BucketPage<R> {
    pub data: Vec<Bucket<R>>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub next_page: Option<String>,
}

impl<R: DeserializeOwned> BucketPaged for BucketPage<R> {
    type Result = R;
    fn into_parts(
        self,
    ) -> (
        Vec<(String, Option<OffsetDateTime>, Vec<R>)>,
        bool,
        Option<String>,
    ) {
        let buckets = self
            .data
            .into_iter()
            .map(|bucket| {
                let start = OffsetDateTime::parse(&bucket.starting_at, &Rfc3339).ok();
                (bucket.starting_at, start, bucket.results)
            })
            .collect();
        (buckets, self.has_more, self.next_page)
    }
}

#[derive(Debug, Deserialize)]
pub struct Bucket<R> {
    /// RFC 3339.
    pub starting_at: String,
    #[serde(default)]
    pub ending_at: Option<String>,
    #[serde(alias = "result", default = "Vec::new")]
    pub results: Vec<R>,
}

/// One usage item. Input parts are disjoint: uncached + cache read + cache creation.
#[derive(Debug, Deserialize)]
pub struct UsageResult {
    pub uncached_input_tokens: i64,
    #[serde(default)]
    pub cache_creation: Option<CacheCreation>,
    #[serde(default)]
    pub cache_read_input_tokens: i64,
    pub output_tokens: i64,
    #[serde(default)]
    pub server_tool_use: Option<ServerToolUse>,
    #[serde(default)]
    pub api_key_id: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub service_tier: Option<String>,
    #[serde(default)]
    pub context_window: Option<String>,
    #[serde(default)]
    pub inference_geo: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub service_account_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CacheCreation {
    #[serde(default)]
    pub ephemeral_1h_input_tokens: i64,
    #[serde(default)]
    pub ephemeral_5m_input_tokens: i64,
}

#[derive(Debug, Default, Deserialize)]
pub struct ServerToolUse {
    #[serde(default)]
    pub web_search_requests: i64,
}

/// One cost item. `amount` is a decimal string in cents.
#[derive(Debug, Deserialize)]
pub struct CostResult {
    pub amount: Box<RawValue>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub cost_type: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub service_tier: Option<String>,
    #[serde(default)]
    pub context_window: Option<String>,
    #[serde(default)]
    pub inference_geo: Option<String>,
}

impl CostResult {
    /// The decimal text of `amount` (a string per the docs; a bare number is accepted too).
    pub fn amount_text(&self) -> Option<String> {
        let raw = self.amount.get().trim();
        if raw.starts_with('"') {
            serde_json::from_str::<String>(raw).ok()
        } else if raw == "null" {
            None
        } else {
            Some(raw.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The usage example page of shared/providers/anthropic.md, verbatim.
    const DOC_USAGE_PAGE: &str = r#"{"data":[{"ending_at":"2025-08-02T00:00:00Z","results":[{"account_id":"user_01WCz1FkmYMm4gnmykNKUu3Q",
 "api_key_id":"apikey_01Rj2N8SVvo6BePZj99NhmiT",
 "cache_creation":{"ephemeral_1h_input_tokens":1000,"ephemeral_5m_input_tokens":500},
 "cache_read_input_tokens":200,"context_window":"0-200k","inference_geo":"global","model":"claude-opus-4-6",
 "output_tokens":500,"server_tool_use":{"web_search_requests":10},
 "service_account_id":"svac_01Hk3R9TWxq7CfQak00OiVw4","service_tier":"standard",
 "uncached_input_tokens":1500,"workspace_id":"wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"}],
 "starting_at":"2025-08-01T00:00:00Z"}],"has_more":true,"next_page":"page_MjAyNS0wNS0xNFQwMDowMDowMFo="}"#;

    /// The cost example page of shared/providers/anthropic.md, verbatim.
    const DOC_COST_PAGE: &str = r#"{"data":[{"starting_at":"2025-08-01T00:00:00Z","ending_at":"2025-08-02T00:00:00Z","results":[{"currency":"USD",
 "amount":"123.78912","workspace_id":"wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ","description":"Claude Sonnet 4 Usage - Input Tokens",
 "cost_type":"tokens","context_window":"0-200k","model":"claude-sonnet-4-20250514","service_tier":"standard",
 "token_type":"uncached_input_tokens"}]}],"has_more":true,"next_page":"page_MjAyNS0wNS0xNFQwMDowMDowMFo="}"#;

    #[test]
    fn the_documented_usage_page_parses() {
        let page: BucketPage<UsageResult> = serde_json::from_str(DOC_USAGE_PAGE).unwrap();
        assert!(page.has_more);
        assert_eq!(
            page.next_page.as_deref(),
            Some("page_MjAyNS0wNS0xNFQwMDowMDowMFo=")
        );
        let bucket = &page.data[0];
        assert_eq!(bucket.starting_at, "2025-08-01T00:00:00Z");
        let r = &bucket.results[0];
        assert_eq!(r.uncached_input_tokens, 1500);
        assert_eq!(r.cache_read_input_tokens, 200);
        let cache = r.cache_creation.as_ref().unwrap();
        assert_eq!(
            (
                cache.ephemeral_5m_input_tokens,
                cache.ephemeral_1h_input_tokens
            ),
            (500, 1000)
        );
        assert_eq!(r.server_tool_use.as_ref().unwrap().web_search_requests, 10);
        assert_eq!(r.model.as_deref(), Some("claude-opus-4-6"));
    }

    #[test]
    fn the_documented_cost_page_parses() {
        let page: BucketPage<CostResult> = serde_json::from_str(DOC_COST_PAGE).unwrap();
        let r = &page.data[0].results[0];
        assert_eq!(r.amount_text().as_deref(), Some("123.78912"));
        assert_eq!(r.currency.as_deref(), Some("USD"));
        assert_eq!(r.token_type.as_deref(), Some("uncached_input_tokens"));
        assert_eq!(r.cost_type.as_deref(), Some("tokens"));
    }

    #[test]
    fn key_workspace_tells_null_from_absent() {
        let null: ApiKey = serde_json::from_str(
            r#"{"id":"apikey_1","type":"api_key","name":"k","workspace_id":null,"created_at":"2024-10-30T23:58:27.427722Z",
               "created_by":{"id":"user_1","type":"user"},"partial_key_hint":"sk-ant-api03-R2D...igAA","status":"active"}"#,
        )
        .unwrap();
        assert_eq!(null.workspace_id, Some(None));
        assert_eq!(
            null.partial_key_hint.as_deref(),
            Some("sk-ant-api03-R2D...igAA")
        );
        let absent: ApiKey = serde_json::from_str(
            r#"{"id":"apikey_2","status":"expired","expires_at":null,"created_by":null,
               "principal":{"type":"user_actor","user_id":"user_1"},
               "scope":{"type":"workspace","workspace_id":"wrkspc_1"}}"#,
        )
        .unwrap();
        assert_eq!(absent.workspace_id, None);
        assert_eq!(
            absent.scope.unwrap().workspace_id.as_deref(),
            Some("wrkspc_1")
        );
    }

    #[test]
    fn workspaces_parse_with_newer_fields() {
        let page: ListPage<Workspace> = serde_json::from_str(
            r#"{"data":[{"id":"wrkspc_1","type":"workspace","name":"Prod","created_at":"2024-10-30T23:58:27.427722Z",
               "archived_at":null,"display_color":"\u00236C5BB9","compartment_id":"c","tags":{},
               "data_residency":{"allowed_inference_geos":["us"],"default_inference_geo":"us","workspace_geo":"us"}}],
               "has_more":false,"first_id":"wrkspc_1","last_id":"wrkspc_1"}"#,
        )
        .unwrap();
        assert_eq!(page.data[0].name.as_deref(), Some("Prod"));
    }
}
