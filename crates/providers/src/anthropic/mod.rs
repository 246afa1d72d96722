//! Anthropic: workspaces, API keys, the Messages usage report and the cost report, from the
//! Admin API (shared/providers/anthropic.md).
//!
//! The default workspace is never listed; usage, cost and keys show it as `workspace_id: null`.
//! It becomes a workspace of its own, `default`. Costs are cents, as decimal strings. Usage
//! input parts are disjoint and are summed into [`TokenCounts::input`]; request counts are not
//! reported, so they are `None` (unknown), never zero. Priority Tier usage, which the cost
//! report leaves out, is booked under its own model with a flagged estimate ([`priority`]).

mod priority;
mod wire;

use std::collections::HashSet;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use spendlens_domain::{
    ApiKeyRecord, BilledCost, Category, Credential, Currency, Day, DayRange, FetchedWindow,
    KeyStatus, Money, PriceCatalog, ProviderKind, Quantity, TokenClass, TokenCounts, Unit,
    UsageRecord, WorkspaceRecord,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ProviderError;
use crate::http::{At, CallStats, Client, Profile, secret_header};
use crate::paging::{list_all, list_buckets};
use crate::{ConnectionCheck, ConnectorConfig};

const PROVIDER: ProviderKind = ProviderKind::Anthropic;
const ADMIN_KEYS_URL: &str = "https://console.anthropic.com/settings/admin-keys";
const API_VERSION: &str = "2023-06-01";
/// Buckets per page of both reports at `1d`: the documented maximum.
const REPORT_PAGE_BUCKETS: u32 = 31;
/// Items per page of the workspace and key lists (the documented maximum).
const LIST_LIMIT: u32 = 1000;
/// The id spendlens gives the default workspace.
pub(crate) const DEFAULT_WORKSPACE_ID: &str = "default";
const DEFAULT_WORKSPACE_NAME: &str = "Default workspace";
/// The model of usage lines for server-side web searches, and of their cost.
const WEB_SEARCH_MODEL: &str = "web search";
const CODE_EXECUTION_MODEL: &str = "code execution";
const UNKNOWN_MODEL: &str = "unknown";
/// Every documented key status; the list endpoint filters by one, and what it returns
/// without a filter is not documented, so each is asked for.
const KEY_STATUSES: [&str; 4] = ["active", "inactive", "archived", "expired"];

const WORKSPACES_PATH: &str = "/v1/organizations/workspaces";
const API_KEYS_PATH: &str = "/v1/organizations/api_keys";
const USAGE_PATH: &str = "/v1/organizations/usage_report/messages";
const COST_PATH: &str = "/v1/organizations/cost_report";

pub(crate) fn client<'a>(
    credential: &'a Credential,
    config: &ConnectorConfig,
    stats: &'a CallStats,
) -> Result<Client<'a>, ProviderError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-api-key"),
        secret_header(PROVIDER, credential.expose_secret())?,
    );
    headers.insert(
        HeaderName::from_static("anthropic-version"),
        HeaderValue::from_static(API_VERSION),
    );
    let profile = Profile {
        provider: PROVIDER,
        headers,
        rejected_advice,
    };
    Client::new(
        profile,
        config.base_url_for(PROVIDER),
        credential.expose_secret(),
        &config.http,
        stats,
    )
}

fn rejected_advice(status: u16, _message: &str) -> String {
    if status == 403 {
        format!(
            "The key is not allowed to read the organization's usage and cost: billing data needs \
             an organization Admin key (sk-ant-admin01-…), which only organization admins can \
             create, at {ADMIN_KEYS_URL}; then update the connection."
        )
    } else {
        format!(
            "The key may be revoked or mistyped, or it is a standard API key (sk-ant-api03-…) \
             rather than an Admin key: create an Admin key (sk-ant-admin01-…) at \
             {ADMIN_KEYS_URL} and update the connection."
        )
    }
}

