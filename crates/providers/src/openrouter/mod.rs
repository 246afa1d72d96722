//! OpenRouter: daily spend, tokens and requests per workspace, API key and model, from the
//! management API (shared/providers/openrouter.md).
//!
//! The credential is a bare key or `{"apiKey", "provisioningKey"}`; the provisioning
//! (management) key is used when given. `GET /key` tells which kind it is.
//!
//! With a **management key**:
//! - Workspaces: `GET /workspaces` (offset pages); an account without that endpoint is one
//!   workspace, `account` ("OpenRouter account").
//! - API keys: `GET /keys?workspace_id=…&include_disabled=true` per workspace (offset pages of
//!   100), id = `hash`, name = `name`, hint = `label`.
//! - Usage and cost: `GET /activity?group_by=workspace` gives the account-wide rows per (day,
//!   workspace, model, provider endpoint); `GET /activity?api_key_hash=…` gives one key's rows,
//!   asked for each key that ever spent (lifetime `usage`) in a workspace with activity in the
//!   window: one call per such key, since the API has no per-key grouping. Lines are per (day, workspace, key, model), summed over provider
//!   endpoints; what the keys do not explain (deleted keys) stays on a line with no key, so the
//!   lines add up to the account-wide rows exactly. Cost is `usage` (USD of OpenRouter credits),
//!   billed per key, so nothing is allocated; tokens are prompt (all input), completion and
//!   cached (prompt-cache reads); requests are OpenRouter's.
//! - BYOK inference (`byok_usage_inference`) is billed by the upstream provider on your own
//!   key, not by OpenRouter: it is not booked (it would double count a connection to that
//!   provider); a note gives its total.
//! - History: `/activity` serves only the last 30 completed UTC days, never today. Days of the
//!   window outside that come back empty; a note says which days were served.
//! - The balance (`/credits`: purchased − used) goes into a note.
//!
//! With a **regular key**, OpenRouter shows only that key's running totals (today, this week,
//! this month, all time) — no daily history and no dates to book them on. Nothing is stored;
//! a note gives the totals and says how to get the full data (a management key).

mod wire;

use std::collections::{BTreeMap, HashSet};

use reqwest::header::{AUTHORIZATION, HeaderMap};
use serde_json::value::RawValue;
use spendlens_domain::{
    ApiKeyRecord, BilledCost, Category, Credential, Currency, Day, DayRange, FetchedWindow,
    KeyStatus, Money, ProviderKind, Quantity, TokenCounts, Unit, UsageRecord, WorkspaceRecord,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ProviderError;
use crate::http::{At, CallStats, Client, Profile, number_text, secret_header};
use crate::paging::OffsetGuard;
use crate::{ConnectionCheck, ConnectorConfig};

const PROVIDER: ProviderKind = ProviderKind::OpenRouter;
const MANAGEMENT_KEYS_URL: &str = "https://openrouter.ai/settings/management-keys";
const KEY_PATH: &str = "/key";
/// The older alias of `/key`.
const KEY_ALIAS_PATH: &str = "/auth/key";
const CREDITS_PATH: &str = "/credits";
const WORKSPACES_PATH: &str = "/workspaces";
const KEYS_PATH: &str = "/keys";
const ACTIVITY_PATH: &str = "/activity";
/// Keys per `/keys` page ("the most recent 100 API keys"); a shorter page is the last.
const KEYS_PAGE: usize = 100;
/// Workspaces per page: the documented maximum.
const WORKSPACES_LIMIT: usize = 100;
const MAX_PAGES: u32 = 10_000;
/// How many days `/activity` serves.
const ACTIVITY_DAYS: i64 = 30;
/// The workspace of an account without `/workspaces`.
const ACCOUNT_WORKSPACE_ID: &str = "account";
const ACCOUNT_WORKSPACE_NAME: &str = "OpenRouter account";
const UNKNOWN_MODEL: &str = "unknown";

/// The key spendlens calls with, and where in the credential it came from.
struct ChosenKey {
    secret: String,
    /// `Some("provisioningKey")` / `Some("apiKey")` for a JSON credential.
    field: Option<&'static str>,
}

fn chosen_key(credential: &Credential) -> ChosenKey {
    let text = credential.expose_secret().trim();
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) else {
        return ChosenKey {
            secret: text.to_owned(),
            field: None,
        };
    };
    let field = |name: &str| {
        map.get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(str::to_owned)
    };
    match (field("provisioningKey"), field("apiKey")) {
        (Some(secret), _) => ChosenKey {
            secret,
            field: Some("provisioningKey"),
        },
        (None, Some(secret)) => ChosenKey {
            secret,
            field: Some("apiKey"),
        },
        (None, None) => ChosenKey {
            secret: String::new(),
            field: None,
        },
    }
}

