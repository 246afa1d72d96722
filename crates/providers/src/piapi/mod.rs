//! PiAPI: per-day, per-model cost built from the task history (shared/providers/piapi.md). PiAPI
//! has no cost report: spend is the sum of each task's consumption.
//!
//! - Auth: `x-api-key` on every call. `GET /account/info` names the account (the one
//!   workspace) and its balance (`equivalent_in_usd`, a note — never used as spend).
//! - History: `GET /api/open/tasks/histories?page=…&page_size=100&start_time=…&end_time=…`
//!   over the window's closed time span, newest first, until a page is empty or `page × 100 ≥
//!   total`; rows de-duplicated on the history `id` (or `task_id`) because pages drift while
//!   tasks arrive; a page whose rows were all read before is a repeated page (an error).
//! - Money: `usage` of usage type `llm` (or no type and usage > 0) is 1e-7 USD, exactly. Other
//!   usage types have no documented rate: those tasks go on a line of their own in
//!   `<type>_usage` (raw usage as the quantity, one request per task) marked unpriced, never
//!   given an invented price or $0. HYA tasks (`service_mode: private`) run on the customer's
//!   own vendor account: $0 at PiAPI, flagged in the detail; so are tasks that consumed nothing.
//! - Grain: UTC day (timestamps carry `+08:00` and are converted) × API key id × model
//!   (`task_model`) with the action (`sora2-video`) and `failed`/`hya` flags as the detail.
//!   Requests: one per task (failed tasks in their own `failed` line).
//! - Envelopes: HTTP 200 with `code ∉ {0, 200}` is an error; a bare body (no envelope) is read too.

mod wire;

use std::collections::{BTreeMap, HashSet};

use reqwest::header::{HeaderMap, HeaderName};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use spendlens_domain::credential::PiApiKey;
use spendlens_domain::money::parse_decimal;
use spendlens_domain::{
    BilledCost, Category, Credential, Currency, Day, DayRange, FetchedWindow, Money, ProviderKind,
    Quantity, TokenCounts, Unit, UsageRecord, WorkspaceRecord,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ProviderError;
use crate::http::{At, CallStats, Client, Profile, number_text, secret_header};
use crate::paging::next_page_number;
use crate::{ConnectionCheck, ConnectorConfig};

const PROVIDER: ProviderKind = ProviderKind::PiApi;
const ACCOUNT_PATH: &str = "/account/info";
const HISTORY_PATH: &str = "/api/open/tasks/histories";
const PAGE_SIZE: u32 = 100;
/// More pages than a window can need (500,000 tasks).
const MAX_PAGES: u32 = 5_000;
/// `usage` units per USD for usage type `llm`.
const LLM_UNITS_PER_USD: i64 = 10_000_000;
const WORKSPACE_FALLBACK: &str = "account";
const WORKSPACE_URL: &str = "https://piapi.ai/workspace";

fn client<'a>(
    credential: &'a Credential,
    config: &ConnectorConfig,
    stats: &'a CallStats,
) -> Result<(Client<'a>, PiApiKey), ProviderError> {
    let key = PiApiKey::parse(credential.expose_secret()).map_err(|error| {
        ProviderError::UnreadableCredential {
            provider: PROVIDER,
            reason: error.to_string(),
            advice: "paste the PiAPI API key again".to_owned(),
        }
    })?;
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-api-key"),
        secret_header(PROVIDER, key.expose_secret())?,
    );
    let profile = Profile {
        provider: PROVIDER,
        headers,
        rejected_advice,
    };
    // The secret to scrub from messages: the key itself, wherever it sits in the credential.
    let secret = credential.expose_secret().trim();
    let client = Client::new(
        profile,
        config.base_url_for(PROVIDER),
        secret,
        &config.http,
        stats,
    )?;
    Ok((client, key))
}

