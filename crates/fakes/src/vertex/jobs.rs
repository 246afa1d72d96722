//! Query jobs: the first answer of `jobs.query`, then `jobs.getQueryResults` polling and paging
//! (doc §3 "Protocol").
//!
//! With `job_pending_polls = n`, the `jobs.query` answer and the next `n − 1` polls say
//! `jobComplete: false` (no schema, no rows, only `jobReference`); later answers carry the rows.
//! A page holds `min(maxResults, page_rows)` rows (default `page_rows`, 500, like BigQuery's own
//! response-size cap) and a `pageToken` while rows remain; `startIndex` is honoured when no
//! token is sent. `rows` is left out when a page has none, as Google leaves out empty lists.
//! Page tokens are opaque base32, bound to their job. `location`, when sent, must be the
//! job's (else 404 `notFound`, as for an unknown job).
//!
//! Under [`Fault::RepeatPage`](crate::Fault::RepeatPage) the `pageToken` returned is the one
//! sent (on the first page, a token that leads back to it); under
//! [`Fault::MissingField`](crate::Fault::MissingField) a page with rows lacks its `schema`.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::http::{ServerState, invalid, not_found};
use super::query::{Cells, max_results};
use crate::common::prng::mix;
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};

/// A query job and its result.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) id: String,
    /// Serial number, bound into page tokens.
    pub(crate) number: u64,
    pub(crate) project: String,
    pub(crate) location: String,
    /// The result's column names, in order.
    pub(crate) columns: Arc<Vec<&'static str>>,
    pub(crate) rows: Arc<Vec<Cells>>,
    /// Answers still to say `jobComplete: false`.
    pub(crate) pending: u32,
    pub(crate) bytes: u64,
}

impl Job {
    pub(crate) fn new(
        state: &ServerState,
        columns: Vec<&'static str>,
        rows: Vec<Cells>,
        bytes: u64,
    ) -> Self {
        let number = state.next_number();
        Self {
            id: format!("job_{}", state.random_text(0x10B, number, 27)),
            number,
            project: state.config.project.clone(),
            location: state.config.location.clone(),
            columns: Arc::new(columns),
            rows: Arc::new(rows),
            pending: state.config.job_pending_polls,
            bytes,
        }
    }

    fn reference(&self) -> Value {
        json!({"projectId": self.project, "jobId": self.id, "location": self.location})
    }
}

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn unbase32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = BASE32.iter().position(|&a| a == c)? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// A page token: where a job's next page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageToken {
    pub(crate) job: u64,
    pub(crate) offset: u64,
    /// 1-based page number it leads to.
    pub(crate) page: u32,
}

fn check(job: u64, offset: u64, page: u32) -> u32 {
    (mix(job ^ (offset << 17) ^ (u64::from(page) << 47) ^ 0xB16_0E7) >> 32) as u32
}

impl PageToken {
    pub(crate) fn encode(self) -> String {
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&self.job.to_be_bytes());
        bytes.extend_from_slice(&self.offset.to_be_bytes());
        bytes.extend_from_slice(&self.page.to_be_bytes());
        bytes.extend_from_slice(&check(self.job, self.offset, self.page).to_be_bytes());
        base32(&bytes)
    }

    pub(crate) fn decode(text: &str) -> Option<Self> {
        let bytes: [u8; 24] = unbase32(text)?.try_into().ok()?;
        let job = u64::from_be_bytes(bytes[0..8].try_into().ok()?);
        let offset = u64::from_be_bytes(bytes[8..16].try_into().ok()?);
        let page = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
        let sent = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
        (sent == check(job, offset, page) && page >= 1).then_some(Self { job, offset, page })
    }
}

pub(crate) fn schema(columns: &[&'static str]) -> Value {
    let fields: Vec<Value> = columns
        .iter()
        .map(|c| json!({"name": c, "type": "STRING", "mode": "NULLABLE"}))
        .collect();
    json!({"fields": fields})
}

/// Which answer a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Query,
    GetQueryResults,
}

struct Page {
    kind: Kind,
    job: Job,
    complete: bool,
    offset: u64,
    size: u64,
    page: u32,
    sent_token: Option<String>,
}