pub(crate) async fn check_connection(
    client: &Client<'_>,
) -> Result<ConnectionCheck, ProviderError> {
    let page: wire::ListPage<wire::Workspace> = client
        .get(
            WORKSPACES_PATH,
            &[
                ("limit", LIST_LIMIT.to_string()),
                ("include_archived", "true".to_owned()),
            ],
            1,
        )
        .await?;
    let count = page.data.len();
    let plural = if count == 1 {
        "workspace"
    } else {
        "workspaces"
    };
    let more = if page.has_more { "+" } else { "" };
    Ok(ConnectionCheck {
        summary: format!(
            "Anthropic organization reachable: {count}{more} {plural} visible, plus the default workspace"
        ),
    })
}

pub(crate) async fn fetch_window(
    client: &Client<'_>,
    window: DayRange,
) -> Result<FetchedWindow, ProviderError> {
    let (starting_at, ending_at) = window_bounds(window)?;
    let workspaces = list_workspaces(client).await?;
    let listed: HashSet<&str> = workspaces
        .iter()
        .map(|workspace| workspace.provider_id.as_str())
        .collect();
    let api_keys = list_keys(client, &listed).await?;
    let usage = fetch_usage(client, window, &starting_at, &ending_at).await?;
    let mut costs = fetch_costs(client, window, &starting_at, &ending_at).await?;
    let (estimates, notes) = priority::estimate(&usage, &PriceCatalog::built_in());
    costs.extend(estimates);
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

/// `starting_at` and `ending_at` (exclusive) as RFC 3339 UTC midnights.
fn window_bounds(window: DayRange) -> Result<(String, String), ProviderError> {
    let end = window
        .end_exclusive()
        .map_err(|error| ProviderError::InvalidWindow {
            provider: PROVIDER,
            window: window.to_string(),
            reason: error.to_string(),
        })?;
    Ok((window.from().start_rfc3339(), end.start_rfc3339()))
}

fn rfc3339(text: Option<&str>) -> Option<OffsetDateTime> {
    text.and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
}

fn default_workspace() -> WorkspaceRecord {
    WorkspaceRecord {
        provider_id: DEFAULT_WORKSPACE_ID.to_owned(),
        name: DEFAULT_WORKSPACE_NAME.to_owned(),
        archived: false,
        created_at: None,
    }
}

/// `null` in usage, cost and keys means the default workspace.
fn workspace_or_default(workspace_id: Option<String>) -> Option<String> {
    Some(
        workspace_id
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| DEFAULT_WORKSPACE_ID.to_owned()),
    )
}

async fn list_workspaces(client: &Client<'_>) -> Result<Vec<WorkspaceRecord>, ProviderError> {
    let listed = list_all::<wire::ListPage<wire::Workspace>>(
        client,
        WORKSPACES_PATH,
        &[
            ("limit", LIST_LIMIT.to_string()),
            ("include_archived", "true".to_owned()),
        ],
        "after_id",
    )
    .await?;
    let mut workspaces = vec![default_workspace()];
    workspaces.extend(
        listed
            .into_iter()
            .filter(|workspace| workspace.id != DEFAULT_WORKSPACE_ID)
            .map(|workspace| WorkspaceRecord {
                archived: workspace.archived_at.is_some(),
                created_at: rfc3339(workspace.created_at.as_deref()),
                name: workspace
                    .name
                    .filter(|name| !name.trim().is_empty())
                    .unwrap_or_else(|| workspace.id.clone()),
                provider_id: workspace.id,
            }),
    );
    Ok(workspaces)
}

async fn list_keys(
    client: &Client<'_>,
    listed_workspaces: &HashSet<&str>,
) -> Result<Vec<ApiKeyRecord>, ProviderError> {
    let mut keys = Vec::new();
    let mut seen = HashSet::new();
    for status in KEY_STATUSES {
        let listed = list_all::<wire::ListPage<wire::ApiKey>>(
            client,
            API_KEYS_PATH,
            &[
                ("limit", LIST_LIMIT.to_string()),
                ("status", status.to_owned()),
            ],
            "after_id",
        )
        .await;
        let listed = match listed {
            Ok(listed) => listed,
            // `expired` is newer than the other statuses; an API that does not know it yet
            // has no expired keys to list.
            Err(ProviderError::RequestRefused {
                status: 400 | 422, ..
            }) if status == "expired" => {
                tracing::info!("Anthropic does not accept status=expired; skipped");
                Vec::new()
            }
            Err(error) => return Err(error),
        };
        for key in listed {
            if seen.insert(key.id.clone()) {
                keys.push(map_key(key, status, listed_workspaces));
            }
        }
    }
    Ok(keys)
}

