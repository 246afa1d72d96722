//! Forecasts and anomalies on the dashboard: a panel on the Providers view (the projected
//! month as cards, the anomalies found, with why), and Cost → Forecasts at `/cost/forecast`
//! (every scope's forecast, credit balances, every anomaly with its drivers, the thresholds —
//! admins set the global one and single scopes'), with CSV exports of the same reports.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spendlens_query::anomaly::settings::{DEFAULT_THRESHOLD_PCT, parse_threshold};
use spendlens_query::anomaly::{self, AnomalyReport};
use spendlens_query::forecast::{self, ForecastReport};
use spendlens_query::spend_days::SpendDays;
use spendlens_store::{OrgId, ThresholdRow};

use super::forecast_rows::{self as rows, AnomalyRow, Card, CreditRow, ForecastRow};
use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::session::{Viewer, flash, redirect_with};
use crate::dashboard::{Layout, format, respond};

pub(super) const PATH: &str = "/cost/forecast";

/// Anomalies the Providers view's panel lists.
const PANEL_ANOMALIES: usize = 5;

/// Both reports of one organization, read once.
pub async fn reports(
    state: &AppState,
    org: OrgId,
) -> Result<(ForecastReport, AnomalyReport, SpendDays), PageError> {
    let settings = anomaly::settings::load(state.store(), org).await?;
    let data = state.reports.spend_days(org, state.now()).await?;
    let forecasts = forecast::forecasts(&data, &[]);
    let anomalies = anomaly::anomalies(&data, &settings, &[]);
    Ok((forecasts, anomalies, data))
}

/// The Providers view's panel.
#[derive(Template)]
#[template(path = "forecast_panel.html")]
pub struct Panel {
    pub cards: Vec<Card>,
    pub anomalies: Vec<AnomalyRow>,
    pub more: usize,
    pub tested: usize,
    pub threshold: String,
    pub rule: &'static str,
}

/// The panel's HTML, or `None` while there is no spend at all to forecast.
pub async fn panel(state: &AppState, org: OrgId) -> Result<Option<String>, PageError> {
    let (forecasts, anomalies, data) = reports(state, org).await?;
    if data.cells.is_empty() {
        return Ok(None);
    }
    let panel = Panel {
        cards: rows::cards(&forecasts, 3),
        anomalies: rows::anomaly_rows(&anomalies, PANEL_ANOMALIES),
        more: anomalies.anomalies.len().saturating_sub(PANEL_ANOMALIES),
        tested: anomalies.tested,
        threshold: anomalies.settings.threshold_pct.to_string(),
        rule: forecast::math::TREND_RULE,
    };
    Ok(Some(panel.render()?))
}

pub struct ThresholdView {
    pub scope: String,
    pub id: String,
    pub pct: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "forecasts.html")]
struct Page {
    layout: Layout,
    cards: Vec<Card>,
    forecasts: Vec<ForecastRow>,
    credits: Vec<CreditRow>,
    anomalies: Vec<AnomalyRow>,
    tested: usize,
    short: usize,
    threshold: String,
    default_threshold: i64,
    min_daily: String,
    weeks: i64,
    thresholds: Vec<ThresholdView>,
    forecast_notes: Vec<String>,
    anomaly_notes: Vec<String>,
    generated: String,
}

fn threshold_view(row: ThresholdRow) -> ThresholdView {
    ThresholdView {
        id: if row.scope_kind == "global" {
            "(every scope without its own)".to_owned()
        } else {
            row.scope_id
        },
        scope: row.scope_kind,
        pct: row.threshold_pct,
        updated: format!(
            "{} by {}",
            format::instant(Some(row.updated_at)),
            row.updated_by
        ),
    }
}

