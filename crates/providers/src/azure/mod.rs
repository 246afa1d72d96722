//! Azure OpenAI: daily amortized cost per Cognitive Services account and meter from the Azure
//! Cost Management Query API, read with a service principal (shared/providers/azure-openai.md).
//!
//! - Auth: client-credentials token from `{login}/{tenant}/oauth2/v2.0/token`, scope
//!   `https://management.azure.com/.default` ([`client`]). The login and ARM hosts are server
//!   configuration: the public hosts, or both at the connection's base-URL override (local
//!   stand-ins, proxies) — never from the credential.
//! - One query per calendar month of the window (`timeframe: Custom`, `to` inclusive at
//!   23:59:59), `type: AmortizedCost`, daily, grouped by `ResourceId` and `Meter`, filtered to
//!   `ResourceType = microsoft.cognitiveservices/accounts` (kinds OpenAI and AIServices; no
//!   service name is hard-coded). Pages follow `nextLink` verbatim, only on the ARM host.
//! - Currency: `Cost` is in the billing currency. When any row is in another currency than USD
//!   the same query is run for `CostUSD`: each line's cost is the USD amount, and the
//!   billing-currency amount is kept beside it (`BilledCost::billing`), as Vertex does.
//! - Workspaces: the accounts (resource IDs, lower-case; name = last path segment). No API keys
//!   (inference keys never appear in billing), no request counts (`None`).
//! - Meters → model, token class, unit ([`meter`]); token counts = quantity × 1K / 1M.

mod client;
mod meter;
mod wire;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use rust_decimal::Decimal;
use serde_json::json;
use spendlens_domain::credential::AzureServicePrincipal;
use spendlens_domain::money::parse_decimal;
use spendlens_domain::{
    Billed, BilledCost, Credential, Currency, Day, DayRange, FetchedWindow, Money, ProviderKind,
    Quantity, TokenClass, TokenCounts, UsageRecord, WorkspaceRecord,
};
use url::Url;

use crate::error::ProviderError;
use crate::http::{At, CallStats, endpoint_url, number_text};
use crate::{ConnectionCheck, ConnectorConfig};

use client::Arm;
use meter::parse_meter;
use wire::Properties;

pub(crate) const PROVIDER: ProviderKind = ProviderKind::AzureOpenAi;
/// The pinned Cost Management API version.
pub(crate) const API_VERSION: &str = "2025-03-01";
pub(crate) const LOGIN_BASE: &str = "https://login.microsoftonline.com";
const ENDPOINT: &str = "/providers/Microsoft.CostManagement/query";
const RESOURCE_TYPE: &str = "microsoft.cognitiveservices/accounts";
/// More pages than one month of one scope can need (5,000 rows a page at most).
const MAX_PAGES: u32 = 500;

/// The login and ARM bases: the public hosts, or both at the override.
fn bases(config: &ConnectorConfig) -> Result<(Url, Url), ProviderError> {
    let arm = config.base_url_for(PROVIDER);
    let login = match &config.base_url {
        Some(url) => url.clone(),
        None => Url::parse(LOGIN_BASE).map_err(|error| ProviderError::InvalidBaseUrl {
            provider: PROVIDER,
            url: LOGIN_BASE.to_owned(),
            reason: error.to_string(),
            default: LOGIN_BASE.to_owned(),
        })?,
    };
    Ok((login, arm))
}

fn principal(credential: &Credential) -> Result<AzureServicePrincipal, ProviderError> {
    AzureServicePrincipal::parse(credential.expose_secret()).map_err(|error| {
        ProviderError::UnreadableCredential {
            provider: PROVIDER,
            reason: error.to_string(),
            advice: "paste the app registration's credential JSON again".to_owned(),
        }
    })
}

fn unexpected(at: At<'_>, detail: String) -> ProviderError {
    ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: at.endpoint.to_owned(),
        page: at.page,
        detail,
    }
}