fn client<'a>(
    key: &'a ChosenKey,
    config: &ConnectorConfig,
    stats: &'a CallStats,
) -> Result<Client<'a>, ProviderError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        secret_header(PROVIDER, &format!("Bearer {}", key.secret))?,
    );
    let profile = Profile {
        provider: PROVIDER,
        headers,
        rejected_advice,
    };
    Client::new(
        profile,
        config.base_url_for(PROVIDER),
        &key.secret,
        &config.http,
        stats,
    )
}

fn rejected_advice(status: u16, message: &str) -> String {
    if status == 403 || message.to_ascii_lowercase().contains("management key") {
        format!(
            "This is a regular OpenRouter API key; spend history needs a management key. Create \
             one at {MANAGEMENT_KEYS_URL} and update the connection with it (alone, or as \
             {{\"apiKey\": \"sk-or-v1-…\", \"provisioningKey\": \"<management key>\"}})."
        )
    } else {
        format!(
            "The key may be deleted, disabled or mistyped: create a management key at \
             {MANAGEMENT_KEYS_URL} and update the connection with it."
        )
    }
}

pub(crate) async fn check_connection(
    credential: &Credential,
    config: &ConnectorConfig,
    stats: &CallStats,
) -> Result<ConnectionCheck, ProviderError> {
    let key = chosen_key(credential);
    let client = client(&key, config, stats)?;
    let current = current_key(&client).await?;
    let summary = if current.is_management() {
        "OpenRouter management key accepted: daily spend per workspace, key and model can be read"
            .to_owned()
    } else {
        format!(
            "OpenRouter key accepted, but it is a regular API key: only its own running totals \
             are visible, no daily history per model. Add a management key (created at \
             {MANAGEMENT_KEYS_URL}) to see daily spend per workspace, key and model"
        )
    };
    Ok(ConnectionCheck { summary })
}

pub(crate) async fn fetch_window(
    credential: &Credential,
    config: &ConnectorConfig,
    window: DayRange,
    stats: &CallStats,
) -> Result<FetchedWindow, ProviderError> {
    let key = chosen_key(credential);
    let client = client(&key, config, stats)?;
    let current = current_key(&client).await?;
    if current.is_management() {
        fetch_with_management_key(&client, window).await
    } else {
        Ok(regular_key_window(&current, key.field, window))
    }
}

/// `GET /key`, or its older alias where `/key` does not exist.
async fn current_key(client: &Client<'_>) -> Result<wire::CurrentKey, ProviderError> {
    match client
        .get::<wire::Envelope<wire::CurrentKey>>(KEY_PATH, &[], 1)
        .await
    {
        Ok(envelope) => Ok(envelope.data),
        Err(ProviderError::RequestRefused { status: 404, .. }) => client
            .get::<wire::Envelope<wire::CurrentKey>>(KEY_ALIAS_PATH, &[], 1)
            .await
            .map(|envelope| envelope.data),
        Err(error) => Err(error),
    }
}

