//! Runway's organization endpoints (`GET /v1/organization`, `POST /v1/organization/usage`) as
//! serde types, from shared/providers/runway.md.
//!
//! Lenient on purpose: unknown fields are ignored and every field is optional; credit amounts
//! are kept as their literal JSON text (integers per the SDK, read exactly whatever they are).
//! Model names are open strings: Runway adds models often.

#![allow(
    dead_code,
    reason = "the wire types mirror the documented JSON; not every field is read by the mapping"
)]

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

/// `POST /v1/organization/usage`: `{results:[{date, usedCredits:[{model, amount}]}], models}`.
#[derive(Debug, Deserialize)]
pub struct UsageResponse {
    #[serde(default)]
    pub results: Option<Vec<DayResult>>,
    #[serde(default)]
    pub models: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct DayResult {
    /// `YYYY-MM-DD`, UTC.
    #[serde(default)]
    pub date: Option<String>,
    #[serde(rename = "usedCredits", default)]
    pub used_credits: Vec<UsedCredits>,
}

#[derive(Debug, Deserialize)]
pub struct UsedCredits {
    #[serde(default)]
    pub model: Option<String>,
    /// Net credits (charges minus refunds): may be negative.
    #[serde(default)]
    pub amount: Option<Box<RawValue>>,
}

/// `GET /v1/organization`.
#[derive(Debug, Deserialize)]
pub struct Organization {
    #[serde(rename = "creditBalance", default)]
    pub credit_balance: Option<Box<RawValue>>,
    #[serde(default)]
    pub tier: Option<Tier>,
}

#[derive(Debug, Deserialize)]
pub struct Tier {
    #[serde(rename = "maxMonthlyCreditSpend", default)]
    pub max_monthly_credit_spend: Option<Box<RawValue>>,
    #[serde(default)]
    pub models: BTreeMap<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::number_text;

    #[test]
    fn the_documented_usage_response_parses() {
        let response: UsageResponse = serde_json::from_str(
            r#"{"results":[{"date":"2026-03-16","usedCredits":[{"model":"gen4.5","amount":120},{"model":"veo3.1","amount":-400}]}],
                "models":["gen4.5","veo3.1"],"apiKeys":[],"resultsByApiKey":[]}"#,
        )
        .unwrap();
        let day = &response.results.as_ref().unwrap()[0];
        assert_eq!(day.date.as_deref(), Some("2026-03-16"));
        assert_eq!(day.used_credits[1].model.as_deref(), Some("veo3.1"));
        assert_eq!(
            day.used_credits[1]
                .amount
                .as_deref()
                .and_then(number_text)
                .as_deref(),
            Some("-400")
        );
    }

    #[test]
    fn the_documented_organization_parses() {
        let org: Organization = serde_json::from_str(
            r#"{"tier":{"maxMonthlyCreditSpend":10000,"models":{"gen4.5":{"maxConcurrentGenerations":2,"maxDailyGenerations":200}}},
                "creditBalance":5000,"usage":{"models":{"gen4.5":{"dailyGenerations":12}}}}"#,
        )
        .unwrap();
        assert_eq!(
            org.credit_balance
                .as_deref()
                .and_then(number_text)
                .as_deref(),
            Some("5000")
        );
    }
}
