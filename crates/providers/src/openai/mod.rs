//! OpenAI: projects, project API keys, the six usage endpoints that carry AI work, and costs,
//! from the Organization Admin API (shared/providers/openai.md).
//!
//! Workspaces are projects. Usage is grouped by project, key and model (images also by size);
//! costs by project and line item. Money comes only from `/organization/costs`.

mod line_item;
mod wire;

use reqwest::header::{AUTHORIZATION, HeaderMap};
use spendlens_domain::{
    ApiKeyRecord, BilledCost, Category, Credential, Currency, Day, DayRange, FetchedWindow,
    KeyStatus, Money, ProviderKind, Quantity, TokenCounts, Unit, UsageRecord, WorkspaceRecord,
};
use time::OffsetDateTime;

use crate::error::ProviderError;
use crate::http::{At, CallStats, Client, Profile, secret_header};
use crate::paging::{list_all, list_buckets};
use crate::{ConnectionCheck, ConnectorConfig};

const PROVIDER: ProviderKind = ProviderKind::OpenAi;
const ADMIN_KEYS_URL: &str = "https://platform.openai.com/settings/organization/admin-keys";
/// Buckets per page: the documented maxima.
const USAGE_PAGE_BUCKETS: u32 = 31;
const COSTS_PAGE_BUCKETS: u32 = 180;
/// Items per page of the project and key lists (the documented maximum).
const LIST_LIMIT: u32 = 100;
/// The model of a usage line that names none.
const UNKNOWN_MODEL: &str = "unknown";

pub(crate) fn client<'a>(
    credential: &'a Credential,
    config: &ConnectorConfig,
    stats: &'a CallStats,
) -> Result<Client<'a>, ProviderError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        secret_header(PROVIDER, &format!("Bearer {}", credential.expose_secret()))?,
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

fn rejected_advice(status: u16, message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    if lower.contains("missing scope") || lower.contains("api.usage.read") || status == 403 {
        format!(
            "This key is not an organization Admin key: project keys (sk-proj-…) and service-account \
             keys cannot read billing data. Create an Admin key at {ADMIN_KEYS_URL} (organization \
             owners only) and update the connection."
        )
    } else {
        format!(
            "The key may be revoked or mistyped: create a new Admin key at {ADMIN_KEYS_URL} and \
             update the connection."
        )
    }
}

pub(crate) async fn check_connection(
    client: &Client<'_>,
) -> Result<ConnectionCheck, ProviderError> {
    let page: wire::ListPage<wire::Project> = client
        .get(
            "/organization/projects",
            &[
                ("limit", LIST_LIMIT.to_string()),
                ("include_archived", "true".to_owned()),
            ],
            1,
        )
        .await?;
    let count = page.data.len();
    let plural = if count == 1 { "project" } else { "projects" };
    let more = if page.has_more { "+" } else { "" };
    Ok(ConnectionCheck {
        summary: format!("OpenAI organization reachable: {count}{more} {plural} visible"),
    })
}

pub(crate) async fn fetch_window(
    client: &Client<'_>,
    window: DayRange,
) -> Result<FetchedWindow, ProviderError> {
    let (start_time, end_time) = window_bounds(window)?;
    let projects = list_projects(client).await?;
    let mut api_keys = Vec::new();
    for project in &projects {
        api_keys.extend(list_keys(client, project).await?);
    }

    let mut usage = Vec::new();
    for endpoint in UsageEndpoint::ALL {
        usage.extend(endpoint.fetch(client, window, start_time, end_time).await?);
    }
    let costs = fetch_costs(client, window, start_time, end_time).await?;
    Ok(FetchedWindow {
        workspaces: projects,
        api_keys,
        usage,
        costs,
        notes: Vec::new(),
        served: None,
        services: Vec::new(),
        invoice_months: None,
    })
}

/// `start_time` (inclusive) and `end_time` (exclusive) as UTC midnights in Unix seconds.
fn window_bounds(window: DayRange) -> Result<(i64, i64), ProviderError> {
    let end = window
        .end_exclusive()
        .map_err(|error| ProviderError::InvalidWindow {
            provider: PROVIDER,
            window: window.to_string(),
            reason: error.to_string(),
        })?;
    Ok((window.from().start_unix(), end.start_unix()))
}

fn unix_time(seconds: Option<i64>) -> Option<OffsetDateTime> {
    seconds.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
}

