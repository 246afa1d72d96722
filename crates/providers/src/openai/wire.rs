//! OpenAI's Organization Admin API as serde types, from shared/providers/openai.md.
//!
//! Lenient on purpose: unknown fields are ignored, newer fields are `Option`, grouping
//! dimensions are `null` unless grouped, and the bucket array accepts the old spec's `result`
//! as well as `results`. Money (`amount.value`) is kept as its literal JSON text so it never
//! passes through a float.

#![allow(
    dead_code,
    reason = "the wire types mirror the documented JSON; not every field is read by the mapping"
)]

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use crate::paging::{BucketPaged, HasId, IdPaged};

/// `GET /organization/projects` and `…/api_keys`: `{object:"list", data, first_id, last_id, has_more}`.
#[derive(Debug, Deserialize)]
pub struct ListPage<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub first_id: Option<String>,
    #[serde(default)]
    pub last_id: Option<String>,
    #[serde(default)]
    pub has_more: bool,
}

impl<T: DeserializeOwned + HasId> IdPaged for ListPage<T> {
    type Item = T;
    fn into_parts(self) -> (Vec<T>, bool, Option<String>) {
        (self.data, self.has_more, self.last_id)
    }
}

#[derive(Debug, Deserialize)]
pub struct Project {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub created_at: Option<i64>,
    #[serde(default)]
    pub archived_at: Option<i64>,
    #[serde(default)]
    pub status: Option<String>,
}

impl HasId for Project {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Deserialize)]
pub struct ProjectApiKey {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub redacted_value: Option<String>,
    #[serde(default)]
    pub created_at: Option<i64>,
    #[serde(default)]
    pub last_used_at: Option<i64>,
}

impl HasId for ProjectApiKey {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Usage and costs: `{object:"page", data:[bucket], has_more, next_page}`.
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
                let start = OffsetDateTime::from_unix_timestamp(bucket.start_time).ok();
                (bucket.start_time.to_string(), start, bucket.results)
            })
            .collect();
        (buckets, self.has_more, self.next_page)
    }
}

#[derive(Debug, Deserialize)]
pub struct Bucket<R> {
    /// Unix seconds, inclusive.
    pub start_time: i64,
    /// Unix seconds, exclusive.
    #[serde(default)]
    pub end_time: Option<i64>,
    #[serde(alias = "result", default = "Vec::new")]
    pub results: Vec<R>,
}

/// `organization.usage.completions.result`. `input_tokens` already includes
/// `input_cached_tokens`.
#[derive(Debug, Deserialize)]
pub struct CompletionsResult {
    pub input_tokens: i64,
    pub output_tokens: i64,
    #[serde(default)]
    pub input_cached_tokens: i64,
    #[serde(default)]
    pub input_audio_tokens: i64,
    #[serde(default)]
    pub output_audio_tokens: i64,
    pub num_model_requests: i64,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub api_key_id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub batch: Option<bool>,
    #[serde(default)]
    pub service_tier: Option<String>,
}

/// `organization.usage.embeddings.result` and `organization.usage.moderations.result`.
#[derive(Debug, Deserialize)]
pub struct TokensResult {
    pub input_tokens: i64,
    pub num_model_requests: i64,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub api_key_id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
}

/// `organization.usage.images.result`.
#[derive(Debug, Deserialize)]
pub struct ImagesResult {
    pub images: i64,
    pub num_model_requests: i64,
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub api_key_id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
}

/// `organization.usage.audio_speeches.result`.
#[derive(Debug, Deserialize)]
pub struct AudioSpeechesResult {
    pub characters: i64,
    pub num_model_requests: i64,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub api_key_id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
}

/// `organization.usage.audio_transcriptions.result`.
#[derive(Debug, Deserialize)]
pub struct AudioTranscriptionsResult {
    pub seconds: i64,
    pub num_model_requests: i64,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub api_key_id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
}

/// `organization.costs.result`.
#[derive(Debug, Deserialize)]
pub struct CostResult {
    pub amount: Amount,
    #[serde(default)]
    pub line_item: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    /// Newer spec, when grouped by `api_key_id`.
    #[serde(default)]
    pub api_key_id: Option<String>,
    /// Newer spec, when grouped by `line_item`; informational.
    #[serde(default)]
    pub quantity: Option<Box<RawValue>>,
    #[serde(default)]
    pub quantity_unit: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Amount {
    /// Dollars as a JSON number (`0.06`) or a decimal string (`"1.2345"`): the literal text.
    pub value: Box<RawValue>,
    #[serde(default)]
    pub currency: Option<String>,
}

impl Amount {
    /// The decimal text of `value`, whether it was sent as a number or a string.
    pub fn value_text(&self) -> Option<String> {
        let raw = self.value.get().trim();
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

    /// The "realistic page" of shared/providers/openai.md, verbatim.
    const DOC_USAGE_PAGE: &str = r#"{
  "object": "page",
  "data": [
    {
      "object": "bucket",
      "start_time": 1736640000,
      "end_time": 1736726400,
      "results": [
        {
          "object": "organization.usage.completions.result",
          "input_tokens": 45949, "output_tokens": 282, "input_cached_tokens": 1024,
          "input_audio_tokens": 0, "output_audio_tokens": 0, "num_model_requests": 150,
          "project_id": "proj_abc", "user_id": null, "api_key_id": null,
          "model": "gpt-4o-mini-2024-07-18", "batch": null, "service_tier": null
        }
      ]
    },
    { "object": "bucket", "start_time": 1736726400, "end_time": 1736812800, "results": [] }
  ],
  "has_more": true,
  "next_page": "page_AAAAAGdGxdEiJdKOAAAAAGcqsYA="
}"#;