pub(crate) async fn check_connection(
    credential: &Credential,
    config: &ConnectorConfig,
    stats: &CallStats,
) -> Result<ConnectionCheck, ProviderError> {
    let principal = principal(credential)?;
    let (login, arm_base) = bases(config)?;
    let mut arm = Arm::new(&principal, &login, arm_base, &config.http, stats)?;
    // The month so far, one total: proves the token, the role and the scope in one call.
    let body = json!({
        "type": "AmortizedCost",
        "timeframe": "MonthToDate",
        "dataset": {
            "granularity": "None",
            "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
            "filter": resource_filter(),
        },
    });
    let url = query_url(arm.base(), &principal.scope);
    let at = At {
        endpoint: ENDPOINT,
        page: 1,
    };
    arm.query(url, &body, at).await?;
    let mut summary = format!(
        "Azure Cost Management readable for {} as {}",
        principal.scope,
        principal.hint()
    );
    for warning in &principal.warnings {
        summary.push_str(&format!(" (note: {warning})"));
    }
    Ok(ConnectionCheck { summary })
}

fn resource_filter() -> serde_json::Value {
    json!({"dimensions": {"name": "ResourceType", "operator": "In", "values": [RESOURCE_TYPE]}})
}

fn query_url(base: &Url, scope: &str) -> Url {
    endpoint_url(
        base,
        &format!("{scope}{ENDPOINT}"),
        &[("api-version", API_VERSION.to_owned())],
    )
}

/// The body of one month's query; `usd` asks for `CostUSD` instead of `Cost` + quantity.
fn query_body(month: DayRange, usd: bool) -> serde_json::Value {
    let aggregation = if usd {
        json!({"totalCostUSD": {"name": "CostUSD", "function": "Sum"}})
    } else {
        json!({
            "totalCost": {"name": "Cost", "function": "Sum"},
            "totalQuantity": {"name": "UsageQuantity", "function": "Sum"},
        })
    };
    json!({
        "type": "AmortizedCost",
        "timeframe": "Custom",
        "timePeriod": {
            "from": format!("{}T00:00:00Z", month.from()),
            "to": format!("{}T23:59:59Z", month.to()),
        },
        "dataset": {
            "granularity": "Daily",
            "aggregation": aggregation,
            "grouping": [
                {"type": "Dimension", "name": "ResourceId"},
                {"type": "Dimension", "name": "Meter"},
            ],
            "filter": resource_filter(),
        },
    })
}

/// The calendar months of `window`, each cut to the window.
fn months(window: DayRange) -> Vec<DayRange> {
    let mut out = Vec::new();
    let mut from = window.from();
    while from <= window.to() {
        let mut to = from;
        while let Ok(next) = to.add_days(1) {
            if next > window.to() || next.month() != from.month() {
                break;
            }
            to = next;
        }
        if let Ok(month) = DayRange::new(from, to) {
            out.push(month);
        }
        match to.add_days(1) {
            Ok(next) => from = next,
            Err(_) => break,
        }
    }
    out
}

/// One (day, account, meter) cell: the account as sent (case kept) is part of the key so a
/// row repeated verbatim is caught, while two casings of one account add up.
type RowKey = (Day, String, String);

/// One row of a month's answer.
#[derive(Clone, Debug, Default)]
struct Cell {
    cost: Decimal,
    quantity: Decimal,
    currency: String,
}

/// Reads every page of one query into cells; rows repeated verbatim are refused.
async fn read_query(
    arm: &mut Arm<'_>,
    scope: &str,
    month: DayRange,
    usd: bool,
) -> Result<BTreeMap<RowKey, Cell>, ProviderError> {
    let body = query_body(month, usd);
    let mut url = query_url(arm.base(), scope);
    let mut cells = BTreeMap::new();
    let mut seen_links = HashSet::new();
    let mut page = 1;
    loop {
        let at = At {
            endpoint: ENDPOINT,
            page,
        };
        let Some(result) = arm.query(url.clone(), &body, at).await? else {
            return Ok(cells);
        };
        let Some(props) = result.properties else {
            return Err(unexpected(at, "the answer has no properties".to_owned()));
        };
        read_rows(&props, month, usd, at, &mut cells)?;
        let next = props
            .next_link
            .as_deref()
            .map(str::trim)
            .filter(|link| !link.is_empty());
        let Some(next) = next else {
            return Ok(cells);
        };
        let link =
            Url::parse(next).map_err(|_| unexpected(at, "its nextLink is not a URL".to_owned()))?;
        if !arm.same_host(&link) {
            return Err(unexpected(
                at,
                format!(
                    "its nextLink points at another host ({}); not followed, so the access token \
                     only ever goes to {}",
                    link.host_str().unwrap_or("none"),
                    arm.base().host_str().unwrap_or("the ARM host")
                ),
            ));
        }
        if !seen_links.insert(link.to_string()) || link == url {
            return Err(ProviderError::RepeatedPage {
                provider: PROVIDER,
                endpoint: ENDPOINT.to_owned(),
                page,
            });
        }
        if page >= MAX_PAGES {
            return Err(ProviderError::TooManyPages {
                provider: PROVIDER,
                endpoint: ENDPOINT.to_owned(),
                pages: page,
            });
        }
        url = link;
        page += 1;
    }
}

