//! fal.ai: model-API usage and cost per day, endpoint, API key and billing unit, from the
//! Platform API with an ADMIN-scope key (shared/providers/fal.md).
//!
//! - Workspace: the account, named by `username` from `GET /account/billing` (one workspace
//!   per connection; `account` when fal names none).
//! - Usage and cost: `GET /models/usage` with `timeframe=day` in UTC, following `next_cursor`.
//!   Rows that share (day, endpoint, key, unit) — fal splits them by price and discount — are
//!   summed. Cost is `cost_total` (after discounts), falling back to the deprecated `cost`; it
//!   is billed per key, so each cost names its key and nothing is allocated.
//! - Work is a quantity in fal's billing unit (images, megapixels, video seconds …), never
//!   tokens. The category comes from the unit, else from the endpoint id.
//! - API keys: `GET /keys` (API-scope keys only, labelled by alias); keys that appear only in
//!   usage (ADMIN keys, deleted keys) are added as unlisted, named by the usage's `detail`.
//!   Usage made with a user login (`login_username`) or with no key has no key.
//! - Requests: not reported by `/models/usage` and left unknown (`None`). Counting
//!   `/models/billing-events` would give them, at one record per request (10,000 per page,
//!   90 days per request) — too heavy for every sync, so it is not read.
//! - The prepaid credit balance is a balance, not credits applied to this window: it goes into
//!   a note, never into `credits`.
//! - Serverless: `GET /serverless/usage`, machine-seconds of your own deployed apps, a spend
//!   stream `/models/usage` leaves out ([`serverless`]): model = the app, detail = the machine
//!   type. Not read: the enterprise-only `/organization/*` endpoints.

mod serverless;
mod wire;

use std::collections::{BTreeMap, HashSet};

use reqwest::header::{AUTHORIZATION, HeaderMap};
use rust_decimal::Decimal;
use spendlens_domain::money::parse_decimal;
use spendlens_domain::{
    ApiKeyRecord, BilledCost, Category, Credential, Currency, Day, DayRange, FetchedWindow,
    KeyStatus, Money, ProviderKind, Quantity, TokenCounts, Unit, UsageRecord, WorkspaceRecord,
};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::error::ProviderError;
use crate::http::{At, CallStats, Client, Profile, number_text, secret_header};
use crate::paging::CursorGuard;
use crate::{ConnectionCheck, ConnectorConfig};

pub(super) const PROVIDER: ProviderKind = ProviderKind::Fal;
const KEYS_URL: &str = "https://fal.ai/dashboard/keys";
const USAGE_PATH: &str = "/models/usage";
const BILLING_PATH: &str = "/account/billing";
const KEYS_PATH: &str = "/keys";
/// Items per usage page, tried in order: fal documents no maximum ("depends on query type and
/// expansion parameters"), so a refused limit falls back to a smaller one.
const USAGE_LIMITS: [u32; 3] = [1000, 100, 10];
/// Keys per `/keys` page: the spec's maximum.
const KEYS_LIMIT: u32 = 100;
/// A listing longer than this is a server that never stops.
const MAX_PAGES: u32 = 10_000;
/// The workspace id when `/account/billing` names no account.
const ACCOUNT_WORKSPACE: &str = "account";

fn client<'a>(
    credential: &'a Credential,
    config: &ConnectorConfig,
    stats: &'a CallStats,
) -> Result<Client<'a>, ProviderError> {
    let secret = credential.expose_secret().trim();
    let secret = secret.strip_prefix("Key ").unwrap_or(secret).trim();
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        secret_header(PROVIDER, &format!("Key {secret}"))?,
    );
    let profile = Profile {
        provider: PROVIDER,
        headers,
        rejected_advice,
    };
    Client::new(
        profile,
        config.base_url_for(PROVIDER),
        secret,
        &config.http,
        stats,
    )
}