fn rejected_advice(status: u16, _message: &str) -> String {
    if status == 403 {
        "PiAPI refused the key for this endpoint (HTTP 403: the plan may not include it); check \
         the key's account in the PiAPI workspace."
            .to_owned()
    } else {
        format!(
            "PiAPI rejected the API key: it may be deleted or mistyped. Copy a key from the PiAPI \
             workspace ({WORKSPACE_URL}) and update the connection."
        )
    }
}

fn unexpected(at: At<'_>, detail: String) -> ProviderError {
    ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: at.endpoint.to_owned(),
        page: at.page,
        detail,
    }
}

/// GET `path` and read its envelope: `data` when `code` is 0/200, the whole body when there is
/// no envelope, an error when `code` is anything else (PiAPI answers some errors with HTTP 200).
async fn get_data<T: DeserializeOwned>(
    client: &Client<'_>,
    path: &str,
    query: &[(&str, String)],
    page: u32,
) -> Result<T, ProviderError> {
    let at = At {
        endpoint: path,
        page,
    };
    let raw: Box<RawValue> = client.get(path, query, page).await?;
    let envelope: wire::Envelope = serde_json::from_str(raw.get())
        .map_err(|error| unexpected(at, format!("the answer is not an object ({error})")))?;
    let code = envelope.code.as_deref().and_then(number_text);
    let decode = |text: &str| {
        serde_json::from_str::<T>(text).map_err(|error| unexpected(at, error.to_string()))
    };
    match (code.as_deref(), envelope.data) {
        (Some("0" | "200"), Some(data)) => decode(data.get()),
        (Some("0" | "200"), None) => Err(unexpected(at, "the answer has no data".to_owned())),
        (None, _) => decode(raw.get()),
        (Some(code), _) => {
            let message = crate::http::provider_message(
                envelope.message.unwrap_or_default().as_bytes(),
                client.secret(),
            );
            let status = code.parse::<u16>().ok().filter(|c| (400..600).contains(c));
            let about_key = message.to_ascii_lowercase().contains("key");
            match status {
                Some(status @ (401 | 403)) => Err(ProviderError::CredentialRejected {
                    provider: PROVIDER,
                    endpoint: path.to_owned(),
                    status,
                    advice: rejected_advice(status, &message),
                    message,
                }),
                _ if about_key => Err(ProviderError::CredentialRejected {
                    provider: PROVIDER,
                    endpoint: path.to_owned(),
                    status: 200,
                    advice: rejected_advice(401, &message),
                    message: format!("code {code}: {message}"),
                }),
                _ => Err(ProviderError::RequestRefused {
                    provider: PROVIDER,
                    endpoint: path.to_owned(),
                    page,
                    status: 200,
                    message: format!("code {code}: {message}"),
                    advice: "try again later; if it persists, please report it".to_owned(),
                }),
            }
        }
    }
}

/// The account's id and name, and its balance as a note.
struct AccountFacts {
    id: String,
    name: String,
    balance: Option<String>,
}

async fn account(client: &Client<'_>) -> Result<AccountFacts, ProviderError> {
    let account: wire::Account = get_data(client, ACCOUNT_PATH, &[], 1).await?;
    let id = account
        .id
        .as_deref()
        .map(|raw| raw.get().trim().trim_matches('"').to_owned())
        .filter(|id| !id.is_empty() && id != "null")
        .unwrap_or_else(|| WORKSPACE_FALLBACK.to_owned());
    let name = account
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("PiAPI account {id}"));
    let usd = account
        .equivalent_in_usd
        .as_deref()
        .and_then(number_text)
        .and_then(|t| Money::parse_units(&t).ok());
    let credits = account
        .credit_pack_info
        .as_ref()
        .and_then(|p| p.available_credits.as_deref())
        .and_then(number_text);
    let balance = usd.map(|usd| {
        let packs = credits
            .map(|c| format!(" ({c} credit-pack credits available)"))
            .unwrap_or_default();
        format!("${}{packs}", usd.to_exact_string())
    });
    Ok(AccountFacts { id, name, balance })
}

