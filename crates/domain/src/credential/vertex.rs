//! The Vertex connection's own settings carried in its key JSON beside the service account:
//! `maximum_bytes_billed`, the most a sync's BigQuery query may bill.

use serde_json::Value;

/// The cap when the key JSON sets none: 20 GB (about $0.12 of on-demand scanning).
pub const VERTEX_DEFAULT_BYTES_BILLED: u64 = 20_000_000_000;
/// BigQuery bills at least 10 MiB per query, so a lower cap would fail every sync.
pub const VERTEX_MIN_BYTES_BILLED: u64 = 10 * 1024 * 1024;

/// `maximum_bytes_billed` of the key JSON (a whole number of bytes, as a number or a string),
/// or the default; a value that is not a whole number or is under 10 MiB is refused with why.
pub fn vertex_bytes_cap(value: Option<&Value>) -> Result<u64, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(VERTEX_DEFAULT_BYTES_BILLED);
    };
    let bytes = value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse::<u64>().ok()))
        .ok_or_else(|| {
            format!(
                "\"maximum_bytes_billed\" must be a whole number of bytes (e.g. 20000000000 for \
                 20 GB), not {value}"
            )
        })?;
    if bytes < VERTEX_MIN_BYTES_BILLED {
        return Err(format!(
            "\"maximum_bytes_billed\" is {bytes} bytes, under BigQuery's minimum of \
             {VERTEX_MIN_BYTES_BILLED} bytes (10 MiB) billed per query, so every sync would be \
             refused; set at least {VERTEX_MIN_BYTES_BILLED}, or leave it out for the default \
             of {VERTEX_DEFAULT_BYTES_BILLED} bytes (20 GB)"
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_cap_defaults_to_20_gb_and_refuses_less_than_10_mib_with_why() {
        assert_eq!(vertex_bytes_cap(None), Ok(20_000_000_000));
        assert_eq!(vertex_bytes_cap(Some(&json!(null))), Ok(20_000_000_000));
        assert_eq!(vertex_bytes_cap(Some(&json!(50_000_000))), Ok(50_000_000));
        assert_eq!(vertex_bytes_cap(Some(&json!("10485760"))), Ok(10_485_760));
        let low = vertex_bytes_cap(Some(&json!(10_485_759))).unwrap_err();
        assert!(low.contains("10 MiB") && low.contains("10485760"), "{low}");
        let text = vertex_bytes_cap(Some(&json!("20 GB"))).unwrap_err();
        assert!(text.contains("whole number of bytes"), "{text}");
        assert!(vertex_bytes_cap(Some(&json!(-5))).is_err());
    }
}