fn read_rows(
    props: &Properties,
    month: DayRange,
    usd: bool,
    at: At<'_>,
    cells: &mut BTreeMap<RowKey, Cell>,
) -> Result<(), ProviderError> {
    let rows = props.rows.as_deref().unwrap_or_default();
    if rows.is_empty() {
        return Ok(());
    }
    let missing = |what: &str| unexpected(at, format!("the answer has no {what} column"));
    let cost_names: &[&str] = if usd {
        &["CostUSD", "PreTaxCostUSD"]
    } else {
        &["Cost", "PreTaxCost"]
    };
    let cost_at = props
        .column(cost_names)
        .ok_or_else(|| missing(cost_names[0]))?;
    let quantity_at = props.column(&["UsageQuantity"]);
    if !usd && quantity_at.is_none() {
        return Err(missing("UsageQuantity"));
    }
    let date_at = props
        .column(&["UsageDate"])
        .ok_or_else(|| missing("UsageDate"))?;
    let resource_at = props
        .column(&["ResourceId"])
        .ok_or_else(|| missing("ResourceId"))?;
    let meter_at = props
        .column(&["Meter", "MeterName"])
        .ok_or_else(|| missing("Meter"))?;
    let currency_at = props.column(&["Currency", "BillingCurrency", "BillingCurrencyCode"]);
    for (index, row) in rows.iter().enumerate() {
        let cell = |at_column: usize| row.get(at_column).map(|raw| raw.get());
        let text = |at_column: usize| -> Option<String> {
            cell(at_column).and_then(|raw| serde_json::from_str::<String>(raw).ok())
        };
        let number = |at_column: usize, what: &str| -> Result<Decimal, ProviderError> {
            row.get(at_column)
                .and_then(|raw| number_text(raw))
                .and_then(|t| parse_decimal(&t).ok())
                .ok_or_else(|| {
                    unexpected(
                        at,
                        format!(
                            "row {} has no readable {what}: {}",
                            index + 1,
                            cell(at_column).unwrap_or("nothing")
                        ),
                    )
                })
        };
        let day = cell(date_at).and_then(usage_day).ok_or_else(|| {
            unexpected(at, format!("row {} has no readable UsageDate", index + 1))
        })?;
        if !month.contains(day) {
            return Err(unexpected(
                at,
                format!(
                    "row {} is dated {day}, outside the requested {month}",
                    index + 1
                ),
            ));
        }
        let resource = text(resource_at).unwrap_or_default();
        let meter = text(meter_at).unwrap_or_default();
        let cost = number(cost_at, "cost")?;
        let quantity = match quantity_at {
            Some(q) => number(q, "UsageQuantity")?,
            None => Decimal::ZERO,
        };
        let currency = currency_at
            .and_then(text)
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "USD".to_owned());
        let key = (day, resource, meter);
        if cells.contains_key(&key) {
            return Err(ProviderError::DuplicateBucket {
                provider: PROVIDER,
                endpoint: ENDPOINT.to_owned(),
                page: at.page,
                day: format!("{day} (account {}, meter \"{}\")", key.1, key.2),
            });
        }
        cells.insert(
            key,
            Cell {
                cost,
                quantity,
                currency,
            },
        );
    }
    Ok(())
}

