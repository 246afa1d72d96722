//! Cost → Model pricing: the organization's price catalog with filters, the catalog beside the
//! prices observed on bills and the billed models with no price (`pricing_observed.rs`), and (admins) new / edit forms that show their errors in place and a
//! delete that first names what it removes. Every change is audited.

use std::collections::BTreeSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use spendlens_domain::catalog::entry_from_json;
use spendlens_domain::{PriceEntry, PriceSource, ProviderKind};

use super::pricing_observed::ObservedPart;
use crate::AppState;
use crate::api::prices::filter;
use crate::dashboard::error::PageError;
use crate::dashboard::session::Viewer;
use crate::dashboard::{Layout, respond};
use crate::prices::stored_id;

/// The tab (Cost) the pricing pages sit under.
pub(super) const ACTIVE: &str = super::cost::ACTIVE;

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct Row {
    pub id: Option<i64>,
    pub provider: &'static str,
    pub provider_label: &'static str,
    pub model: String,
    pub input: String,
    pub cache_read: String,
    pub cache_write: String,
    pub output: String,
    pub reasoning: String,
    pub units: String,
    pub conditions: String,
    pub effective: String,
    pub provenance: &'static str,
    pub provenance_label: &'static str,
    pub note: String,
}

#[derive(Template)]
#[template(path = "pricing.html")]
struct PricingPage {
    layout: Layout,
    rows: Vec<Row>,
    providers: Vec<Choice>,
    provenances: Vec<Choice>,
    search: String,
    filter_error: Option<String>,
    observed: ObservedPart,
    built_in_compiled: bool,
    currencies: String,
}

fn price_text(value: Option<rust_decimal::Decimal>) -> String {
    value.map_or_else(String::new, |d| d.normalize().to_string())
}

pub(super) fn provenance_label(source: PriceSource) -> &'static str {
    match source {
        PriceSource::BuiltIn => "built-in",
        PriceSource::Observed => "from bills",
        PriceSource::User => "yours",
    }
}

pub(super) fn conditions_text(entry: &PriceEntry) -> String {
    let c = &entry.conditions;
    let mut parts = Vec::new();
    if let Some(n) = c.context_above {
        parts.push(format!("input above {n} tokens"));
    }
    if c.batch {
        parts.push("batch".to_owned());
    }
    if let Some(tier) = &c.service_tier {
        parts.push(format!("{tier} tier"));
    }
    parts.join(", ")
}

pub(super) fn effective_text(entry: &PriceEntry) -> String {
    match entry.effective_to {
        Some(to) => format!("{} – {to}", entry.effective_from),
        None => format!("from {}", entry.effective_from),
    }
}

fn units_text(entry: &PriceEntry) -> String {
    entry
        .units
        .iter()
        .map(|u| format!("{} {}/{}", u.price.normalize(), entry.currency, u.unit))
        .collect::<Vec<_>>()
        .join(", ")
}