fn rejected_advice(status: u16, _message: &str) -> String {
    if status == 403 {
        format!(
            "This fal.ai key is not allowed to read usage and billing: it is probably an API-scope \
             key, which can only run models. Create a key with scope ADMIN at {KEYS_URL} and \
             update the connection with it (<key id>:<key secret>)."
        )
    } else {
        format!(
            "The key may be revoked, deleted or mistyped: create a new ADMIN-scope key at \
             {KEYS_URL} and update the connection with it (<key id>:<key secret>)."
        )
    }
}

pub(crate) async fn check_connection(
    credential: &Credential,
    config: &ConnectorConfig,
    stats: &CallStats,
) -> Result<ConnectionCheck, ProviderError> {
    let client = client(credential, config, stats)?;
    let billing = fetch_billing(&client).await?;
    let name = account_name(&billing);
    let balance = balance_text(&billing)
        .map(|balance| format!(", {balance} of prepaid credit left"))
        .unwrap_or_default();
    Ok(ConnectionCheck {
        summary: format!("fal.ai account \"{name}\" reachable with an ADMIN key{balance}"),
    })
}

pub(crate) async fn fetch_window(
    credential: &Credential,
    config: &ConnectorConfig,
    window: DayRange,
    stats: &CallStats,
) -> Result<FetchedWindow, ProviderError> {
    let client = client(credential, config, stats)?;
    // The cheapest admin-only call first: a wrong key scope shows up here, once.
    let billing = fetch_billing(&client).await?;
    let workspace_id = account_name(&billing);
    let mut notes = Vec::new();
    if let Some(balance) = balance_text(&billing) {
        notes.push(format!(
            "fal.ai prepaid credit balance at sync time: {balance}. This is what is left to \
             spend, not credits applied to this window, so it is not booked as credits."
        ));
    }
    let listed_keys = list_keys(&client).await?;
    let usage = fetch_usage(&client, window).await?;
    notes.extend(usage.notes);
    let serverless = serverless::fetch(&client, window, &workspace_id).await?;
    if serverless.is_none() {
        notes.push(
            "This fal.ai account's API has no /serverless/usage, so spend of your own deployed \
             apps (if any) is not included."
                .to_owned(),
        );
    }

    let workspaces = vec![WorkspaceRecord {
        provider_id: workspace_id.clone(),
        name: workspace_id.clone(),
        archived: false,
        created_at: None,
    }];
    let mut api_keys: Vec<ApiKeyRecord> = Vec::new();
    let mut listed_ids = HashSet::new();
    for key in listed_keys {
        if !listed_ids.insert(key.key_id.clone()) {
            continue;
        }
        api_keys.push(ApiKeyRecord {
            name: key.alias.filter(|alias| !alias.trim().is_empty()),
            hint: None,
            workspace_id: Some(workspace_id.clone()),
            status: KeyStatus::Active,
            created_at: key
                .created_at
                .as_deref()
                .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok()),
            last_used_at: None,
            provider_id: key.key_id,
        });
    }
    // Keys seen only in usage: ADMIN keys (never listed) and deleted keys.
    for (key_id, detail) in &usage.key_labels {
        if !listed_ids.contains(key_id) {
            api_keys.push(ApiKeyRecord {
                provider_id: key_id.clone(),
                name: detail.clone(),
                hint: None,
                workspace_id: Some(workspace_id.clone()),
                status: KeyStatus::Unlisted,
                created_at: None,
                last_used_at: None,
            });
        }
    }

    let mut records = Vec::new();
    let mut costs = Vec::new();
    for (cell, sums) in usage.cells {
        let unit = cell.unit;
        let category = category(&cell.endpoint, &unit);
        let quantity = Quantity::from_decimal(sums.quantity).map_err(|error| {
            ProviderError::UnexpectedPage {
                provider: PROVIDER,
                endpoint: USAGE_PATH.to_owned(),
                page: sums.page,
                detail: format!("the quantity of {} on {}: {error}", cell.endpoint, cell.day),
            }
        })?;
        records.push(UsageRecord {
            day: cell.day,
            workspace_id: Some(workspace_id.clone()),
            api_key_id: cell.key.clone(),
            model: cell.endpoint.clone(),
            category,
            unit: unit.clone(),
            detail: String::new(),
            tokens: TokenCounts::default(),
            requests: None,
            quantity,
            unpriced: false,
        });
        costs.push(BilledCost {
            day: cell.day,
            workspace_id: Some(workspace_id.clone()),
            api_key_id: cell.key,
            model: Some(cell.endpoint.clone()),
            token_class: None,
            category: Some(category),
            description: format!("{} ({unit})", cell.endpoint),
            cost: sums.cost,
            credits: Money::ZERO,
            currency: cell.currency,
            estimated: false,
            billing: None,
        });
    }
    if let Some((serverless_usage, serverless_costs)) = serverless {
        records.extend(serverless_usage);
        costs.extend(serverless_costs);
    }
    Ok(FetchedWindow {
        workspaces,
        api_keys,
        usage: records,
        costs,
        notes,
        served: None,
        services: Vec::new(),
        invoice_months: None,
    })
}

