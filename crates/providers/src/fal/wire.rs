//! fal.ai's Platform API (`/models/usage`, `/account/billing`, `/keys`) as serde types, from
//! shared/providers/fal.md.
//!
//! Lenient on purpose: unknown fields are ignored, every field is optional, and money and
//! quantities are kept as their literal JSON text (floats in the spec), so they are parsed
//! exactly and never through `f64`. Whether a missing field is an error is the mapping's call.

#![allow(
    dead_code,
    reason = "the wire types mirror the documented JSON; not every field is read by the mapping"
)]

use serde::Deserialize;
use serde_json::value::RawValue;

/// `GET /models/usage`: `{time_series:[bucket], summary, next_cursor, has_more}`.
#[derive(Debug, Deserialize)]
pub struct UsagePage {
    #[serde(default)]
    pub time_series: Option<Vec<Bucket>>,
    #[serde(default)]
    pub next_cursor: Option<String>,
    #[serde(default)]
    pub has_more: Option<bool>,
}

/// One time bucket: its start (`2025-01-15T00:00:00-05:00`, in the requested zone) and rows.
#[derive(Debug, Deserialize)]
pub struct Bucket {
    pub bucket: String,
    #[serde(default)]
    pub results: Vec<UsageItem>,
}

/// One usage line item. Several may share (bucket, endpoint, key, unit) when billed at
/// different prices or discounts.
#[derive(Debug, Deserialize)]
pub struct UsageItem {
    #[serde(default)]
    pub endpoint_id: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub quantity: Option<Box<RawValue>>,
    #[serde(default)]
    pub unit_price: Option<Box<RawValue>>,
    #[serde(default)]
    pub percent_discount: Option<Box<RawValue>>,
    #[serde(default)]
    pub cost_subtotal: Option<Box<RawValue>>,
    #[serde(default)]
    pub cost_discount: Option<Box<RawValue>>,
    /// USD after discounts: the amount billed.
    #[serde(default)]
    pub cost_total: Option<Box<RawValue>>,
    /// Deprecated alias of `cost_total`; the only amount in older copies of the spec.
    #[serde(default)]
    pub cost: Option<Box<RawValue>>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub auth_method: Option<String>,
    #[serde(default)]
    pub auth_method_structured: Option<AuthMethod>,
}

/// `{detail, api_key_id?, login_username?}`.
#[derive(Debug, Default, Deserialize)]
pub struct AuthMethod {
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub api_key_id: Option<String>,
    #[serde(default)]
    pub login_username: Option<String>,
}

/// `GET /account/billing?expand=credits`.
#[derive(Debug, Deserialize)]
pub struct Billing {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub credits: Option<Credits>,
}

#[derive(Debug, Deserialize)]
pub struct Credits {
    #[serde(default)]
    pub current_balance: Option<Box<RawValue>>,
    #[serde(default)]
    pub currency: Option<String>,
}

/// `GET /keys`: `{keys:[…], next_cursor, has_more}`.
#[derive(Debug, Deserialize)]
pub struct KeysPage {
    #[serde(default)]
    pub keys: Vec<Key>,
    #[serde(default)]
    pub next_cursor: Option<String>,
    #[serde(default)]
    pub has_more: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct Key {
    pub key_id: String,
    #[serde(default)]
    pub alias: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// `GET /serverless/usage`: `{time_series:[{bucket, results}], summary, next_cursor, has_more}`.
#[derive(Debug, Deserialize)]
pub struct ServerlessPage {
    #[serde(default)]
    pub time_series: Option<Vec<ServerlessBucket>>,
    #[serde(default)]
    pub next_cursor: Option<String>,
    #[serde(default)]
    pub has_more: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct ServerlessBucket {
    pub bucket: String,
    #[serde(default)]
    pub results: Vec<ServerlessItem>,
}

/// Machine-seconds of one app on one machine type, surge or not.
#[derive(Debug, Deserialize)]
pub struct ServerlessItem {
    #[serde(default)]
    pub app: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub machine_type: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub quantity: Option<Box<RawValue>>,
    #[serde(default)]
    pub unit_price: Option<Box<RawValue>>,
    /// Net of discounts.
    #[serde(default)]
    pub cost: Option<Box<RawValue>>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub is_surge: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::number_text;

    /// The spec's example page of shared/providers/fal.md, with its placeholder comment removed.
    const DOC_USAGE_PAGE: &str = r#"{
      "time_series": [
        {
          "bucket": "2025-01-15T00:00:00-05:00",
          "results": [
            {
              "endpoint_id": "fal-ai/flux/dev",
              "unit": "image",
              "quantity": 4,
              "unit_price": 0.1,
              "percent_discount": 20,
              "cost_subtotal": 0.4,
              "cost_discount": 0.08,
              "cost_total": 0.32,
              "cost": 0.32,
              "currency": "USD",
              "auth_method": "Production Key",
              "auth_method_structured": {"detail": "Production Key", "api_key_id": "abc123def456"}
            }
          ]
        }
      ],
      "summary": [],
      "next_cursor": null,
      "has_more": false
    }"#;

    #[test]
    fn the_documented_usage_page_parses_with_amounts_as_text() {
        let page: UsagePage = serde_json::from_str(DOC_USAGE_PAGE).unwrap();
        assert_eq!(page.has_more, Some(false));
        assert_eq!(page.next_cursor, None);
        let bucket = &page.time_series.as_ref().unwrap()[0];
        assert_eq!(bucket.bucket, "2025-01-15T00:00:00-05:00");
        let item = &bucket.results[0];
        assert_eq!(item.endpoint_id.as_deref(), Some("fal-ai/flux/dev"));
        assert_eq!(
            item.cost_total.as_deref().and_then(number_text).as_deref(),
            Some("0.32")
        );
        assert_eq!(
            item.quantity.as_deref().and_then(number_text).as_deref(),
            Some("4")
        );
        let auth = item.auth_method_structured.as_ref().unwrap();
        assert_eq!(auth.api_key_id.as_deref(), Some("abc123def456"));
    }

    #[test]
    fn an_old_item_with_only_cost_and_nulls_parses() {
        let item: UsageItem = serde_json::from_str(
            r#"{"endpoint_id":"fal-ai/x","unit":"image","quantity":1,"cost":1e-7,"cost_total":null,
                "percent_discount":null,"auth_method_structured":null,"brand_new":[1]}"#,
        )
        .unwrap();
        assert!(item.cost_total.is_none());
        assert_eq!(
            item.cost.as_deref().and_then(number_text).as_deref(),
            Some("1e-7")
        );
    }

    #[test]
    fn billing_and_keys_parse() {
        let billing: Billing = serde_json::from_str(
            r#"{"username": "my-team", "credits": {"current_balance": 24.5, "currency": "USD"}}"#,
        )
        .unwrap();
        assert_eq!(billing.username.as_deref(), Some("my-team"));
        let keys: KeysPage = serde_json::from_str(
            r#"{"keys":[{"key_id":"abc123def456","alias":"Production Key","scope":"API","created_at":"2025-01-15T12:00:00Z"}],"next_cursor":null,"has_more":false}"#,
        )
        .unwrap();
        assert_eq!(keys.keys[0].alias.as_deref(), Some("Production Key"));
    }
}
