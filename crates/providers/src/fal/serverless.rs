//! fal.ai Serverless: machine-seconds of the apps the account deployed itself
//! (`GET /serverless/usage`), a spend stream `/models/usage` does not include (fal.md,
//! pitfalls; the shape is fal's "Platform APIs for Serverless" page).
//!
//! Daily buckets in UTC like `/models/usage`, rows per (app, environment, machine type,
//! `is_surge`). Surge and non-surge rows of one app and machine are summed into one line:
//! model = the app, detail = the machine type, quantity in machine-seconds, cost = `cost`
//! (already net of discounts). No API key (the app's own compute), no request count.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use spendlens_domain::money::parse_decimal;
use spendlens_domain::{
    BilledCost, Category, Currency, Day, DayRange, Money, Quantity, TokenCounts, Unit, UsageRecord,
};

use super::{PROVIDER, PageDays, bucket_day, next_cursor, wire};
use crate::error::ProviderError;
use crate::http::{At, Client, number_text};
use crate::paging::CursorGuard;

const SERVERLESS_PATH: &str = "/serverless/usage";
/// Rows per page: fal's documented Platform API maximum for usage listings.
const LIMIT: u32 = 1000;
const MAX_PAGES: u32 = 10_000;
/// The unit of every serverless row (`unit` is always `"second"` of a machine).
const UNIT: &str = "machine_seconds";

/// One (day, app, machine type, currency) line, surge and non-surge summed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Cell {
    day: Day,
    app: String,
    machine_type: String,
    currency: Currency,
}

#[derive(Debug)]
struct Sums {
    seconds: Decimal,
    cost: Money,
    page: u32,
}

/// Serverless usage and cost of `window`, booked on `workspace_id`. `Ok(None)` when the
/// account's API has no `/serverless/usage` (404): nothing to read, said in a note.
pub(super) async fn fetch(
    client: &Client<'_>,
    window: DayRange,
    workspace_id: &str,
) -> Result<Option<(Vec<UsageRecord>, Vec<BilledCost>)>, ProviderError> {
    let end = window
        .end_exclusive()
        .map_err(|error| ProviderError::InvalidWindow {
            provider: PROVIDER,
            window: window.to_string(),
            reason: error.to_string(),
        })?;
    let base_query = [
        ("start", window.from().start_rfc3339()),
        ("end", end.start_rfc3339()),
        ("timezone", "UTC".to_owned()),
        ("timeframe", "day".to_owned()),
        ("bound_to_timeframe", "true".to_owned()),
        ("expand", "time_series".to_owned()),
        ("limit", LIMIT.to_string()),
    ];
    let mut cells: BTreeMap<Cell, Sums> = BTreeMap::new();
    let mut days = PageDays::default();
    let mut guard = CursorGuard::new(MAX_PAGES);
    let mut cursor: Option<String> = None;
    let mut page_number = 1;
    loop {
        let mut query = base_query.to_vec();
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page: wire::ServerlessPage =
            match client.get(SERVERLESS_PATH, &query, page_number).await {
                Ok(page) => page,
                Err(ProviderError::RequestRefused { status: 404, .. }) if page_number == 1 => {
                    return Ok(None);
                }
                Err(error) => return Err(error),
            };
        let at = At {
            endpoint: SERVERLESS_PATH,
            page: page_number,
        };
        let unexpected = |detail: String| ProviderError::UnexpectedPage {
            provider: PROVIDER,
            endpoint: SERVERLESS_PATH.to_owned(),
            page: page_number,
            detail,
        };
        let buckets = page.time_series.ok_or_else(|| {
            unexpected("the page has no time_series although expand=time_series was asked".into())
        })?;
        days.start_page();
        for bucket in buckets {
            let (day, _) = bucket_day(&bucket.bucket).ok_or_else(|| {
                unexpected(format!(
                    "a bucket is labelled \"{}\", which is not the start of a day",
                    bucket.bucket
                ))
            })?;
            if !window.contains(day) {
                return Err(unexpected(format!(
                    "a bucket for {day} is outside the requested window {window}"
                )));
            }
            days.admit(day, at)?;
            for item in bucket.results {
                add(&mut cells, day, item, at)?;
            }
        }
        match guard.advance(PROVIDER, at, next_cursor(page.next_cursor, page.has_more))? {
            Some(next) => cursor = Some(next),
            None => break,
        }
        page_number += 1;
    }
    let mut usage = Vec::with_capacity(cells.len());
    let mut costs = Vec::with_capacity(cells.len());
    let unit = Unit::parse(UNIT).unwrap_or_else(|_| Unit::seconds());
    for (cell, sums) in cells {
        let quantity = Quantity::from_decimal(sums.seconds).map_err(|error| {
            ProviderError::UnexpectedPage {
                provider: PROVIDER,
                endpoint: SERVERLESS_PATH.to_owned(),
                page: sums.page,
                detail: format!("the seconds of {} on {}: {error}", cell.app, cell.day),
            }
        })?;
        usage.push(UsageRecord {
            day: cell.day,
            workspace_id: Some(workspace_id.to_owned()),
            api_key_id: None,
            model: cell.app.clone(),
            category: Category::Other,
            unit: unit.clone(),
            detail: cell.machine_type.clone(),
            tokens: TokenCounts::default(),
            requests: None,
            quantity,
            unpriced: false,
        });
        costs.push(BilledCost {
            day: cell.day,
            workspace_id: Some(workspace_id.to_owned()),
            api_key_id: None,
            model: Some(cell.app.clone()),
            token_class: None,
            category: Some(Category::Other),
            description: format!("Serverless {} on {}", cell.app, cell.machine_type),
            cost: sums.cost,
            credits: Money::ZERO,
            currency: cell.currency,
            estimated: false,
            billing: None,
        });
    }
    Ok(Some((usage, costs)))
}