async fn fetch_billing(client: &Client<'_>) -> Result<wire::Billing, ProviderError> {
    client
        .get(BILLING_PATH, &[("expand", "credits".to_owned())], 1)
        .await
}

fn account_name(billing: &wire::Billing) -> String {
    billing
        .username
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or(ACCOUNT_WORKSPACE)
        .to_owned()
}

/// The balance as `$24.50 USD`, when fal sent one that reads as a number.
fn balance_text(billing: &wire::Billing) -> Option<String> {
    let credits = billing.credits.as_ref()?;
    let amount = credits
        .current_balance
        .as_deref()
        .and_then(number_text)
        .and_then(|text| Money::parse_units(&text).ok())?;
    let currency = credits
        .currency
        .as_deref()
        .and_then(|code| Currency::parse(code).ok())
        .unwrap_or_else(Currency::usd);
    let symbol = if currency == Currency::usd() { "$" } else { "" };
    Some(format!("{symbol}{} {currency}", amount.to_exact_string()))
}

/// Every API-scope key. An API without `/keys` (404) has none to name.
async fn list_keys(client: &Client<'_>) -> Result<Vec<wire::Key>, ProviderError> {
    let mut keys = Vec::new();
    let mut guard = CursorGuard::new(MAX_PAGES);
    let mut cursor: Option<String> = None;
    let mut page_number = 1;
    loop {
        let mut query = vec![("limit", KEYS_LIMIT.to_string())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page: wire::KeysPage = match client.get(KEYS_PATH, &query, page_number).await {
            Ok(page) => page,
            Err(ProviderError::RequestRefused { status: 404, .. }) if page_number == 1 => {
                tracing::info!("fal.ai has no /keys here; keys are named from usage only");
                return Ok(Vec::new());
            }
            Err(error) => return Err(error),
        };
        keys.extend(page.keys);
        let at = At {
            endpoint: KEYS_PATH,
            page: page_number,
        };
        match guard.advance(PROVIDER, at, next_cursor(page.next_cursor, page.has_more))? {
            Some(next) => cursor = Some(next),
            None => return Ok(keys),
        }
        page_number += 1;
    }
}

/// The cursor to follow: fal says to page until `next_cursor` is null; `has_more: false`
/// ends the listing too.
pub(super) fn next_cursor(next_cursor: Option<String>, has_more: Option<bool>) -> Option<String> {
    next_cursor.filter(|cursor| !cursor.is_empty() && has_more != Some(false))
}

/// One summed cell of usage: fal's rows of one (day, endpoint, key, unit, currency).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Cell {
    day: Day,
    endpoint: String,
    key: Option<String>,
    unit: Unit,
    currency: Currency,
}

#[derive(Debug)]
struct Sums {
    quantity: Decimal,
    cost: Money,
    /// The page of the cell's first row, for error messages.
    page: u32,
}