fn map_key(key: wire::ApiKey, asked_status: &str, listed: &HashSet<&str>) -> ApiKeyRecord {
    let workspace_id = match key.workspace_id {
        // The 2025 field: null is the default workspace.
        Some(workspace_id) => workspace_or_default(workspace_id),
        // The newest API only has `scope`, with the default workspace's real id, which usage
        // and cost never show: a workspace id that is not listed is the default one.
        None => match key.scope {
            Some(scope) if scope.kind.as_deref() == Some("organization") => None,
            Some(wire::Scope {
                workspace_id: Some(id),
                ..
            }) if listed.contains(id.as_str()) => Some(id),
            Some(_) => Some(DEFAULT_WORKSPACE_ID.to_owned()),
            None => None,
        },
    };
    ApiKeyRecord {
        status: KeyStatus::parse(key.status.as_deref().unwrap_or(asked_status)),
        name: key.name,
        hint: key.partial_key_hint,
        workspace_id,
        created_at: rfc3339(key.created_at.as_deref()),
        last_used_at: None,
        provider_id: key.id,
    }
}

async fn fetch_usage(
    client: &Client<'_>,
    window: DayRange,
    starting_at: &str,
    ending_at: &str,
) -> Result<Vec<UsageRecord>, ProviderError> {
    let query = [
        ("starting_at", starting_at.to_owned()),
        ("ending_at", ending_at.to_owned()),
        ("bucket_width", "1d".to_owned()),
        ("limit", REPORT_PAGE_BUCKETS.to_string()),
        ("group_by[]", "workspace_id".to_owned()),
        ("group_by[]", "api_key_id".to_owned()),
        ("group_by[]", "model".to_owned()),
        // Priority Tier is not in the cost report: its usage must be told apart.
        ("group_by[]", "service_tier".to_owned()),
        ("group_by[]", "context_window".to_owned()),
    ];
    list_buckets::<wire::BucketPage<wire::UsageResult>, _>(
        client,
        USAGE_PATH,
        &query,
        window,
        |day, result, _| Ok(map_usage(day, result)),
    )
    .await
}

/// One usage item: a token line, plus a web-search line when searches were made.
fn map_usage(day: Day, r: wire::UsageResult) -> Vec<UsageRecord> {
    let cache = r.cache_creation.unwrap_or_default();
    let cache_write = cache
        .ephemeral_5m_input_tokens
        .saturating_add(cache.ephemeral_1h_input_tokens);
    let model = r
        .model
        .filter(|model| !model.trim().is_empty())
        .unwrap_or_else(|| UNKNOWN_MODEL.to_owned());
    let model = if priority::is_priority(r.service_tier.as_deref()) {
        format!("{model}{}", priority::SUFFIX)
    } else {
        model
    };
    let workspace_id = workspace_or_default(r.workspace_id);
    let mut records = vec![UsageRecord {
        day,
        workspace_id: workspace_id.clone(),
        api_key_id: r.api_key_id.clone(),
        model: model.clone(),
        category: Category::Text,
        unit: Unit::tokens(),
        detail: String::new(),
        tokens: TokenCounts {
            // The parts are disjoint: all input is their sum.
            input: r
                .uncached_input_tokens
                .saturating_add(r.cache_read_input_tokens)
                .saturating_add(cache_write),
            output: r.output_tokens,
            cache_read: r.cache_read_input_tokens,
            cache_write,
        },
        requests: None,
        quantity: Quantity::ZERO,
        unpriced: false,
    }];
    let searches = r
        .server_tool_use
        .map_or(0, |tools| tools.web_search_requests);
    if searches > 0 {
        records.push(UsageRecord {
            day,
            workspace_id,
            api_key_id: r.api_key_id,
            model: WEB_SEARCH_MODEL.to_owned(),
            category: Category::Tool,
            unit: Unit::requests(),
            // The model that searched, so each (key, model) keeps a line of its own.
            detail: model,
            tokens: TokenCounts::default(),
            requests: None,
            quantity: Quantity::from_whole(searches),
            unpriced: false,
        });
    }
    records
}