fn add(
    cells: &mut BTreeMap<Cell, Sums>,
    day: Day,
    item: wire::ServerlessItem,
    at: At<'_>,
) -> Result<(), ProviderError> {
    let unexpected = |detail: String| ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: at.endpoint.to_owned(),
        page: at.page,
        detail,
    };
    let app = item
        .app
        .as_deref()
        .map(str::trim)
        .filter(|app| !app.is_empty())
        .ok_or_else(|| unexpected(format!("a serverless row on {day} has no app")))?
        .to_owned();
    let cost_text =
        item.cost.as_deref().and_then(number_text).ok_or_else(|| {
            unexpected(format!("the serverless row of {app} on {day} has no cost"))
        })?;
    let cost = Money::parse_units(&cost_text)
        .map_err(|error| unexpected(format!("the cost of {app} on {day}: {error}")))?;
    let seconds = match item.quantity.as_deref() {
        None => Decimal::ZERO,
        Some(raw) if raw.get().trim() == "null" => Decimal::ZERO,
        Some(raw) => number_text(raw)
            .and_then(|text| parse_decimal(&text).ok())
            .ok_or_else(|| {
                unexpected(format!(
                    "the seconds of {app} on {day} are {}, not a number",
                    raw.get()
                ))
            })?,
    };
    if let Some(unit) = item.unit.as_deref().map(str::trim)
        && !unit.eq_ignore_ascii_case("second")
        && !unit.eq_ignore_ascii_case("seconds")
    {
        return Err(unexpected(format!(
            "the serverless row of {app} on {day} is in \"{unit}\", not machine seconds; \
             please report it"
        )));
    }
    let currency = match item.currency.as_deref() {
        Some(code) => Currency::parse(code).map_err(|_| {
            unexpected(format!(
                "the cost of {app} on {day} is in \"{code}\", not a currency"
            ))
        })?,
        None => Currency::usd(),
    };
    let machine_type = item
        .machine_type
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown machine".to_owned());
    let cell = Cell {
        day,
        app,
        machine_type,
        currency,
    };
    let sums = cells.entry(cell).or_insert(Sums {
        seconds: Decimal::ZERO,
        cost: Money::ZERO,
        page: at.page,
    });
    sums.seconds = sums
        .seconds
        .checked_add(seconds)
        .ok_or_else(|| unexpected(format!("the serverless seconds on {day} overflow")))?;
    sums.cost += cost;
    Ok(())
}