pub(crate) async fn check_connection(
    credential: &Credential,
    config: &ConnectorConfig,
    stats: &CallStats,
) -> Result<ConnectionCheck, ProviderError> {
    let (client, key) = client(credential, config, stats)?;
    let facts = account(&client).await?;
    let balance = facts
        .balance
        .map(|b| format!(", balance {b}"))
        .unwrap_or_default();
    Ok(ConnectionCheck {
        summary: format!(
            "PiAPI account {} reachable ({}){balance}",
            facts.name, key.environment
        ),
    })
}

/// One (day, key, model, detail) cell of the task history.
#[derive(Default)]
struct Cell {
    /// Tasks whose cost is known: `llm` usage, HYA ($0 at PiAPI) or nothing consumed.
    tasks: i64,
    /// USD of priced (`llm`) usage.
    usd: Decimal,
    priced: bool,
    /// Tasks charged in a usage type with no documented rate, by type: (tasks, raw usage).
    unpriced: BTreeMap<String, (i64, Decimal)>,
}

type CellKey = (Day, Option<String>, String, String);

pub(crate) async fn fetch_window(
    credential: &Credential,
    config: &ConnectorConfig,
    window: DayRange,
    stats: &CallStats,
) -> Result<FetchedWindow, ProviderError> {
    let (client, _key) = client(credential, config, stats)?;
    let facts = account(&client).await?;
    let end = window
        .end_exclusive()
        .map_err(|error| ProviderError::InvalidWindow {
            provider: PROVIDER,
            window: window.to_string(),
            reason: error.to_string(),
        })?;
    let (start_time, end_time) = (window.from().start_unix(), end.start_unix() - 1);
    let mut cells: BTreeMap<CellKey, Cell> = BTreeMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut page = 1;
    loop {
        let at = At {
            endpoint: HISTORY_PATH,
            page,
        };
        let query = [
            ("page", page.to_string()),
            ("page_size", PAGE_SIZE.to_string()),
            ("start_time", start_time.to_string()),
            ("end_time", end_time.to_string()),
        ];
        let history: wire::HistoryPage = get_data(&client, HISTORY_PATH, &query, page).await?;
        let rows = history
            .data
            .ok_or_else(|| unexpected(at, "the page has no list of tasks".to_owned()))?;
        if rows.is_empty() {
            break;
        }
        let mut new_rows = 0;
        for row in rows {
            let id = row
                .id
                .as_deref()
                .map(|raw| raw.get().trim_matches('"').to_owned())
                .filter(|id| !id.is_empty() && id != "null")
                .or_else(|| row.task_id.clone().filter(|t| !t.trim().is_empty()))
                .ok_or_else(|| unexpected(at, "a task has neither id nor task_id".to_owned()))?;
            if !seen.insert(id.clone()) {
                continue;
            }
            new_rows += 1;
            add_row(&mut cells, row, &id, window, at)?;
        }
        if new_rows == 0 {
            return Err(crate::paging::repeated_page(PROVIDER, at));
        }
        let total = history
            .total
            .as_deref()
            .and_then(number_text)
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or_else(|| unexpected(at, "the page has no total".to_owned()))?;
        if u64::from(page) * u64::from(PAGE_SIZE) >= total {
            break;
        }
        page = next_page_number(PROVIDER, at, MAX_PAGES)?;
    }
    build_window(facts, cells)
}