fn money(raw: Option<&RawValue>) -> Option<Money> {
    number_text(raw?).and_then(|text| Money::parse_units(&text).ok())
}

fn dollars(amount: Money) -> String {
    format!("${}", amount.to_exact_string())
}

/// A regular key: nothing to store, and a note saying what it can and cannot show.
fn regular_key_window(
    current: &wire::CurrentKey,
    field: Option<&'static str>,
    window: DayRange,
) -> FetchedWindow {
    let amount = |raw: &Option<Box<RawValue>>| {
        money(raw.as_deref()).map_or_else(|| "unknown".to_owned(), dollars)
    };
    let which = match field {
        Some(field) => format!("The \"{field}\" of this connection"),
        None => "This key".to_owned(),
    };
    let label = current
        .label
        .as_deref()
        .map(|label| format!(" ({label})"))
        .unwrap_or_default();
    let note = format!(
        "{which}{label} is a regular OpenRouter API key, not a management key. It can only read \
         its own running totals — today {}, this week {}, this month {}, all time {} — with no \
         daily history per model, key or workspace, so nothing was stored for {window}. To see \
         daily spend, tokens and requests per model, key and workspace (the last 30 days), \
         create a management key at {MANAGEMENT_KEYS_URL} and update the connection with it \
         (alone, or as {{\"apiKey\": \"sk-or-v1-…\", \"provisioningKey\": \"<management key>\"}}).",
        amount(&current.usage_daily),
        amount(&current.usage_weekly),
        amount(&current.usage_monthly),
        amount(&current.usage),
    );
    let workspace_id = current
        .workspace_id
        .clone()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| ACCOUNT_WORKSPACE_ID.to_owned());
    let name = if workspace_id == ACCOUNT_WORKSPACE_ID {
        ACCOUNT_WORKSPACE_NAME.to_owned()
    } else {
        workspace_id.clone()
    };
    FetchedWindow {
        workspaces: vec![WorkspaceRecord {
            provider_id: workspace_id,
            name,
            archived: false,
            created_at: None,
        }],
        api_keys: Vec::new(),
        usage: Vec::new(),
        costs: Vec::new(),
        notes: vec![note],
        served: None,
        services: Vec::new(),
        invoice_months: None,
    }
}

fn rfc3339(text: Option<&str>) -> Option<OffsetDateTime> {
    text.and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
}

