//! PiAPI's JSON (shared/providers/piapi.md §4–§7) as lenient serde types: the `{code, message,
//! data}` envelope (also a bare body), `/account/info` and the task-history page.
//!
//! Field names come in snake_case and camelCase (serde aliases for both); amounts are kept as
//! their literal JSON text; statuses, models and usage types are open strings. The account body
//! holds the API key itself: it is never logged or kept, only the fields below are read.

#![allow(
    dead_code,
    reason = "the wire types mirror the documented JSON; not every field is read by the mapping"
)]

use serde::Deserialize;
use serde_json::value::RawValue;

/// `{code, message, data}`; `code` 0 or 200 is success.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    #[serde(default)]
    pub code: Option<Box<RawValue>>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub data: Option<Box<RawValue>>,
}

/// `GET /account/info`'s `data` (or the bare body).
#[derive(Debug, Deserialize)]
pub(crate) struct Account {
    #[serde(default)]
    pub id: Option<Box<RawValue>>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
    #[serde(default, alias = "equivalentInUsd")]
    pub equivalent_in_usd: Option<Box<RawValue>>,
    #[serde(default, alias = "creditPackInfo")]
    pub credit_pack_info: Option<CreditPacks>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CreditPacks {
    #[serde(default, alias = "availableCredits")]
    pub available_credits: Option<Box<RawValue>>,
    #[serde(default, alias = "creditPacksCount")]
    pub credit_packs_count: Option<Box<RawValue>>,
}

/// `GET /api/open/tasks/histories`'s `data`: `{data: [rows], page, size, total}`.
#[derive(Debug, Deserialize)]
pub(crate) struct HistoryPage {
    pub data: Option<Vec<HistoryRow>>,
    #[serde(default)]
    pub page: Option<Box<RawValue>>,
    #[serde(default)]
    pub total: Option<Box<RawValue>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct HistoryRow {
    #[serde(default)]
    pub id: Option<Box<RawValue>>,
    #[serde(default, alias = "taskId")]
    pub task_id: Option<String>,
    #[serde(default, alias = "taskModel", alias = "model")]
    pub task_model: Option<String>,
    #[serde(default, alias = "taskType", alias = "task_type")]
    pub action: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, alias = "serviceMode")]
    pub service_mode: Option<String>,
    #[serde(default)]
    pub usage: Option<Box<RawValue>>,
    #[serde(default, alias = "usageType")]
    pub usage_type: Option<String>,
    #[serde(default, alias = "apiKeyId")]
    pub api_key_id: Option<Box<RawValue>>,
    #[serde(default, alias = "createdAt")]
    pub created_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_a_history_row_parse() {
        let snake: HistoryRow = serde_json::from_str(
            r#"{"id":7710231,"task_id":"4eba","task_model":"sora2","action":"sora2-video","status":"completed",
                "service_mode":"public","usage":3200000,"usage_type":"llm","api_key_id":3112,
                "created_at":"2025-10-29T10:33:03+08:00","detail":{"output":"x"},"brandNew":1}"#,
        )
        .unwrap();
        let camel: HistoryRow = serde_json::from_str(
            r#"{"id":7710231,"taskId":"4eba","taskModel":"sora2","action":"sora2-video","status":"completed",
                "serviceMode":"public","usage":3200000,"usageType":"llm","apiKeyId":3112,
                "createdAt":"2025-10-29T10:33:03+08:00"}"#,
        )
        .unwrap();
        for row in [snake, camel] {
            assert_eq!(row.task_model.as_deref(), Some("sora2"));
            assert_eq!(row.usage.unwrap().get(), "3200000");
            assert_eq!(row.usage_type.as_deref(), Some("llm"));
            assert_eq!(row.api_key_id.unwrap().get(), "3112");
        }
    }
}
