//! The JSON API under `/api/v1`.

pub mod access_log;
pub mod alerts;
pub mod budget_denials;
pub mod budgets;
pub mod connections;
pub mod coverage;
pub mod export;
pub mod forecasts;
pub mod ingest_keys;
pub mod meter;
pub mod openapi;
pub mod prices;
pub mod report_documents;
pub mod reports;
pub mod sync_runs;
pub mod thresholds;
pub mod usage;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post, put};

use crate::AppState;
use crate::error::ApiError;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/reports/{view}", get(reports::report))
        .route("/coverage", get(coverage::coverage))
        .route("/export/focus", get(export::focus_export))
        .route("/access-log", get(access_log::list))
        .route(
            "/report-documents",
            get(report_documents::list).post(report_documents::generate),
        )
        .route(
            "/report-documents/{id}",
            get(report_documents::get).delete(report_documents::remove),
        )
        .route(
            "/report-documents/{id}/{format}",
            get(report_documents::download),
        )
        .route(
            "/report-schedules",
            get(report_documents::list_schedules).post(report_documents::create_schedule),
        )
        .route(
            "/report-schedules/{id}",
            axum::routing::delete(report_documents::remove_schedule),
        )
        .route("/forecasts", get(forecasts::forecasts))
        .route("/anomalies", get(forecasts::anomalies))
        .route(
            "/anomaly-thresholds",
            get(thresholds::list)
                .put(thresholds::set)
                .delete(thresholds::remove),
        )
        .route(
            "/connections",
            get(connections::list).post(connections::create),
        )
        .route(
            "/connections/{id}",
            get(connections::get).delete(connections::remove),
        )
        .route("/connections/{id}/test", post(connections::test))
        .route(
            "/connections/{id}/credential",
            put(connections::replace_credential),
        )
        .route("/connections/{id}/services", get(connections::services))
        .route(
            "/connections/{id}/services/{service_id}",
            put(connections::set_service),
        )
        .route("/connections/{id}/months", get(connections::months))
        .route("/connections/{id}/sync", post(sync_runs::sync_one))
        .route("/sync", post(sync_runs::sync_all))
        .route("/sync-runs", get(sync_runs::list))
        .route("/workspaces", get(reports::workspaces))
        .route("/api-keys", get(reports::api_keys))
        .route("/meter/events", post(meter::ingest))
        .route("/token-usage", get(usage::records))
        .route("/token-usage/summary", get(usage::summary))
        .route(
            "/ingest-keys",
            get(ingest_keys::list).post(ingest_keys::create),
        )
        .route(
            "/ingest-keys/{id}/regenerate",
            post(ingest_keys::regenerate),
        )
        .route(
            "/ingest-keys/{id}",
            axum::routing::delete(ingest_keys::revoke),
        )
        .route("/prices", get(prices::list).post(prices::create))
        .route("/prices/check", get(prices::check))
        .route("/prices/observed", get(prices::observed))
        .route("/prices/restate", post(prices::restate))
        .route(
            "/prices/{id}",
            get(prices::get).put(prices::update).delete(prices::remove),
        )
        .route(
            "/alerts/rules",
            get(alerts::list_rules).post(alerts::create_rule),
        )
        .route(
            "/alerts/rules/{id}",
            get(alerts::get_rule)
                .put(alerts::update_rule)
                .delete(alerts::delete_rule),
        )
        .route(
            "/alerts/channels",
            get(alerts::list_channels).post(alerts::create_channel),
        )
        .route(
            "/alerts/channels/{id}",
            axum::routing::delete(alerts::delete_channel),
        )
        .route("/alerts/history", get(alerts::history))
        .route("/alerts/deliveries", get(alerts::deliveries))
        .route("/alerts/smtp", get(alerts::get_smtp).put(alerts::put_smtp))
        .route("/budgets", get(budgets::list).post(budgets::create))
        .route("/budgets/status", get(budgets::status))
        .route("/budgets/denials", get(budget_denials::denials))
        .route("/budgets/check", post(budgets::check))
        .route(
            "/budgets/reservations/{id}",
            axum::routing::delete(budgets::release),
        )
        .route(
            "/budgets/{id}",
            get(budgets::get)
                .put(budgets::update)
                .delete(budgets::delete),
        )
        .route("/budgets/{id}/versions", get(budgets::versions))
        .route("/budgets/{id}/status", get(budgets::status_one))
        .fallback(|| async { ApiError::NotFound("route".to_owned()) })
        .layer(axum::middleware::map_response(crate::error::json_errors))
}
