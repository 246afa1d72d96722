//! Runway: net credits per day and model from the developer API's organization usage report
//! (shared/providers/runway.md).
//!
//! - Workspace: the developer-portal organization the key belongs to. The API names no
//!   organization id or name, so it is one workspace, id `organization`, named "Runway
//!   organization" (rename it in spendlens).
//! - Usage and cost: `POST /v1/organization/usage` with `{startDate, beforeDate}` (exclusive),
//!   in windows of at most 90 days (Runway's limit). Each (day, model) is net credits, negative
//!   on days when refunds exceeded charges. Work is the quantity in `credits`; cost is
//!   credits × $0.01, exactly. Days without usage are absent.
//! - API keys: none. `resultsByApiKey` is reserved for future use, so usage is booked to the
//!   organization with no key; a note says so.
//! - Requests: not reported (`dailyGenerations` is a rolling 24-hour snapshot, not a daily
//!   history): unknown (`None`).
//! - The credit balance from `GET /v1/organization` goes into a note.
//! - Not read: the web-app usage (`/v1/organization/webapp/usage`): a separate credit pool
//!   whose dollar value is not documented.

mod wire;

use std::collections::{BTreeMap, HashSet};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use rust_decimal::Decimal;
use serde_json::json;
use spendlens_domain::money::parse_decimal;
use spendlens_domain::{
    BilledCost, Category, Credential, Currency, Day, DayRange, FetchedWindow, Money, ProviderKind,
    Quantity, TokenCounts, Unit, UsageRecord, WorkspaceRecord,
};

use crate::error::ProviderError;
use crate::http::{At, CallStats, Client, Profile, number_text, secret_header};
use crate::{ConnectionCheck, ConnectorConfig};

const PROVIDER: ProviderKind = ProviderKind::Runway;
const PORTAL_URL: &str = "https://dev.runwayml.com";
/// The API version spendlens speaks; Runway requires it on every request.
const API_VERSION: &str = "2024-11-06";
const ORGANIZATION_PATH: &str = "/v1/organization";
const USAGE_PATH: &str = "/v1/organization/usage";
/// The longest window one usage request may span.
const MAX_WINDOW_DAYS: i64 = 90;
/// The one workspace: Runway names no organization id.
pub(crate) const ORGANIZATION_ID: &str = "organization";
const ORGANIZATION_NAME: &str = "Runway organization";
const UNKNOWN_MODEL: &str = "unknown";

fn client<'a>(
    credential: &'a Credential,
    config: &ConnectorConfig,
    stats: &'a CallStats,
) -> Result<Client<'a>, ProviderError> {
    let secret = credential.expose_secret().trim();
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        secret_header(PROVIDER, &format!("Bearer {secret}"))?,
    );
    headers.insert(
        HeaderName::from_static("x-runway-version"),
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
        secret,
        &config.http,
        stats,
    )
}

fn rejected_advice(status: u16, _message: &str) -> String {
    if status == 403 {
        format!(
            "The key is not allowed to read the organization's usage; create a new API key for \
             the organization in the developer portal ({PORTAL_URL}) and update the connection."
        )
    } else {
        format!(
            "The key may be disabled, deleted or mistyped; create a new API key in the developer \
             portal ({PORTAL_URL}, your integration → API keys) and update the connection."
        )
    }
}

pub(crate) async fn check_connection(
    credential: &Credential,
    config: &ConnectorConfig,
    stats: &CallStats,
) -> Result<ConnectionCheck, ProviderError> {
    let client = client(credential, config, stats)?;
    let organization: wire::Organization = client.get(ORGANIZATION_PATH, &[], 1).await?;
    let balance = credits_text(organization.credit_balance.as_deref())
        .map(|balance| format!(": {balance} left"))
        .unwrap_or_default();
    Ok(ConnectionCheck {
        summary: format!("Runway organization reachable{balance}"),
    })
}