async fn fetch_costs(
    client: &Client<'_>,
    window: DayRange,
    starting_at: &str,
    ending_at: &str,
) -> Result<Vec<BilledCost>, ProviderError> {
    let query = [
        ("starting_at", starting_at.to_owned()),
        ("ending_at", ending_at.to_owned()),
        ("bucket_width", "1d".to_owned()),
        ("limit", REPORT_PAGE_BUCKETS.to_string()),
        ("group_by[]", "workspace_id".to_owned()),
        ("group_by[]", "description".to_owned()),
    ];
    list_buckets::<wire::BucketPage<wire::CostResult>, _>(
        client,
        COST_PATH,
        &query,
        window,
        |day, result, at| map_cost(day, result, at).map(|cost| vec![cost]),
    )
    .await
}

fn token_class(token_type: &str) -> Option<TokenClass> {
    match token_type {
        "uncached_input_tokens" => Some(TokenClass::Input),
        "cache_read_input_tokens" => Some(TokenClass::CachedInput),
        "output_tokens" => Some(TokenClass::Output),
        other if other.starts_with("cache_creation") => Some(TokenClass::CacheWrite),
        _ => None,
    }
}

/// The model and category of a cost line that is not for tokens: web search and code
/// execution by name, anything newer named from its description ("Session Usage" →
/// "session").
fn non_token_model(cost_type: &str, description: Option<&str>) -> (String, Category) {
    match cost_type {
        "web_search" => (WEB_SEARCH_MODEL.to_owned(), Category::Tool),
        "code_execution" => (CODE_EXECUTION_MODEL.to_owned(), Category::Tool),
        other => {
            let named = description
                .map(|text| {
                    let text = text.trim();
                    let text = text
                        .strip_suffix(" Usage")
                        .or_else(|| text.strip_suffix(" usage"))
                        .unwrap_or(text);
                    text.trim().to_lowercase()
                })
                .filter(|text| !text.is_empty())
                .unwrap_or_else(|| other.replace('_', " "));
            (named, Category::Other)
        }
    }
}

