//! Cost → Token usage: token counts per metered call (newest first, a page at a time) with
//! the summary the API gives at `/api/v1/token-usage/summary` — input, output and total
//! tokens, requests, average tokens per request — from the rollups. Unknown counts are N/A and
//! the row says it is estimated; API keys are masked.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use spendlens_store::UsageRecord;

use crate::AppState;
use crate::dashboard::cost::{Card, Filters, common, filters, na, next_href, parse};
use crate::dashboard::error::PageError;
use crate::dashboard::format;
use crate::dashboard::session::Viewer;
use crate::dashboard::{Layout, respond};
use crate::usage::{RecordFigures, UsageParams, UsageTotals};

const PATH: &str = "/cost/usage";

pub struct UsageRow {
    pub time: String,
    pub customer: String,
    pub api_key: String,
    pub provider: String,
    pub provider_label: String,
    pub model: String,
    pub input: String,
    pub cache_read: String,
    pub output: String,
    pub reasoning: String,
    pub total: String,
    pub estimated: &'static str,
    pub estimated_why: String,
}

fn usage_row(r: &UsageRecord) -> UsageRow {
    let f = RecordFigures::of(r);
    let (time, customer, api_key, provider_label, model) = common(r);
    let known = |v: Option<i64>| na(f.tokens_reported.then(|| v.unwrap_or(0)));
    let mut why = Vec::new();
    if !f.tokens_reported {
        why.push("tokens not reported");
    }
    if !f.cost_reported {
        why.push(if r.cost.is_some() {
            "cost from the price catalog"
        } else {
            "cost unknown (unpriced)"
        });
    }
    UsageRow {
        time,
        customer,
        api_key,
        provider: r.provider.clone(),
        provider_label,
        model,
        input: na(f.input_tokens),
        cache_read: known(r.cache_read),
        output: na(f.output_tokens),
        reasoning: known(r.reasoning),
        total: na(f.input_tokens.zip(f.output_tokens).map(|(a, b)| a + b)),
        estimated: if f.estimated() { "yes" } else { "no" },
        estimated_why: why.join("; "),
    }
}

#[derive(Template)]
#[template(path = "token_usage.html")]
struct UsagePage {
    layout: Layout,
    filters: Filters,
    cards: Vec<Card>,
    rows: Vec<UsageRow>,
    next: Option<String>,
    shown: bool,
}

/// A decimal with thousands separators: `436,247.75`.
fn grouped(value: rust_decimal::Decimal) -> String {
    let text = value.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let whole = whole
        .parse::<i64>()
        .map_or_else(|_| whole.to_owned(), format::count);
    if fraction.is_empty() {
        whole
    } else {
        format!("{whole}.{fraction}")
    }
}

fn cards(t: &UsageTotals) -> Vec<Card> {
    let without = if t.requests_without_tokens > 0 {
        format!(
            "{} request(s) reported no tokens",
            format::count(t.requests_without_tokens)
        )
    } else {
        String::new()
    };
    vec![
        Card {
            label: "Input tokens",
            value: na(t.input()),
            sub: t.input().map_or_else(String::new, |_| {
                format!(
                    "incl. {} cache read, {} cache write",
                    format::count(t.cache_read_tokens),
                    format::count(t.cache_write_tokens)
                )
            }),
        },
        Card {
            label: "Output tokens",
            value: na(t.output()),
            sub: t.output().map_or_else(String::new, |_| {
                format!("incl. {} reasoning", format::count(t.reasoning_tokens))
            }),
        },
        Card {
            label: "Total tokens",
            value: na(t.total()),
            sub: without.clone(),
        },
        Card {
            label: "Requests",
            value: format::count(t.requests),
            sub: format!(
                "{} with token counts",
                format::count(t.requests_with_tokens())
            ),
        },
        Card {
            label: "Average tokens per request",
            value: t.average_tokens().map_or_else(|| "N/A".to_owned(), grouped),
            sub: "over requests that reported tokens".to_owned(),
        },
    ]
}

/// `GET /cost/usage`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<UsageParams>,
) -> Result<Response, PageError> {
    let org = viewer.org();
    let (mut cards_shown, mut rows, mut next, mut error) = (Vec::new(), Vec::new(), None, None);
    match parse(&state, org, &params).await? {
        Ok(query) => {
            let store = state.store();
            let series = store.usage_series(org, &query.filter, &[]).await?;
            cards_shown = cards(&UsageTotals::of(&series));
            let mut records = store
                .usage_records(org, &query.filter, query.cursor.as_ref(), query.limit + 1)
                .await?;
            if records.len() > query.limit as usize {
                records.truncate(query.limit as usize);
                next = records.last().map(|last| next_href(PATH, &params, last));
            }
            rows = records.iter().map(usage_row).collect();
        }
        Err(message) => error = Some(message),
    }
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let layout = Layout::new(
        &state,
        &viewer,
        &headers,
        "Token usage",
        super::cost::ACTIVE,
    )
    .await?;
    let template = UsagePage {
        layout,
        shown: error.is_none(),
        filters: filters(&state, org, params, error).await?,
        cards: cards_shown,
        rows,
        next,
    };
    respond(&template.layout, &headers, status, &template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_read_with_separators() {
        let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
        assert_eq!(grouped(d("436247.75")), "436,247.75");
        assert_eq!(grouped(d("812.5")), "812.5");
        assert_eq!(grouped(d("1000000")), "1,000,000");
    }
}