    #[test]
    fn the_documented_usage_page_parses() {
        let page: BucketPage<CompletionsResult> = serde_json::from_str(DOC_USAGE_PAGE).unwrap();
        assert!(page.has_more);
        assert_eq!(
            page.next_page.as_deref(),
            Some("page_AAAAAGdGxdEiJdKOAAAAAGcqsYA=")
        );
        assert_eq!(page.data.len(), 2);
        let result = &page.data[0].results[0];
        assert_eq!(page.data[0].start_time, 1_736_640_000);
        assert_eq!(result.input_tokens, 45_949);
        assert_eq!(result.input_cached_tokens, 1024);
        assert_eq!(result.num_model_requests, 150);
        assert_eq!(result.project_id.as_deref(), Some("proj_abc"));
        assert_eq!(result.api_key_id, None);
        assert!(page.data[1].results.is_empty());
    }

    #[test]
    fn the_old_singular_result_array_is_accepted() {
        let page: BucketPage<TokensResult> = serde_json::from_str(
            r#"{"data":[{"start_time":0,"end_time":86400,"result":[{"input_tokens":5,"num_model_requests":1}]}],"has_more":false,"next_page":null}"#,
        )
        .unwrap();
        assert_eq!(page.data[0].results[0].input_tokens, 5);
    }

    #[test]
    fn unknown_and_newer_fields_are_ignored() {
        let page: BucketPage<CompletionsResult> = serde_json::from_str(
            r#"{"object":"page","data":[{"object":"bucket","start_time":0,"end_time":86400,"results":[
              {"object":"organization.usage.completions.result","input_tokens":10,"output_tokens":2,
               "input_cached_tokens":4,"num_model_requests":1,"api_source":"responses",
               "input_cache_write_tokens":3,"model":"gpt-9","brand_new":{"nested":[1,2]}}]}],
               "has_more":false,"next_page":null,"extra":true}"#,
        )
        .unwrap();
        assert_eq!(page.data[0].results[0].model.as_deref(), Some("gpt-9"));
    }

    #[test]
    fn the_documented_cost_result_parses_with_a_number_or_a_string() {
        let number: CostResult = serde_json::from_str(
            r#"{ "object": "organization.costs.result",
  "amount": { "value": 0.06, "currency": "usd" },
  "line_item": null, "project_id": null }"#,
        )
        .unwrap();
        assert_eq!(number.amount.value_text().as_deref(), Some("0.06"));
        assert_eq!(number.amount.currency.as_deref(), Some("usd"));
        assert_eq!(number.line_item, None);
        let string: CostResult = serde_json::from_str(
            r#"{"amount":{"value":"1.2345","currency":"usd"},"line_item":"Image models","project_id":"proj_1","quantity":12.5,"quantity_unit":"images"}"#,
        )
        .unwrap();
        assert_eq!(string.amount.value_text().as_deref(), Some("1.2345"));
        assert_eq!(string.line_item.as_deref(), Some("Image models"));
        let exponent: CostResult =
            serde_json::from_str(r#"{"amount":{"value":1.095e-05,"currency":"usd"}}"#).unwrap();
        assert_eq!(exponent.amount.value_text().as_deref(), Some("1.095e-05"));
    }

    #[test]
    fn projects_and_keys_parse_leniently() {
        let page: ListPage<Project> = serde_json::from_str(
            r#"{"object":"list","data":[{"id":"proj_abc","object":"organization.project","name":"Project example",
              "created_at":1711471533,"archived_at":null,"status":"active","external_key_id":"x"}],
              "first_id":"proj_abc","last_id":"proj_abc","has_more":false}"#,
        )
        .unwrap();
        assert_eq!(page.data[0].name.as_deref(), Some("Project example"));
        let keys: ListPage<ProjectApiKey> = serde_json::from_str(
            r#"{"object":"list","data":[{"object":"organization.project.api_key","redacted_value":"sk-abc...def",
              "name":"My API Key","created_at":1711471533,"last_used_at":1711471534,"id":"key_abc",
              "owner":{"type":"user","user":{"object":"organization.project.user","id":"user_abc","name":"First Last",
              "email":"user@example.com","role":"owner","added_at":1711471533}}}],
              "first_id":"key_abc","last_id":"key_xyz","has_more":false}"#,
        )
        .unwrap();
        assert_eq!(keys.data[0].redacted_value.as_deref(), Some("sk-abc...def"));
        assert_eq!(keys.data[0].last_used_at, Some(1_711_471_534));
    }
}