async fn list_projects(client: &Client<'_>) -> Result<Vec<WorkspaceRecord>, ProviderError> {
    let projects = list_all::<wire::ListPage<wire::Project>>(
        client,
        "/organization/projects",
        &[
            ("limit", LIST_LIMIT.to_string()),
            ("include_archived", "true".to_owned()),
        ],
        "after",
    )
    .await?;
    Ok(projects
        .into_iter()
        .map(|project| WorkspaceRecord {
            archived: project.archived_at.is_some()
                || project
                    .status
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("archived")),
            name: project
                .name
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| project.id.clone()),
            created_at: unix_time(project.created_at),
            provider_id: project.id,
        })
        .collect())
}

async fn list_keys(
    client: &Client<'_>,
    project: &WorkspaceRecord,
) -> Result<Vec<ApiKeyRecord>, ProviderError> {
    let path = format!("/organization/projects/{}/api_keys", project.provider_id);
    let keys = match list_all::<wire::ListPage<wire::ProjectApiKey>>(
        client,
        &path,
        &[("limit", LIST_LIMIT.to_string())],
        "after",
    )
    .await
    {
        Ok(keys) => keys,
        // An archived project may no longer list its keys; its usage still counts.
        Err(ProviderError::RequestRefused { status: 404, .. }) if project.archived => Vec::new(),
        Err(error) => return Err(error),
    };
    // OpenAI lists only usable keys; those of an archived project can no longer be used.
    let status = if project.archived {
        KeyStatus::Archived
    } else {
        KeyStatus::Active
    };
    Ok(keys
        .into_iter()
        .map(|key| ApiKeyRecord {
            provider_id: key.id,
            name: key.name,
            hint: key.redacted_value,
            workspace_id: Some(project.provider_id.clone()),
            status,
            created_at: unix_time(key.created_at),
            last_used_at: unix_time(key.last_used_at),
        })
        .collect())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UsageEndpoint {
    Completions,
    Embeddings,
    Moderations,
    Images,
    AudioSpeeches,
    AudioTranscriptions,
}

impl UsageEndpoint {
    const ALL: [UsageEndpoint; 6] = [
        UsageEndpoint::Completions,
        UsageEndpoint::Embeddings,
        UsageEndpoint::Moderations,
        UsageEndpoint::Images,
        UsageEndpoint::AudioSpeeches,
        UsageEndpoint::AudioTranscriptions,
    ];

    fn path(self) -> &'static str {
        match self {
            UsageEndpoint::Completions => "/organization/usage/completions",
            UsageEndpoint::Embeddings => "/organization/usage/embeddings",
            UsageEndpoint::Moderations => "/organization/usage/moderations",
            UsageEndpoint::Images => "/organization/usage/images",
            UsageEndpoint::AudioSpeeches => "/organization/usage/audio_speeches",
            UsageEndpoint::AudioTranscriptions => "/organization/usage/audio_transcriptions",
        }
    }

    fn query(self, start_time: i64, end_time: i64) -> Vec<(&'static str, String)> {
        let mut query = vec![
            ("start_time", start_time.to_string()),
            ("end_time", end_time.to_string()),
            ("bucket_width", "1d".to_owned()),
            ("limit", USAGE_PAGE_BUCKETS.to_string()),
            ("group_by", "project_id".to_owned()),
            ("group_by", "api_key_id".to_owned()),
            ("group_by", "model".to_owned()),
        ];
        if self == UsageEndpoint::Images {
            query.push(("group_by", "size".to_owned()));
        }
        query
    }

    async fn fetch(
        self,
        client: &Client<'_>,
        window: DayRange,
        start_time: i64,
        end_time: i64,
    ) -> Result<Vec<UsageRecord>, ProviderError> {
        use wire::BucketPage as Page;
        let path = self.path();
        let query = self.query(start_time, end_time);
        match self {
            UsageEndpoint::Completions => {
                list_buckets::<Page<wire::CompletionsResult>, _>(
                    client,
                    path,
                    &query,
                    window,
                    |day, r, _| Ok(vec![map_completions(day, r)]),
                )
                .await
            }
            UsageEndpoint::Embeddings | UsageEndpoint::Moderations => {
                let category = if self == UsageEndpoint::Embeddings {
                    Category::Embedding
                } else {
                    Category::Moderation
                };
                list_buckets::<Page<wire::TokensResult>, _>(
                    client,
                    path,
                    &query,
                    window,
                    |day, r, _| Ok(vec![map_input_only(day, r, category)]),
                )
                .await
            }
            UsageEndpoint::Images => {
                list_buckets::<Page<wire::ImagesResult>, _>(
                    client,
                    path,
                    &query,
                    window,
                    |day, r, _| Ok(vec![map_images(day, r)]),
                )
                .await
            }
            UsageEndpoint::AudioSpeeches => {
                list_buckets::<Page<wire::AudioSpeechesResult>, _>(
                    client,
                    path,
                    &query,
                    window,
                    |day, r, _| {
                        let dims = Dims {
                            project_id: r.project_id,
                            api_key_id: r.api_key_id,
                            model: r.model,
                        };
                        Ok(vec![quantity_record(
                            day,
                            dims,
                            Unit::characters(),
                            r.characters,
                            r.num_model_requests,
                        )])
                    },
                )
                .await
            }
            UsageEndpoint::AudioTranscriptions => {
                list_buckets::<Page<wire::AudioTranscriptionsResult>, _>(
                    client,
                    path,
                    &query,
                    window,
                    |day, r, _| {
                        let dims = Dims {
                            project_id: r.project_id,
                            api_key_id: r.api_key_id,
                            model: r.model,
                        };
                        Ok(vec![quantity_record(
                            day,
                            dims,
                            Unit::seconds(),
                            r.seconds,
                            r.num_model_requests,
                        )])
                    },
                )
                .await
            }
        }
    }
}

