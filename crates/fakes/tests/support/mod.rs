//! Helpers shared by the integration tests: an HTTP client, JSON fetching, exact decimals.

#![allow(dead_code)] // each test binary uses its own subset

use reqwest::header::HeaderMap;
use serde_json::Value;

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// A response: status, headers and the body as text.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request");
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.expect("body"),
    }
}

/// `text` (a decimal, e.g. `"1.2378912"`) × 10^scale, exactly.
pub fn scaled_decimal(text: &str, scale: u32) -> u128 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    assert!(
        fraction.len() as u32 <= scale,
        "more than {scale} decimals: {text}"
    );
    let padded = format!("{fraction:0<width$}", width = scale as usize);
    let whole: u128 = whole
        .parse()
        .unwrap_or_else(|_| panic!("not a decimal: {text}"));
    let fraction: u128 = if padded.is_empty() {
        0
    } else {
        padded.parse().expect("fraction")
    };
    whole * 10u128.pow(scale) + fraction
}

/// Nano-dollars from a JSON amount in dollars, given as its raw JSON text (number or string).
pub fn nanos_from_raw_dollars(raw: &str) -> u128 {
    scaled_decimal(raw.trim_matches('"'), 9)
}
