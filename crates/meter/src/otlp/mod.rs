//! The OpenTelemetry side of metering: OTLP/HTTP trace export requests (binary protobuf and
//! OTLP/JSON) decoded into one message model, GenAI spans converted into [`MeteredEvent`]s, and
//! the export answers (`ExportTraceServiceResponse` with partial success, `google.rpc.Status`)
//! encoded in the request's own encoding. Pure: the HTTP route lives in the web crate.
//!
//! Prompts and completions never leave this module: span events are not decoded at all, and
//! the conversion reads only the attribute keys it maps (METERING.md §1.3–§1.5).
//!
//! [`MeteredEvent`]: crate::MeteredEvent

pub mod attrs;
pub mod convert;
mod json;
pub mod proto;

use prost::Message;

pub use convert::{SpanBatch, spans_to_events};
pub use proto::ExportTraceServiceRequest;

/// The two OTLP/HTTP encodings; answers go back in the request's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// From a `Content-Type` header: the media type, parameters (`; charset=utf-8`) ignored.
    pub fn from_content_type(header: &str) -> Option<Encoding> {
        let media = header.split(';').next().unwrap_or_default().trim();
        if media.eq_ignore_ascii_case("application/x-protobuf")
            || media.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Encoding::Protobuf)
        } else if media.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    pub const fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Why a request body is not an `ExportTraceServiceRequest`: permanent, answered with 400.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Decodes a (decompressed) request body.
pub fn decode(body: &[u8], encoding: Encoding) -> Result<ExportTraceServiceRequest, DecodeError> {
    match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body).map_err(|err| {
            DecodeError(format!(
                "the body is not a protobuf ExportTraceServiceRequest ({err}); send OTLP traces with Content-Type application/x-protobuf, or OTLP/JSON with application/json"
            ))
        }),
        Encoding::Json => {
            if body.iter().all(u8::is_ascii_whitespace) {
                // An empty body is an empty request, as in protobuf.
                return Ok(ExportTraceServiceRequest::default());
            }
            serde_json::from_slice(body).map_err(|err| {
                // serde quotes a misplaced value whole: keep the answer short (and a prompt
                // sent in the wrong place out of it).
                let mut detail = err.to_string();
                if detail.len() > MAX_DETAIL {
                    let cut = (0..=MAX_DETAIL)
                        .rev()
                        .find(|i| detail.is_char_boundary(*i))
                        .unwrap_or(0);
                    detail = format!("{}… ({})", &detail[..cut], position(&err));
                }
                DecodeError(format!(
                    "the body is not an OTLP/JSON ExportTraceServiceRequest: {detail}"
                ))
            })
        }
    }
}

/// The longest decoder detail quoted back.
const MAX_DETAIL: usize = 200;

fn position(err: &serde_json::Error) -> String {
    format!("line {} column {}", err.line(), err.column())
}

/// The 200 answer: `partial_success` set only when spans were rejected or there is a warning.
pub fn encode_response(encoding: Encoding, rejected_spans: usize, error_message: &str) -> Vec<u8> {
    let partial = rejected_spans > 0 || !error_message.is_empty();
    match encoding {
        Encoding::Protobuf => proto::ExportTraceServiceResponse {
            partial_success: partial.then(|| proto::ExportTracePartialSuccess {
                rejected_spans: i64::try_from(rejected_spans).unwrap_or(i64::MAX),
                error_message: error_message.to_owned(),
            }),
        }
        .encode_to_vec(),
        Encoding::Json => {
            let body = if partial {
                // int64 is written as a decimal string in OTLP/JSON.
                serde_json::json!({"partialSuccess": {
                    "rejectedSpans": rejected_spans.to_string(),
                    "errorMessage": error_message,
                }})
            } else {
                serde_json::json!({})
            };
            body.to_string().into_bytes()
        }
    }
}

/// gRPC status codes used in `google.rpc.Status` bodies.
pub mod rpc_code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const PERMISSION_DENIED: i32 = 7;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const UNAUTHENTICATED: i32 = 16;
    pub const UNAVAILABLE: i32 = 14;
    pub const INTERNAL: i32 = 13;
    pub const UNIMPLEMENTED: i32 = 12;
}

/// An error answer's body (`google.rpc.Status`) in the given encoding.
pub fn encode_status(encoding: Encoding, code: i32, message: &str) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => proto::RpcStatus {
            code,
            message: message.to_owned(),
        }
        .encode_to_vec(),
        Encoding::Json => serde_json::json!({"code": code, "message": message})
            .to_string()
            .into_bytes(),
    }
}

#[cfg(test)]
mod tests;