struct Dims {
    project_id: Option<String>,
    api_key_id: Option<String>,
    model: Option<String>,
}

fn model_name(model: Option<String>) -> String {
    model
        .filter(|model| !model.trim().is_empty())
        .unwrap_or_else(|| UNKNOWN_MODEL.to_owned())
}

fn map_completions(day: Day, r: wire::CompletionsResult) -> UsageRecord {
    UsageRecord {
        day,
        workspace_id: r.project_id,
        api_key_id: r.api_key_id,
        model: model_name(r.model),
        category: Category::Text,
        unit: Unit::tokens(),
        detail: String::new(),
        // `input_tokens` already includes the cached tokens: they are a part, not an addition.
        tokens: TokenCounts {
            input: r.input_tokens,
            output: r.output_tokens,
            cache_read: r.input_cached_tokens,
            cache_write: 0,
        },
        requests: Some(r.num_model_requests),
        quantity: Quantity::ZERO,
        unpriced: false,
    }
}

fn map_input_only(day: Day, r: wire::TokensResult, category: Category) -> UsageRecord {
    UsageRecord {
        day,
        workspace_id: r.project_id,
        api_key_id: r.api_key_id,
        model: model_name(r.model),
        category,
        unit: Unit::tokens(),
        detail: String::new(),
        tokens: TokenCounts {
            input: r.input_tokens,
            ..TokenCounts::default()
        },
        requests: Some(r.num_model_requests),
        quantity: Quantity::ZERO,
        unpriced: false,
    }
}

fn map_images(day: Day, r: wire::ImagesResult) -> UsageRecord {
    UsageRecord {
        day,
        workspace_id: r.project_id,
        api_key_id: r.api_key_id,
        model: model_name(r.model),
        category: Category::Image,
        unit: Unit::images(),
        detail: r.size.unwrap_or_default(),
        tokens: TokenCounts::default(),
        requests: Some(r.num_model_requests),
        quantity: Quantity::from_whole(r.images),
        unpriced: false,
    }
}

/// Audio work: characters spoken or seconds transcribed.
fn quantity_record(day: Day, dims: Dims, unit: Unit, quantity: i64, requests: i64) -> UsageRecord {
    UsageRecord {
        day,
        workspace_id: dims.project_id,
        api_key_id: dims.api_key_id,
        model: model_name(dims.model),
        category: Category::Audio,
        unit,
        detail: String::new(),
        tokens: TokenCounts::default(),
        requests: Some(requests),
        quantity: Quantity::from_whole(quantity),
        unpriced: false,
    }
}

async fn fetch_costs(
    client: &Client<'_>,
    window: DayRange,
    start_time: i64,
    end_time: i64,
) -> Result<Vec<BilledCost>, ProviderError> {
    let query = [
        ("start_time", start_time.to_string()),
        ("end_time", end_time.to_string()),
        ("bucket_width", "1d".to_owned()),
        ("limit", COSTS_PAGE_BUCKETS.to_string()),
        ("group_by", "project_id".to_owned()),
        ("group_by", "line_item".to_owned()),
    ];
    list_buckets::<wire::BucketPage<wire::CostResult>, _>(
        client,
        "/organization/costs",
        &query,
        window,
        |day, result, at| map_cost(day, result, at).map(|cost| vec![cost]),
    )
    .await
}