#[derive(Debug, Default)]
struct Usage {
    cells: BTreeMap<Cell, Sums>,
    /// Every key id seen in usage, with fal's label for it (`detail`).
    key_labels: BTreeMap<String, Option<String>>,
    notes: Vec<String>,
}

async fn fetch_usage(client: &Client<'_>, window: DayRange) -> Result<Usage, ProviderError> {
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
        ("expand", "auth_method_structured".to_owned()),
    ];
    let mut usage = Usage::default();
    let mut days = PageDays::default();
    let mut guard = CursorGuard::new(MAX_PAGES);
    let mut limits = USAGE_LIMITS.iter().copied().peekable();
    let mut limit = limits.next().unwrap_or(100);
    let mut cursor: Option<String> = None;
    let mut page_number = 1;
    let mut foreign_offset: Option<UtcOffset> = None;
    loop {
        let mut query = base_query.to_vec();
        query.push(("limit", limit.to_string()));
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page: wire::UsagePage = match client.get(USAGE_PATH, &query, page_number).await {
            Ok(page) => page,
            Err(ProviderError::RequestRefused {
                status: 400 | 422,
                message,
                ..
            }) if page_number == 1
                && message.to_ascii_lowercase().contains("limit")
                && limits.peek().is_some() =>
            {
                let smaller = limits.next().unwrap_or(limit);
                tracing::info!(limit, smaller, %message, "fal.ai refused the page size; retrying smaller");
                limit = smaller;
                continue;
            }
            Err(error) => return Err(error),
        };
        let at = At {
            endpoint: USAGE_PATH,
            page: page_number,
        };
        let buckets = page
            .time_series
            .ok_or_else(|| ProviderError::UnexpectedPage {
                provider: PROVIDER,
                endpoint: USAGE_PATH.to_owned(),
                page: page_number,
                detail: "the page has no time_series although expand=time_series was asked"
                    .to_owned(),
            })?;
        days.start_page();
        for bucket in buckets {
            let (day, offset) =
                bucket_day(&bucket.bucket).ok_or_else(|| ProviderError::UnexpectedPage {
                    provider: PROVIDER,
                    endpoint: USAGE_PATH.to_owned(),
                    page: page_number,
                    detail: format!(
                        "a bucket is labelled \"{}\", which is not the start of a day",
                        bucket.bucket
                    ),
                })?;
            if offset != UtcOffset::UTC {
                foreign_offset.get_or_insert(offset);
            }
            if !window.contains(day) {
                return Err(ProviderError::UnexpectedPage {
                    provider: PROVIDER,
                    endpoint: USAGE_PATH.to_owned(),
                    page: page_number,
                    detail: format!("a bucket for {day} is outside the requested window {window}"),
                });
            }
            days.admit(day, at)?;
            for item in bucket.results {
                add_item(&mut usage, day, item, at)?;
            }
        }
        match guard.advance(PROVIDER, at, next_cursor(page.next_cursor, page.has_more))? {
            Some(next) => cursor = Some(next),
            None => break,
        }
        page_number += 1;
    }
    if let Some(offset) = foreign_offset {
        let (hours, minutes, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        usage.notes.push(format!(
            "fal.ai labelled its daily buckets with the offset {sign}{:02}:{:02} although UTC was \
             asked; each bucket was booked on the date its label names.",
            hours.unsigned_abs(),
            minutes.unsigned_abs()
        ));
    }
    Ok(usage)
}

/// The day a bucket label names, and the offset it carries: an RFC 3339 midnight (in any
/// offset: fal labels buckets in the requested zone), or a bare date.
pub(super) fn bucket_day(label: &str) -> Option<(Day, UtcOffset)> {
    let label = label.trim();
    if let Ok(start) = OffsetDateTime::parse(label, &Rfc3339) {
        return (start.time() == time::Time::MIDNIGHT)
            .then(|| (Day::from_date(start.date()), start.offset()));
    }
    let date_only = label
        .get(..10)
        .filter(|_| label.len() == 10 || label[10..].trim_start_matches('T') == "00:00:00")?;
    date_only
        .parse::<Day>()
        .ok()
        .map(|day| (day, UtcOffset::UTC))
}