/// `GET /cost/forecast`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let org = viewer.org();
    let (forecasts, anomalies, _) = reports(&state, org).await?;
    let layout = Layout::new(
        &state,
        &viewer,
        &headers,
        "Forecasts and anomalies",
        "/cost",
    )
    .await?;
    let template = Page {
        layout,
        cards: rows::cards(&forecasts, 6),
        forecasts: forecasts.forecasts.iter().map(rows::forecast_row).collect(),
        credits: forecasts.credits.iter().map(rows::credit_row).collect(),
        anomalies: rows::anomaly_rows(&anomalies, usize::MAX),
        tested: anomalies.tested,
        short: anomalies.insufficient_history,
        threshold: anomalies.settings.threshold_pct.to_string(),
        default_threshold: DEFAULT_THRESHOLD_PCT,
        min_daily: format::money(anomalies.settings.min_daily),
        weeks: anomalies.settings.weeks,
        thresholds: state
            .store()
            .anomaly_thresholds(org)
            .await?
            .into_iter()
            .map(threshold_view)
            .collect(),
        forecast_notes: forecasts.notes.clone(),
        anomaly_notes: anomalies.notes.clone(),
        generated: format::instant(Some(forecasts.generated_at)),
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}

#[derive(Debug, Deserialize)]
pub struct ExportParams {
    /// `forecasts` or `anomalies`.
    pub report: Option<String>,
}

/// `GET /cost/forecast/export?report=forecasts|anomalies`: the same CSV as the API.
pub async fn export(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(params): Query<ExportParams>,
) -> Result<Response, PageError> {
    let (forecasts, anomalies, data) = reports(&state, viewer.org()).await?;
    let (csv, name) = match params.report.as_deref().unwrap_or("forecasts") {
        "forecasts" => (forecast::csv::to_csv(&forecasts), "forecasts"),
        "anomalies" => (anomaly::csv::to_csv(&anomalies), "anomalies"),
        other => {
            return Err(PageError::BadRequest(format!(
                "report must be forecasts or anomalies, not \"{other}\""
            )));
        }
    };
    let csv = csv.map_err(|e| PageError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"spendlens-{name}-{}.csv\"",
                    data.today
                ),
            ),
        ],
        csv,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct ThresholdForm {
    pub csrf: String,
    pub scope: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub threshold_pct: String,
}

/// `POST /cost/forecast/thresholds`: set the global threshold or one scope's (admins).
pub async fn set_threshold(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<ThresholdForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let checked =
        crate::api::thresholds::target(&form.scope, Some(&form.id)).and_then(|(scope, id)| {
            parse_threshold(&form.threshold_pct)
                .map(|pct| (scope, id, pct))
                .map_err(|e| e.to_string())
        });
    let (scope, id, pct) = match checked {
        Ok(ok) => ok,
        Err(message) => {
            return Ok(redirect_with(
                PATH,
                vec![flash(
                    &headers,
                    "error",
                    &format!("The threshold was not saved: {message}."),
                )],
            ));
        }
    };
    let previous = state
        .store()
        .set_anomaly_threshold(
            viewer.org(),
            &scope,
            &id,
            &pct.to_string(),
            spendlens_store::Actor {
                name: &viewer.actor(),
                at: state.now(),
            },
        )
        .await?;
    let what = if scope == "global" {
        "The global anomaly threshold".to_owned()
    } else {
        format!("The anomaly threshold of {scope} {id}")
    };
    let message = match previous {
        Some(old) => format!("{what} is now {pct} % (was {old} %)."),
        None => format!("{what} is now {pct} %."),
    };
    Ok(redirect_with(PATH, vec![flash(&headers, "ok", &message)]))
}

/// `POST /cost/forecast/thresholds/remove`: a scope back to the global threshold (admins).
pub async fn remove_threshold(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<ThresholdForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let (scope, id) = crate::api::thresholds::target(&form.scope, Some(&form.id))
        .map_err(PageError::BadRequest)?;
    let removed = state
        .store()
        .remove_anomaly_threshold(
            viewer.org(),
            &scope,
            &id,
            spendlens_store::Actor {
                name: &viewer.actor(),
                at: state.now(),
            },
        )
        .await?;
    let message = match removed {
        Some(old) if scope == "global" => {
            format!(
                "Removed the global threshold of {old} %: the default of {DEFAULT_THRESHOLD_PCT} % applies."
            )
        }
        Some(old) => format!(
            "Removed the threshold of {old} % of {scope} {id}: the global threshold applies."
        ),
        None => "There was no such threshold.".to_owned(),
    };
    Ok(redirect_with(PATH, vec![flash(&headers, "ok", &message)]))
}
