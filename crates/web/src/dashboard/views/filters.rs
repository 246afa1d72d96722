//! The URL side of a metric view: parsing its filters, writing links that keep them, and the
//! filter form's choices.

use spendlens_domain::{Day, ProviderKind};
use spendlens_query::{View, ViewQuery};
use spendlens_store::ConnectionRow;

use super::PageParams;
use crate::AppState;
use crate::dashboard::error::PageError;

pub struct ProviderOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct FilterForm {
    pub action: String,
    pub presets: Vec<ProviderOption>,
    pub custom: bool,
    pub from: String,
    pub to: String,
    pub providers: Vec<ProviderOption>,
    pub search: String,
    pub min_cost: String,
    pub max_cost: String,
    pub sort: String,
    pub order: String,
    pub workspace: Option<String>,
    /// The workspace picker (API Keys and Models); empty where the view has none.
    pub workspaces: Vec<ProviderOption>,
    /// The model picker (Customers, Products, Agents); empty where the view has none.
    pub models: Vec<ProviderOption>,
    pub key: Option<String>,
    /// The Models view's model filter, kept by the form (it has no picker there).
    pub model: Option<String>,
    pub auto: bool,
    /// What the search box searches on this tab.
    pub search_placeholder: &'static str,
    /// A filter value that cannot be used, said on the form (the values stay as typed).
    pub error: Option<String>,
}

/// The options of a select whose filter may hold several values (`provider=openai,anthropic`,
/// as a chart's link or a shared URL sets): "All" when none is chosen; one offered value
/// selects its option; several, or one the list does not offer, get an option of their own,
/// selected, whose value is the whole list. The form then shows, and submits again, the filter
/// the table applies (it used to show the first value alone, or "All").
pub fn choice_options(
    all_label: &str,
    offered: impl IntoIterator<Item = (String, String)>,
    chosen: &[(String, String)],
) -> Vec<ProviderOption> {
    let offered: Vec<(String, String)> = offered.into_iter().collect();
    let single = match chosen {
        [(value, _)] if offered.iter().any(|(v, _)| v == value) => Some(value.as_str()),
        _ => None,
    };
    let mut options = vec![ProviderOption {
        value: String::new(),
        label: all_label.to_owned(),
        selected: chosen.is_empty(),
    }];
    if !chosen.is_empty() && single.is_none() {
        options.push(ProviderOption {
            value: chosen
                .iter()
                .map(|(value, _)| value.as_str())
                .collect::<Vec<_>>()
                .join(","),
            label: chosen
                .iter()
                .map(|(_, label)| label.as_str())
                .collect::<Vec<_>>()
                .join(" + "),
            selected: true,
        });
    }
    options.extend(offered.into_iter().map(|(value, label)| ProviderOption {
        selected: single == Some(value.as_str()),
        value,
        label,
    }));
    options
}

/// Query-string encoding of (key, value) pairs.
fn query_string(pairs: &[(&str, String)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if !value.is_empty() {
            serializer.append_pair(key, value);
        }
    }
    serializer.finish()
}

/// A view's parameters as URL pairs, with overrides.
pub fn state_pairs(
    query: &ViewQuery,
    overrides: &[(&str, Option<String>)],
    auto: bool,
) -> Vec<(&'static str, String)> {
    let params = query.to_params();
    let mut pairs: Vec<(&'static str, String)> = vec![
        ("period", params.period.unwrap_or_default()),
        ("from", params.from.unwrap_or_default()),
        ("to", params.to.unwrap_or_default()),
        ("provider", params.provider.unwrap_or_default()),
        ("search", params.search.unwrap_or_default()),
        ("min_cost", params.min_cost.unwrap_or_default()),
        ("max_cost", params.max_cost.unwrap_or_default()),
        ("sort", params.sort.unwrap_or_default()),
        ("order", params.order.unwrap_or_default()),
        ("workspace", params.workspace.unwrap_or_default()),
        ("key", params.key.unwrap_or_default()),
        ("model", params.model.unwrap_or_default()),
        ("auto", if auto { "1".to_owned() } else { String::new() }),
    ];
    for (name, value) in overrides {
        if let Some(slot) = pairs.iter_mut().find(|(k, _)| k == name) {
            slot.1 = value.clone().unwrap_or_default();
        }
    }
    pairs
}

