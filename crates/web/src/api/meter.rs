//! Native metering ingest: `POST /api/v1/meter/events` (a JSON array, one JSON object, or NDJSON
//! with `Content-Type: application/x-ndjson`; `Content-Encoding: gzip` accepted), authenticated
//! by an ingest key. The answer comes after the commit and counts accepted, duplicate and
//! rejected events, with the index and a message for each rejected one.
//!
//! Every door into the meter goes through [`ingest_parsed`] (the OTLP receiver too), so pricing,
//! idempotency and rollups are decided in one place; prices come from [`catalog_for`].

use std::io::Read;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use serde::Serialize;
use spendlens_domain::PriceCatalog;
use spendlens_meter::{
    BatchProblem, EventProblem, MeteredEvent, PricedEvent, cost_event, parse_json_batch,
    parse_ndjson_batch,
};
use spendlens_store::{OrgId, StoreError};

use crate::AppState;
use crate::auth::IngestAuth;
use crate::error::ApiError;

/// The most events one request may carry.
pub const MAX_EVENTS: usize = 10_000;
/// The largest body, compressed or not, in bytes (10 MiB). A gzip body is refused as soon as
/// its decompressed size passes this, so a small bomb costs no more memory than a big body.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The answer to a batch: what was stored, what was already there, what was refused and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// Stored and counted by this request.
    pub accepted: usize,
    /// Already stored (sent before, or twice in this batch); counted once, not again.
    pub duplicate: usize,
    pub rejected: usize,
    /// One entry per rejected event, by its index in the batch (0-based).
    pub errors: Vec<EventError>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventError {
    pub index: usize,
    pub message: String,
}

/// The price catalog that prices an organization's events: the built-in prices with the
/// organization's own (Cost → Model pricing), cached until a price changes.
pub(crate) async fn catalog_for(
    state: &AppState,
    org: OrgId,
) -> Result<Arc<PriceCatalog>, ApiError> {
    state
        .prices
        .catalog(state.store(), org)
        .await
        .map_err(unavailable)
}

/// The one ingest path for parsed events, shared by the native endpoint and the OTLP receiver.
///
/// `events` holds, in batch order, each event or the problem that made it unreadable (its
/// index in the report is its position here). Good events are priced (reported cost, else the
/// catalog from [`catalog_for`], else unpriced), stored idempotently on (organization, event
/// id) and added to the hourly and daily rollups in one transaction; this returns after the
/// commit. A database failure stores nothing and answers 503 with `Retry-After`, so the sender
/// can retry the whole batch safely.
pub(crate) async fn ingest_parsed(
    state: &AppState,
    auth: &IngestAuth,
    events: Vec<Result<MeteredEvent, EventProblem>>,
) -> Result<IngestReport, ApiError> {
    let catalog = catalog_for(state, auth.org).await?;
    let mut report = IngestReport::default();
    let mut good = Vec::with_capacity(events.len());
    let mut positions = Vec::with_capacity(events.len());
    for (index, event) in events.into_iter().enumerate() {
        match event {
            Ok(event) => {
                let cost = cost_event(&catalog, &event);
                good.push(PricedEvent { event, cost });
                positions.push(index);
            }
            Err(problem) => report.errors.push(EventError {
                index,
                message: problem.0,
            }),
        }
    }
    let outcome = state
        .store()
        .ingest_events(auth.org, auth.key_id, state.now(), &good)
        .await
        .map_err(unavailable)?;
    state
        .alerts
        .after_ingest(auth.org, &good, &outcome.inserted);
    state
        .budgets
        .after_ingest(auth.org, &good, &outcome.inserted);
    report.accepted = outcome.inserted.len();
    report.duplicate = outcome.duplicate.len();
    for i in outcome.conflict {
        report.errors.push(EventError {
            index: positions[i],
            message: format!(
                "id \"{}\" was already used by a different event; the first one is kept. Give each call its own id (retries must resend the same event unchanged)",
                good[i].event.id
            ),
        });
    }
    report.errors.sort_by_key(|e| e.index);
    report.rejected = report.errors.len();
    state
        .metrics
        .ingested(report.accepted, report.duplicate, report.rejected);
    Ok(report)
}

/// A failed ingest stored nothing: the sender may retry.
fn unavailable(err: StoreError) -> ApiError {
    match err {
        StoreError::Database(cause) => {
            tracing::error!(error = %cause, "meter ingest failed; nothing was stored");
            ApiError::Unavailable {
                message: "the database could not store the batch; nothing was stored — retry it"
                    .to_owned(),
                retry_after: 1,
            }
        }
        other => other.into(),
    }
}