fn map_cost(day: Day, r: wire::CostResult, at: At<'_>) -> Result<BilledCost, ProviderError> {
    let unexpected = |detail: String| ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: at.endpoint.to_owned(),
        page: at.page,
        detail,
    };
    let text = r
        .amount_text()
        .ok_or_else(|| unexpected(format!("a cost for {day} has no amount")))?;
    // Cents, never dollars: "123.45" is $1.2345.
    let cost = Money::parse_cents(&text)
        .map_err(|error| unexpected(format!("a cost for {day}: {error}")))?;
    let currency = match r.currency.as_deref() {
        Some(code) => Currency::parse(code).map_err(|_| {
            unexpected(format!("a cost for {day} is in \"{code}\", not a currency"))
        })?,
        None => Currency::usd(),
    };
    let description = r
        .description
        .clone()
        .filter(|text| !text.trim().is_empty())
        .unwrap_or_else(|| "Anthropic usage".to_owned());
    let (model, token_class, category) = match r.cost_type.as_deref() {
        Some("tokens") | None => (
            r.model.filter(|model| !model.trim().is_empty()),
            r.token_type.as_deref().and_then(token_class),
            Some(Category::Text),
        ),
        Some(cost_type) => {
            let (model, category) = non_token_model(cost_type, r.description.as_deref());
            (Some(model), None, Some(category))
        }
    };
    // A cost with neither a type nor a model cannot be placed beyond its description.
    let category = if model.is_none() && r.cost_type.is_none() {
        None
    } else {
        category
    };
    Ok(BilledCost {
        day,
        workspace_id: workspace_or_default(r.workspace_id),
        api_key_id: None,
        model,
        token_class,
        category,
        description,
        cost,
        credits: Money::ZERO,
        currency,
        estimated: false,
        billing: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    const AT: At<'static> = At {
        endpoint: COST_PATH,
        page: 1,
    };

    #[test]
    fn the_window_is_sent_as_rfc3339_midnights_with_an_exclusive_end() {
        let window = DayRange::new(day("2025-08-01"), day("2025-08-31")).unwrap();
        let (from, to) = window_bounds(window).unwrap();
        assert_eq!(from, "2025-08-01T00:00:00Z");
        assert_eq!(to, "2025-09-01T00:00:00Z");
    }

    #[test]
    fn input_is_the_sum_of_the_disjoint_parts_and_requests_are_unknown() {
        let r: wire::UsageResult = serde_json::from_str(
            r#"{"api_key_id":"apikey_1","cache_creation":{"ephemeral_1h_input_tokens":1000,"ephemeral_5m_input_tokens":500},
                "cache_read_input_tokens":200,"model":"claude-opus-4-6","output_tokens":500,
                "server_tool_use":{"web_search_requests":10},"uncached_input_tokens":1500,"workspace_id":null}"#,
        )
        .unwrap();
        let records = map_usage(day("2025-08-01"), r);
        assert_eq!(records.len(), 2);
        let tokens = &records[0];
        assert_eq!(tokens.tokens.input, 3200);
        assert_eq!(tokens.tokens.cache_read, 200);
        assert_eq!(tokens.tokens.cache_write, 1500);
        assert_eq!(tokens.tokens.uncached_input(), 1500);
        assert_eq!(tokens.tokens.output, 500);
        assert_eq!(tokens.requests, None);
        assert_eq!(tokens.workspace_id.as_deref(), Some("default"));
        let search = &records[1];
        assert_eq!(search.model, "web search");
        assert_eq!(search.category, Category::Tool);
        assert_eq!(search.unit, Unit::requests());
        assert_eq!(search.quantity, Quantity::from_whole(10));
        assert_eq!(search.requests, None);
    }

    #[test]
    fn no_web_search_line_without_searches() {
        let r: wire::UsageResult = serde_json::from_str(
            r#"{"uncached_input_tokens":1,"output_tokens":2,"cache_read_input_tokens":0,
                "cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},
                "server_tool_use":{"web_search_requests":0},"model":"claude-x","workspace_id":"wrkspc_1"}"#,
        )
        .unwrap();
        let records = map_usage(day("2025-08-01"), r);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].workspace_id.as_deref(), Some("wrkspc_1"));
    }

    #[test]
    fn costs_are_cents() {
        let r: wire::CostResult = serde_json::from_str(
            r#"{"currency":"USD","amount":"123.78912","workspace_id":"wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ",
                "description":"Claude Sonnet 4 Usage - Input Tokens","cost_type":"tokens","context_window":"0-200k",
                "model":"claude-sonnet-4-20250514","service_tier":"standard","token_type":"uncached_input_tokens"}"#,
        )
        .unwrap();
        let cost = map_cost(day("2025-08-01"), r, AT).unwrap();
        assert_eq!(cost.cost.nanos(), 1_237_891_200);
        assert_eq!(cost.model.as_deref(), Some("claude-sonnet-4-20250514"));
        assert_eq!(cost.token_class, Some(TokenClass::Input));
        assert_eq!(cost.category, Some(Category::Text));
        assert_eq!(cost.currency.as_str(), "USD");
        assert_eq!(cost.description, "Claude Sonnet 4 Usage - Input Tokens");
    }

    #[test]
    fn token_types_map_to_token_classes() {
        assert_eq!(
            token_class("uncached_input_tokens"),
            Some(TokenClass::Input)
        );
        assert_eq!(
            token_class("cache_read_input_tokens"),
            Some(TokenClass::CachedInput)
        );
        assert_eq!(
            token_class("cache_creation.ephemeral_1h_input_tokens"),
            Some(TokenClass::CacheWrite)
        );
        assert_eq!(
            token_class("cache_creation.ephemeral_5m_input_tokens"),
            Some(TokenClass::CacheWrite)
        );
        assert_eq!(token_class("output_tokens"), Some(TokenClass::Output));
        assert_eq!(token_class("something_new"), None);
    }

    #[test]
    fn tool_costs_are_named_and_the_default_workspace_is_default() {
        let web: wire::CostResult = serde_json::from_str(
            r#"{"currency":"USD","amount":"1000","workspace_id":null,"description":"Web Search Usage",
                "cost_type":"web_search","model":null,"token_type":null}"#,
        )
        .unwrap();
        let web = map_cost(day("2025-08-01"), web, AT).unwrap();
        assert_eq!(web.model.as_deref(), Some("web search"));
        assert_eq!(web.category, Some(Category::Tool));
        assert_eq!(web.workspace_id.as_deref(), Some("default"));
        assert_eq!(web.cost.nanos(), 10_000_000_000);
        let code: wire::CostResult = serde_json::from_str(
            r#"{"currency":"USD","amount":"5","description":"Code Execution Usage","cost_type":"code_execution"}"#,
        )
        .unwrap();
        let code = map_cost(day("2025-08-01"), code, AT).unwrap();
        assert_eq!(code.model.as_deref(), Some("code execution"));
        assert_eq!(code.category, Some(Category::Tool));
        let session: wire::CostResult = serde_json::from_str(
            r#"{"currency":"USD","amount":"0.5","description":"Session Usage","cost_type":"session_usage"}"#,
        )
        .unwrap();
        let session = map_cost(day("2025-08-01"), session, AT).unwrap();
        assert_eq!(session.model.as_deref(), Some("session"));
        assert_eq!(session.category, Some(Category::Other));
        assert_eq!(session.cost.nanos(), 5_000_000);
    }

    #[test]
    fn a_key_in_the_default_workspace_is_put_there_in_both_api_generations() {
        let listed: HashSet<&str> = ["wrkspc_real"].into_iter().collect();
        let old: wire::ApiKey = serde_json::from_str(
            r#"{"id":"apikey_1","workspace_id":null,"status":"active","partial_key_hint":"sk-ant-api03-R2D...igAA"}"#,
        )
        .unwrap();
        assert_eq!(
            map_key(old, "active", &listed).workspace_id.as_deref(),
            Some("default")
        );
        let new: wire::ApiKey = serde_json::from_str(
            r#"{"id":"apikey_2","status":"inactive","scope":{"type":"workspace","workspace_id":"wrkspc_default_real_id"}}"#,
        )
        .unwrap();
        let record = map_key(new, "inactive", &listed);
        assert_eq!(record.workspace_id.as_deref(), Some("default"));
        assert_eq!(record.status, KeyStatus::Inactive);
        let in_listed: wire::ApiKey = serde_json::from_str(
            r#"{"id":"apikey_3","scope":{"type":"workspace","workspace_id":"wrkspc_real"}}"#,
        )
        .unwrap();
        let record = map_key(in_listed, "archived", &listed);
        assert_eq!(record.workspace_id.as_deref(), Some("wrkspc_real"));
        assert_eq!(record.status, KeyStatus::Archived);
        let org: wire::ApiKey =
            serde_json::from_str(r#"{"id":"apikey_4","scope":{"type":"organization"}}"#).unwrap();
        assert_eq!(map_key(org, "active", &listed).workspace_id, None);
    }

    #[test]
    fn advice_tells_a_standard_key_from_a_missing_permission() {
        assert!(rejected_advice(401, "invalid x-api-key").contains("standard API key"));
        assert!(rejected_advice(403, "permission").contains("Admin key"));
    }
}