fn row(entry: &PriceEntry) -> Row {
    let t = &entry.tokens;
    Row {
        id: stored_id(entry).filter(|_| entry.source == PriceSource::User),
        provider: entry.provider.as_str(),
        provider_label: entry.provider.display_name(),
        model: entry.model_glob.clone(),
        input: price_text(t.input),
        cache_read: price_text(t.cache_read),
        cache_write: match (t.cache_write_5m, t.cache_write_1h) {
            (Some(a), Some(b)) => format!("{} · 1h {}", a.normalize(), b.normalize()),
            (a, None) => price_text(a),
            (None, Some(b)) => format!("1h {}", b.normalize()),
        },
        output: price_text(t.output),
        reasoning: price_text(t.reasoning),
        units: units_text(entry),
        conditions: conditions_text(entry),
        effective: effective_text(entry),
        provenance: entry.source.as_str(),
        provenance_label: provenance_label(entry.source),
        note: entry.note.clone(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub provenance: String,
    #[serde(default)]
    pub search: String,
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let mut filter_error = None;
    let provider = match params.provider.trim() {
        "" => None,
        text => match text.parse::<ProviderKind>() {
            Ok(p) => Some(p),
            Err(e) => {
                filter_error = Some(e.to_string());
                None
            }
        },
    };
    let provenance = match params.provenance.trim() {
        "" => None,
        text => match text.parse::<PriceSource>() {
            Ok(p) => Some(p),
            Err(e) => {
                filter_error = Some(e);
                None
            }
        },
    };
    let search: String = params.search.trim().chars().take(200).collect();
    let all = state.store().prices(viewer.org()).await?;
    let built_in_compiled = all
        .iter()
        .any(|e| e.source == PriceSource::BuiltIn && stored_id(e).is_none());
    let entries = filter(all, provider, &search, provenance);
    let currencies: BTreeSet<String> = entries.iter().map(|e| e.currency.to_string()).collect();
    let mut providers = vec![Choice {
        value: String::new(),
        label: "All providers".to_owned(),
        selected: provider.is_none(),
    }];
    providers.extend(ProviderKind::ALL.iter().map(|p| Choice {
        value: p.as_str().to_owned(),
        label: p.display_name().to_owned(),
        selected: Some(*p) == provider,
    }));
    let mut provenances = vec![Choice {
        value: String::new(),
        label: "All".to_owned(),
        selected: provenance.is_none(),
    }];
    provenances.extend(PriceSource::ALL.iter().rev().map(|s| Choice {
        value: s.as_str().to_owned(),
        label: provenance_label(*s).to_owned(),
        selected: Some(*s) == provenance,
    }));
    let layout = Layout::new(&state, &viewer, &headers, "Model pricing", ACTIVE).await?;
    let template = PricingPage {
        observed: super::pricing_observed::read(&state, viewer.org()).await?,
        layout,
        rows: entries.iter().map(row).collect(),
        providers,
        provenances,
        search,
        filter_error,
        built_in_compiled,
        currencies: if currencies.is_empty() {
            "USD".to_owned()
        } else {
            currencies.into_iter().collect::<Vec<_>>().join(", ")
        },
    };
    let status = if template.filter_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond(&template.layout, &headers, status, &template)
}

/// The form's fields, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EntryForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub input: String,
    #[serde(default)]
    pub cache_read: String,
    #[serde(default)]
    pub cache_write: String,
    #[serde(default)]
    pub cache_write_1h: String,
    #[serde(default)]
    pub output: String,
    #[serde(default)]
    pub reasoning: String,
    #[serde(default)]
    pub units: String,
    #[serde(default)]
    pub context_above: String,
    #[serde(default)]
    pub service_tier: String,
    #[serde(default)]
    pub batch: Option<String>,
    #[serde(default)]
    pub effective_from: String,
    #[serde(default)]
    pub effective_to: String,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub source: String,
}

/// What the form template shows.
pub struct FormValues {
    pub model: String,
    pub input: String,
    pub cache_read: String,
    pub cache_write: String,
    pub cache_write_1h: String,
    pub output: String,
    pub reasoning: String,
    pub units: String,
    pub context_above: String,
    pub service_tier: String,
    pub batch: bool,
    pub effective_from: String,
    pub effective_to: String,
    pub currency: String,
    pub source: String,
}

fn clip(text: &str, max: usize) -> String {
    text.trim().chars().take(max).collect()
}

impl EntryForm {
    fn values(&self) -> FormValues {
        FormValues {
            model: clip(&self.model, 200),
            input: clip(&self.input, 40),
            cache_read: clip(&self.cache_read, 40),
            cache_write: clip(&self.cache_write, 40),
            cache_write_1h: clip(&self.cache_write_1h, 40),
            output: clip(&self.output, 40),
            reasoning: clip(&self.reasoning, 40),
            units: clip(&self.units, 500),
            context_above: clip(&self.context_above, 20),
            service_tier: clip(&self.service_tier, 40),
            batch: self.batch.is_some(),
            effective_from: clip(&self.effective_from, 20),
            effective_to: clip(&self.effective_to, 20),
            currency: clip(&self.currency, 3),
            source: clip(&self.source, 500),
        }
    }

    pub(super) fn from_entry(entry: &PriceEntry) -> EntryForm {
        let t = &entry.tokens;
        EntryForm {
            csrf: String::new(),
            provider: entry.provider.as_str().to_owned(),
            model: entry.model_glob.clone(),
            input: price_text(t.input),
            cache_read: price_text(t.cache_read),
            cache_write: price_text(t.cache_write_5m),
            cache_write_1h: price_text(t.cache_write_1h),
            output: price_text(t.output),
            reasoning: price_text(t.reasoning),
            units: entry
                .units
                .iter()
                .map(|u| format!("{}={}", u.unit, u.price.normalize()))
                .collect::<Vec<_>>()
                .join(", "),
            context_above: entry
                .conditions
                .context_above
                .map(|n| n.to_string())
                .unwrap_or_default(),
            service_tier: entry.conditions.service_tier.clone().unwrap_or_default(),
            batch: entry.conditions.batch.then(|| "1".to_owned()),
            effective_from: entry.effective_from.to_string(),
            effective_to: entry
                .effective_to
                .map(|d| d.to_string())
                .unwrap_or_default(),
            currency: entry.currency.to_string(),
            source: entry.note.clone(),
        }
    }

    /// The entry the form describes (a user price), or what to fix.
    pub(super) fn entry(&self) -> Result<PriceEntry, String> {
        let mut map = Map::new();
        map.insert("provider".to_owned(), json!(self.provider.trim()));
        map.insert("model".to_owned(), json!(self.model.trim()));
        for (key, value) in [
            ("input", &self.input),
            ("cache_read", &self.cache_read),
            ("cache_write_5m", &self.cache_write),
            ("cache_write_1h", &self.cache_write_1h),
            ("output", &self.output),
            ("reasoning", &self.reasoning),
            ("service_tier", &self.service_tier),
            ("effective_to", &self.effective_to),
            ("currency", &self.currency),
        ] {
            let value = value.trim().trim_start_matches('$');
            if !value.is_empty() {
                map.insert(key.to_owned(), json!(value));
            }
        }
        map.insert(
            "effective_from".to_owned(),
            json!(self.effective_from.trim()),
        );
        map.insert("source".to_owned(), json!(self.source.trim()));
        if self.batch.is_some() {
            map.insert("batch".to_owned(), json!(true));
        }
        let context = self.context_above.trim();
        if !context.is_empty() {
            let n: i64 = context.parse().map_err(|_| {
                format!("\"{context}\" is not a whole number of tokens for the input threshold")
            })?;
            map.insert("context_above".to_owned(), json!(n));
        }
        let mut units = Map::new();
        for part in self
            .units
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let Some((unit, price)) = part.split_once('=') else {
                return Err(format!(
                    "per-unit price \"{part}\" should read unit=price, e.g. images=0.04"
                ));
            };
            units.insert(
                unit.trim().to_owned(),
                json!(price.trim().trim_start_matches('$')),
            );
        }
        if !units.is_empty() {
            map.insert("units".to_owned(), Value::Object(units));
        }
        map.insert("provenance".to_owned(), json!("user"));
        entry_from_json(Value::Object(map), PriceSource::User)
    }
}