/// `POST /api/v1/meter/events`.
pub async fn ingest(
    State(state): State<Arc<AppState>>,
    auth: IngestAuth,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestReport>, ApiError> {
    let format = body_format(&headers)?;
    let gzip = gzipped(&headers)?;
    if let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && length > MAX_BODY_BYTES as u64
    {
        return Err(too_large(&format!("the body is {length} bytes")));
    }
    let bytes = http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|err| {
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                too_large("the body is larger")
            } else {
                ApiError::BadRequest(format!("the request body could not be read: {err}"))
            }
        })?
        .to_bytes();
    let now = state.now();
    let events = tokio::task::spawn_blocking(move || {
        if gzip {
            parse_body(&gunzip(&bytes)?, format, now)
        } else {
            parse_body(&bytes, format, now)
        }
    })
    .await
    .map_err(|err| ApiError::Internal(format!("parsing a batch failed: {err}")))??;
    Ok(Json(ingest_parsed(&state, &auth, events).await?))
}

fn too_large(what: &str) -> ApiError {
    ApiError::TooLarge(format!(
        "{what} than the {MAX_BODY_BYTES} bytes (10 MiB) a batch may have; send at most {MAX_EVENTS} events or 10 MiB per request"
    ))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Ndjson,
}

fn body_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Format::Json);
    };
    let text = value.to_str().unwrap_or_default().to_ascii_lowercase();
    let essence = text.split(';').next().unwrap_or_default().trim();
    match essence {
        "application/json" => Ok(Format::Json),
        "application/x-ndjson"
        | "application/ndjson"
        | "application/jsonl"
        | "application/x-jsonlines" => Ok(Format::Ndjson),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type \"{other}\" is not read here; send application/json (an array of events) or application/x-ndjson (one event per line)"
        ))),
    }
}

fn gzipped(headers: &HeaderMap) -> Result<bool, ApiError> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(false);
    };
    match value
        .to_str()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "gzip" | "x-gzip" => Ok(true),
        "" | "identity" => Ok(false),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Encoding \"{other}\" is not supported; send gzip or an uncompressed body"
        ))),
    }
}

/// Decompresses a gzip body, refusing it as soon as it passes [`MAX_BODY_BYTES`].
fn gunzip(compressed: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(MAX_BODY_BYTES));
    flate2::read::MultiGzDecoder::new(compressed)
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|err| {
            ApiError::BadRequest(format!(
                "the body says Content-Encoding: gzip but does not decompress: {err}"
            ))
        })?;
    if out.len() > MAX_BODY_BYTES {
        return Err(too_large("the decompressed body is larger"));
    }
    Ok(out)
}

fn too_many(count: usize) -> ApiError {
    ApiError::TooLarge(format!(
        "the batch has {count} events; at most {MAX_EVENTS} are taken per request — split it"
    ))
}

/// The events of a body, each parsed on its own (a bad one does not spoil the others).
fn parse_body(
    body: &[u8],
    format: Format,
    now: time::OffsetDateTime,
) -> Result<Vec<Result<MeteredEvent, EventProblem>>, ApiError> {
    let parsed = match format {
        Format::Json => parse_json_batch(body, MAX_EVENTS, now),
        Format::Ndjson => parse_ndjson_batch(body, MAX_EVENTS, now),
    };
    parsed.map_err(|problem| match problem {
        BatchProblem::NotJson(err) => ApiError::BadRequest(format!(
            "the body is not valid JSON ({err}); send an array of events, or NDJSON with Content-Type: application/x-ndjson"
        )),
        BatchProblem::NotABatch => ApiError::BadRequest(problem.to_string()),
        BatchProblem::TooMany { count, .. } => too_many(count),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use time::macros::datetime;

    const NOW: time::OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    #[test]
    fn a_gzip_bomb_is_refused_at_the_cap() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..(MAX_BODY_BYTES / zeros.len() + 2) {
            encoder.write_all(&zeros).unwrap();
        }
        let bomb = encoder.finish().unwrap();
        assert!(bomb.len() < 100_000);
        assert!(matches!(gunzip(&bomb), Err(ApiError::TooLarge(_))));
        assert!(matches!(gunzip(b"not gzip"), Err(ApiError::BadRequest(_))));
    }

    #[test]
    fn ndjson_lines_fail_alone() {
        let body = b"{\"id\":\"a\",\"time\":\"2026-12-01T11:00:00Z\",\"provider\":\"openai\",\"model\":\"gpt-4o\"}\n\n{oops\n";
        let events = parse_body(body, Format::Ndjson, NOW).unwrap();
        assert_eq!(events.len(), 2);
        assert!(events[0].is_ok());
        assert!(events[1].as_ref().unwrap_err().0.contains("line 3"));
    }

    #[test]
    fn a_json_body_is_an_array_or_one_object() {
        assert!(matches!(
            parse_body(b"[1,", Format::Json, NOW),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_body(b"42", Format::Json, NOW),
            Err(ApiError::BadRequest(_))
        ));
        let one = parse_body(b"{\"id\":1}", Format::Json, NOW).unwrap();
        assert_eq!(one.len(), 1);
        let many = format!("[{}]", vec!["{}"; MAX_EVENTS + 1].join(","));
        assert!(matches!(
            parse_body(many.as_bytes(), Format::Json, NOW),
            Err(ApiError::TooLarge(_))
        ));
    }
}