/// The days of a bucket listing. A day appears once, except that a day cut by a page boundary
/// (when `limit` counts rows rather than buckets) continues as the first bucket of the next
/// page; anything else would count a day twice.
#[derive(Debug, Default)]
pub(super) struct PageDays {
    seen: HashSet<Day>,
    this_page: Vec<Day>,
    last_of_previous_page: Option<Day>,
}

impl PageDays {
    pub(super) fn start_page(&mut self) {
        if let Some(last) = self.this_page.last() {
            self.last_of_previous_page = Some(*last);
        }
        self.this_page.clear();
    }

    pub(super) fn admit(&mut self, day: Day, at: At<'_>) -> Result<(), ProviderError> {
        let continues = self.this_page.is_empty() && self.last_of_previous_page == Some(day);
        if self.this_page.contains(&day) || (self.seen.contains(&day) && !continues) {
            return Err(ProviderError::DuplicateBucket {
                provider: PROVIDER,
                endpoint: at.endpoint.to_owned(),
                page: at.page,
                day: day.to_string(),
            });
        }
        self.seen.insert(day);
        self.this_page.push(day);
        Ok(())
    }
}

fn add_item(
    usage: &mut Usage,
    day: Day,
    item: wire::UsageItem,
    at: At<'_>,
) -> Result<(), ProviderError> {
    let unexpected = |detail: String| ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: at.endpoint.to_owned(),
        page: at.page,
        detail,
    };
    // The endpoint is required: without it the cost could not be placed on a model.
    let endpoint = item
        .endpoint_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| unexpected(format!("a usage row on {day} has no endpoint_id")))?
        .to_owned();
    let cost_text = item
        .cost_total
        .as_deref()
        .and_then(number_text)
        .or_else(|| item.cost.as_deref().and_then(number_text))
        .ok_or_else(|| {
            unexpected(format!(
                "a usage row of {endpoint} on {day} has no cost (neither cost_total nor cost)"
            ))
        })?;
    let cost = Money::parse_units(&cost_text)
        .map_err(|error| unexpected(format!("the cost of {endpoint} on {day}: {error}")))?;
    let quantity = match item.quantity.as_deref() {
        None => Decimal::ZERO,
        Some(raw) if raw.get().trim() == "null" => Decimal::ZERO,
        Some(raw) => number_text(raw)
            .and_then(|text| parse_decimal(&text).ok())
            .ok_or_else(|| {
                unexpected(format!(
                    "the quantity of {endpoint} on {day} is {}, not a number",
                    raw.get()
                ))
            })?,
    };
    let unit = item
        .unit
        .as_deref()
        .and_then(|unit| Unit::parse(unit).ok())
        .unwrap_or_else(|| Unit::parse("units").unwrap_or_else(|_| Unit::requests()));
    let currency = match item.currency.as_deref() {
        Some(code) => Currency::parse(code).map_err(|_| {
            unexpected(format!(
                "the cost of {endpoint} on {day} is in \"{code}\", not a currency"
            ))
        })?,
        None => Currency::usd(),
    };
    let auth = item.auth_method_structured.unwrap_or_default();
    let key = auth
        .api_key_id
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty());
    if let Some(key) = &key {
        let label = auth
            .detail
            .or(item.auth_method)
            .map(|detail| detail.trim().to_owned())
            .filter(|detail| !detail.is_empty());
        let entry = usage.key_labels.entry(key.clone()).or_default();
        if entry.is_none() {
            *entry = label;
        }
    }
    let cell = Cell {
        day,
        endpoint,
        key,
        unit,
        currency,
    };
    let sums = usage.cells.entry(cell).or_insert(Sums {
        quantity: Decimal::ZERO,
        cost: Money::ZERO,
        page: at.page,
    });
    sums.quantity = sums
        .quantity
        .checked_add(quantity)
        .ok_or_else(|| unexpected(format!("the quantities of a usage cell on {day} overflow")))?;
    sums.cost += cost;
    Ok(())
}