/// `20250601` (number or string) or an ISO date-time.
fn usage_day(raw: &str) -> Option<Day> {
    let text = raw.trim().trim_matches('"');
    if text.len() == 8 && text.chars().all(|c| c.is_ascii_digit()) {
        let iso = format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..]);
        return iso.parse().ok();
    }
    text.get(..10).and_then(|date| date.parse().ok())
}

/// One (day, account, meter) after casings are merged.
struct Line {
    cost: Decimal,
    quantity: Decimal,
    currency: String,
    usd: Option<Decimal>,
}

pub(crate) async fn fetch_window(
    credential: &Credential,
    config: &ConnectorConfig,
    window: DayRange,
    stats: &CallStats,
) -> Result<FetchedWindow, ProviderError> {
    let principal = principal(credential)?;
    let (login, arm_base) = bases(config)?;
    let mut arm = Arm::new(&principal, &login, arm_base, &config.http, stats)?;
    let scope = principal.scope.clone();
    let mut lines: BTreeMap<(Day, String, String), Line> = BTreeMap::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut currencies = BTreeSet::new();
    for month in months(window) {
        let cells = read_query(&mut arm, &scope, month, false).await?;
        let foreign = cells.values().any(|c| c.currency != "USD");
        let usd = if foreign {
            Some(merge_usd(read_query(&mut arm, &scope, month, true).await?))
        } else {
            None
        };
        for ((day, resource, meter), cell) in cells {
            let account = resource.to_ascii_lowercase();
            let name = account.rsplit('/').next().unwrap_or(&account).to_owned();
            names.entry(account.clone()).or_insert(name);
            currencies.insert(cell.currency.clone());
            let usd_amount = match &usd {
                Some(usd) => Some(usd.get(&(day, account.clone(), meter.clone())).copied().ok_or_else(|| {
                    unexpected(
                        At { endpoint: ENDPOINT, page: 1 },
                        format!(
                            "the CostUSD query has no amount for {day}, {account}, meter \"{meter}\" \
                             although the Cost query has one"
                        ),
                    )
                })?),
                None => None,
            };
            let line = lines.entry((day, account, meter)).or_insert(Line {
                cost: Decimal::ZERO,
                quantity: Decimal::ZERO,
                currency: cell.currency.clone(),
                usd: None,
            });
            if line.currency != cell.currency {
                return Err(unexpected(
                    At {
                        endpoint: ENDPOINT,
                        page: 1,
                    },
                    format!(
                        "{day}: one account is billed in both {} and {}",
                        line.currency, cell.currency
                    ),
                ));
            }
            line.cost += cell.cost;
            line.quantity += cell.quantity;
            // Two casings of one account share one USD amount (summed on the USD side).
            line.usd = usd_amount;
        }
    }
    build_window(&scope, window, lines, names, currencies)
}

/// The USD answer keyed by (day, account lower-case, meter), casings summed.
fn merge_usd(cells: BTreeMap<RowKey, Cell>) -> BTreeMap<(Day, String, String), Decimal> {
    let mut merged = BTreeMap::new();
    for ((day, resource, meter), cell) in cells {
        *merged
            .entry((day, resource.to_ascii_lowercase(), meter))
            .or_insert(Decimal::ZERO) += cell.cost;
    }
    merged
}