pub fn href(path: &str, pairs: &[(&str, String)]) -> String {
    let query = query_string(pairs);
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Carries the period and provider filter into a drill-down link.
pub fn drill_href(path: &str, query: &ViewQuery, extra: &[(&str, String)]) -> String {
    let params = query.to_params();
    let mut pairs: Vec<(&str, String)> = vec![
        ("period", params.period.unwrap_or_default()),
        ("from", params.from.unwrap_or_default()),
        ("to", params.to.unwrap_or_default()),
        ("provider", params.provider.unwrap_or_default()),
    ];
    pairs.extend(extra.iter().cloned());
    href(path, &pairs)
}

pub fn view_path(view: View) -> &'static str {
    match view {
        View::Providers => "/providers",
        View::Workspaces => "/workspaces",
        View::Keys => "/keys",
        View::Models => "/models",
        View::Customers => "/customers",
        View::Products => "/products",
        View::Agents => "/agents",
    }
}

pub fn heading(view: View) -> &'static str {
    match view {
        View::Providers => "Providers",
        View::Workspaces => "Workspaces",
        View::Keys => "API Keys",
        View::Models => "Models",
        View::Customers => "Customers",
        View::Products => "Products",
        View::Agents => "Agents",
    }
}

fn search_placeholder(view: View) -> &'static str {
    match view {
        View::Providers => "provider name",
        View::Workspaces => "workspace or provider",
        View::Keys => "key name, hint, workspace, provider",
        View::Models => "model, provider or category",
        View::Customers => "customer",
        View::Products => "product",
        View::Agents => "agent",
    }
}

pub fn filter_form(
    connections: &[ConnectionRow],
    workspace_names: &[String],
    query: &ViewQuery,
    auto: bool,
) -> FilterForm {
    let mut providers: Vec<ProviderKind> = connections.iter().map(|c| c.provider).collect();
    providers.sort();
    providers.dedup();
    let named = |p: &ProviderKind| (p.as_str().to_owned(), p.display_name().to_owned());
    let chosen: Vec<(String, String)> = query.providers.iter().map(named).collect();
    let options = choice_options("All providers", providers.iter().map(named), &chosen);
    let params = query.to_params();
    let preset = params.period.clone().unwrap_or_default();
    let presets = [
        ("last-7-days", "Last 7 days"),
        ("last-30-days", "Last 30 days"),
        ("last-90-days", "Last 90 days"),
        ("this-month", "This month"),
        ("last-month", "Last month"),
        ("", "Custom range"),
    ]
    .into_iter()
    .map(|(value, label)| ProviderOption {
        value: value.to_owned(),
        label: label.to_owned(),
        selected: value == preset,
    })
    .collect();
    FilterForm {
        action: view_path(query.view).to_owned(),
        presets,
        custom: query.preset.is_none(),
        from: query.period.from().to_string(),
        to: query.period.to().to_string(),
        providers: options,
        search: query.search.clone().unwrap_or_default(),
        min_cost: query
            .min_cost
            .map(|m| m.to_exact_string())
            .unwrap_or_default(),
        max_cost: query
            .max_cost
            .map(|m| m.to_exact_string())
            .unwrap_or_default(),
        sort: query.sort.clone(),
        order: if query.descending { "desc" } else { "asc" }.to_owned(),
        workspaces: if workspace_names.is_empty() {
            Vec::new()
        } else {
            std::iter::once(ProviderOption {
                value: String::new(),
                label: "All workspaces".to_owned(),
                selected: query.workspace.is_none(),
            })
            .chain(workspace_names.iter().map(|name| ProviderOption {
                value: name.clone(),
                label: name.clone(),
                selected: query.workspace.as_deref() == Some(name.as_str()),
            }))
            .collect()
        },
        models: Vec::new(),
        workspace: query.workspace.clone(),
        key: query.key.map(|k| k.0.to_string()),
        model: (query.view == View::Models && !query.models.is_empty())
            .then(|| query.models.join(",")),
        auto,
        search_placeholder: search_placeholder(query.view),
        error: None,
    }
}

