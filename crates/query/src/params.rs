//! A view's parameters: raw text from a URL query string or the command line, parsed into a
//! [`ViewQuery`] with a clear message for every bad value.

use serde::{Deserialize, Serialize};
use spendlens_domain::{Day, DayRange, Money, PeriodPreset, ProviderKind};
use spendlens_store::ApiKeyId;

use crate::QueryError;
pub use crate::view::View;

/// The longest search text accepted.
pub const MAX_SEARCH: usize = 200;

/// The raw parameters, as typed. Every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ViewParams {
    /// `last-7-days`, `last-30-days`, `last-90-days`, `this-month`, `last-month`.
    pub period: Option<String>,
    /// First day, `YYYY-MM-DD` (with `to`, replaces `period`).
    pub from: Option<String>,
    /// Last day, inclusive.
    pub to: Option<String>,
    /// Provider ids, comma-separated.
    pub provider: Option<String>,
    pub search: Option<String>,
    /// Lowest cost to show, in USD.
    pub min_cost: Option<String>,
    /// Highest cost to show, in USD.
    pub max_cost: Option<String>,
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub order: Option<String>,
    /// Only this workspace (display name): the drill-down from Workspaces to API Keys.
    pub workspace: Option<String>,
    /// Only this API key (spendlens id): the drill-down from API Keys to Models.
    pub key: Option<String>,
    /// Only these models, comma-separated (the Models view, exactly as named, and the
    /// attribution views: Customers, Products, Agents).
    pub model: Option<String>,
}

/// A validated view request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewQuery {
    pub view: View,
    pub period: DayRange,
    /// The period of equal length just before `period`, for trends.
    pub previous: DayRange,
    /// The preset the period came from, if any.
    pub preset: Option<String>,
    /// Empty: every provider.
    pub providers: Vec<ProviderKind>,
    /// Lower-cased search text.
    pub search: Option<String>,
    pub min_cost: Option<Money>,
    pub max_cost: Option<Money>,
    pub sort: String,
    pub descending: bool,
    pub workspace: Option<String>,
    pub key: Option<ApiKeyId>,
    /// The attribution views' provider filter: metered provider names as stored (any name a
    /// sender used, normalized as at ingest), since metered calls are not limited to the
    /// synced providers. Empty: every provider. (`providers` stays empty for these views.)
    pub meter_providers: Vec<String>,
    /// The attribution views' model filter. Empty: every model.
    pub models: Vec<String>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parse_cost(value: &str, name: &str) -> Result<Money, QueryError> {
    let money = Money::parse_units(value).map_err(|_| {
        QueryError::Invalid(format!(
            "{name} must be an amount in USD such as 10 or 2.50, not \"{value}\""
        ))
    })?;
    if money.is_negative() {
        return Err(QueryError::Invalid(format!(
            "{name} cannot be negative (got {value})"
        )));
    }
    Ok(money)
}

