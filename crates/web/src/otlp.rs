//! The OpenTelemetry receiver: `POST /v1/traces` (OTLP/HTTP, binary protobuf or OTLP/JSON,
//! optionally gzip), authenticated by an ingest key in `Authorization: Bearer` (exporters set it
//! with `OTEL_EXPORTER_OTLP_HEADERS`). GenAI spans become metered events through the one ingest
//! path ([`crate::api::meter::ingest_parsed`]); other spans are acknowledged and ignored.
//!
//! Answers follow the OTLP/HTTP spec, in the request's encoding: 200 with an
//! `ExportTraceServiceResponse` (partial success names the rejected spans) only after the
//! commit; 400 for a payload that does not decode (not retried); 401 for a bad key; 413 over
//! the size cap (after decompression); 415 for another media type; 429/503 with `Retry-After`
//! when the server is busy or the database is down (the exporter retries). Prompts and
//! completions in the spans are dropped by the conversion and never logged here.

use std::io::Read;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http_body_util::BodyExt;
use spendlens_meter::otlp::{self, Encoding, rpc_code};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::AppState;
use crate::auth::IngestAuth;
use crate::auth::bearer;
use crate::error::ApiError;

/// The largest request body, after decompression (the OTLP spec's recommended 64 MiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Export requests decoded at once; more wait outside with 429 + `Retry-After` (bounds memory:
/// each may hold a 64 MiB body and its decoded spans).
pub const MAX_IN_FLIGHT: usize = 4;
/// Seconds an exporter is asked to wait when the receiver is busy.
pub const BUSY_RETRY_AFTER: u64 = 1;
/// The longest `error_message` in a partial-success answer.
const MAX_ERROR_MESSAGE: usize = 8 * 1024;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/traces", post(export_traces))
        .route("/v1/metrics", post(not_traces))
        .route("/v1/logs", post(not_traces))
}

/// An SDK pointed at spendlens with `OTEL_EXPORTER_OTLP_ENDPOINT` also exports its metrics and
/// logs: say plainly that only traces are read (404 is not retried).
async fn not_traces(headers: HeaderMap) -> Response {
    let encoding = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Encoding::from_content_type)
        .unwrap_or(Encoding::Json);
    Failure::new(
        StatusCode::NOT_FOUND,
        rpc_code::UNIMPLEMENTED,
        "spendlens receives OpenTelemetry traces only (POST /v1/traces); turn this signal's exporter off (OTEL_METRICS_EXPORTER=none, OTEL_LOGS_EXPORTER=none) or point it elsewhere",
    )
    .into_response(encoding)
}

/// The answer to one export request: what came in, what was stored, what was refused.
#[derive(Debug)]
struct Exported {
    spans: usize,
    ignored: usize,
    accepted: usize,
    duplicate: usize,
    rejected: usize,
    message: String,
}

async fn export_traces(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(encoding) = Encoding::from_content_type(content_type) else {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!(
                "Content-Type \"{}\" is not OTLP; send application/x-protobuf or application/json\n",
                content_type.chars().take(80).collect::<String>()
            ),
        )
            .into_response();
    };
    match receive(&state, &headers, body, encoding).await {
        Ok(done) => {
            tracing::info!(
                spans = done.spans,
                ignored = done.ignored,
                accepted = done.accepted,
                duplicate = done.duplicate,
                rejected = done.rejected,
                "otlp export received"
            );
            let body = otlp::encode_response(encoding, done.rejected, &done.message);
            answer(StatusCode::OK, encoding, body, None)
        }
        Err(failure) => failure.into_response(encoding),
    }
}

/// Why an export was not taken, as the OTLP answer says it.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    code: i32,
    message: String,
    retry_after: Option<u64>,
}

impl Failure {
    fn new(status: StatusCode, code: i32, message: impl Into<String>) -> Failure {
        Failure {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    fn into_response(self, encoding: Encoding) -> Response {
        let body = otlp::encode_status(encoding, self.code, &self.message);
        answer(self.status, encoding, body, self.retry_after)
    }

    /// An error of the shared ingest path (key check, store) with its status and message.
    fn from_api(err: ApiError) -> Failure {
        let message = err.to_string();
        let response = err.into_response();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let code = match status {
            StatusCode::UNAUTHORIZED => rpc_code::UNAUTHENTICATED,
            StatusCode::FORBIDDEN => rpc_code::PERMISSION_DENIED,
            StatusCode::TOO_MANY_REQUESTS => rpc_code::RESOURCE_EXHAUSTED,
            StatusCode::SERVICE_UNAVAILABLE => rpc_code::UNAVAILABLE,
            s if s.is_client_error() => rpc_code::INVALID_ARGUMENT,
            _ => rpc_code::INTERNAL,
        };
        Failure {
            status,
            code,
            message,
            retry_after,
        }
    }
}

fn answer(
    status: StatusCode,
    encoding: Encoding,
    body: Vec<u8>,
    retry_after: Option<u64>,
) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    encoding: Encoding,
) -> Result<Exported, Failure> {
    let token = bearer(headers).ok_or_else(|| {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            rpc_code::UNAUTHENTICATED,
            "missing ingest key; configure the exporter with OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Bearer%20sl_ingest_…\"",
        )
    })?;
    let auth = IngestAuth::check(state, token)
        .await
        .map_err(Failure::from_api)?;
    let gzip = gzipped(headers)?;
    if let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && length > MAX_BODY_BYTES as u64
    {
        return Err(too_large(&format!("the body is {length} bytes")));
    }
    let _permit = in_flight()?;
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
                Failure::new(
                    StatusCode::BAD_REQUEST,
                    rpc_code::INVALID_ARGUMENT,
                    format!("the request body could not be read: {err}"),
                )
            }
        })?
        .to_bytes();
    let now = state.now();
    let batch = tokio::task::spawn_blocking(move || {
        let plain = if gzip {
            gunzip(&bytes)?
        } else {
            bytes.to_vec()
        };
        let request = otlp::decode(&plain, encoding).map_err(|err| {
            Failure::new(StatusCode::BAD_REQUEST, rpc_code::INVALID_ARGUMENT, err.0)
        })?;
        Ok::<_, Failure>(otlp::spans_to_events(&request, now))
    })
    .await
    .map_err(|err| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            rpc_code::INTERNAL,
            format!("decoding the export failed: {err}"),
        )
    })??;
    let (spans, ignored) = (batch.spans, batch.ignored);
    let report = if batch.items.is_empty() {
        Default::default()
    } else {
        crate::api::meter::ingest_parsed(state, &auth, batch.items)
            .await
            .map_err(Failure::from_api)?
    };
    Ok(Exported {
        spans,
        ignored,
        accepted: report.accepted,
        duplicate: report.duplicate,
        rejected: report.rejected,
        message: error_message(
            report.rejected,
            report.errors.iter().map(|e| e.message.as_str()),
        ),
    })
}