impl Page {
    fn render(&self, variant: Variant) -> Result<Vec<u8>, ApiError> {
        let mut out = Map::new();
        let kind = match self.kind {
            Kind::Query => "bigquery#queryResponse",
            Kind::GetQueryResults => "bigquery#getQueryResultsResponse",
        };
        out.insert("kind".into(), json!(kind));
        if self.kind == Kind::GetQueryResults {
            out.insert(
                "etag".into(),
                json!(format!("{:016x}", mix(self.job.number ^ self.offset))),
            );
        }
        out.insert("jobReference".into(), self.job.reference());
        out.insert("jobComplete".into(), json!(self.complete));
        if !self.complete {
            return json_bytes(&Value::Object(out));
        }
        let total = self.job.rows.len() as u64;
        let start = self.offset.min(total);
        let end = start.saturating_add(self.size).min(total);
        let rows: Vec<Value> = self.job.rows[start as usize..end as usize]
            .iter()
            .map(|cells| {
                let f: Vec<Value> = cells.iter().map(|c| json!({"v": c})).collect();
                json!({"f": f})
            })
            .collect();
        if variant != Variant::MissingField || rows.is_empty() {
            out.insert("schema".into(), schema(&self.job.columns));
        }
        out.insert("totalRows".into(), json!(total.to_string()));
        if !rows.is_empty() {
            out.insert("rows".into(), Value::Array(rows));
        }
        let token = match variant {
            Variant::RepeatPage => Some(self.sent_token.clone().unwrap_or_else(|| {
                PageToken {
                    job: self.job.number,
                    offset: start,
                    page: self.page,
                }
                .encode()
            })),
            _ => (end < total).then(|| {
                PageToken {
                    job: self.job.number,
                    offset: end,
                    page: self.page + 1,
                }
                .encode()
            }),
        };
        if let Some(t) = token {
            out.insert("pageToken".into(), json!(t));
        }
        out.insert(
            "totalBytesProcessed".into(),
            json!(self.job.bytes.to_string()),
        );
        if self.kind == Kind::Query {
            out.insert("totalBytesBilled".into(), json!(self.job.bytes.to_string()));
        }
        out.insert("cacheHit".into(), json!(false));
        json_bytes(&Value::Object(out))
    }
}

fn prepared(page: Page) -> Prepared {
    Prepared {
        page: page.page,
        render: Arc::new(move |variant| page.render(variant)),
    }
}

fn page_size(state: &ServerState, requested: Option<u32>) -> u64 {
    let cap = u64::from(state.config.page_rows);
    requested.map_or(cap, |n| u64::from(n).min(cap))
}

/// The `jobs.query` answer for a new job.
pub(crate) fn first_response(
    state: &ServerState,
    mut job: Job,
    max_results: Option<u32>,
) -> Result<Prepared, ApiError> {
    let complete = job.pending == 0;
    job.pending = job.pending.saturating_sub(1);
    state.jobs().insert(job.id.clone(), job.clone());
    Ok(prepared(Page {
        kind: Kind::Query,
        job,
        complete,
        offset: 0,
        size: page_size(state, max_results),
        page: 1,
        sent_token: None,
    }))
}

/// `GET projects/{p}/queries/{jobId}`.
pub(crate) fn get_query_results(
    state: &ServerState,
    project: &str,
    job_id: &str,
    query: &Query,
) -> Result<Prepared, ApiError> {
    let not_found = || {
        not_found(format!(
            "Not found: Job {project}:{}.{job_id}",
            query.first("location").unwrap_or(&state.config.location)
        ))
    };
    let job = {
        let mut jobs = state.jobs();
        let Some(job) = jobs.get_mut(job_id) else {
            return Err(not_found());
        };
        if job.project != project || query.first("location").is_some_and(|l| l != job.location) {
            return Err(not_found());
        }
        let snapshot = job.clone();
        job.pending = job.pending.saturating_sub(1);
        snapshot
    };
    let requested = max_results(
        query
            .first("maxResults")
            .map(|v| Value::String(v.to_owned()))
            .as_ref(),
    )?;
    let (offset, page) = match query.first("pageToken") {
        Some(text) => {
            let token = PageToken::decode(text)
                .filter(|t| t.job == job.number)
                .ok_or_else(|| invalid("invalid", format!("Invalid page token: {text}")))?;
            (token.offset, token.page)
        }
        None => {
            let start = match query.first("startIndex") {
                None => 0,
                Some(v) => v.parse::<u64>().map_err(|_| {
                    invalid("invalid", format!("Invalid value for startIndex: {v}"))
                })?,
            };
            (start, 1)
        }
    };
    Ok(prepared(Page {
        kind: Kind::GetQueryResults,
        complete: job.pending == 0,
        job,
        offset,
        size: page_size(state, requested),
        page,
        sent_token: query.first("pageToken").map(str::to_owned),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_in_url_safe_base32() {
        let t = PageToken {
            job: 9,
            offset: 500,
            page: 2,
        };
        let text = t.encode();
        assert!(text.bytes().all(|b| BASE32.contains(&b)));
        assert_eq!(PageToken::decode(&text), Some(t));
        assert_eq!(PageToken::decode("ABCDEF"), None);
        assert_eq!(PageToken::decode("not base32!"), None);
        assert_eq!(unbase32(&base32(b"hello world")).unwrap(), b"hello world");
    }
}