pub(crate) async fn fetch_window(
    credential: &Credential,
    config: &ConnectorConfig,
    window: DayRange,
    stats: &CallStats,
) -> Result<FetchedWindow, ProviderError> {
    let client = client(credential, config, stats)?;
    let organization: wire::Organization = client.get(ORGANIZATION_PATH, &[], 1).await?;
    let mut notes = Vec::new();
    if let Some(balance) = credits_text(organization.credit_balance.as_deref()) {
        let cap = organization
            .tier
            .as_ref()
            .and_then(|tier| credits_text(tier.max_monthly_credit_spend.as_deref()))
            .map(|cap| format!("; the tier allows buying up to {cap} a month"))
            .unwrap_or_default();
        notes.push(format!(
            "Runway credit balance at sync time: {balance}{cap}."
        ));
    }
    notes.push(
        "Runway reports usage per organization and model only: not per API key (its per-key \
         report is reserved for future use) and without request counts. All usage is booked to \
         the organization with no key, and its work shows in credits where others show requests."
            .to_owned(),
    );

    let mut credits: BTreeMap<(Day, String), Decimal> = BTreeMap::new();
    for (index, chunk) in window.chunks(MAX_WINDOW_DAYS).into_iter().enumerate() {
        let page = u32::try_from(index + 1).unwrap_or(u32::MAX);
        fetch_chunk(&client, chunk, page, &mut credits).await?;
    }

    let mut usage = Vec::new();
    let mut costs = Vec::new();
    for ((day, model), amount) in credits {
        // A (day, model) whose refunds cancel its charges carries nothing to book.
        if amount.is_zero() {
            continue;
        }
        let invalid = |error: spendlens_domain::MoneyError| ProviderError::UnexpectedPage {
            provider: PROVIDER,
            endpoint: USAGE_PATH.to_owned(),
            page: 1,
            detail: format!("the credits of {model} on {day}: {error}"),
        };
        let dollars = Money::from_decimal(amount / Decimal::ONE_HUNDRED).map_err(invalid)?;
        let quantity = Quantity::from_decimal(amount).map_err(invalid)?;
        let category = category(&model);
        usage.push(UsageRecord {
            day,
            workspace_id: Some(ORGANIZATION_ID.to_owned()),
            api_key_id: None,
            model: model.clone(),
            category,
            unit: Unit::credits(),
            detail: String::new(),
            tokens: TokenCounts::default(),
            requests: None,
            quantity,
            unpriced: false,
        });
        costs.push(BilledCost {
            day,
            workspace_id: Some(ORGANIZATION_ID.to_owned()),
            api_key_id: None,
            model: Some(model.clone()),
            token_class: None,
            category: Some(category),
            description: format!("{model}: {} credits", amount.normalize()),
            cost: dollars,
            credits: Money::ZERO,
            currency: Currency::usd(),
            estimated: false,
            billing: None,
        });
    }
    Ok(FetchedWindow {
        workspaces: vec![WorkspaceRecord {
            provider_id: ORGANIZATION_ID.to_owned(),
            name: ORGANIZATION_NAME.to_owned(),
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

/// One usage request of at most 90 days; `page` numbers the requests of the window.
async fn fetch_chunk(
    client: &Client<'_>,
    chunk: DayRange,
    page: u32,
    credits: &mut BTreeMap<(Day, String), Decimal>,
) -> Result<(), ProviderError> {
    let before = chunk
        .end_exclusive()
        .map_err(|error| ProviderError::InvalidWindow {
            provider: PROVIDER,
            window: chunk.to_string(),
            reason: error.to_string(),
        })?;
    let body = json!({
        "startDate": chunk.from().to_string(),
        "beforeDate": before.to_string(),
    });
    let response: wire::UsageResponse = client.post_json(USAGE_PATH, &[], &body, page).await?;
    let at = At {
        endpoint: USAGE_PATH,
        page,
    };
    let unexpected = |detail: String| ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: at.endpoint.to_owned(),
        page: at.page,
        detail,
    };
    let results = response
        .results
        .ok_or_else(|| unexpected("the answer has no results".to_owned()))?;
    let mut seen = HashSet::new();
    for result in results {
        let text = result.date.unwrap_or_default();
        let day: Day = text
            .get(..10)
            .and_then(|date| date.parse().ok())
            .ok_or_else(|| unexpected(format!("a result is dated \"{text}\", not YYYY-MM-DD")))?;
        if !chunk.contains(day) {
            return Err(unexpected(format!(
                "a result for {day} is outside the requested dates {chunk}"
            )));
        }
        if !seen.insert(day) {
            return Err(ProviderError::DuplicateBucket {
                provider: PROVIDER,
                endpoint: at.endpoint.to_owned(),
                page: at.page,
                day: day.to_string(),
            });
        }
        for used in result.used_credits {
            let model = used
                .model
                .as_deref()
                .map(str::trim)
                .filter(|model| !model.is_empty())
                .unwrap_or(UNKNOWN_MODEL)
                .to_owned();
            let amount = used
                .amount
                .as_deref()
                .and_then(number_text)
                .ok_or_else(|| {
                    unexpected(format!("the credits of {model} on {day} have no amount"))
                })
                .and_then(|text| {
                    parse_decimal(&text).map_err(|error| {
                        unexpected(format!("the credits of {model} on {day}: {error}"))
                    })
                })?;
            let sum = credits.entry((day, model)).or_insert(Decimal::ZERO);
            *sum = sum
                .checked_add(amount)
                .ok_or_else(|| unexpected(format!("the credits on {day} overflow")))?;
        }
    }
    Ok(())
}

/// `5000 credits ($50.00)`, when the value reads as a number.
fn credits_text(raw: Option<&serde_json::value::RawValue>) -> Option<String> {
    let credits = parse_decimal(&number_text(raw?)?).ok()?;
    let dollars = Money::from_decimal(credits / Decimal::ONE_HUNDRED).ok()?;
    Some(format!(
        "{} credits (${})",
        credits.normalize(),
        dollars.to_exact_string()
    ))
}

/// The category of a Runway model, where its name makes it obvious: `gen4_image` is image,
/// `eleven_*` (ElevenLabs voices) audio, `gen*`, `veo*`, `act_*`, `kling*`, `seedance*` and
/// upscalers video; anything else other.
fn category(model: &str) -> Category {
    let model = model.to_ascii_lowercase();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|prefix| model.starts_with(prefix));
    if model.contains("image") {
        Category::Image
    } else if starts(&["eleven", "tts", "voice", "audio", "sound", "music"]) {
        Category::Audio
    } else if starts(&[
        "gen", "veo", "act_", "act-", "kling", "seedance", "upscale", "aleph", "wan", "luma",
        "hailuo", "sora",
    ]) || model.contains("video")
    {
        Category::Video
    } else {
        Category::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_categorized_where_the_name_is_obvious() {
        assert_eq!(category("gen4_image"), Category::Image);
        assert_eq!(category("gen4_turbo"), Category::Video);
        assert_eq!(category("gen4.5"), Category::Video);
        assert_eq!(category("veo3.1"), Category::Video);
        assert_eq!(category("act_two"), Category::Video);
        assert_eq!(category("eleven_multilingual_v2"), Category::Audio);
        assert_eq!(category("upscale_v1"), Category::Video);
        assert_eq!(category("something_new"), Category::Other);
    }

    #[test]
    fn credits_read_as_credits_and_dollars() {
        let raw = serde_json::value::RawValue::from_string("5000".to_owned()).unwrap();
        assert_eq!(
            credits_text(Some(&raw)).as_deref(),
            Some("5000 credits ($50.00)")
        );
        let raw = serde_json::value::RawValue::from_string("null".to_owned()).unwrap();
        assert_eq!(credits_text(Some(&raw)), None);
    }

    #[test]
    fn advice_points_at_the_developer_portal() {
        assert!(rejected_advice(401, "Invalid API key").contains("dev.runwayml.com"));
    }
}