/// A comma-separated list of names (providers, models): trimmed, deduplicated, each at most
/// 200 characters, at most 50 of them.
fn names_list(list: &str, what: &str) -> Result<Vec<String>, QueryError> {
    let mut names: Vec<String> = Vec::new();
    for name in list
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "all")
    {
        if name.chars().count() > MAX_SEARCH || name.chars().any(char::is_control) {
            return Err(QueryError::Invalid(format!(
                "a {what} name is at most {MAX_SEARCH} printable characters"
            )));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    if names.len() > 50 {
        return Err(QueryError::Invalid(format!(
            "at most 50 {what} names at once (got {})",
            names.len()
        )));
    }
    Ok(names)
}

/// Calendar errors in words that fit a form and a command line alike (no `--from`).
fn calendar_error(err: spendlens_domain::CalendarError) -> QueryError {
    use spendlens_domain::CalendarError;
    QueryError::Invalid(match err {
        CalendarError::Reversed { from, to } => format!(
            "the period starts on {from} but ends earlier, on {to}; the from date must be the earlier one"
        ),
        CalendarError::UnknownPeriod(name) => format!(
            "unknown period \"{name}\"; use last-7-days, last-30-days, last-90-days, this-month or last-month, or give a from and a to date"
        ),
        other => other.to_string(),
    })
}

/// The first days of the month before `period` (which starts on the 1st), as many as
/// `period` has, within that month: Nov 1–22 compares with Oct 1–22.
fn same_days_of_last_month(period: DayRange) -> Result<DayRange, spendlens_domain::CalendarError> {
    let day_before = period.from().add_days(-1)?;
    let from = day_before.first_of_month();
    let to = from.add_days(period.len_days() - 1)?.min(day_before);
    DayRange::new(from, to)
}

impl ViewQuery {
    /// Validates `params` for `view`, resolving periods against `today` (UTC).
    pub fn parse(view: View, params: &ViewParams, today: Day) -> Result<ViewQuery, QueryError> {
        let (period, preset) = match (non_empty(&params.from), non_empty(&params.to)) {
            (Some(from), Some(to)) => {
                let from: Day = from
                    .parse()
                    .map_err(|e| QueryError::Invalid(format!("from: {e}")))?;
                let to: Day = to
                    .parse()
                    .map_err(|e| QueryError::Invalid(format!("to: {e}")))?;
                (DayRange::new(from, to).map_err(calendar_error)?, None)
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(QueryError::Invalid(
                    "give both from and to (YYYY-MM-DD, inclusive), or a period".to_owned(),
                ));
            }
            (None, None) => {
                let name = non_empty(&params.period).unwrap_or("last-30-days");
                let preset: PeriodPreset = name.parse().map_err(calendar_error)?;
                (
                    preset
                        .resolve(today)
                        .map_err(|e| QueryError::Invalid(e.to_string()))?,
                    Some(preset.name()),
                )
            }
        };
        // "This month" so far compares with the same days of last month; other periods with
        // the period of equal length before them.
        let previous = if preset.as_deref() == Some("this-month") {
            same_days_of_last_month(period)
        } else {
            period.previous()
        }
        .map_err(calendar_error)?;

        let mut providers = Vec::new();
        let mut meter_providers = Vec::new();
        if let Some(list) = non_empty(&params.provider)
            && view.attribution().is_some()
        {
            meter_providers = names_list(list, "provider")?
                .iter()
                .map(|name| spendlens_meter::normalize_provider(name))
                .collect();
            meter_providers.dedup();
        } else if let Some(list) = non_empty(&params.provider) {
            for name in list
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty() && *n != "all")
            {
                let provider: ProviderKind =
                    name.parse()
                        .map_err(|e: spendlens_domain::provider::UnknownProvider| {
                            QueryError::Invalid(e.to_string())
                        })?;
                if !providers.contains(&provider) {
                    providers.push(provider);
                }
            }
        }

        let search = match non_empty(&params.search) {
            Some(text) if text.chars().count() > MAX_SEARCH => {
                return Err(QueryError::Invalid(format!(
                    "the search text is {} characters long; the longest accepted is {MAX_SEARCH}",
                    text.chars().count()
                )));
            }
            Some(text) => Some(text.to_lowercase()),
            None => None,
        };

        let min_cost = non_empty(&params.min_cost)
            .map(|v| parse_cost(v, "min_cost"))
            .transpose()?;
        let max_cost = non_empty(&params.max_cost)
            .map(|v| parse_cost(v, "max_cost"))
            .transpose()?;
        if let (Some(min), Some(max)) = (min_cost, max_cost)
            && min > max
        {
            return Err(QueryError::Invalid(format!(
                "min_cost ({min}) is above max_cost ({max})"
            )));
        }

        let columns = view.sort_columns();
        let sort = match non_empty(&params.sort) {
            Some(column) if columns.contains(&column) => column.to_owned(),
            Some(column) => {
                return Err(QueryError::Invalid(format!(
                    "cannot sort the {} view by \"{column}\"; use one of: {}",
                    view.as_str(),
                    columns.join(", ")
                )));
            }
            None => columns[0].to_owned(),
        };
        let descending = match non_empty(&params.order) {
            None => !matches!(
                sort.as_str(),
                "provider"
                    | "workspace"
                    | "key_name"
                    | "model"
                    | "status"
                    | "customer"
                    | "product"
                    | "agent"
            ),
            Some("desc") => true,
            Some("asc") => false,
            Some(other) => {
                return Err(QueryError::Invalid(format!(
                    "order must be asc or desc, not \"{other}\""
                )));
            }
        };

        let workspace = non_empty(&params.workspace).map(str::to_owned);
        if workspace.as_ref().is_some_and(|w| w.chars().count() > 500) {
            return Err(QueryError::Invalid(
                "the workspace name is too long".to_owned(),
            ));
        }
        let key = match non_empty(&params.key) {
            Some(text) => Some(ApiKeyId(text.parse().map_err(|_| {
                QueryError::Invalid(format!("key must be a key's id (a number), not \"{text}\""))
            })?)),
            None => None,
        };

        let models = match non_empty(&params.model) {
            Some(list) if view.attribution().is_some() || view == View::Models => {
                names_list(list, "model")?
            }
            Some(_) => {
                return Err(QueryError::Invalid(format!(
                    "the {} view has no model filter; models filter the models, customers, products and agents views",
                    view.as_str()
                )));
            }
            None => Vec::new(),
        };
        if view.attribution().is_some() && (workspace.is_some() || key.is_some()) {
            return Err(QueryError::Invalid(format!(
                "the {} view reads metered calls, which have no synced workspace or API key to filter by; remove workspace and key",
                view.as_str()
            )));
        }

        Ok(ViewQuery {
            view,
            period,
            previous,
            preset,
            providers,
            search,
            min_cost,
            max_cost,
            sort,
            descending,
            workspace,
            key,
            meter_providers,
            models,
        })
    }

    /// The query back as parameters (for links that keep the state, and CSV headers).
    pub fn to_params(&self) -> ViewParams {
        let (period, from, to) = match &self.preset {
            Some(preset) => (Some(preset.clone()), None, None),
            None => (
                None,
                Some(self.period.from().to_string()),
                Some(self.period.to().to_string()),
            ),
        };
        ViewParams {
            period,
            from,
            to,
            provider: if self.meter_providers.is_empty() {
                (!self.providers.is_empty()).then(|| {
                    self.providers
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                })
            } else {
                Some(self.meter_providers.join(","))
            },
            search: self.search.clone(),
            min_cost: self.min_cost.map(|m| m.to_exact_string()),
            max_cost: self.max_cost.map(|m| m.to_exact_string()),
            sort: Some(self.sort.clone()),
            order: Some(if self.descending { "desc" } else { "asc" }.to_owned()),
            workspace: self.workspace.clone(),
            key: self.key.map(|k| k.0.to_string()),
            model: (!self.models.is_empty()).then(|| self.models.join(",")),
        }
    }

    /// The filters in words, for the header lines of a CSV export.
    pub fn filters_text(&self) -> String {
        let params = self.to_params();
        let mut parts = Vec::new();
        for (name, value) in [
            ("provider", params.provider),
            ("search", params.search),
            ("min_cost", params.min_cost),
            ("max_cost", params.max_cost),
            ("workspace", params.workspace),
            ("key", params.key),
            ("model", params.model),
        ] {
            if let Some(value) = value {
                parts.push(format!("{name}={value}"));
            }
        }
        parts.push(format!(
            "sort={} {}",
            self.sort,
            if self.descending { "desc" } else { "asc" }
        ));
        parts.join("; ")
    }

    pub(crate) fn cost_in_range(&self, cost: Money) -> bool {
        self.min_cost.is_none_or(|min| cost >= min) && self.max_cost.is_none_or(|max| cost <= max)
    }

    pub(crate) fn matches_search(&self, texts: &[&str]) -> bool {
        match &self.search {
            None => true,
            Some(needle) => texts.iter().any(|t| t.to_lowercase().contains(needle)),
        }
    }

    pub(crate) fn includes_provider(&self, provider: ProviderKind) -> bool {
        self.providers.is_empty() || self.providers.contains(&provider)
    }

    /// The Models view's model filter (exact names; none: every model).
    pub(crate) fn includes_model(&self, model: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|m| m == model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_month_compares_with_the_same_days_of_last_month() {
        let params = ViewParams {
            period: Some("this-month".into()),
            ..Default::default()
        };
        let query =
            ViewQuery::parse(View::Providers, &params, "2026-11-22".parse().unwrap()).unwrap();
        assert_eq!(query.previous.from().to_string(), "2026-10-01");
        assert_eq!(query.previous.to().to_string(), "2026-10-22");
        // March 31 compares with all of February, never with March days.
        let query =
            ViewQuery::parse(View::Providers, &params, "2026-03-31".parse().unwrap()).unwrap();
        assert_eq!(query.previous.from().to_string(), "2026-02-01");
        assert_eq!(query.previous.to().to_string(), "2026-02-28");
    }

    fn today() -> Day {
        "2026-11-22".parse().unwrap()
    }

    fn parse(params: ViewParams) -> Result<ViewQuery, QueryError> {
        ViewQuery::parse(View::Keys, &params, today())
    }

    #[test]
    fn the_default_is_the_last_thirty_days_by_cost_descending() {
        let query = parse(ViewParams::default()).unwrap();
        assert_eq!(query.period.len_days(), 30);
        assert_eq!(query.previous.len_days(), 30);
        assert_eq!(query.sort, "cost");
        assert!(query.descending);
    }

    #[test]
    fn every_bad_value_is_named() {
        let cases = [
            (
                ViewParams {
                    from: Some("2026-02-30".into()),
                    to: Some("2026-03-01".into()),
                    ..Default::default()
                },
                "from",
            ),
            (
                ViewParams {
                    from: Some("2026-03-02".into()),
                    to: Some("2026-03-01".into()),
                    ..Default::default()
                },
                "must be the earlier one",
            ),
            (
                ViewParams {
                    from: Some("2026-03-02".into()),
                    ..Default::default()
                },
                "both",
            ),
            (
                ViewParams {
                    min_cost: Some("-5".into()),
                    ..Default::default()
                },
                "negative",
            ),
            (
                ViewParams {
                    max_cost: Some("lots".into()),
                    ..Default::default()
                },
                "max_cost",
            ),
            (
                ViewParams {
                    min_cost: Some("9".into()),
                    max_cost: Some("1".into()),
                    ..Default::default()
                },
                "above",
            ),
            (
                ViewParams {
                    sort: Some("colour".into()),
                    ..Default::default()
                },
                "cannot sort",
            ),
            (
                ViewParams {
                    provider: Some("azure".into()),
                    ..Default::default()
                },
                "unknown provider",
            ),
            (
                ViewParams {
                    search: Some("x".repeat(5000)),
                    ..Default::default()
                },
                "longest",
            ),
            (
                ViewParams {
                    period: Some("forever".into()),
                    ..Default::default()
                },
                "unknown period",
            ),
            (
                ViewParams {
                    key: Some("abc".into()),
                    ..Default::default()
                },
                "number",
            ),
        ];
        for (params, expected) in cases {
            let err = parse(params.clone()).unwrap_err().to_string();
            assert!(err.contains(expected), "{params:?}: {err}");
        }
    }

    #[test]
    fn parameters_round_trip() {
        let query = parse(ViewParams {
            provider: Some("openai, anthropic".into()),
            search: Some("Prod".into()),
            min_cost: Some("1.5".into()),
            sort: Some("key_name".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(!query.descending);
        assert_eq!(query.search.as_deref(), Some("prod"));
        let again = parse(query.to_params()).unwrap();
        assert_eq!(again, query);
    }
}
