//! Prometheus metrics at `GET /metrics` (OpenMetrics text; any API token may read them):
//! HTTP request latency by method, route template and status; metered events by outcome; and
//! sync runs by provider and status with their durations, read from the sync log at each scrape
//! (so runs from the CLI, from other servers and from before a restart all count).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use spendlens_store::{SYNC_DURATION_BUCKETS, SyncRunTotals, SyncRunsRunning};

use crate::AppState;
use crate::auth::ApiOrg;
use crate::error::ApiError;

/// The content type of the OpenMetrics text format (Prometheus asks for it and reads it).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    /// The route's template (`/api/v1/connections/{id}`), never the path as sent, so that
    /// the number of series stays bounded; `unmatched` for addresses no route serves.
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IngestLabels {
    outcome: String,
}

type HttpFamily = Family<HttpLabels, Histogram, fn() -> Histogram>;

fn http_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http: HttpFamily,
    ingest: Family<IngestLabels, Counter>,
    sync: Arc<SyncRuns>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::default();
        let http: HttpFamily = Family::new_with_constructor(http_histogram);
        registry.register_with_unit(
            "spendlens_http_request_duration",
            "Time to answer an HTTP request, by method, route template and status",
            Unit::Seconds,
            http.clone(),
        );
        let ingest = Family::<IngestLabels, Counter>::default();
        registry.register(
            "spendlens_ingest_events",
            "Metered events received (native API and OTLP), by outcome: accepted, duplicate (already stored under the same id) or rejected",
            ingest.clone(),
        );
        let sync = Arc::new(SyncRuns::default());
        registry.register_collector(Box::new(sync.clone()));
        Metrics {
            registry,
            http,
            ingest,
            sync,
        }
    }
}

impl Metrics {
    /// Counts one ingest batch's events.
    pub fn ingested(&self, accepted: usize, duplicate: usize, rejected: usize) {
        for (outcome, n) in [
            ("accepted", accepted),
            ("duplicate", duplicate),
            ("rejected", rejected),
        ] {
            self.ingest
                .get_or_create(&IngestLabels {
                    outcome: outcome.to_owned(),
                })
                .inc_by(n as u64);
        }
    }

    fn observe(&self, method: &str, route: &str, status: StatusCode, seconds: f64) {
        self.http
            .get_or_create(&HttpLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.as_str().to_owned(),
            })
            .observe(seconds);
    }

    /// The registry as OpenMetrics text.
    fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Middleware: times every request and records it under its route template.
pub async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = match request.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.observe(
        &method,
        &route,
        response.status(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`: every metric, with the sync log read afresh.
pub async fn scrape(
    State(state): State<Arc<AppState>>,
    _caller: ApiOrg,
) -> Result<Response, ApiError> {
    let totals = state.store().sync_run_totals().await?;
    if let Ok(mut snapshot) = state.metrics.sync.snapshot.lock() {
        *snapshot = totals;
    }
    let text = state
        .metrics
        .render()
        .map_err(|_| ApiError::Internal("the metrics could not be written out".to_owned()))?;
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(response)
}

/// The sync log's totals as of the last scrape.
#[derive(Debug, Default)]
struct SyncRuns {
    snapshot: Mutex<(Vec<SyncRunTotals>, Vec<SyncRunsRunning>)>,
}

impl Collector for SyncRuns {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Ok(snapshot) = self.snapshot.lock() else {
            return Ok(());
        };
        let (totals, running) = &*snapshot;
        {
            let mut family = encoder.encode_descriptor(
                "spendlens_sync_runs",
                "Finished sync runs by provider and status, from the sync log",
                None,
                MetricType::Counter,
            )?;
            for t in totals {
                let labels = [("provider", t.provider.as_str()), ("status", &t.status)];
                ConstCounter::new(t.runs).encode(family.encode_family(&labels)?)?;
            }
        }
        {
            let seconds = Unit::Seconds;
            let mut family = encoder.encode_descriptor(
                "spendlens_sync_run_duration",
                "How long finished sync runs took, by provider and status, from the sync log",
                Some(&seconds),
                MetricType::Histogram,
            )?;
            for t in totals {
                let labels = [("provider", t.provider.as_str()), ("status", &t.status)];
                let mut buckets: Vec<(f64, u64)> = SYNC_DURATION_BUCKETS
                    .iter()
                    .zip(t.buckets)
                    .map(|(upper, n)| (*upper as f64, n))
                    .collect();
                let counted: u64 = t.buckets.iter().sum();
                buckets.push((f64::INFINITY, t.runs.saturating_sub(counted)));
                family
                    .encode_family(&labels)?
                    .encode_histogram::<NoLabelSet>(
                        t.duration_ms as f64 / 1000.0,
                        t.runs,
                        &buckets,
                        None,
                    )?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "spendlens_sync_runs_running",
            "Sync runs in progress (or left running by a stopped process until their lease runs out), by provider",
            None,
            MetricType::Gauge,
        )?;
        for r in running {
            let labels = [("provider", r.provider.as_str())];
            ConstGauge::new(i64::try_from(r.runs).unwrap_or(i64::MAX))
                .encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
