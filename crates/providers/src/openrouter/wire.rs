//! OpenRouter's account endpoints (`/key`, `/credits`, `/workspaces`, `/keys`, `/activity`) as
//! serde types, from shared/providers/openrouter.md.
//!
//! Lenient on purpose: unknown fields are ignored, newer fields (`cached_tokens`,
//! `workspace_id`, `last_used_at`) are optional, and every dollar amount is kept as its literal
//! JSON text (floats with many decimals), so it is parsed exactly and never through `f64`.

#![allow(
    dead_code,
    reason = "the wire types mirror the documented JSON; not every field is read by the mapping"
)]

use serde::Deserialize;
use serde_json::value::RawValue;

/// `{"data": …}`, the envelope of every endpoint.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    pub data: T,
}

/// `GET /key`: the calling key.
#[derive(Debug, Deserialize)]
pub struct CurrentKey {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub limit: Option<Box<RawValue>>,
    #[serde(default)]
    pub limit_remaining: Option<Box<RawValue>>,
    #[serde(default)]
    pub limit_reset: Option<String>,
    #[serde(default)]
    pub usage: Option<Box<RawValue>>,
    #[serde(default)]
    pub usage_daily: Option<Box<RawValue>>,
    #[serde(default)]
    pub usage_weekly: Option<Box<RawValue>>,
    #[serde(default)]
    pub usage_monthly: Option<Box<RawValue>>,
    #[serde(default)]
    pub byok_usage: Option<Box<RawValue>>,
    #[serde(default)]
    pub is_management_key: Option<bool>,
    /// The legacy name of `is_management_key`.
    #[serde(default)]
    pub is_provisioning_key: Option<bool>,
    #[serde(default)]
    pub workspace_id: Option<String>,
}

impl CurrentKey {
    pub fn is_management(&self) -> bool {
        self.is_management_key.or(self.is_provisioning_key) == Some(true)
    }
}

/// `GET /credits`: purchased and used, in USD.
#[derive(Debug, Deserialize)]
pub struct Credits {
    #[serde(default)]
    pub total_credits: Option<Box<RawValue>>,
    #[serde(default)]
    pub total_usage: Option<Box<RawValue>>,
}

/// `GET /workspaces`: `{data, total_count}`.
#[derive(Debug, Deserialize)]
pub struct WorkspacesPage {
    #[serde(default)]
    pub data: Vec<Workspace>,
    #[serde(default)]
    pub total_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct Workspace {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// One row of `GET /keys`.
#[derive(Debug, Deserialize)]
pub struct Key {
    /// SHA-256 hex: the key's id.
    pub hash: String,
    #[serde(default)]
    pub name: Option<String>,
    /// OpenRouter's redacted form of the key (`sk-or-v1-au7...890`).
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub usage: Option<Box<RawValue>>,
    #[serde(default)]
    pub usage_daily: Option<Box<RawValue>>,
    #[serde(default)]
    pub byok_usage: Option<Box<RawValue>>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub last_used_at: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
}

/// One row of `GET /activity`: one (date, model, provider endpoint[, workspace]).
#[derive(Debug, Deserialize)]
pub struct ActivityRow {
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub model_permaslug: Option<String>,
    #[serde(default)]
    pub endpoint_id: Option<String>,
    #[serde(default)]
    pub provider_name: Option<String>,
    /// USD of OpenRouter credits spent.
    #[serde(default)]
    pub usage: Option<Box<RawValue>>,
    /// USD of BYOK inference billed by the upstream provider: not in `usage`.
    #[serde(default)]
    pub byok_usage_inference: Option<Box<RawValue>>,
    #[serde(default)]
    pub requests: Option<i64>,
    #[serde(default)]
    pub prompt_tokens: Option<i64>,
    #[serde(default)]
    pub completion_tokens: Option<i64>,
    #[serde(default)]
    pub reasoning_tokens: Option<i64>,
    #[serde(default)]
    pub cached_tokens: Option<i64>,
    #[serde(default)]
    pub workspace_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::number_text;

    #[test]
    fn the_documented_activity_row_parses() {
        let page: Envelope<Vec<ActivityRow>> = serde_json::from_str(
            r#"{"data": [{"date": "2025-08-24", "model": "openai/gpt-4.1", "model_permaslug": "openai/gpt-4.1-2025-04-14",
                "endpoint_id": "550e8400-e29b-41d4-a716-446655440000", "provider_name": "OpenAI",
                "usage": 0.015, "byok_usage_inference": 0.012, "requests": 5,
                "prompt_tokens": 50, "completion_tokens": 125, "reasoning_tokens": 25}]}"#,
        )
        .unwrap();
        let row = &page.data[0];
        assert_eq!(
            row.usage.as_deref().and_then(number_text).as_deref(),
            Some("0.015")
        );
        assert_eq!(row.requests, Some(5));
        assert_eq!(row.cached_tokens, None);
    }

    #[test]
    fn the_documented_current_key_parses() {
        let key: Envelope<CurrentKey> = serde_json::from_str(
            r#"{"data": {"label": "sk-or-v1-au7...890", "limit": 100, "limit_remaining": 74.5, "limit_reset": "monthly",
              "usage": 25.5, "usage_daily": 25.5, "usage_weekly": 25.5, "usage_monthly": 25.5,
              "byok_usage": 17.38, "byok_usage_daily": 17.38, "byok_usage_weekly": 17.38, "byok_usage_monthly": 17.38,
              "include_byok_in_limit": false, "is_free_tier": false, "is_management_key": false, "is_provisioning_key": false,
              "creator_user_id": "user_1", "expires_at": "2027-12-31T23:59:59Z",
              "rate_limit": {"interval": "1h", "note": "This field is deprecated and safe to ignore.", "requests": 1000}}}"#,
        )
        .unwrap();
        assert!(!key.data.is_management());
        let legacy: CurrentKey = serde_json::from_str(r#"{"is_provisioning_key": true}"#).unwrap();
        assert!(legacy.is_management());
    }
}
