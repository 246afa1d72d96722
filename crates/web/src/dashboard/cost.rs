//! Cost → Cost records: every metered call newest first (customer, masked API key, model,
//! provider, input / output tokens, input / output cost, total, time, status) with filters,
//! summary cards, a donut of cost by provider and bars of cost by model. The cards and charts
//! come from the rollups (never a scan of the events); the table is one keyset page of events.
//! The live part (cards, charts, table) is also served alone at `/cost/live`, which `app.js`
//! fetches every 5 s to replace it in place, keeping the filters (they are the page's query).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use spendlens_domain::display::format_rate;
use spendlens_domain::{Money, ProviderKind};
use spendlens_store::{OrgId, UsageRecord};

use crate::AppState;
use crate::dashboard::charts::{self, Slice};
use crate::dashboard::error::PageError;
use crate::dashboard::format;
use crate::dashboard::pricing::Choice;
use crate::dashboard::session::Viewer;
use crate::dashboard::{Layout, render, respond};
use crate::usage::{self, RecordFigures, UsageParams, UsageQuery, UsageTotals};

pub(super) const ACTIVE: &str = "/cost";

/// How often the live part refreshes, in seconds.
const REFRESH_SECONDS: u32 = 5;

/// An amount in a table cell: exact, so a row's parts visibly add up to its total.
pub(super) fn exact(value: Money) -> String {
    let text = value.to_exact_string();
    match text.strip_prefix('-') {
        Some(rest) => format!("-${rest}"),
        None => format!("${text}"),
    }
}

/// An amount on a card or a chart: cents from a dollar up, else enough digits to read
/// (a small priced amount never reads as $0.00).
pub(super) fn label_money(value: Money) -> String {
    if value.abs() >= Money::from_nanos(1_000_000_000) || value.is_zero() {
        format::money(value)
    } else {
        format_rate(value)
    }
}

pub struct Card {
    pub label: &'static str,
    pub value: String,
    pub sub: String,
}

/// The filter form's values as typed and its choices.
pub struct Filters {
    pub params: UsageParams,
    pub providers: Vec<Choice>,
    pub models: Vec<String>,
    pub customers: Vec<String>,
    pub keys: Vec<String>,
    pub error: Option<String>,
}

/// The distinct values of a meter dimension, at most 200 (datalist suggestions).
async fn values(state: &AppState, org: OrgId, dim: usize) -> Result<Vec<String>, PageError> {
    let mut all = state.store().meter_dimension_values(org, dim).await?;
    all.truncate(200);
    Ok(all)
}

pub(super) async fn filters(
    state: &AppState,
    org: OrgId,
    params: UsageParams,
    error: Option<String>,
) -> Result<Filters, PageError> {
    let chosen = params.provider.trim().to_ascii_lowercase();
    let mut providers = vec![Choice {
        value: String::new(),
        label: "All providers".to_owned(),
        selected: chosen.is_empty(),
    }];
    let mut seen = values(state, org, 0).await?;
    if !chosen.is_empty() && !seen.contains(&chosen) {
        seen.push(chosen.clone());
    }
    providers.extend(seen.into_iter().map(|p| Choice {
        label: provider_label(&p).to_owned(),
        selected: p == chosen,
        value: p,
    }));
    let mut keys = values(state, org, 2).await?;
    for key in &mut keys {
        *key = usage::mask_key(key);
    }
    keys.sort();
    keys.dedup();
    Ok(Filters {
        providers,
        models: values(state, org, 1).await?,
        customers: values(state, org, 3).await?,
        keys,
        params,
        error,
    })
}

pub(super) fn provider_label(provider: &str) -> &str {
    provider
        .parse::<ProviderKind>()
        .map_or(provider, |p| p.display_name())
}

/// The page's query string without the cursor (`?customer=…&from=…`, or empty).
pub(super) fn query_string(params: &UsageParams, with_limit: bool) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("customer", &params.customer),
        ("api_key", &params.api_key),
        ("model", &params.model),
        ("provider", &params.provider),
        ("from", &params.from),
        ("to", &params.to),
    ] {
        if !value.trim().is_empty() {
            out.append_pair(name, value.trim());
        }
    }
    if with_limit && !params.limit.trim().is_empty() {
        out.append_pair("limit", params.limit.trim());
    }
    let text = out.finish();
    if text.is_empty() {
        text
    } else {
        format!("?{text}")
    }
}