/// Keeps what the person typed in the form when it cannot be used, with the reason.
pub fn keep_typed(form: &mut FilterForm, params: &PageParams, error: String) {
    let typed = |value: &Option<String>| value.clone().unwrap_or_default();
    let view = &params.view;
    if view.from.is_some() || view.to.is_some() {
        form.custom = true;
        form.from = typed(&view.from);
        form.to = typed(&view.to);
        for preset in &mut form.presets {
            preset.selected = preset.value.is_empty();
        }
    }
    form.search = typed(&view.search);
    form.min_cost = typed(&view.min_cost);
    form.max_cost = typed(&view.max_cost);
    form.error = Some(error);
}

/// Parses the URL into a query, with a 400 page naming the bad value.
pub fn parse_query(
    state: &AppState,
    view: View,
    params: &PageParams,
) -> Result<ViewQuery, PageError> {
    parse_filters(state, view, params).map_err(|err| {
        PageError::BadRequest(format!(
            "This filter cannot be used: {err}. Fix it, or start again from {}.",
            view_path(view)
        ))
    })
}

/// Parses the URL into a query; the error says what is wrong with which value.
pub fn parse_filters(
    state: &AppState,
    view: View,
    params: &PageParams,
) -> Result<ViewQuery, String> {
    let mut view_params = params.view.clone();
    // A custom range in the form replaces the preset.
    if view_params.from.as_deref().is_some_and(|f| !f.is_empty())
        && view_params.to.as_deref().is_some_and(|t| !t.is_empty())
    {
        view_params.period = None;
    }
    ViewQuery::parse(view, &view_params, Day::of(state.now())).map_err(|e| e.to_string())
}

/// The view with no filters, for showing a page whose filters cannot be used.
pub fn default_query(state: &AppState, view: View) -> Result<ViewQuery, PageError> {
    ViewQuery::parse(
        view,
        &spendlens_query::ViewParams::default(),
        Day::of(state.now()),
    )
    .map_err(|e| PageError::Internal(e.to_string()))
}

pub fn page_number(params: &PageParams) -> Result<usize, PageError> {
    match params
        .page
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        None => Ok(1),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| {
                PageError::BadRequest(format!("page must be a positive number, not \"{text}\""))
            }),
    }
}

/// The page filtered to one chart row (`None`: every row) and, when given, to some days
/// instead of the period: where a bar segment, legend entry or donut slice leads.
pub fn target_href(
    query: &ViewQuery,
    target: Option<&spendlens_query::over_time::Target>,
    days: Option<spendlens_domain::DayRange>,
) -> Option<String> {
    use spendlens_query::over_time::Target;
    let mut overrides: Vec<(&str, Option<String>)> = Vec::new();
    match target {
        None => {}
        Some(Target::Provider(p)) => overrides.push(("provider", Some(p.as_str().to_owned()))),
        Some(Target::Workspace(name)) => overrides.push(("workspace", Some(name.clone()))),
        Some(Target::Key(id)) => overrides.push(("key", Some(id.0.to_string()))),
        Some(Target::Keyless {
            provider,
            workspace,
        }) => {
            overrides.push(("provider", Some(provider.as_str().to_owned())));
            overrides.push(("workspace", Some(workspace.clone())));
        }
        Some(Target::Model {
            provider, model, ..
        }) => {
            overrides.push(("provider", Some(provider.as_str().to_owned())));
            overrides.push(("model", Some(model.clone())));
        }
        Some(Target::Attribution(Some(value))) => {
            overrides.push(("search", Some(value.clone())));
        }
        // Calls without a value cannot be filtered to.
        Some(Target::Attribution(None)) if days.is_none() => return None,
        Some(Target::Attribution(None)) => {}
    }
    if let Some(days) = days {
        overrides.push(("period", None));
        overrides.push(("from", Some(days.from().to_string())));
        overrides.push(("to", Some(days.to().to_string())));
    }
    Some(href(
        view_path(query.view),
        &state_pairs(query, &overrides, false),
    ))
}

