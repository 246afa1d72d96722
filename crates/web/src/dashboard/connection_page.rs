//! One connection's page (`/connections/{id}`): its status, the services of its bill with
//! whether each counts and, for admins, include / exclude / default per service (Vertex), and
//! its spend per month as the sum of UTC days beside the bill's invoice month where the bill
//! names one — both where they differ.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use spendlens_domain::display::format_money;
use spendlens_domain::services::parse_choice;
use spendlens_store::ConnectionId;

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::session::{Viewer, flash, redirect_with};
use crate::dashboard::{Layout, format, respond};

/// One service of the bill, as the page shows it.
pub struct ServiceLine {
    pub id: String,
    pub name: String,
    pub other_names: String,
    pub kind: &'static str,
    pub seller: String,
    /// Gross cost over the last sync's window, in the billing currency.
    pub cost: String,
    pub window: String,
    pub last_day: String,
    pub counted: bool,
    /// `include`, `exclude` or `default`.
    pub choice: &'static str,
}

/// One month.
pub struct MonthLine {
    pub month: String,
    pub utc_cost: String,
    pub utc_net: String,
    /// Empty where the bill names no invoice month.
    pub invoice_cost: String,
    pub invoice_net: String,
    pub differs: bool,
}

#[derive(Template)]
#[template(path = "connection.html")]
struct ConnectionPage {
    layout: Layout,
    id: i64,
    name: String,
    provider: &'static str,
    status: String,
    synced_through: String,
    reread_from: String,
    /// The connection has a key now (a replacement form) or was disconnected (a new one).
    has_credential: bool,
    is_bedrock: bool,
    regions: Vec<(&'static str, &'static str)>,
    has_services: bool,
    services: Vec<ServiceLine>,
    invoice_months: bool,
    months: Vec<MonthLine>,
    notes: Vec<String>,
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let org = viewer.org();
    let connection = state.store().get_connection(org, ConnectionId(id)).await?;
    let services = state
        .store()
        .connection_services(org, connection.id)
        .await?;
    let months =
        spendlens_query::months::connection_months(state.store(), org, connection.id).await?;
    let layout = Layout::new(&state, &viewer, &headers, "Connections", "/connections").await?;
    let template = ConnectionPage {
        layout,
        id: connection.id.0,
        provider: connection.provider.display_name(),
        status: crate::dashboard::session::capitalize(connection.status.as_str()),
        synced_through: connection
            .synced_through
            .map_or_else(|| "—".to_owned(), |d| d.to_string()),
        reread_from: state
            .store()
            .reread_from(org, connection.id)
            .await?
            .map(|d| d.to_string())
            .unwrap_or_default(),
        has_credential: connection.has_credential,
        is_bedrock: connection.provider == spendlens_domain::ProviderKind::Bedrock,
        regions: super::aws_form::REGIONS.to_vec(),
        has_services: connection.provider == spendlens_domain::ProviderKind::Vertex,
        services: services
            .iter()
            .map(|s| ServiceLine {
                id: s.id.clone(),
                name: s.name.clone(),
                other_names: s.other_names.join(", "),
                kind: s.kind.label(),
                seller: s.seller.clone().unwrap_or_default(),
                cost: format_money(s.cost.round_to_cents(), &s.currency),
                window: s.window.to_string(),
                last_day: s.last_day.map(|d| d.to_string()).unwrap_or_default(),
                counted: s.counted,
                choice: s.choice.map_or("default", |c| c.as_str()),
            })
            .collect(),
        invoice_months: months.invoice_months,
        months: months
            .rows
            .iter()
            .map(|m| MonthLine {
                month: m.month.to_string(),
                utc_cost: format::money(m.utc_days.cost),
                utc_net: format::money(m.utc_days.net),
                invoice_cost: m.invoice.map(|i| format::money(i.cost)).unwrap_or_default(),
                invoice_net: m.invoice.map(|i| format::money(i.net)).unwrap_or_default(),
                differs: m.differs,
            })
            .collect(),
        notes: months.notes,
        name: connection.name,
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}

#[derive(Debug, Deserialize)]
pub struct ServiceForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub service_id: String,
    /// `include`, `exclude` or `default`.
    #[serde(default)]
    pub choice: String,
}

/// Includes or excludes one service (admins); audited.
pub async fn choose(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ServiceForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let back = format!("/connections/{id}");
    let choice = match parse_choice(&form.choice) {
        Ok(choice) => choice,
        Err(message) => {
            return Ok(redirect_with(
                &back,
                vec![flash(&headers, "error", &message)],
            ));
        }
    };
    let outcome = crate::services::choose_service(
        &state,
        viewer.org(),
        ConnectionId(id),
        &form.service_id,
        choice,
        &viewer.actor(),
    )
    .await;
    let notice = match outcome {
        Ok(outcome) => ("ok", outcome.message),
        Err(spendlens_store::StoreError::Invalid(message)) => ("error", message),
        Err(other) => return Err(other.into()),
    };
    Ok(redirect_with(
        &back,
        vec![flash(&headers, notice.0, &notice.1)],
    ))
}