async fn fetch_with_management_key(
    client: &Client<'_>,
    window: DayRange,
) -> Result<FetchedWindow, ProviderError> {
    let mut notes = Vec::new();
    let credits: wire::Envelope<wire::Credits> = client.get(CREDITS_PATH, &[], 1).await?;
    if let (Some(bought), Some(used)) = (
        money(credits.data.total_credits.as_deref()),
        money(credits.data.total_usage.as_deref()),
    ) {
        notes.push(format!(
            "OpenRouter credit balance at sync time: {} ({} bought, {} used).",
            dollars(bought - used),
            dollars(bought),
            dollars(used)
        ));
    }

    let listed_workspaces = list_workspaces(client).await?;
    let workspaces: Vec<WorkspaceRecord> = match &listed_workspaces {
        Some(listed) if !listed.is_empty() => listed
            .iter()
            .map(|workspace| WorkspaceRecord {
                provider_id: workspace.id.clone(),
                name: workspace
                    .name
                    .clone()
                    .or_else(|| workspace.slug.clone())
                    .filter(|name| !name.trim().is_empty())
                    .unwrap_or_else(|| workspace.id.clone()),
                archived: false,
                created_at: rfc3339(workspace.created_at.as_deref()),
            })
            .collect(),
        _ => vec![WorkspaceRecord {
            provider_id: ACCOUNT_WORKSPACE_ID.to_owned(),
            name: ACCOUNT_WORKSPACE_NAME.to_owned(),
            archived: false,
            created_at: None,
        }],
    };
    // The workspace of rows that name none: the first (OpenRouter lists the default first).
    let default_workspace = workspaces.first().map_or_else(
        || ACCOUNT_WORKSPACE_ID.to_owned(),
        |w| w.provider_id.clone(),
    );

    // Keys, each with the workspace it was listed under.
    let mut keys: Vec<(wire::Key, String)> = Vec::new();
    let mut seen_keys = HashSet::new();
    match &listed_workspaces {
        Some(listed) if !listed.is_empty() => {
            for workspace in listed {
                for key in list_keys(client, Some(&workspace.id)).await? {
                    if seen_keys.insert(key.hash.clone()) {
                        let home = key
                            .workspace_id
                            .clone()
                            .filter(|id| !id.is_empty())
                            .unwrap_or_else(|| workspace.id.clone());
                        keys.push((key, home));
                    }
                }
            }
        }
        _ => {
            for key in list_keys(client, None).await? {
                if seen_keys.insert(key.hash.clone()) {
                    keys.push((key, default_workspace.clone()));
                }
            }
        }
    }

    // The account-wide rows, then each key's.
    let (account_rows, by_workspace) = account_activity(client).await?;
    let mut account = Activity::default();
    for row in account_rows {
        let workspace = if by_workspace {
            row.workspace_id
                .clone()
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| default_workspace.clone())
        } else {
            default_workspace.clone()
        };
        account.add(row, workspace, None, window)?;
    }
    // One call per key, but only for keys that ever spent, in workspaces with activity in
    // the window.
    let active_workspaces: HashSet<&str> = account
        .cells
        .keys()
        .map(|cell| cell.workspace.as_str())
        .collect();
    let mut keyed = Activity::default();
    for (key, workspace) in &keys {
        let spent = [key.usage.as_deref(), key.byok_usage.as_deref()]
            .into_iter()
            .map(money)
            .any(|amount| amount.is_none_or(|amount| !amount.is_zero()));
        let active = if by_workspace {
            active_workspaces.contains(workspace.as_str())
        } else {
            !active_workspaces.is_empty()
        };
        if !spent || !active {
            continue;
        }
        let rows: wire::Envelope<Vec<wire::ActivityRow>> = client
            .get(ACTIVITY_PATH, &[("api_key_hash", key.hash.clone())], 1)
            .await?;
        for row in rows.data {
            keyed.add(row, workspace.clone(), Some(&key.hash), window)?;
        }
    }

    // Lines per key, and what the keys do not explain on a line with no key.
    let mut cells: BTreeMap<CellKey, Measures> = keyed.cells.clone();
    let mut explained: BTreeMap<(Day, Option<String>, String), Measures> = BTreeMap::new();
    for (cell, measures) in &keyed.cells {
        let workspace = by_workspace.then(|| cell.workspace.clone());
        explained
            .entry((cell.day, workspace, cell.model.clone()))
            .or_default()
            .add(measures);
    }
    let mut unattributed = Money::ZERO;
    let mut overexplained = Money::ZERO;
    for (cell, total) in &account.cells {
        let workspace = by_workspace.then(|| cell.workspace.clone());
        let rest = explained
            .get(&(cell.day, workspace, cell.model.clone()))
            .map_or(total.clone(), |keys| total.minus(keys));
        if rest.usage.is_negative() {
            overexplained += -rest.usage;
        } else if !rest.is_zero() {
            unattributed += rest.usage;
            cells.insert(cell.clone(), rest);
        }
    }

    notes.extend(window_note(window, account.first_day, account.last_day));
    let served = served_days(window, account.last_day);
    let today_so_far: Money = keys
        .iter()
        .filter_map(|(key, _)| money(key.usage_daily.as_deref()))
        .sum();
    if !today_so_far.is_zero() {
        notes.push(format!(
            "Today's spend so far ({} by the keys' own daily counters) is not in OpenRouter's \
             daily activity until the UTC day has closed; it will appear on a later sync.",
            dollars(today_so_far)
        ));
    }
    let byok: Money = account.cells.values().map(|m| m.byok).sum();
    if !byok.is_zero() {
        notes.push(format!(
            "BYOK inference of {} in this window was billed by the upstream providers on your \
             own provider keys, not by OpenRouter; it is not included (OpenRouter's fee on it \
             is). Connect those providers to see it.",
            dollars(byok)
        ));
    }
    if !unattributed.is_zero() {
        notes.push(format!(
            "{} of this window's OpenRouter spend belongs to no listed API key (deleted keys, \
             or usage made without one); it is shown without a key.",
            dollars(unattributed)
        ));
    }
    if !overexplained.is_zero() {
        notes.push(format!(
            "OpenRouter's per-key activity exceeds its account-wide activity by {} in this \
             window; the per-key figures were kept.",
            dollars(overexplained)
        ));
    }

    let mut usage = Vec::new();
    let mut costs = Vec::new();
    for (cell, measures) in cells {
        let category = category(&cell.model);
        usage.push(UsageRecord {
            day: cell.day,
            workspace_id: Some(cell.workspace.clone()),
            api_key_id: cell.key.clone(),
            model: cell.model.clone(),
            category,
            unit: Unit::tokens(),
            detail: String::new(),
            tokens: measures.tokens,
            requests: Some(measures.requests),
            quantity: Quantity::ZERO,
            unpriced: false,
        });
        costs.push(BilledCost {
            day: cell.day,
            workspace_id: Some(cell.workspace),
            api_key_id: cell.key,
            model: Some(cell.model.clone()),
            token_class: None,
            category: Some(category),
            description: cell.model,
            cost: measures.usage,
            credits: Money::ZERO,
            currency: Currency::usd(),
            estimated: false,
            billing: None,
        });
    }

    let api_keys = keys
        .into_iter()
        .map(|(key, workspace)| ApiKeyRecord {
            name: key
                .name
                .clone()
                .filter(|name| !name.trim().is_empty())
                .or_else(|| key.label.clone()),
            hint: key.label.clone(),
            workspace_id: Some(workspace),
            status: if key.disabled == Some(true) {
                KeyStatus::Inactive
            } else {
                KeyStatus::Active
            },
            created_at: rfc3339(key.created_at.as_deref()),
            last_used_at: rfc3339(key.last_used_at.as_deref()),
            provider_id: key.hash,
        })
        .collect();
    Ok(FetchedWindow {
        workspaces,
        api_keys,
        usage,
        costs,
        notes,
        served,
        services: Vec::new(),
        invoice_months: None,
    })
}