fn build_window(
    scope: &str,
    window: DayRange,
    lines: BTreeMap<(Day, String, String), Line>,
    names: BTreeMap<String, String>,
    currencies: BTreeSet<String>,
) -> Result<FetchedWindow, ProviderError> {
    let at = At {
        endpoint: ENDPOINT,
        page: 1,
    };
    let mut usage = Vec::new();
    let mut costs = Vec::new();
    for ((day, account, raw_meter), line) in lines {
        let meter = parse_meter(&raw_meter);
        let invalid = |error: spendlens_domain::MoneyError| {
            unexpected(at, format!("{day}, meter \"{raw_meter}\": {error}"))
        };
        let usd = line.usd.unwrap_or(line.cost);
        let cost = Money::from_decimal(usd).map_err(invalid)?;
        // A line billed in another currency keeps its amount as billed beside the USD one.
        let billing = if line.currency == "USD" {
            None
        } else {
            let currency = Currency::parse(&line.currency).map_err(|_| {
                unexpected(
                    at,
                    format!(
                        "{day}, meter \"{raw_meter}\": currency \"{}\" is not a currency code",
                        line.currency
                    ),
                )
            })?;
            Some(Billed {
                currency,
                cost: Money::from_decimal(line.cost).map_err(invalid)?,
                credits: Money::ZERO,
            })
        };
        costs.push(BilledCost {
            day,
            workspace_id: Some(account.clone()),
            api_key_id: None,
            model: Some(meter.model.clone()),
            token_class: meter.token_class,
            category: Some(meter.category),
            description: raw_meter.clone(),
            cost,
            credits: Money::ZERO,
            currency: Currency::usd(),
            estimated: false,
            billing,
        });
        if line.quantity.is_zero() {
            continue;
        }
        let mut tokens = TokenCounts::default();
        let mut quantity = Quantity::ZERO;
        match meter.unit.tokens(line.quantity) {
            Some(count) => match meter.token_class {
                Some(TokenClass::Output) => tokens.output = count,
                Some(TokenClass::CachedInput) => {
                    tokens.input = count;
                    tokens.cache_read = count;
                }
                Some(TokenClass::CacheWrite) => {
                    tokens.input = count;
                    tokens.cache_write = count;
                }
                Some(TokenClass::Input) | None => tokens.input = count,
            },
            None => quantity = Quantity::from_decimal(line.quantity).map_err(invalid)?,
        }
        usage.push(UsageRecord {
            day,
            workspace_id: Some(account),
            api_key_id: None,
            model: meter.model,
            category: meter.category,
            unit: meter.unit.unit(),
            detail: meter.detail,
            tokens,
            requests: None,
            quantity,
            unpriced: false,
        });
    }
    let mut notes = vec![format!(
        "Azure OpenAI amounts are Azure Cost Management's amortized cost for Cognitive Services \
         accounts in {scope}. Cost Management has no API keys, deployment names or request \
         counts (requests show as N/A), and no credits, taxes or support charges; token counts \
         are the meters' 1K/1M quantities, rounded to whole tokens. The open month is an \
         estimate until Azure closes it."
    )];
    let foreign: Vec<&String> = currencies.iter().filter(|c| *c != "USD").collect();
    if !foreign.is_empty() {
        let list: Vec<&str> = foreign.iter().map(|c| c.as_str()).collect();
        notes.push(format!(
            "This scope is billed in {}: each amount is kept as billed (Cost Management's Cost \
             column) and in USD from its CostUSD column, Azure's own conversion; reports show \
             USD, the FOCUS export the billed amount.",
            list.join(", ")
        ));
    }
    if costs.is_empty() {
        notes.push(format!(
            "No Cognitive Services (Azure OpenAI) spend in {scope} for {window}."
        ));
    }
    let workspaces = names
        .into_iter()
        .map(|(provider_id, name)| WorkspaceRecord {
            provider_id,
            name,
            archived: false,
            created_at: None,
        })
        .collect();
    Ok(FetchedWindow {
        workspaces,
        api_keys: Vec::new(),
        usage,
        costs,
        notes,
        served: None,
        services: Vec::new(),
        invoice_months: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_queried_one_calendar_month_at_a_time() {
        let window =
            DayRange::new("2025-05-20".parse().unwrap(), "2025-07-03".parse().unwrap()).unwrap();
        let got: Vec<String> = months(window).iter().map(ToString::to_string).collect();
        assert_eq!(got.len(), 3, "{got:?}");
        let body = query_body(months(window)[1], false);
        assert_eq!(body["timePeriod"]["from"], "2025-06-01T00:00:00Z");
        assert_eq!(body["timePeriod"]["to"], "2025-06-30T23:59:59Z");
    }

    #[test]
    fn usage_dates_read_as_numbers_strings_or_iso() {
        let day: Day = "2025-06-01".parse().unwrap();
        assert_eq!(usage_day("20250601"), Some(day));
        assert_eq!(usage_day("\"20250601\""), Some(day));
        assert_eq!(usage_day("\"2025-06-01T00:00:00\""), Some(day));
        assert_eq!(usage_day("null"), None);
    }
}