fn add_row(
    cells: &mut BTreeMap<CellKey, Cell>,
    row: wire::HistoryRow,
    id: &str,
    window: DayRange,
    at: At<'_>,
) -> Result<(), ProviderError> {
    let created = row.created_at.as_deref().map(str::trim).unwrap_or_default();
    let instant = OffsetDateTime::parse(created, &Rfc3339)
        .ok()
        .filter(|t| t.year() > 1)
        .ok_or_else(|| {
            unexpected(
                at,
                format!("task {id} has no readable created_at (\"{created}\")"),
            )
        })?;
    let day = Day::of(instant);
    if !window.contains(day) {
        return Err(unexpected(
            at,
            format!("task {id} was created on {day} (UTC), outside the requested {window}"),
        ));
    }
    // Consumption is set when a task is submitted; a task without it cannot be costed, and
    // counting it as $0 would under-report.
    let usage = row
        .usage
        .as_deref()
        .and_then(number_text)
        .ok_or_else(|| unexpected(at, format!("task {id} has no usage")))
        .and_then(|text| {
            parse_decimal(&text)
                .map_err(|error| unexpected(at, format!("task {id}'s usage: {error}")))
        })?;
    let usage_type = row
        .usage_type
        .as_deref()
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty());
    let status = row
        .status
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let hya = row
        .service_mode
        .as_deref()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("private"));
    let model = row
        .task_model
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .unwrap_or("unknown")
        .to_owned();
    let mut detail: Vec<String> = row
        .action
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .into_iter()
        .collect();
    if status == "failed" {
        detail.push("failed".to_owned());
    }
    if hya {
        detail.push("hya".to_owned());
    }
    let key_id = row
        .api_key_id
        .as_deref()
        .map(|raw| raw.get().trim_matches('"').to_owned())
        .filter(|k| !k.is_empty() && k != "null");
    let cell = cells
        .entry((day, key_id, model, detail.join(", ")))
        .or_default();
    let priced_type = match usage_type.as_deref() {
        Some("llm") => true,
        None => usage > Decimal::ZERO,
        Some(_) => false,
    };
    if priced_type {
        cell.tasks += 1;
        cell.priced = true;
        if !hya {
            cell.usd += usage / Decimal::from(LLM_UNITS_PER_USD);
        }
    } else if hya || usage.is_zero() {
        // HYA runs on the customer's own vendor account, and nothing consumed costs nothing
        // at any rate: $0, known.
        cell.tasks += 1;
    } else {
        let kind = usage_type.unwrap_or_else(|| "unknown".to_owned());
        let entry = cell.unpriced.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += usage;
    }
    Ok(())
}

