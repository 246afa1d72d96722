//! Sending calls to a spendlens server with an ingest key, as an application would: native
//! events in batches to `POST /api/v1/meter/events`, spans as OTLP/HTTP protobuf to
//! `POST /v1/traces`. A busy server (429/503) is retried after its `Retry-After`.

use std::time::Duration;

use prost::Message;
use serde::Deserialize;
use spendlens_meter::otlp::proto::ExportTraceServiceResponse;

use crate::TrafficError;
use crate::plan::Call;
use crate::wire::{native_event, otlp_request};

/// Events per native request (the endpoint takes up to 10,000).
pub const BATCH: usize = 1_000;
/// Tries of one request while the server says it is busy.
const BUSY_TRIES: u32 = 5;

/// What the server did with the events sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Events stored for the first time.
    pub accepted: u64,
    /// Events the server already had (same id and content): counted once.
    pub duplicate: u64,
    pub rejected: u64,
    /// The first rejection's message, if any.
    pub first_error: Option<String>,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.accepted += other.accepted;
        self.duplicate += other.duplicate;
        self.rejected += other.rejected;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

#[derive(Deserialize)]
struct IngestAnswer {
    accepted: u64,
    duplicate: u64,
    rejected: u64,
    #[serde(default)]
    errors: Vec<IngestProblem>,
}

#[derive(Deserialize)]
struct IngestProblem {
    #[serde(default)]
    message: String,
}

/// A client of one server, with one ingest key.
#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
    base_url: String,
    ingest_key: String,
}

impl Sender {
    /// `base_url` is the server's root, e.g. `http://127.0.0.1:8080`.
    pub fn new(base_url: &str, ingest_key: &str) -> Result<Sender, TrafficError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(TrafficError::Client)?;
        Ok(Sender {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            ingest_key: ingest_key.to_owned(),
        })
    }

    /// Sends `calls` as native events, [`BATCH`] per request.
    pub async fn send_native(&self, calls: &[Call]) -> Result<Counts, TrafficError> {
        let mut counts = Counts::default();
        for batch in calls.chunks(BATCH) {
            let body: Vec<_> = batch.iter().map(native_event).collect();
            let body = serde_json::to_vec(&body).map_err(|err| TrafficError::BadAnswer {
                what: "a batch of events".into(),
                detail: err.to_string(),
            })?;
            let url = format!("{}/api/v1/meter/events", self.base_url);
            let bytes = self.post(&url, "application/json", body, "events").await?;
            let answer: IngestAnswer =
                serde_json::from_slice(&bytes).map_err(|err| TrafficError::BadAnswer {
                    what: "events".into(),
                    detail: err.to_string(),
                })?;
            counts.add(Counts {
                accepted: answer.accepted,
                duplicate: answer.duplicate,
                rejected: answer.rejected,
                first_error: answer.errors.into_iter().next().map(|e| e.message),
            });
        }
        Ok(counts)
    }

    /// Sends the token calls among `calls` as one OTLP/HTTP protobuf export; returns the spans
    /// sent and the server's partial-success message, if it rejected any.
    pub async fn send_otlp(&self, calls: &[&Call]) -> Result<(u64, Counts), TrafficError> {
        let request = otlp_request(calls);
        let spans: usize = request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        if spans == 0 {
            return Ok((0, Counts::default()));
        }
        let url = format!("{}/v1/traces", self.base_url);
        let bytes = self
            .post(
                &url,
                "application/x-protobuf",
                request.encode_to_vec(),
                "spans",
            )
            .await?;
        let answer = ExportTraceServiceResponse::decode(bytes.as_slice()).map_err(|err| {
            TrafficError::BadAnswer {
                what: "spans".into(),
                detail: err.to_string(),
            }
        })?;
        let rejected = answer
            .partial_success
            .as_ref()
            .map_or(0, |p| u64::try_from(p.rejected_spans).unwrap_or_default());
        let counts = Counts {
            accepted: spans as u64 - rejected.min(spans as u64),
            duplicate: 0,
            rejected,
            first_error: answer
                .partial_success
                .map(|p| p.error_message)
                .filter(|m| !m.is_empty()),
        };
        Ok((spans as u64, counts))
    }

    async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        what: &str,
    ) -> Result<Vec<u8>, TrafficError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let response = self
                .client
                .post(url)
                .bearer_auth(&self.ingest_key)
                .header("content-type", content_type)
                .body(body.clone())
                .send()
                .await
                .map_err(|source| TrafficError::Unreachable {
                    url: url.to_owned(),
                    source,
                })?;
            let status = response.status().as_u16();
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1)
                .clamp(1, 30);
            let bytes = response
                .bytes()
                .await
                .map_err(|source| TrafficError::Unreachable {
                    url: url.to_owned(),
                    source,
                })?;
            match status {
                200..=299 => return Ok(bytes.to_vec()),
                429 | 503 if tries < BUSY_TRIES => {
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                }
                _ => {
                    let body: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
                    return Err(TrafficError::Refused {
                        what: what.to_owned(),
                        status,
                        body,
                    });
                }
            }
        }
    }
}