/// The days `/activity` can answer for: the last 30 completed UTC days up to the last day it
/// returned (or, with no rows at all, the last 30 days of the window), within the window.
fn served_days(window: DayRange, last: Option<Day>) -> Option<DayRange> {
    let last = last.unwrap_or(window.to()).min(window.to());
    let first = last.add_days(1 - ACTIVITY_DAYS).ok()?.max(window.from());
    if first <= window.from() && last >= window.to() {
        return None;
    }
    // Today is never served, but nothing older than the served range is touched either; the
    // window's end stays, so a day that had spend and now has none is cleared.
    DayRange::new(first.min(window.to()), window.to()).ok()
}

/// What `/activity` served against what the window asked for, when they differ.
fn window_note(window: DayRange, first: Option<Day>, last: Option<Day>) -> Option<String> {
    let Some(last) = last else {
        return Some(format!(
            "OpenRouter returned no daily activity at all. Its activity API serves only the last \
             {ACTIVITY_DAYS} completed UTC days (never today), so days of {window} older than \
             that cannot be fetched any more."
        ));
    };
    let served_from = last.add_days(1 - ACTIVITY_DAYS).ok()?;
    if window.from() >= served_from && window.to() <= last {
        return None;
    }
    let first = first.unwrap_or(last);
    Some(format!(
        "OpenRouter's activity API serves only the last {ACTIVITY_DAYS} completed UTC days \
         (never today); it returned days {first} to {last}. Days of {window} outside that show \
         no OpenRouter spend and cannot be fetched later, so sync at least every few weeks to \
         keep the history."
    ))
}