/// The link to the page after `last`, keeping the filters.
pub(super) fn next_href(path: &str, params: &UsageParams, last: &UsageRecord) -> String {
    let query = query_string(params, true);
    let cursor = usage::encode_cursor(last);
    if query.is_empty() {
        format!("{path}?cursor={cursor}")
    } else {
        format!("{path}{query}&cursor={cursor}")
    }
}

/// Parses the filters and resolves a typed API key; the message when they cannot be used.
pub(super) async fn parse(
    state: &AppState,
    org: OrgId,
    params: &UsageParams,
) -> Result<Result<UsageQuery, String>, PageError> {
    match usage::parse(params) {
        Ok(mut query) => {
            usage::resolve_keys(state.store(), org, &mut query).await?;
            Ok(Ok(query))
        }
        Err(message) => Ok(Err(message)),
    }
}

/// One row of the records table.
pub struct RecordRow {
    pub time: String,
    pub customer: String,
    pub api_key: String,
    pub model: String,
    pub provider: String,
    pub provider_label: String,
    pub status: String,
    pub input_tokens: String,
    pub output_tokens: String,
    pub tokens_title: String,
    pub input_cost: String,
    pub output_cost: String,
    pub split_title: String,
    pub total_cost: String,
    pub total_class: &'static str,
    pub total_title: String,
    pub total_sub: String,
    pub estimated: bool,
}

pub(super) fn na(value: Option<i64>) -> String {
    value.map_or_else(|| "N/A".to_owned(), format::count)
}

fn time_text(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok();
    let mut text = format::instant(at);
    if let Some(at) = at {
        // Seconds matter in a live list.
        text = text.replace(" UTC", &format!(":{:02} UTC", at.second()));
    }
    text
}

pub(super) fn common(r: &UsageRecord) -> (String, String, String, String, String) {
    (
        time_text(r.time_ms),
        r.customer.clone().unwrap_or_else(|| "N/A".to_owned()),
        r.api_key
            .as_deref()
            .map_or_else(|| "N/A".to_owned(), usage::mask_key),
        provider_label(&r.provider).to_owned(),
        r.model.clone(),
    )
}

pub(super) fn record_row(r: &UsageRecord) -> RecordRow {
    let f = RecordFigures::of(r);
    let (time, customer, api_key, provider_label, model) = common(r);
    let (input_cost, output_cost, split_title, total_sub) = match f.split {
        Some((input, output, other)) => (
            exact(input),
            exact(output),
            "priced from the catalog, line by line".to_owned(),
            if other.is_zero() {
                String::new()
            } else {
                format!("incl. {} non-token", exact(other))
            },
        ),
        None => (
            "N/A".to_owned(),
            "N/A".to_owned(),
            match r.cost_source.as_str() {
                "reported" => "the provider reported a total; it has no input/output split",
                "unpriced" => "unpriced: the cost is unknown",
                _ => "stored before the split was kept",
            }
            .to_owned(),
            String::new(),
        ),
    };
    let (total_cost, total_class, total_title) = match r.cost {
        Some(cost) => (
            exact(cost),
            "num",
            if f.cost_reported {
                "reported by the sender".to_owned()
            } else {
                "estimated from the price catalog".to_owned()
            },
        ),
        None => (
            "unpriced".to_owned(),
            "num na",
            r.unpriced_reason.clone().unwrap_or_default(),
        ),
    };
    RecordRow {
        time,
        customer,
        api_key,
        model,
        provider: r.provider.clone(),
        provider_label,
        status: r.status.clone(),
        input_tokens: na(f.input_tokens),
        output_tokens: na(f.output_tokens),
        tokens_title: if f.tokens_reported {
            String::new()
        } else {
            "the call reported no token counts".to_owned()
        },
        input_cost,
        output_cost,
        split_title,
        total_cost,
        total_class,
        total_title,
        total_sub,
        estimated: f.estimated(),
    }
}

/// The part of the page that refreshes: cards, charts, the table and its pager.
#[derive(Template)]
#[template(path = "cost_live.html")]
pub struct Live {
    pub cards: Vec<Card>,
    pub donut: String,
    pub legend: Vec<charts::Segment>,
    pub bars: String,
    pub rows: Vec<RecordRow>,
    pub next: Option<String>,
    pub empty: bool,
    pub at: String,
}