/// "2 spans rejected: …; …", bounded (the spec recommends answers under 4 MiB; ours stay small).
fn error_message<'a>(rejected: usize, messages: impl Iterator<Item = &'a str>) -> String {
    if rejected == 0 {
        return String::new();
    }
    let mut text = format!(
        "{rejected} span{} rejected: ",
        if rejected == 1 { "" } else { "s" }
    );
    for (n, message) in messages.enumerate() {
        let sep = if n == 0 { "" } else { "; " };
        if text.len() + sep.len() + message.len() > MAX_ERROR_MESSAGE {
            text.push_str("; …");
            break;
        }
        text.push_str(sep);
        text.push_str(message);
    }
    text
}

/// At most [`MAX_IN_FLIGHT`] exports are decoded at once; the next is told to come back.
fn in_flight() -> Result<OwnedSemaphorePermit, Failure> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SLOTS
        .get_or_init(|| Arc::new(Semaphore::new(MAX_IN_FLIGHT)))
        .clone()
        .try_acquire_owned()
        .map_err(|_| Failure {
            retry_after: Some(BUSY_RETRY_AFTER),
            ..Failure::new(
                StatusCode::TOO_MANY_REQUESTS,
                rpc_code::RESOURCE_EXHAUSTED,
                "the receiver is busy with other exports; retry after the Retry-After delay",
            )
        })
}

fn gzipped(headers: &HeaderMap) -> Result<bool, Failure> {
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
        other => Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            rpc_code::INVALID_ARGUMENT,
            format!(
                "Content-Encoding \"{other}\" is not supported; send gzip (OTEL_EXPORTER_OTLP_COMPRESSION=gzip) or no compression"
            ),
        )),
    }
}

fn too_large(what: &str) -> Failure {
    Failure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        rpc_code::INVALID_ARGUMENT,
        format!(
            "{what} than the {MAX_BODY_BYTES} bytes (64 MiB) an export may have; lower the exporter's batch size (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)"
        ),
    )
}

/// Decompresses, refusing the body as soon as it passes [`MAX_BODY_BYTES`].
fn gunzip(compressed: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(MAX_BODY_BYTES));
    flate2::read::MultiGzDecoder::new(compressed)
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|err| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                rpc_code::INVALID_ARGUMENT,
                format!("the body says Content-Encoding: gzip but does not decompress: {err}"),
            )
        })?;
    if out.len() > MAX_BODY_BYTES {
        return Err(too_large("the decompressed body is larger"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receiver_is_busy_past_its_slots_and_says_when_to_retry() {
        let held: Vec<_> = (0..MAX_IN_FLIGHT).map(|_| in_flight().unwrap()).collect();
        let busy = in_flight().unwrap_err();
        assert_eq!(busy.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(busy.retry_after, Some(BUSY_RETRY_AFTER));
        let response = busy.into_response(Encoding::Json);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        drop(held);
        assert!(in_flight().is_ok());
    }

    #[test]
    fn an_unavailable_store_is_503_with_retry_after() {
        let failure = Failure::from_api(ApiError::TooManyRequests {
            message: "slow down".to_owned(),
            retry_after: 7,
        });
        assert_eq!(
            (failure.status, failure.code, failure.retry_after),
            (
                StatusCode::TOO_MANY_REQUESTS,
                rpc_code::RESOURCE_EXHAUSTED,
                Some(7)
            )
        );
        let failure = Failure::from_api(ApiError::Unavailable {
            message: "database down".to_owned(),
            retry_after: 1,
        });
        assert_eq!(
            (failure.status, failure.code, failure.retry_after),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                rpc_code::UNAVAILABLE,
                Some(1)
            )
        );
        assert_eq!(failure.message, "database down");
    }

    #[test]
    fn the_partial_success_message_is_bounded() {
        assert_eq!(error_message(0, std::iter::empty()), "");
        assert_eq!(
            error_message(1, ["span a: bad"].into_iter()),
            "1 span rejected: span a: bad"
        );
        let long = "x".repeat(1000);
        let text = error_message(50, std::iter::repeat_n(long.as_str(), 50));
        assert!(text.starts_with("50 spans rejected: "));
        assert!(text.len() <= MAX_ERROR_MESSAGE + 10 && text.ends_with('…'));
    }

    #[test]
    fn the_key_comes_from_a_bearer_authorization() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer sl_ingest_abc"),
        );
        assert_eq!(bearer(&headers), Some("sl_ingest_abc"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  sl_ingest_abc "),
        );
        assert_eq!(bearer(&headers), Some("sl_ingest_abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
    }
}