/// The drill-down a page is in: what it shows, how to show all, and a related drill-down.
pub struct Drill {
    pub text: String,
    pub clear: String,
    pub also: Option<(String, String)>,
}

/// The drill-down `query` is in (workspace, key, model), with its "show all" link.
pub fn drill_of(query: &ViewQuery, auto: bool, key_label: Option<String>) -> Option<Drill> {
    let view = query.view;
    let drill = match (&query.workspace, query.key) {
        (Some(workspace), _) => Some(Drill {
            text: format!("Only workspace “{workspace}”"),
            clear: href(
                view_path(view),
                &state_pairs(query, &[("workspace", None)], auto),
            ),
            also: match view {
                View::Keys => Some((
                    "models of this workspace".to_owned(),
                    drill_href("/models", query, &[("workspace", workspace.clone())]),
                )),
                View::Models => Some((
                    "API keys of this workspace".to_owned(),
                    drill_href("/keys", query, &[("workspace", workspace.clone())]),
                )),
                View::Workspaces => Some((
                    "models of this workspace".to_owned(),
                    drill_href("/models", query, &[("workspace", workspace.clone())]),
                )),
                _ => None,
            },
        }),
        (None, Some(key)) => Some(Drill {
            text: format!(
                "Only API key {}",
                key_label.clone().unwrap_or_else(|| key.0.to_string())
            ),
            clear: href(view_path(view), &state_pairs(query, &[("key", None)], auto)),
            also: None,
        }),
        _ => None,
    };
    // The Models view's model filter (a chart or donut click).
    match (drill, view, query.models.first()) {
        (None, View::Models, Some(_)) => Some(Drill {
            text: format!("Only model “{}”", query.models.join("”, “")),
            clear: href(
                view_path(view),
                &state_pairs(query, &[("model", None)], auto),
            ),
            also: None,
        }),
        (Some(mut d), View::Models, Some(_)) => {
            d.text = format!("{}, model “{}”", d.text, query.models.join("”, “"));
            Some(d)
        }
        (drill, _, _) => drill,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(values: &[&str]) -> Vec<(String, String)> {
        values
            .iter()
            .map(|v| (v.to_string(), v.to_uppercase()))
            .collect()
    }

    fn selected(options: &[ProviderOption]) -> Vec<(&str, &str)> {
        options
            .iter()
            .filter(|o| o.selected)
            .map(|o| (o.value.as_str(), o.label.as_str()))
            .collect()
    }

    #[test]
    fn the_select_shows_the_filter_the_table_applies() {
        let offered = named(&["anthropic", "openai", "vertex"]);
        let all = choice_options("All", offered.clone(), &[]);
        assert_eq!(selected(&all), [("", "All")]);
        assert_eq!(all.len(), 4);

        let one = choice_options("All", offered.clone(), &named(&["openai"]));
        assert_eq!(selected(&one), [("openai", "OPENAI")]);
        assert_eq!(one.len(), 4, "one offered value adds no option");

        // Two providers (a chart's link): one option for both, selected, submitting both.
        let two = choice_options("All", offered.clone(), &named(&["openai", "anthropic"]));
        assert_eq!(selected(&two), [("openai,anthropic", "OPENAI + ANTHROPIC")]);
        assert_eq!(two.len(), 5);

        // A value the list does not offer (no data in the period) is still shown as chosen.
        let gone = choice_options("All", offered, &named(&["fal"]));
        assert_eq!(selected(&gone), [("fal", "FAL")]);
    }
}