async fn live(
    state: &AppState,
    org: OrgId,
    params: &UsageParams,
    query: &UsageQuery,
) -> Result<Live, PageError> {
    let store = state.store();
    // By provider and model: the donut and the bars group by each.
    let series = store.usage_series(org, &query.filter, &[0, 1]).await?;
    let totals = UsageTotals::of(&series);
    let mut rows = store
        .usage_records(org, &query.filter, query.cursor.as_ref(), query.limit + 1)
        .await?;
    let more = rows.len() > query.limit as usize;
    rows.truncate(query.limit as usize);
    let next = more
        .then(|| rows.last().map(|last| next_href(ACTIVE, params, last)))
        .flatten();
    let slices = |dim: usize, label: fn(&str) -> String| -> Vec<Slice> {
        usage::group_by(&series, dim)
            .into_iter()
            .map(|(name, t)| Slice {
                label: label(&name),
                value: t.cost,
                href: None,
            })
            .collect()
    };
    let donut = charts::donut(
        "Cost by provider",
        slices(0, |p| provider_label(p).to_owned()),
        6,
    );
    let bars = charts::hbars("Cost by model", slices(1, str::to_owned), 10, label_money);
    Ok(Live {
        cards: cards(&totals),
        donut: donut.render()?,
        bars: bars.render()?,
        legend: donut.segments,
        empty: rows.is_empty(),
        rows: rows.iter().map(record_row).collect(),
        next,
        at: format::instant(Some(state.now())),
    })
}

/// `1 call`, `1,204 calls`.
pub(super) fn plural(n: i64, what: &str) -> String {
    format!(
        "{} {what}{}",
        format::count(n),
        if n == 1 { "" } else { "s" }
    )
}

fn cards(t: &UsageTotals) -> Vec<Card> {
    vec![
        Card {
            label: "Total cost",
            value: match t.priced_cost() {
                Some(cost) => label_money(cost),
                None if t.requests > 0 => "unpriced".to_owned(),
                None => label_money(Money::ZERO),
            },
            sub: if t.unpriced > 0 {
                format!(
                    "plus {} (cost unknown)",
                    plural(t.unpriced, "unpriced request")
                )
            } else {
                "every request priced".to_owned()
            },
        },
        Card {
            label: "Requests",
            value: format::count(t.requests),
            sub: if t.failed > 0 {
                plural(t.failed, "failed request")
            } else {
                String::new()
            },
        },
        Card {
            label: "Input tokens",
            value: na(t.input()),
            sub: if t.requests_without_tokens > 0 {
                format!(
                    "{} without token counts",
                    plural(t.requests_without_tokens, "request")
                )
            } else {
                String::new()
            },
        },
        Card {
            label: "Output tokens",
            value: na(t.output()),
            sub: if t.reasoning_tokens > 0 {
                format!("incl. {} reasoning", format::count(t.reasoning_tokens))
            } else {
                String::new()
            },
        },
    ]
}

#[derive(Template)]
#[template(path = "cost.html")]
struct CostPage {
    layout: Layout,
    filters: Filters,
    live: String,
    live_src: Option<String>,
    refresh_seconds: u32,
    /// The budget status panel: enabled caps, most used first.
    budgets: Vec<super::budgets::BudgetRow>,
}

/// `GET /cost`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<UsageParams>,
) -> Result<Response, PageError> {
    let org = viewer.org();
    let (live_html, error, query) = match parse(&state, org, &params).await? {
        Ok(query) => (
            live(&state, org, &params, &query).await?.render()?,
            None,
            Some(query),
        ),
        Err(message) => (String::new(), Some(message), None),
    };
    let live_src = query
        .filter(|q| q.cursor.is_none())
        .map(|_| format!("/cost/live{}", query_string(&params, true)));
    let layout = Layout::new(&state, &viewer, &headers, "Cost records", ACTIVE).await?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let template = CostPage {
        layout,
        filters: filters(&state, org, params, error).await?,
        live: live_html,
        live_src,
        refresh_seconds: REFRESH_SECONDS,
        budgets: super::budgets::panel_rows(&state, org, 6).await?,
    };
    respond(&template.layout, &headers, status, &template)
}

/// `GET /cost/live`: the live part alone, for the page's 5-second refresh.
pub async fn live_part(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(params): Query<UsageParams>,
) -> Result<Response, PageError> {
    let org = viewer.org();
    let query = parse(&state, org, &params)
        .await?
        .map_err(PageError::BadRequest)?;
    let part = live(&state, org, &params, &query).await?;
    let mut response = render(&part)?.into_response();
    response
        .headers_mut()
        .insert("x-spendlens-part", HeaderValue::from_static("cost-live"));
    response
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    Ok(response)
}
