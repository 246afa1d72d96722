//! OpenAI's query parameters: integers, booleans, arrays as repeated keys, `group_by`, and the
//! time window of the usage and cost reports, with OpenAI-style 400s.

use crate::common::buckets::{Alignment, Width};
use crate::common::query::{ArrayStyle, Query};
use crate::common::respond::ApiError;
use crate::common::window::Window;

pub(crate) fn integer(q: &Query, name: &str) -> Result<Option<i64>, ApiError> {
    q.first(name)
        .map(|text| {
            text.parse::<i64>().map_err(|_| {
                ApiError::invalid(format!(
                    "Invalid type for '{name}': expected an integer, but got a string instead."
                ))
                .param(name)
                .code("invalid_type")
            })
        })
        .transpose()
}

pub(crate) fn boolean(q: &Query, name: &str) -> Result<Option<bool>, ApiError> {
    q.first(name)
        .map(|text| match text {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(ApiError::invalid(format!(
                "Invalid type for '{name}': expected a boolean, but got a string instead."
            ))
            .param(name)
            .code("invalid_type")),
        })
        .transpose()
}

/// `limit`, between 1 and `max`, `default` when absent.
pub(crate) fn limit(q: &Query, default: u32, max: u32) -> Result<u32, ApiError> {
    let Some(limit) = integer(q, "limit")? else {
        return Ok(default);
    };
    if limit < 1 {
        return Err(ApiError::invalid(format!(
            "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got {limit} instead."
        ))
        .param("limit")
        .code("integer_below_min_value"));
    }
    if limit > i64::from(max) {
        return Err(ApiError::invalid(format!(
            "Invalid 'limit': integer above maximum value. Expected a value <= {max}, but got {limit} instead."
        ))
        .param("limit")
        .code("integer_above_max_value"));
    }
    Ok(limit as u32)
}

/// An array parameter, sent as repeated keys (`name=a&name=b`).
pub(crate) fn array<'q>(q: &'q Query, name: &str) -> Result<Vec<&'q str>, ApiError> {
    q.array(name, ArrayStyle::Repeated).map_err(|wrong| {
        ApiError::invalid(format!(
            "Unrecognized request argument supplied: {}. Send arrays as repeated '{}' keys.",
            wrong.sent, wrong.expected
        ))
        .param(wrong.sent)
        .code("unknown_parameter")
    })
}

fn supported(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    quoted.join(", ")
}

/// A value outside `allowed`.
pub(crate) fn invalid_value(name: &str, value: &str, allowed: &[&str]) -> ApiError {
    ApiError::invalid(format!(
        "Invalid value: '{value}'. Supported values are: {}.",
        supported(allowed)
    ))
    .param(name)
    .code("invalid_value")
}

/// `group_by` values, each one of `allowed`.
pub(crate) fn group_by<'q>(q: &'q Query, allowed: &[&str]) -> Result<Vec<&'q str>, ApiError> {
    let values = array(q, "group_by")?;
    match values.iter().find(|v| !allowed.contains(v)) {
        Some(bad) => Err(invalid_value("group_by", bad, allowed)),
        None => Ok(values),
    }
}

/// The largest accepted time, 9999-12-31T23:59:59Z.
const LATEST: i64 = 253_402_300_799;

/// The window of a usage or cost report: `start_time` (required), `end_time` (default: the end
/// of the fake's last day), `bucket_width` (one of `widths`), `limit` per `limits`, `page`.
pub(crate) fn window(
    q: &Query,
    default_end: i64,
    widths: &[&str],
    limits: impl Fn(Width) -> (u32, u32),
) -> Result<Window, ApiError> {
    let Some(start) = integer(q, "start_time")? else {
        return Err(
            ApiError::invalid("Missing required parameter: 'start_time'.")
                .param("start_time")
                .code("missing_required_parameter"),
        );
    };
    let end = integer(q, "end_time")?.unwrap_or(default_end);
    for (name, value) in [("start_time", start), ("end_time", end)] {
        if !(0..=LATEST).contains(&value) {
            return Err(ApiError::invalid(format!(
                "Invalid '{name}': expected a Unix time in seconds between 0 and {LATEST}."
            ))
            .param(name)
            .code("invalid_value"));
        }
    }
    if end <= start {
        return Err(
            ApiError::invalid("Invalid 'end_time': it must be greater than 'start_time'.")
                .param("end_time")
                .code("invalid_value"),
        );
    }
    let width_text = q.first("bucket_width").unwrap_or("1d");
    let width = Width::parse(width_text)
        .filter(|_| widths.contains(&width_text))
        .ok_or_else(|| invalid_value("bucket_width", width_text, widths))?;
    let (default, max) = limits(width);
    let limit = limit(q, default, max)?;
    Window::new(
        (start, end),
        width,
        Alignment::PartialEdges,
        limit,
        q.first("page"),
    )
    .map_err(|_| {
        ApiError::invalid("Invalid 'page': not a cursor returned for this query.")
            .param("page")
            .code("invalid_value")
    })
}