#[derive(Template)]
#[template(path = "pricing_form.html")]
struct FormPage {
    layout: Layout,
    heading: String,
    action: String,
    submit: &'static str,
    providers: Vec<Choice>,
    f: FormValues,
    error: Option<String>,
}

pub(super) async fn show_form(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    editing: Option<i64>,
    form: &EntryForm,
    error: Option<String>,
) -> Result<Response, PageError> {
    let layout = Layout::new(state, viewer, headers, "Model pricing", ACTIVE).await?;
    let selected = form.provider.parse::<ProviderKind>().ok();
    let template = FormPage {
        layout,
        heading: match editing {
            Some(id) => format!("Edit price entry {id}"),
            None => "New price".to_owned(),
        },
        action: match editing {
            Some(id) => format!("/cost/pricing/{id}/edit"),
            None => "/cost/pricing".to_owned(),
        },
        submit: if editing.is_some() {
            "Save"
        } else {
            "Add price"
        },
        providers: ProviderKind::ALL
            .iter()
            .map(|p| Choice {
                value: p.as_str().to_owned(),
                label: p.display_name().to_owned(),
                selected: Some(*p) == selected,
            })
            .collect(),
        f: form.values(),
        error,
    };
    let status = if template.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    respond(&template.layout, headers, status, &template)
}