/// The category of fal work: from the billing unit when it says (images, megapixels, video
/// seconds, characters), else from the endpoint id (`fal-ai/kling-video/…/image-to-video` is
/// video: what follows "to" names the output), else other.
fn category(endpoint: &str, unit: &Unit) -> Category {
    let unit = unit.as_str();
    if unit.contains("image") || unit.contains("pixel") {
        return Category::Image;
    }
    if unit.contains("video") || unit.contains("frame") {
        return Category::Video;
    }
    if unit.contains("audio") || unit.contains("character") {
        return Category::Audio;
    }
    if unit.contains("token") {
        return Category::Text;
    }
    let lower = endpoint.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| word.trim_end_matches(|c: char| c.is_ascii_digit()))
        .filter(|word| !word.is_empty())
        .collect();
    if let Some(output) = words
        .iter()
        .position(|word| *word == "to")
        .and_then(|to| words.get(to + 1))
    {
        match *output {
            "video" => return Category::Video,
            "audio" | "speech" | "music" => return Category::Audio,
            "image" => return Category::Image,
            _ => {}
        }
    }
    const VIDEO: [&str; 13] = [
        "video", "kling", "veo", "luma", "hailuo", "wan", "pixverse", "seedance", "ltx", "mochi",
        "sora", "lipsync", "hunyuan",
    ];
    const AUDIO: [&str; 10] = [
        "audio",
        "speech",
        "tts",
        "whisper",
        "wizper",
        "music",
        "voice",
        "elevenlabs",
        "sound",
        "transcribe",
    ];
    const IMAGE: [&str; 12] = [
        "image",
        "flux",
        "sdxl",
        "diffusion",
        "recraft",
        "ideogram",
        "imagen",
        "sana",
        "seedream",
        "hidream",
        "upscale",
        "photo",
    ];
    let has = |list: &[&str]| words.iter().any(|word| list.contains(word));
    if has(&VIDEO) {
        Category::Video
    } else if has(&AUDIO) {
        Category::Audio
    } else if has(&IMAGE) {
        Category::Image
    } else {
        Category::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    const AT: At<'static> = At {
        endpoint: USAGE_PATH,
        page: 1,
    };

    fn unit(text: &str) -> Unit {
        Unit::parse(text).unwrap()
    }

    #[test]
    fn bucket_labels_name_their_day_in_any_offset() {
        assert_eq!(
            bucket_day("2025-01-15T00:00:00+00:00"),
            Some((day("2025-01-15"), UtcOffset::UTC))
        );
        assert_eq!(
            bucket_day("2025-01-15T00:00:00Z"),
            Some((day("2025-01-15"), UtcOffset::UTC))
        );
        let (labelled, offset) = bucket_day("2025-01-15T00:00:00-05:00").unwrap();
        assert_eq!(labelled, day("2025-01-15"));
        assert_eq!(offset.whole_hours(), -5);
        assert_eq!(
            bucket_day("2025-01-15"),
            Some((day("2025-01-15"), UtcOffset::UTC))
        );
        assert_eq!(bucket_day("2025-01-15T13:00:00Z"), None);
        assert_eq!(bucket_day("yesterday"), None);
    }

    #[test]
    fn rows_of_one_cell_are_summed_and_cost_total_wins_over_cost() {
        let mut usage = Usage::default();
        for row in [
            r#"{"endpoint_id":"fal-ai/flux/dev","unit":"image","quantity":4,"cost_total":0.32,"cost":0.32,"currency":"USD",
                "auth_method_structured":{"detail":"Production Key","api_key_id":"abc"}}"#,
            r#"{"endpoint_id":"fal-ai/flux/dev","unit":"images","quantity":1.5,"cost_total":0.1,"cost":9,"currency":"usd",
                "auth_method_structured":{"detail":"Production Key","api_key_id":"abc"}}"#,
            r#"{"endpoint_id":"fal-ai/flux/dev","unit":"image","quantity":2,"cost":1e-9,
                "auth_method_structured":{"detail":"User token","login_username":"alice"}}"#,
        ] {
            add_item(
                &mut usage,
                day("2025-01-15"),
                serde_json::from_str(row).unwrap(),
                AT,
            )
            .unwrap();
        }
        let cells: Vec<_> = usage.cells.iter().collect();
        assert_eq!(cells.len(), 2);
        let keyed = cells.iter().find(|(cell, _)| cell.key.is_some()).unwrap();
        assert_eq!(keyed.1.cost.nanos(), 420_000_000);
        assert_eq!(keyed.1.quantity, Decimal::new(55, 1));
        assert_eq!(keyed.0.unit, unit("images"));
        let login = cells.iter().find(|(cell, _)| cell.key.is_none()).unwrap();
        assert_eq!(login.1.cost.nanos(), 1);
        assert_eq!(
            usage.key_labels.get("abc"),
            Some(&Some("Production Key".to_owned()))
        );
    }

    #[test]
    fn a_row_without_any_cost_is_an_error_not_a_zero() {
        let mut usage = Usage::default();
        let err = add_item(
            &mut usage,
            day("2025-01-15"),
            serde_json::from_str(r#"{"endpoint_id":"fal-ai/x","unit":"image","quantity":1}"#)
                .unwrap(),
            AT,
        )
        .unwrap_err();
        assert!(err.to_string().contains("has no cost"), "{err}");
    }

    #[test]
    fn a_day_may_continue_on_the_next_page_only() {
        let mut days = PageDays::default();
        days.start_page();
        days.admit(day("2025-01-01"), AT).unwrap();
        days.admit(day("2025-01-02"), AT).unwrap();
        assert!(days.admit(day("2025-01-02"), AT).is_err());
        days.start_page();
        days.admit(day("2025-01-02"), AT).unwrap();
        days.admit(day("2025-01-03"), AT).unwrap();
        days.start_page();
        assert!(matches!(
            days.admit(day("2025-01-01"), AT),
            Err(ProviderError::DuplicateBucket { .. })
        ));
    }

    #[test]
    fn categories_come_from_the_unit_then_the_endpoint() {
        assert_eq!(category("fal-ai/anything", &unit("image")), Category::Image);
        assert_eq!(
            category("fal-ai/anything", &unit("megapixels")),
            Category::Image
        );
        assert_eq!(
            category(
                "fal-ai/kling-video/v1/standard/image-to-video",
                &unit("seconds")
            ),
            Category::Video
        );
        assert_eq!(category("fal-ai/veo3", &unit("seconds")), Category::Video);
        assert_eq!(category("fal-ai/wizper", &unit("seconds")), Category::Audio);
        assert_eq!(
            category("fal-ai/minimax/speech-02-hd", &unit("characters")),
            Category::Audio
        );
        assert_eq!(
            category("fal-ai/flux-pro/v1.1", &unit("units")),
            Category::Image
        );
        assert_eq!(
            category("fal-ai/some-brand-new-thing", &unit("gpu_seconds")),
            Category::Other
        );
    }

    #[test]
    fn balances_read_for_people() {
        let billing: wire::Billing = serde_json::from_str(
            r#"{"username":"my-team","credits":{"current_balance":24.5,"currency":"USD"}}"#,
        )
        .unwrap();
        assert_eq!(balance_text(&billing).as_deref(), Some("$24.50 USD"));
        assert_eq!(account_name(&billing), "my-team");
        let bare: wire::Billing = serde_json::from_str("{}").unwrap();
        assert_eq!(balance_text(&bare), None);
        assert_eq!(account_name(&bare), "account");
    }

    #[test]
    fn advice_tells_a_wrong_scope_from_a_dead_key() {
        assert!(rejected_advice(403, "Access denied").contains("scope ADMIN"));
        assert!(rejected_advice(401, "Invalid key").contains("revoked"));
    }
}
