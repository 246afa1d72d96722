//! LiteLLM: daily spend, tokens and requests per team, virtual key and model, from a
//! self-hosted LiteLLM proxy's spend tables (shared/providers/litellm.md).
//!
//! - Credential: `{"apiKey", "baseUrl"}`: the master key or a key of a `proxy_admin` /
//!   `proxy_admin_viewer` user. The base URL is the credential's `baseUrl`, unless the
//!   connection sets a base-URL override, which then wins (it is how a proxy in front of the
//!   proxy, or a test, is reached).
//! - Usage and cost: `GET /user/daily/activity` for the window (inclusive dates) without a
//!   `user_id` (the global view), 1,000 rows a page, every page. Pages cut through the
//!   underlying rows, so one date can be split over several pages: pages are merged by date
//!   before anything is read. Lines are per (date, model, key), from
//!   `breakdown.models[m].api_key_breakdown`; on proxies without that breakdown, each key seen
//!   in `breakdown.api_keys` is asked for on its own (`api_key=<hash>`), and on proxies without
//!   either, lines are per model with no key. What the keys do not explain stays on a line with
//!   no key, so lines add up to the proxy's totals.
//! - Spend is LiteLLM's own estimate from its price map, not a provider's invoice: every cost
//!   is `estimated`. Tokens: prompt (all input, cache reads and writes included), completion,
//!   cache read and cache creation; requests are `api_requests`.
//! - Workspaces: the key's team (`/team/list`, else the team id in key metadata); keys without
//!   a team, and spend no key explains, belong to the proxy itself (id `proxy`, named after the
//!   base URL's host).
//! - API keys: `/key/list` (hash as id, `key_alias` as name, the masked `key_name` as hint);
//!   keys seen only in usage (deleted keys, the master key) are unlisted.
//! - `/team/list` and `/key/list` are optional: a proxy without them (404) is still read. A
//!   non-admin key is refused by `/team/list` (401) and `/user/daily/activity` (403), and told
//!   so.

mod boundary;
mod wire;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use reqwest::header::{AUTHORIZATION, HeaderMap};
use spendlens_domain::{
    ApiKeyRecord, BilledCost, Category, Credential, Currency, Day, DayRange, FetchedWindow,
    KeyStatus, Money, ProviderKind, Quantity, TokenCounts, Unit, UsageRecord, WorkspaceRecord,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use crate::error::ProviderError;
use crate::http::{At, CallStats, Client, Profile, decode, number_text, secret_header};
use crate::paging::{OffsetGuard, next_page_number, repeated_page};
use crate::{ConnectionCheck, ConnectorConfig};

const PROVIDER: ProviderKind = ProviderKind::LiteLlm;
const ACTIVITY_PATH: &str = "/user/daily/activity";
const KEY_LIST_PATH: &str = "/key/list";
const TEAM_LIST_PATH: &str = "/team/list";
/// Rows per activity page: the documented maximum.
const ACTIVITY_PAGE_SIZE: u32 = 1000;
/// Keys per `/key/list` page: the documented maximum.
const KEY_PAGE_SIZE: usize = 100;
const MAX_PAGES: u32 = 10_000;
/// The workspace of keys without a team, and of spend no key explains.
const PROXY_WORKSPACE_ID: &str = "proxy";
/// A difference between a model's spend and its keys' spend this small, with no tokens or
/// requests behind it, is float rounding in LiteLLM's sums, not spend.
const ROUNDING_NANOS: i64 = 10;
const UNKNOWN_MODEL: &str = "unknown";

/// The API key and the proxy's URL, from the credential and the connection.
struct Proxy {
    key: String,
    base: Url,
}

fn proxy(credential: &Credential, config: &ConnectorConfig) -> Result<Proxy, ProviderError> {
    let text = credential.expose_secret();
    let map = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let field = |name: &str| {
        map.get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    let key = field("apiKey");
    let base = match &config.base_url {
        Some(url) => url.clone(),
        None => {
            let text = field("baseUrl");
            Url::parse(&text).map_err(|error| ProviderError::InvalidBaseUrl {
                provider: PROVIDER,
                url: text.clone(),
                reason: error.to_string(),
                default: crate::default_base_url(PROVIDER).to_string(),
            })?
        }
    };
    Ok(Proxy { key, base })
}

fn client<'a>(
    proxy: &'a Proxy,
    config: &ConnectorConfig,
    stats: &'a CallStats,
) -> Result<Client<'a>, ProviderError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        secret_header(PROVIDER, &format!("Bearer {}", proxy.key))?,
    );
    let profile = Profile {
        provider: PROVIDER,
        headers,
        rejected_advice,
    };
    Client::new(profile, proxy.base.clone(), &proxy.key, &config.http, stats)
}