/// `/activity` for the whole account, split by workspace where the API can
/// (`group_by=workspace`); an API that refuses the grouping gets the plain call.
async fn account_activity(
    client: &Client<'_>,
) -> Result<(Vec<wire::ActivityRow>, bool), ProviderError> {
    match client
        .get::<wire::Envelope<Vec<wire::ActivityRow>>>(
            ACTIVITY_PATH,
            &[("group_by", "workspace".to_owned())],
            1,
        )
        .await
    {
        Ok(rows) => {
            let by_workspace = rows.data.iter().all(|row| row.workspace_id.is_some());
            Ok((rows.data, by_workspace))
        }
        Err(ProviderError::RequestRefused {
            status: 400 | 422, ..
        }) => {
            let rows: wire::Envelope<Vec<wire::ActivityRow>> =
                client.get(ACTIVITY_PATH, &[], 1).await?;
            Ok((rows.data, false))
        }
        Err(error) => Err(error),
    }
}

/// Every workspace, or `None` where the API has no `/workspaces`.
async fn list_workspaces(
    client: &Client<'_>,
) -> Result<Option<Vec<wire::Workspace>>, ProviderError> {
    let mut workspaces: Vec<wire::Workspace> = Vec::new();
    let mut guard = OffsetGuard::new(MAX_PAGES);
    let mut page_number = 1;
    loop {
        let query = [
            ("offset", workspaces.len().to_string()),
            ("limit", WORKSPACES_LIMIT.to_string()),
        ];
        let page: wire::WorkspacesPage =
            match client.get(WORKSPACES_PATH, &query, page_number).await {
                Ok(page) => page,
                Err(ProviderError::RequestRefused { status: 404, .. }) if page_number == 1 => {
                    return Ok(None);
                }
                Err(error) => return Err(error),
            };
        let at = At {
            endpoint: WORKSPACES_PATH,
            page: page_number,
        };
        let count = page.data.len();
        for workspace in page.data {
            guard.admit(PROVIDER, at, &workspace.id)?;
            workspaces.push(workspace);
        }
        let complete = count < WORKSPACES_LIMIT
            || page
                .total_count
                .is_some_and(|total| workspaces.len() as u64 >= total);
        if complete {
            return Ok(Some(workspaces));
        }
        page_number = guard.next_page(PROVIDER, at)?;
    }
}