fn map_cost(day: Day, r: wire::CostResult, at: At<'_>) -> Result<BilledCost, ProviderError> {
    let unexpected = |detail: String| ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: at.endpoint.to_owned(),
        page: at.page,
        detail,
    };
    let text = r
        .amount
        .value_text()
        .ok_or_else(|| unexpected(format!("a cost for {day} has no amount")))?;
    let cost = Money::parse_units(&text)
        .map_err(|error| unexpected(format!("a cost for {day}: {error}")))?;
    let currency = match r.amount.currency.as_deref() {
        Some(code) => Currency::parse(code).map_err(|_| {
            unexpected(format!("a cost for {day} is in \"{code}\", not a currency"))
        })?,
        None => Currency::usd(),
    };
    let description = r
        .line_item
        .filter(|item| !item.trim().is_empty())
        .unwrap_or_else(|| "OpenAI costs".to_owned());
    let item = line_item::parse_line_item(&description);
    Ok(BilledCost {
        day,
        workspace_id: r.project_id,
        api_key_id: r.api_key_id,
        model: item.model,
        token_class: item.token_class,
        category: Some(item.category),
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

    #[test]
    fn the_window_is_sent_as_utc_midnights_with_an_exclusive_end() {
        let window = DayRange::new(day("2025-01-12"), day("2025-01-13")).unwrap();
        assert_eq!(
            window_bounds(window).unwrap(),
            (1_736_640_000, 1_736_812_800)
        );
    }

    #[test]
    fn cached_tokens_are_a_part_of_input_not_an_addition() {
        let r: wire::CompletionsResult = serde_json::from_str(
            r#"{"input_tokens": 45949, "output_tokens": 282, "input_cached_tokens": 1024,
                "num_model_requests": 150, "project_id": "proj_abc", "model": "gpt-4o-mini-2024-07-18"}"#,
        )
        .unwrap();
        let record = map_completions(day("2025-01-12"), r);
        assert_eq!(record.tokens.input, 45_949);
        assert_eq!(record.tokens.cache_read, 1024);
        assert_eq!(record.tokens.uncached_input(), 44_925);
        assert_eq!(record.requests, Some(150));
        assert_eq!(record.workspace_id.as_deref(), Some("proj_abc"));
    }

    #[test]
    fn images_keep_their_count_and_size() {
        let r: wire::ImagesResult = serde_json::from_str(
            r#"{"images": 3, "num_model_requests": 2, "size": "1024x1024", "source": "image.generation", "model": "dall-e-3"}"#,
        )
        .unwrap();
        let record = map_images(day("2025-01-12"), r);
        assert_eq!(record.unit, Unit::images());
        assert_eq!(record.quantity, Quantity::from_whole(3));
        assert_eq!(record.detail, "1024x1024");
        assert_eq!(record.category, Category::Image);
    }

    #[test]
    fn costs_are_read_from_their_text_never_through_a_float() {
        let at = At {
            endpoint: "/organization/costs",
            page: 1,
        };
        let r: wire::CostResult = serde_json::from_str(
            r#"{"amount":{"value":0.1000000000000000055511151231257827,"currency":"usd"},"line_item":"gpt-4o-2024-08-06, cached input","project_id":"proj_1"}"#,
        )
        .unwrap();
        let cost = map_cost(day("2025-01-12"), r, at).unwrap();
        assert_eq!(cost.cost.nanos(), 100_000_000);
        assert_eq!(cost.currency.as_str(), "USD");
        assert_eq!(cost.model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(
            cost.token_class,
            Some(spendlens_domain::TokenClass::CachedInput)
        );
        assert_eq!(cost.description, "gpt-4o-2024-08-06, cached input");

        let r: wire::CostResult = serde_json::from_str(
            r#"{"amount":{"value":"0.000000123","currency":"usd"},"line_item":"web search tool calls","project_id":null}"#,
        )
        .unwrap();
        let cost = map_cost(day("2025-01-12"), r, at).unwrap();
        assert_eq!(cost.cost.nanos(), 123);
        assert_eq!(cost.model, None);
        assert_eq!(cost.category, Some(Category::Other));
        assert_eq!(cost.description, "web search tool calls");

        let r: wire::CostResult =
            serde_json::from_str(r#"{"amount":{"value":"lots","currency":"usd"}}"#).unwrap();
        let err = map_cost(day("2025-01-12"), r, at).unwrap_err();
        assert!(
            matches!(err, ProviderError::UnexpectedPage { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_revoked_or_mistyped_key_gets_different_advice_than_a_project_key() {
        assert!(rejected_advice(401, "Incorrect API key provided").contains("revoked or mistyped"));
        assert!(
            rejected_advice(
                403,
                "You have insufficient permissions. Missing scopes: api.usage.read"
            )
            .contains("not an organization Admin key")
        );
        assert!(
            rejected_advice(401, "Missing scopes: api.usage.read")
                .contains("not an organization Admin key")
        );
    }
}