fn rejected_advice(status: u16, message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    if status == 403 || lower.contains("admin") {
        "This key belongs to a LiteLLM user without an admin role, so the proxy shows it only its \
         own spend. Use the proxy's master key (LITELLM_MASTER_KEY), or a virtual key of a user \
         with the role proxy_admin or proxy_admin_viewer, and update the connection."
            .to_owned()
    } else {
        "The proxy does not know this key (revoked, deleted, or mistyped). Paste the proxy's \
         master key or an admin virtual key (sk-…) as \"apiKey\" and update the connection."
            .to_owned()
    }
}

/// The proxy's host (with its port when one is given), to name the proxy workspace.
fn host_of(base: &Url) -> String {
    let host = base.host_str().unwrap_or("localhost");
    match base.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

pub(crate) async fn check_connection(
    credential: &Credential,
    config: &ConnectorConfig,
    stats: &CallStats,
) -> Result<ConnectionCheck, ProviderError> {
    let proxy = proxy(credential, config)?;
    let client = client(&proxy, config, stats)?;
    let host = host_of(&proxy.base);
    let summary = match list_teams(&client).await? {
        Some(teams) => {
            let plural = if teams.len() == 1 { "team" } else { "teams" };
            format!(
                "LiteLLM proxy at {host} reachable with an admin key: {} {plural} visible",
                teams.len()
            )
        }
        None => {
            let page: wire::KeyListPage = client
                .get(
                    KEY_LIST_PATH,
                    &[("page", "1".to_owned()), ("size", "1".to_owned())],
                    1,
                )
                .await?;
            let count = page.total_count.unwrap_or(page.keys.len() as i64);
            format!("LiteLLM proxy at {host} reachable: {count} virtual keys visible")
        }
    };
    Ok(ConnectionCheck { summary })
}

pub(crate) async fn fetch_window(
    credential: &Credential,
    config: &ConnectorConfig,
    window: DayRange,
    stats: &CallStats,
) -> Result<FetchedWindow, ProviderError> {
    let proxy = proxy(credential, config)?;
    let client = client(&proxy, config, stats)?;
    let mut notes = vec![
        "LiteLLM's spend is the proxy's own estimate from its model price map (or your custom \
         prices), not a provider's invoice, so every LiteLLM cost is marked estimated."
            .to_owned(),
    ];

    // Teams first: a non-admin key is refused here, before anything else.
    let teams = list_teams(&client).await?;
    let listed_keys = list_keys(&client).await?;
    let activity = fetch_activity(&client, window, None).await?;

    // Per (day, key, model): from the breakdown, from per-key queries, or per model only.
    let mut cells: BTreeMap<(Day, Option<String>, String), Figures> = BTreeMap::new();
    let mut key_metadata = activity.key_metadata.clone();
    let every_model_broken_down = activity
        .days
        .values()
        .flat_map(|day| day.models.values())
        .all(|model| model.pieces_with_breakdown == model.pieces);
    if every_model_broken_down {
        for (day, merged) in &activity.days {
            for (model, figures) in &merged.models {
                for (key, key_figures) in &figures.keys {
                    cells.insert(
                        (*day, Some(key.clone()), model.clone()),
                        key_figures.clone(),
                    );
                }
            }
        }
    } else if !activity.keys_seen.is_empty() {
        notes.push(
            "This LiteLLM proxy does not break models down by key (older than about 1.109), so \
             each key's activity was asked for separately."
                .to_owned(),
        );
        for key in &activity.keys_seen {
            let own = fetch_activity(&client, window, Some(key)).await?;
            for (hash, metadata) in own.key_metadata {
                key_metadata.entry(hash).or_insert(metadata);
            }
            for (day, merged) in own.days {
                for (model, figures) in merged.models {
                    cells
                        .entry((day, Some(key.clone()), model))
                        .or_default()
                        .add(&figures.total);
                }
            }
        }
    } else {
        notes.push(
            "This LiteLLM proxy reports no per-key breakdown, so its spend is shown per model \
             without keys."
                .to_owned(),
        );
    }
    // What the keys do not explain, on a line without a key.
    let mut unexplained = Money::ZERO;
    let mut overexplained = Money::ZERO;
    for (day, merged) in &activity.days {
        for (model, figures) in &merged.models {
            let explained = cells
                .range((*day, None, String::new())..)
                .take_while(|((d, _, _), _)| d == day)
                .filter(|((_, key, m), _)| key.is_some() && m == model)
                .fold(Figures::default(), |mut sum, (_, f)| {
                    sum.add(f);
                    sum
                });
            let rest = figures.total.minus(&explained);
            if rest.is_rounding() {
                continue;
            }
            if rest.spend.is_negative() {
                overexplained += -rest.spend;
            } else {
                unexplained += rest.spend;
                cells.insert((*day, None, model.clone()), rest);
            }
        }
    }
    // What no model carries (requests LiteLLM logged without a model): the date's total less
    // its models, on a line of its own.
    let mut modelless = Money::ZERO;
    for (day, merged) in &activity.days {
        let modelled = merged
            .models
            .values()
            .fold(Figures::default(), |mut sum, model| {
                sum.add(&model.total);
                sum
            });
        let rest = merged.total.minus(&modelled);
        if rest.is_rounding() || rest.spend.is_negative() || rest.spend.is_zero() {
            continue;
        }
        modelless += rest.spend;
        cells
            .entry((*day, None, UNKNOWN_MODEL.to_owned()))
            .or_default()
            .add(&rest);
    }
    if !modelless.is_zero() {
        notes.push(format!(
            "${} of this window's LiteLLM spend names no model (LiteLLM leaves it out of the \
             per-model breakdown); it is kept as model \"{UNKNOWN_MODEL}\" on the proxy, \
             without a key.",
            modelless.to_exact_string()
        ));
    }
    if !activity.repeated_rows.is_empty() {
        let spend = activity
            .repeated_rows
            .iter()
            .fold(Money::ZERO, |mut sum, (_, _, _, spend)| {
                sum += *spend;
                sum
            });
        notes.push(format!(
            "The proxy wrote while it was read: {} row(s) (${}) came back on two activity \
             pages and were counted once.",
            activity.repeated_rows.len(),
            spend.to_exact_string()
        ));
    }
    if !unexplained.is_zero() {
        notes.push(format!(
            "${} of this window's LiteLLM spend is tied to no virtual key; it is shown on the \
             proxy without a key.",
            unexplained.to_exact_string()
        ));
    }
    if !overexplained.is_zero() {
        notes.push(format!(
            "LiteLLM's per-key spend exceeds its per-model spend by ${} in this window; the \
             per-key figures were kept.",
            overexplained.to_exact_string()
        ));
    }

    // Keys and their teams.
    let mut api_keys: Vec<ApiKeyRecord> = Vec::new();
    let mut key_team: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut listed = HashSet::new();
    for key in listed_keys.unwrap_or_default() {
        let team = key.team_id.clone().filter(|team| !team.is_empty());
        key_team.insert(key.token.clone(), team.clone());
        listed.insert(key.token.clone());
        let status = match (&key.status, key.blocked) {
            (Some(status), _) => KeyStatus::parse(status),
            (None, Some(true)) => KeyStatus::Inactive,
            (None, _) => KeyStatus::Active,
        };
        api_keys.push(ApiKeyRecord {
            name: key
                .key_alias
                .clone()
                .filter(|alias| !alias.trim().is_empty()),
            hint: key.key_name.clone(),
            workspace_id: Some(team.unwrap_or_else(|| PROXY_WORKSPACE_ID.to_owned())),
            status,
            created_at: rfc3339(key.created_at.as_deref()),
            last_used_at: rfc3339(key.last_active.as_deref()),
            provider_id: key.token,
        });
    }
    let used_keys: BTreeSet<String> = cells.keys().filter_map(|(_, key, _)| key.clone()).collect();
    for hash in used_keys {
        if listed.contains(&hash) {
            continue;
        }
        let metadata = key_metadata.get(&hash).cloned().unwrap_or_default();
        let team = metadata.team_id.clone().filter(|team| !team.is_empty());
        key_team.insert(hash.clone(), team.clone());
        api_keys.push(ApiKeyRecord {
            provider_id: hash,
            name: metadata.key_alias.filter(|alias| !alias.trim().is_empty()),
            hint: None,
            workspace_id: Some(team.unwrap_or_else(|| PROXY_WORKSPACE_ID.to_owned())),
            status: KeyStatus::Unlisted,
            created_at: None,
            last_used_at: None,
        });
    }

    let workspace_of = |key: &Option<String>| -> String {
        key.as_ref()
            .and_then(|key| key_team.get(key).cloned().flatten())
            .unwrap_or_else(|| PROXY_WORKSPACE_ID.to_owned())
    };
    let mut usage = Vec::new();
    let mut costs = Vec::new();
    for ((day, key, model), figures) in cells {
        let workspace = workspace_of(&key);
        let category = category(&model);
        usage.push(UsageRecord {
            day,
            workspace_id: Some(workspace.clone()),
            api_key_id: key.clone(),
            model: model.clone(),
            category,
            unit: Unit::tokens(),
            detail: String::new(),
            tokens: TokenCounts {
                input: figures.prompt,
                output: figures.completion,
                cache_read: figures.cache_read,
                cache_write: figures.cache_write,
            },
            requests: Some(figures.requests),
            quantity: Quantity::ZERO,
            unpriced: false,
        });
        costs.push(BilledCost {
            day,
            workspace_id: Some(workspace),
            api_key_id: key,
            model: Some(model.clone()),
            token_class: None,
            category: Some(category),
            description: model,
            cost: figures.spend,
            credits: Money::ZERO,
            currency: Currency::usd(),
            estimated: true,
            billing: None,
        });
    }

    // Workspaces: the teams, any team named only by keys, and the proxy when it carries
    // anything (or when there is nothing else).
    let mut workspaces: Vec<WorkspaceRecord> = Vec::new();
    let mut named = HashSet::new();
    for team in teams.unwrap_or_default() {
        if named.insert(team.team_id.clone()) {
            workspaces.push(WorkspaceRecord {
                name: team
                    .team_alias
                    .clone()
                    .filter(|alias| !alias.trim().is_empty())
                    .unwrap_or_else(|| team.team_id.clone()),
                archived: team.blocked == Some(true),
                created_at: rfc3339(team.created_at.as_deref()),
                provider_id: team.team_id,
            });
        }
    }
    let referenced: BTreeSet<String> = api_keys
        .iter()
        .filter_map(|key| key.workspace_id.clone())
        .chain(usage.iter().filter_map(|u| u.workspace_id.clone()))
        .collect();
    for id in referenced {
        if named.contains(&id) {
            continue;
        }
        named.insert(id.clone());
        let name = if id == PROXY_WORKSPACE_ID {
            format!("LiteLLM proxy at {}", host_of(&proxy.base))
        } else {
            id.clone()
        };
        workspaces.push(WorkspaceRecord {
            provider_id: id,
            name,
            archived: false,
            created_at: None,
        });
    }
    if workspaces.is_empty() {
        workspaces.push(WorkspaceRecord {
            provider_id: PROXY_WORKSPACE_ID.to_owned(),
            name: format!("LiteLLM proxy at {}", host_of(&proxy.base)),
            archived: false,
            created_at: None,
        });
    }

    Ok(FetchedWindow {
        workspaces,
        api_keys,
        usage,
        costs,
        notes,
        served: None,
        services: Vec::new(),
        invoice_months: None,
    })
}

fn rfc3339(text: Option<&str>) -> Option<OffsetDateTime> {
    text.and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
}

/// Every team, or `None` on a proxy without `/team/list`.
async fn list_teams(client: &Client<'_>) -> Result<Option<Vec<wire::Team>>, ProviderError> {
    match client.get::<wire::TeamList>(TEAM_LIST_PATH, &[], 1).await {
        Ok(list) => Ok(Some(list.into_teams())),
        Err(ProviderError::RequestRefused { status: 404, .. }) => {
            tracing::info!("this LiteLLM proxy has no /team/list; keys are placed by metadata");
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Every virtual key, or `None` on a proxy without `/key/list`.
async fn list_keys(client: &Client<'_>) -> Result<Option<Vec<wire::KeyObject>>, ProviderError> {
    let mut keys: Vec<wire::KeyObject> = Vec::new();
    let mut guard = OffsetGuard::new(MAX_PAGES);
    let mut page_number: u32 = 1;
    loop {
        let query = [
            ("page", page_number.to_string()),
            ("size", KEY_PAGE_SIZE.to_string()),
            ("return_full_object", "true".to_owned()),
            ("include_team_keys", "true".to_owned()),
        ];
        let page: wire::KeyListPage = match client.get(KEY_LIST_PATH, &query, page_number).await {
            Ok(page) => page,
            Err(ProviderError::RequestRefused { status: 404, .. }) if page_number == 1 => {
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        let at = At {
            endpoint: KEY_LIST_PATH,
            page: page_number,
        };
        let count = page.keys.len();
        for entry in page.keys {
            let key = match entry {
                wire::KeyEntry::Full(key) => *key,
                wire::KeyEntry::Hash(token) => wire::KeyObject {
                    token,
                    key_name: None,
                    key_alias: None,
                    team_id: None,
                    user_id: None,
                    blocked: None,
                    status: None,
                    created_at: None,
                    last_active: None,
                },
            };
            guard.admit(PROVIDER, at, &key.token)?;
            keys.push(key);
        }
        let done = count == 0
            || match page.total_pages {
                Some(total) => i64::from(page_number) >= total,
                None => count < KEY_PAGE_SIZE,
            };
        if done {
            return Ok(Some(keys));
        }
        page_number = guard.next_page(PROVIDER, at)?;
    }
}

/// The figures of one cell, in exact units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Figures {
    spend: Money,
    prompt: i64,
    completion: i64,
    cache_read: i64,
    cache_write: i64,
    requests: i64,
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        self.spend += other.spend;
        self.prompt = self.prompt.saturating_add(other.prompt);
        self.completion = self.completion.saturating_add(other.completion);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
        self.cache_write = self.cache_write.saturating_add(other.cache_write);
        self.requests = self.requests.saturating_add(other.requests);
    }

    fn minus(&self, other: &Figures) -> Figures {
        Figures {
            spend: self.spend - other.spend,
            prompt: self.prompt.saturating_sub(other.prompt),
            completion: self.completion.saturating_sub(other.completion),
            cache_read: self.cache_read.saturating_sub(other.cache_read),
            cache_write: self.cache_write.saturating_sub(other.cache_write),
            requests: self.requests.saturating_sub(other.requests),
        }
    }

    /// Nothing but float rounding.
    fn is_rounding(&self) -> bool {
        self.prompt == 0
            && self.completion == 0
            && self.cache_read == 0
            && self.cache_write == 0
            && self.requests == 0
            && self.spend.nanos().abs() <= ROUNDING_NANOS
    }
}

/// One model on one date, merged over pages.
#[derive(Debug, Default)]
struct ModelDay {
    total: Figures,
    keys: BTreeMap<String, Figures>,
    /// Page pieces of this (date, model), and how many carried `api_key_breakdown`.
    pieces: u32,
    pieces_with_breakdown: u32,
}

#[derive(Debug, Default)]
struct DayMerge {
    /// The date's own `metrics`, summed over pages: spend with no model is in here only.
    total: Figures,
    models: BTreeMap<String, ModelDay>,
}

/// A window's activity, every page merged by date.
#[derive(Debug, Default)]
struct Activity {
    days: BTreeMap<Day, DayMerge>,
    /// Key hashes in `breakdown.api_keys`.
    keys_seen: BTreeSet<String>,
    key_metadata: BTreeMap<String, wire::KeyMetadata>,
    /// (date, model, key) cells read twice across a page boundary and taken out again.
    repeated_rows: Vec<(Day, String, String, Money)>,
}

/// Reads a metrics object; `what` names it in errors. Spend is required: a missing amount is
/// an error, never a zero.
fn figures(
    metrics: &wire::Metrics,
    what: &dyn Fn() -> String,
    at: At<'_>,
) -> Result<Figures, ProviderError> {
    let unexpected = |detail: String| ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: at.endpoint.to_owned(),
        page: at.page,
        detail,
    };
    let text = metrics
        .spend
        .as_deref()
        .and_then(number_text)
        .ok_or_else(|| unexpected(format!("{} has no spend", what())))?;
    let spend = Money::parse_units(&text)
        .map_err(|error| unexpected(format!("the spend of {}: {error}", what())))?;
    Ok(Figures {
        spend,
        prompt: metrics.prompt_tokens.unwrap_or(0),
        completion: metrics.completion_tokens.unwrap_or(0),
        cache_read: metrics.cache_read_input_tokens.unwrap_or(0),
        cache_write: metrics.cache_creation_input_tokens.unwrap_or(0),
        requests: metrics.api_requests.unwrap_or(0),
    })
}

fn merge_metadata(into: &mut wire::KeyMetadata, from: &wire::KeyMetadata) {
    if into.key_alias.is_none() {
        into.key_alias.clone_from(&from.key_alias);
    }
    if into.team_id.is_none() {
        into.team_id.clone_from(&from.team_id);
    }
    if into.user_id.is_none() {
        into.user_id.clone_from(&from.user_id);
    }
    if into.key_exists.is_none() {
        into.key_exists = from.key_exists;
    }
}

impl Activity {
    fn merge(
        &mut self,
        result: wire::DayResult,
        window: DayRange,
        at: At<'_>,
    ) -> Result<(), ProviderError> {
        let unexpected = |detail: String| ProviderError::UnexpectedPage {
            provider: PROVIDER,
            endpoint: at.endpoint.to_owned(),
            page: at.page,
            detail,
        };
        let date = result.date.unwrap_or_default();
        let day: Day = date
            .get(..10)
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| unexpected(format!("a result is dated \"{date}\", not YYYY-MM-DD")))?;
        if !window.contains(day) {
            return Err(unexpected(format!(
                "a result for {day} is outside the requested dates {window}"
            )));
        }
        if let Some(metrics) = &result.metrics {
            let total = figures(metrics, &|| format!("the total of {day}"), at)?;
            self.days.entry(day).or_default().total.add(&total);
        }
        let breakdown = result.breakdown.unwrap_or_default();
        for (hash, cell) in breakdown.api_keys.unwrap_or_default() {
            if let Some(metadata) = &cell.metadata {
                merge_metadata(self.key_metadata.entry(hash.clone()).or_default(), metadata);
            }
            self.keys_seen.insert(hash);
        }
        let merged = self.days.entry(day).or_default();
        for (model, cell) in breakdown.models.unwrap_or_default() {
            let model_name = if model.trim().is_empty() {
                UNKNOWN_MODEL.to_owned()
            } else {
                model
            };
            let total = figures(&cell.metrics(), &|| format!("{model_name} on {day}"), at)?;
            let entry = merged.models.entry(model_name.clone()).or_default();
            entry.total.add(&total);
            entry.pieces += 1;
            if let Some(keys) = cell.api_key_breakdown {
                entry.pieces_with_breakdown += 1;
                for (hash, key_cell) in keys {
                    let key_figures = figures(
                        &key_cell.metrics(),
                        &|| format!("key {hash} of {model_name} on {day}"),
                        at,
                    )?;
                    if let Some(metadata) = &key_cell.metadata {
                        merge_metadata(
                            self.key_metadata.entry(hash.clone()).or_default(),
                            metadata,
                        );
                    }
                    entry.keys.entry(hash).or_default().add(&key_figures);
                }
            }
        }
        Ok(())
    }

    /// Takes a (date, model, key) row read twice out of the date's figures again.
    fn take_out(&mut self, day: Day, model: &str, key: &str, repeated: &Figures) {
        let Some(merged) = self.days.get_mut(&day) else {
            return;
        };
        merged.total = merged.total.minus(repeated);
        if let Some(model_day) = merged.models.get_mut(model) {
            model_day.total = model_day.total.minus(repeated);
            if let Some(key_figures) = model_day.keys.get_mut(key) {
                *key_figures = key_figures.minus(repeated);
            }
        }
        self.repeated_rows
            .push((day, model.to_owned(), key.to_owned(), repeated.spend));
    }
}

/// Every page of `/user/daily/activity` for the window (of one key when `api_key` is given),
/// merged by date. A page whose results repeat an earlier page's stops the fetch.
async fn fetch_activity(
    client: &Client<'_>,
    window: DayRange,
    api_key: Option<&str>,
) -> Result<Activity, ProviderError> {
    let mut activity = Activity::default();
    let mut fingerprints: HashSet<String> = HashSet::new();
    let mut boundary = boundary::Boundary::default();
    let mut page_number: u32 = 1;
    loop {
        let mut query = vec![
            ("start_date", window.from().to_string()),
            ("end_date", window.to().to_string()),
            ("page_size", ACTIVITY_PAGE_SIZE.to_string()),
            ("page", page_number.to_string()),
        ];
        if let Some(key) = api_key {
            query.push(("api_key", key.to_owned()));
        }
        let page: wire::ActivityPage = client.get(ACTIVITY_PATH, &query, page_number).await?;
        let at = At {
            endpoint: ACTIVITY_PATH,
            page: page_number,
        };
        let raw = page.results.ok_or_else(|| ProviderError::UnexpectedPage {
            provider: PROVIDER,
            endpoint: ACTIVITY_PATH.to_owned(),
            page: page_number,
            detail: "the page has no results".to_owned(),
        })?;
        let results: Vec<wire::DayResult> = decode(PROVIDER, at, raw.get().as_bytes())?;
        if !results.is_empty() && !fingerprints.insert(raw.get().to_owned()) {
            return Err(repeated_page(PROVIDER, at));
        }
        let empty = results.is_empty();
        let repeats = boundary.repeats(&results, at)?;
        for result in results {
            activity.merge(result, window, at)?;
        }
        for (day, model, key, figures) in repeats {
            activity.take_out(day, &model, &key, &figures);
        }
        let metadata = page.metadata.unwrap_or_default();
        let more = metadata.has_more == Some(true)
            || metadata
                .total_pages
                .is_some_and(|total| i64::from(page_number) < total);
        if !more {
            return Ok(activity);
        }
        if empty {
            return Err(ProviderError::UnexpectedPage {
                provider: PROVIDER,
                endpoint: ACTIVITY_PATH.to_owned(),
                page: page_number,
                detail: "the page is empty although more pages are announced".to_owned(),
            });
        }
        page_number = next_page_number(PROVIDER, at, MAX_PAGES)?;
    }
}

/// The category of a deployment model, by name; chat models are text.
fn category(model: &str) -> Category {
    let lower = model.to_ascii_lowercase();
    if lower.contains("embed") {
        Category::Embedding
    } else if lower.contains("moderation") {
        Category::Moderation
    } else if lower.contains("dall-e") || lower.contains("image") || lower.contains("imagen") {
        Category::Image
    } else if lower.contains("whisper") || lower.contains("tts") || lower.contains("audio") {
        Category::Audio
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

    const AT: At<'static> = At {
        endpoint: ACTIVITY_PATH,
        page: 1,
    };

    fn result(json: &str) -> wire::DayResult {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_date_split_over_pages_is_merged_not_replaced() {
        let window = DayRange::new(day("2026-01-01"), day("2026-01-31")).unwrap();
        let mut activity = Activity::default();
        let piece = |spend: &str, requests: i64| {
            result(&format!(
                r#"{{"date":"2026-01-30","metrics":{{"spend":{spend}}},"breakdown":{{"models":{{"gpt-4o":{{"metrics":{{"spend":{spend},"api_requests":{requests},"prompt_tokens":10}},"metadata":{{}},
                   "api_key_breakdown":{{"h1":{{"metrics":{{"spend":{spend},"api_requests":{requests},"prompt_tokens":10}},"metadata":{{"key_alias":"a","team_id":"t"}}}}}}}}}},
                   "api_keys":{{"h1":{{"metrics":{{"spend":{spend}}},"metadata":{{"key_alias":"a","team_id":"t","key_exists":true}}}}}}}}}}"#
            ))
        };
        activity.merge(piece("0.1", 2), window, AT).unwrap();
        activity.merge(piece("1.095e-05", 1), window, AT).unwrap();
        let model = &activity.days[&day("2026-01-30")].models["gpt-4o"];
        assert_eq!(model.total.spend.nanos(), 100_010_950);
        assert_eq!(model.total.requests, 3);
        assert_eq!(model.keys["h1"].prompt, 20);
        assert_eq!(model.pieces, 2);
        assert_eq!(model.pieces_with_breakdown, 2);
        assert_eq!(activity.key_metadata["h1"].team_id.as_deref(), Some("t"));
    }

    #[test]
    fn a_missing_spend_is_an_error_not_a_zero() {
        let window = DayRange::new(day("2026-01-01"), day("2026-01-31")).unwrap();
        let mut activity = Activity::default();
        let err = activity
            .merge(
                result(
                    r#"{"date":"2026-01-30","breakdown":{"models":{"gpt-4o":{"metrics":{"prompt_tokens":1},"metadata":{}}}}}"#,
                ),
                window,
                AT,
            )
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("gpt-4o on 2026-01-30 has no spend"),
            "{err}"
        );
    }

    #[test]
    fn rounding_differences_are_not_spend() {
        let noise = Figures {
            spend: Money::from_nanos(-3),
            ..Figures::default()
        };
        assert!(noise.is_rounding());
        let real = Figures {
            requests: 1,
            ..Figures::default()
        };
        assert!(!real.is_rounding());
    }

    #[test]
    fn the_connection_override_wins_over_the_credential_s_base_url() {
        let credential = Credential::parse(
            ProviderKind::LiteLlm,
            r#"{"apiKey":"sk-1234567890","baseUrl":"https://litellm.example.com"}"#,
        )
        .unwrap();
        let plain = proxy(&credential, &ConnectorConfig::new()).unwrap();
        assert_eq!(plain.base.as_str(), "https://litellm.example.com/");
        assert_eq!(host_of(&plain.base), "litellm.example.com");
        let overridden = proxy(
            &credential,
            &ConnectorConfig::for_tests(Url::parse("http://127.0.0.1:4000").unwrap()),
        )
        .unwrap();
        assert_eq!(host_of(&overridden.base), "127.0.0.1:4000");
        assert_eq!(overridden.key, "sk-1234567890");
    }

    #[test]
    fn categories_follow_the_model_name() {
        assert_eq!(category("text-embedding-3-small"), Category::Embedding);
        assert_eq!(category("gpt-4o"), Category::Text);
        assert_eq!(category("dall-e-3"), Category::Image);
        assert_eq!(category("whisper-1"), Category::Audio);
    }

    #[test]
    fn advice_tells_a_non_admin_from_an_unknown_key() {
        assert!(
            rejected_advice(401, "Only admin users can query all teams/other teams.")
                .contains("proxy_admin")
        );
        assert!(
            rejected_advice(403, "Non-admin users can only view their own spend data.")
                .contains("master key")
        );
        assert!(rejected_advice(401, "Invalid proxy server token passed").contains("revoked"));
    }
}