/// Every key of one workspace (or of the default one), disabled keys included.
async fn list_keys(
    client: &Client<'_>,
    workspace_id: Option<&str>,
) -> Result<Vec<wire::Key>, ProviderError> {
    let mut keys: Vec<wire::Key> = Vec::new();
    let mut guard = OffsetGuard::new(MAX_PAGES);
    let mut page_number = 1;
    loop {
        let mut query = vec![
            ("include_disabled", "true".to_owned()),
            ("offset", keys.len().to_string()),
        ];
        if let Some(workspace_id) = workspace_id {
            query.push(("workspace_id", workspace_id.to_owned()));
        }
        let page: wire::Envelope<Vec<wire::Key>> =
            client.get(KEYS_PATH, &query, page_number).await?;
        let at = At {
            endpoint: KEYS_PATH,
            page: page_number,
        };
        let count = page.data.len();
        for key in page.data {
            guard.admit(PROVIDER, at, &key.hash)?;
            keys.push(key);
        }
        if count < KEYS_PAGE {
            return Ok(keys);
        }
        page_number = guard.next_page(PROVIDER, at)?;
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct CellKey {
    day: Day,
    workspace: String,
    key: Option<String>,
    model: String,
}

/// The figures of one cell, summed over provider endpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Measures {
    usage: Money,
    byok: Money,
    requests: i64,
    tokens: TokenCounts,
}

impl Measures {
    fn add(&mut self, other: &Measures) {
        self.usage += other.usage;
        self.byok += other.byok;
        self.requests = self.requests.saturating_add(other.requests);
        self.tokens.add(other.tokens);
    }

    fn minus(&self, other: &Measures) -> Measures {
        Measures {
            usage: self.usage - other.usage,
            byok: self.byok - other.byok,
            requests: self.requests.saturating_sub(other.requests),
            tokens: TokenCounts {
                input: self.tokens.input.saturating_sub(other.tokens.input),
                output: self.tokens.output.saturating_sub(other.tokens.output),
                cache_read: self
                    .tokens
                    .cache_read
                    .saturating_sub(other.tokens.cache_read),
                cache_write: self
                    .tokens
                    .cache_write
                    .saturating_sub(other.tokens.cache_write),
            },
        }
    }

    fn is_zero(&self) -> bool {
        self.usage.is_zero() && self.byok.is_zero() && self.requests == 0 && self.tokens.is_zero()
    }
}

/// Activity rows summed per cell, with the days they span.
#[derive(Debug, Default)]
struct Activity {
    cells: BTreeMap<CellKey, Measures>,
    first_day: Option<Day>,
    last_day: Option<Day>,
}

impl Activity {
    /// Adds one row; rows outside the window are left out (the API serves 30 days whatever
    /// the window).
    fn add(
        &mut self,
        row: wire::ActivityRow,
        workspace: String,
        key: Option<&str>,
        window: DayRange,
    ) -> Result<(), ProviderError> {
        let unexpected = |detail: String| ProviderError::UnexpectedPage {
            provider: PROVIDER,
            endpoint: ACTIVITY_PATH.to_owned(),
            page: 1,
            detail,
        };
        let date = row.date.as_deref().unwrap_or_default();
        let day: Day = date
            .get(..10)
            .and_then(|date| date.parse().ok())
            .ok_or_else(|| unexpected(format!("a row is dated \"{date}\", not YYYY-MM-DD")))?;
        self.first_day = Some(self.first_day.map_or(day, |first| first.min(day)));
        self.last_day = Some(self.last_day.map_or(day, |last| last.max(day)));
        let model = row
            .model
            .as_deref()
            .map(str::trim)
            .filter(|model| !model.is_empty())
            .unwrap_or(UNKNOWN_MODEL)
            .to_owned();
        let usage = row
            .usage
            .as_deref()
            .and_then(number_text)
            .ok_or_else(|| unexpected(format!("a row of {model} on {day} has no usage amount")))
            .and_then(|text| {
                Money::parse_units(&text)
                    .map_err(|error| unexpected(format!("the usage of {model} on {day}: {error}")))
            })?;
        let byok = match row.byok_usage_inference.as_deref().and_then(number_text) {
            Some(text) => Money::parse_units(&text).map_err(|error| {
                unexpected(format!("the BYOK usage of {model} on {day}: {error}"))
            })?,
            None => Money::ZERO,
        };
        if !window.contains(day) {
            return Ok(());
        }
        let prompt = row.prompt_tokens.unwrap_or(0);
        let measures = Measures {
            usage,
            byok,
            requests: row.requests.unwrap_or(0),
            tokens: TokenCounts {
                input: prompt,
                output: row.completion_tokens.unwrap_or(0),
                cache_read: row.cached_tokens.unwrap_or(0).min(prompt.max(0)),
                cache_write: 0,
            },
        };
        self.cells
            .entry(CellKey {
                day,
                workspace,
                key: key.map(str::to_owned),
                model,
            })
            .or_default()
            .add(&measures);
        Ok(())
    }
}

/// Embedding models by name; everything else OpenRouter routes is text generation.
fn category(model: &str) -> Category {
    if model.to_ascii_lowercase().contains("embed") {
        Category::Embedding
    } else {
        Category::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    fn window(from: &str, to: &str) -> DayRange {
        DayRange::new(day(from), day(to)).unwrap()
    }

    #[test]
    fn the_management_key_of_a_json_credential_is_used() {
        let both = Credential::parse(
            ProviderKind::OpenRouter,
            r#"{"apiKey": "sk-or-v1-aaaaaaaaaaaaaaaa", "provisioningKey": "sk-or-v1-bbbbbbbbbbbbbbbb"}"#,
        )
        .unwrap();
        let key = chosen_key(&both);
        assert_eq!(key.secret, "sk-or-v1-bbbbbbbbbbbbbbbb");
        assert_eq!(key.field, Some("provisioningKey"));
        let bare =
            Credential::parse(ProviderKind::OpenRouter, "sk-or-v1-cccccccccccccccc").unwrap();
        assert_eq!(chosen_key(&bare).secret, "sk-or-v1-cccccccccccccccc");
        assert_eq!(chosen_key(&bare).field, None);
    }

    #[test]
    fn rows_are_summed_per_model_and_rows_outside_the_window_left_out() {
        let mut activity = Activity::default();
        let w = window("2025-08-24", "2025-08-24");
        for row in [
            r#"{"date":"2025-08-24","model":"openai/gpt-4.1","provider_name":"OpenAI","usage":0.015,"byok_usage_inference":0.012,
                "requests":5,"prompt_tokens":50,"completion_tokens":125,"reasoning_tokens":25,"cached_tokens":10}"#,
            r#"{"date":"2025-08-24","model":"openai/gpt-4.1","provider_name":"Azure","usage":1e-9,"requests":1,"prompt_tokens":1,"completion_tokens":1}"#,
            r#"{"date":"2025-08-23","model":"openai/gpt-4.1","usage":9,"requests":9}"#,
        ] {
            activity
                .add(serde_json::from_str(row).unwrap(), "ws".into(), None, w)
                .unwrap();
        }
        assert_eq!(activity.cells.len(), 1);
        let m = activity.cells.values().next().unwrap();
        assert_eq!(m.usage.nanos(), 15_000_001);
        assert_eq!(m.byok.nanos(), 12_000_000);
        assert_eq!(m.requests, 6);
        assert_eq!(m.tokens.input, 51);
        assert_eq!(m.tokens.cache_read, 10);
        assert_eq!(m.tokens.output, 126);
        assert_eq!(activity.first_day, Some(day("2025-08-23")));
    }

    #[test]
    fn a_row_without_usage_is_an_error_not_a_zero() {
        let mut activity = Activity::default();
        let err = activity
            .add(
                serde_json::from_str(r#"{"date":"2025-08-24","model":"x/y","requests":1}"#)
                    .unwrap(),
                "ws".into(),
                None,
                window("2025-08-24", "2025-08-24"),
            )
            .unwrap_err();
        assert!(err.to_string().contains("no usage amount"), "{err}");
    }

    #[test]
    fn the_window_note_says_which_days_were_served() {
        let served = window_note(
            window("2025-12-01", "2026-01-31"),
            Some(day("2026-01-01")),
            Some(day("2026-01-30")),
        )
        .unwrap();
        assert!(
            served.contains("returned days 2026-01-01 to 2026-01-30"),
            "{served}"
        );
        assert_eq!(
            window_note(
                window("2026-01-05", "2026-01-30"),
                Some(day("2026-01-05")),
                Some(day("2026-01-30"))
            ),
            None
        );
        assert!(window_note(window("2026-01-05", "2026-01-30"), None, None).is_some());
    }

    #[test]
    fn advice_tells_a_regular_key_from_a_dead_one() {
        assert!(
            rejected_advice(403, "Only management keys can perform this operation")
                .contains("needs a management key")
        );
        assert!(rejected_advice(401, "User not found.").contains("deleted"));
    }
}
