//! Anthropic's query parameters: arrays as `name[]=…`, RFC 3339 times, `limit`, and the time
//! window of the usage and cost reports, with Anthropic-style 400s (`field: message`).

use crate::common::buckets::{Alignment, Width};
use crate::common::query::{ArrayStyle, Query};
use crate::common::respond::ApiError;
use crate::common::time_text::parse_rfc3339;
use crate::common::window::Window;

/// An array parameter, sent as `name[]=a&name[]=b`.
pub(crate) fn array<'q>(q: &'q Query, name: &str) -> Result<Vec<&'q str>, ApiError> {
    q.array(name, ArrayStyle::Brackets).map_err(|wrong| {
        ApiError::invalid(format!(
            "{}: arrays are sent with brackets, as {}=…",
            wrong.sent, wrong.expected
        ))
    })
}

fn one_of(values: &[&str]) -> String {
    match values {
        [] => String::new(),
        [only] => format!("'{only}'"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|v| format!("'{v}'")).collect();
            format!("{} or '{last}'", init.join(", "))
        }
    }
}

/// Each value of the array `name` must be one of `allowed`.
pub(crate) fn enum_array<'q>(
    q: &'q Query,
    name: &str,
    allowed: &[&str],
) -> Result<Vec<&'q str>, ApiError> {
    let values = array(q, name)?;
    match values.iter().position(|v| !allowed.contains(v)) {
        Some(i) => Err(ApiError::invalid(format!(
            "{name}.{i}: Input should be {}",
            one_of(allowed)
        ))),
        None => Ok(values),
    }
}

/// `limit` between 1 and `max`, `default` when absent.
pub(crate) fn limit(q: &Query, default: u32, max: u32) -> Result<u32, ApiError> {
    let Some(text) = q.first("limit") else {
        return Ok(default);
    };
    let limit: i64 = text
        .parse()
        .map_err(|_| ApiError::invalid("limit: Input should be a valid integer"))?;
    if limit < 1 {
        return Err(ApiError::invalid(
            "limit: Input should be greater than or equal to 1",
        ));
    }
    if limit > i64::from(max) {
        return Err(ApiError::invalid(format!(
            "limit: Input should be less than or equal to {max}"
        )));
    }
    Ok(limit as u32)
}

fn time(q: &Query, name: &str) -> Result<Option<i64>, ApiError> {
    q.first(name)
        .map(|text| {
            parse_rfc3339(text).ok_or_else(|| {
                ApiError::invalid(format!(
                    "{name}: Input should be a valid RFC 3339 datetime, got '{text}'"
                ))
            })
        })
        .transpose()
}

/// The window of a report: `starting_at` (required), `ending_at` (default: the end of the
/// fake's last day), `bucket_width` (one of `widths`), `limit` per `limits`, `page`. Buckets
/// are whole: they start on or after `starting_at` and end on or before `ending_at`.
pub(crate) fn window(
    q: &Query,
    default_end: i64,
    widths: &[&str],
    limits: impl Fn(Width) -> (u32, u32),
) -> Result<Window, ApiError> {
    let Some(start) = time(q, "starting_at")? else {
        return Err(ApiError::invalid("starting_at: Field required"));
    };
    let end = time(q, "ending_at")?.unwrap_or(default_end);
    if end <= start {
        return Err(ApiError::invalid("ending_at: must be after starting_at"));
    }
    let width_text = q.first("bucket_width").unwrap_or("1d");
    let width = Width::parse(width_text)
        .filter(|_| widths.contains(&width_text))
        .ok_or_else(|| {
            ApiError::invalid(format!("bucket_width: Input should be {}", one_of(widths)))
        })?;
    let (default, max) = limits(width);
    let limit = limit(q, default, max)?;
    Window::new(
        (start, end),
        width,
        Alignment::WholeOnly,
        limit,
        q.first("page"),
    )
    .map_err(|_| ApiError::invalid("page: invalid page token"))
}