fn build_window(
    facts: AccountFacts,
    cells: BTreeMap<CellKey, Cell>,
) -> Result<FetchedWindow, ProviderError> {
    let at = At {
        endpoint: HISTORY_PATH,
        page: 1,
    };
    let workspace = Some(facts.id.clone());
    let mut usage = Vec::new();
    let mut costs = Vec::new();
    let mut unpriced_totals: BTreeMap<String, (i64, Decimal)> = BTreeMap::new();
    let mut hya_tasks = 0;
    for ((day, key, model, detail), cell) in cells {
        let category = category(&model, &detail);
        let invalid = |error: spendlens_domain::MoneyError| {
            unexpected(at, format!("{day}, {model}: {error}"))
        };
        if detail.split(", ").any(|d| d == "hya") {
            hya_tasks += cell.tasks;
        }
        // One usage line of the cell: its unit, tasks (one request each) and quantity.
        let record = |unit: Unit, tasks: i64, quantity: Quantity, unpriced: bool| UsageRecord {
            day,
            workspace_id: workspace.clone(),
            api_key_id: key.clone(),
            model: model.clone(),
            category,
            unit,
            detail: detail.clone(),
            tokens: TokenCounts::default(),
            requests: Some(tasks),
            quantity,
            unpriced,
        };
        if cell.tasks > 0 {
            usage.push(record(
                unit("tasks"),
                cell.tasks,
                Quantity::from_whole(cell.tasks),
                false,
            ));
        }
        // Tasks charged in a usage type with no documented rate: their own line, in that
        // type's raw units, marked unpriced (cost unknown, never $0).
        for (kind, (tasks, amount)) in &cell.unpriced {
            let total = unpriced_totals.entry(kind.clone()).or_default();
            total.0 += tasks;
            total.1 += *amount;
            let quantity = Quantity::from_decimal(*amount).map_err(invalid)?;
            usage.push(record(
                unit(&format!("{kind}_usage")),
                *tasks,
                quantity,
                true,
            ));
        }
        if cell.priced {
            let shown = if detail.is_empty() {
                model.clone()
            } else {
                format!("{model} ({detail})")
            };
            costs.push(BilledCost {
                day,
                workspace_id: workspace.clone(),
                api_key_id: key,
                model: Some(model.clone()),
                token_class: None,
                category: Some(category),
                description: format!("{shown}: {} tasks", cell.tasks),
                cost: Money::from_decimal(cell.usd).map_err(invalid)?,
                credits: Money::ZERO,
                currency: Currency::usd(),
                estimated: false,
                billing: None,
            });
        }
    }
    let mut notes = Vec::new();
    if let Some(balance) = &facts.balance {
        notes.push(format!(
            "PiAPI balance at sync time (equivalent_in_usd): {balance}. It is what is left to \
             spend, not spend: top-ups, refunds and credit-pack expiry move it too."
        ));
    }
    notes.push(
        "PiAPI has no cost report: spend is the sum of each task's consumption in its task \
         history (usage type llm at $0.0000001 a unit). Its API cannot give invoices or daily \
         totals, top-ups, payments, refunds or credit expiry, HYA seat fees, API key names (keys \
         show by their numeric id), token counts, media seconds or image counts, a price list, or \
         a documented history retention; requests are counted one per task."
            .to_owned(),
    );
    if !unpriced_totals.is_empty() {
        let list: Vec<String> = unpriced_totals
            .iter()
            .map(|(kind, (tasks, amount))| format!("{tasks} tasks ({} {kind})", amount.normalize()))
            .collect();
        notes.push(format!(
            "Unpriced: {}. PiAPI charged these tasks in usage types with no documented dollar \
             rate, so their cost is unknown: they are kept in their own units and counted as \
             unpriced, never as $0.",
            list.join(", ")
        ));
    }
    if hya_tasks > 0 {
        notes.push(format!(
            "{hya_tasks} HYA (host-your-account) tasks ran on your own vendor accounts: $0 at \
             PiAPI, marked hya; their cost is billed by that vendor."
        ));
    }
    Ok(FetchedWindow {
        workspaces: vec![WorkspaceRecord {
            provider_id: facts.id,
            name: facts.name,
            archived: false,
            created_at: None,
        }],
        api_keys: Vec::new(),
        usage,
        costs,
        notes,
        served: None,
        services: Vec::new(),
        invoice_months: None,
    })
}

fn unit(name: &str) -> Unit {
    Unit::parse(name).unwrap_or_else(|_| Unit::requests())
}

/// The category where the model or action makes it obvious; anything else is other.
fn category(model: &str, detail: &str) -> Category {
    let text = format!("{model} {detail}").to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&[
        "video", "kling", "hailuo", "luma", "sora", "wan", "hunyuan", "skyreels", "veo", "seedance",
    ]) {
        Category::Video
    } else if has(&["music", "suno", "udio", "tts", "audio", "diffrhythm"]) {
        Category::Audio
    } else if has(&[
        "mj",
        "midjourney",
        "flux",
        "image",
        "faceswap",
        "sd",
        "trellis",
    ]) {
        Category::Image
    } else if has(&["llm", "gpt", "chat"]) {
        Category::Text
    } else {
        Category::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_categorized_where_the_name_says() {
        assert_eq!(category("sora2", "sora2-video"), Category::Video);
        assert_eq!(category("mj", "imagine"), Category::Image);
        assert_eq!(category("music-u", "generate_music"), Category::Audio);
        assert_eq!(category("something", ""), Category::Other);
    }
}
