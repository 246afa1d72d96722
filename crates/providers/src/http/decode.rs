//! Reading what providers send: pages decoded so that a cut-off body, a body that is not JSON
//! and JSON of the wrong shape are told apart; providers' error messages, scrubbed of the
//! secret; numbers read from their literal text.

use serde::de::DeserializeOwned;
use spendlens_domain::ProviderKind;

use super::client::At;
use crate::error::ProviderError;

/// The provider's error message from an error body (`{"error": {"message": …}}` for both
/// OpenAI and Anthropic), or the body itself when short, scrubbed of the secret and shortened.
pub(crate) fn provider_message(body: &[u8], secret: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Option<ErrorField>,
        message: Option<String>,
        /// FastAPI's `{"detail": "…"}` (LiteLLM).
        detail: Option<serde_json::Value>,
    }
    /// `{"error": {"message": …}}` (OpenAI, Anthropic, OpenRouter, fal) or
    /// `{"error": "…"}` (Runway).
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum ErrorField {
        Text(String),
        Object(Inner),
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        message: Option<String>,
    }
    let parsed = serde_json::from_slice::<Envelope>(body).ok();
    let message = parsed
        .and_then(|envelope| {
            let detail = match envelope.detail {
                Some(serde_json::Value::String(text)) => Some(text),
                Some(serde_json::Value::Object(map)) => map
                    .get("error")
                    .or_else(|| map.get("message"))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned),
                _ => None,
            };
            envelope
                .error
                .and_then(|error| match error {
                    ErrorField::Text(text) => Some(text),
                    ErrorField::Object(inner) => inner.message,
                })
                .or(envelope.message)
                .or(detail)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let message: String = message
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let message = if secret.len() >= 8 {
        message.replace(secret, "[the key]")
    } else {
        message
    };
    if message.is_empty() {
        return "no message".to_owned();
    }
    const LIMIT: usize = 300;
    if message.chars().count() > LIMIT {
        let cut: String = message.chars().take(LIMIT).collect();
        format!("{cut}…")
    } else {
        message
    }
}

/// The decimal text of a JSON number or numeric string, read from its literal text so that a
/// float such as `1.095e-05` never passes through `f64`. `None` for `null` or anything else.
pub(crate) fn number_text(raw: &serde_json::value::RawValue) -> Option<String> {
    let text = raw.get().trim();
    let text = if text.starts_with('"') {
        serde_json::from_str::<String>(text).ok()?
    } else {
        text.to_owned()
    };
    let text = text.trim();
    let numeric = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    numeric.then(|| text.to_owned())
}

/// Decodes a page, telling a cut-off body from one that is not JSON from JSON of the wrong shape.
pub(crate) fn decode<T: DeserializeOwned>(
    provider: ProviderKind,
    at: At<'_>,
    body: &[u8],
) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(|error| {
        let endpoint = at.endpoint.to_owned();
        let page = at.page;
        let detail = error.to_string();
        match error.classify() {
            serde_json::error::Category::Eof => ProviderError::TruncatedPage {
                provider,
                endpoint,
                page,
                detail: format!("the JSON stops early ({detail})"),
            },
            serde_json::error::Category::Data => ProviderError::UnexpectedPage {
                provider,
                endpoint,
                page,
                detail,
            },
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                ProviderError::InvalidJson {
                    provider,
                    endpoint,
                    page,
                    detail,
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_errors_and_fastapi_details_are_read_too() {
        assert_eq!(
            provider_message(br#"{"error":"Invalid API key."}"#, "key_1234567890"),
            "Invalid API key."
        );
        assert_eq!(
            provider_message(
                br#"{"detail":"Non-admin users can only view their own spend data."}"#,
                "sk-1234567890"
            ),
            "Non-admin users can only view their own spend data."
        );
        assert_eq!(
            provider_message(
                br#"{"detail":{"error":"Please provide start_date and end_date"}}"#,
                "sk-1234567890"
            ),
            "Please provide start_date and end_date"
        );
    }

    #[test]
    fn numbers_are_read_from_their_literal_text() {
        let raw = |text: &str| serde_json::value::RawValue::from_string(text.to_owned()).unwrap();
        assert_eq!(number_text(&raw("1.095e-05")).as_deref(), Some("1.095e-05"));
        assert_eq!(number_text(&raw(r#""0.32""#)).as_deref(), Some("0.32"));
        assert_eq!(number_text(&raw("-400")).as_deref(), Some("-400"));
        assert_eq!(number_text(&raw("null")), None);
        assert_eq!(number_text(&raw(r#""n/a""#)), None);
    }

    #[test]
    fn provider_messages_are_read_from_either_envelope_and_scrubbed() {
        let secret = "sk-admin-verysecretvalue1234";
        let openai = format!(
            r#"{{"error":{{"message":"Incorrect API key provided: {secret}.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}}}"#
        );
        assert_eq!(
            provider_message(openai.as_bytes(), secret),
            "Incorrect API key provided: [the key]."
        );
        let anthropic = br#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
        assert_eq!(provider_message(anthropic, secret), "invalid x-api-key");
        assert_eq!(provider_message(b"", secret), "no message");
        assert_eq!(
            provider_message(b"<html>\n Bad   gateway</html>", secret),
            "<html> Bad gateway</html>"
        );
    }

    #[test]
    fn decode_tells_cut_off_from_malformed_from_wrong_shape() {
        #[derive(serde::Deserialize, Debug)]
        struct Page {
            #[expect(dead_code, reason = "only decoded")]
            has_more: bool,
        }
        let at = At {
            endpoint: "/organization/costs",
            page: 2,
        };
        let cut = decode::<Page>(ProviderKind::OpenAi, at, br#"{"has_more": tr"#).unwrap_err();
        assert!(
            matches!(cut, ProviderError::TruncatedPage { .. }),
            "{cut:?}"
        );
        let bad = decode::<Page>(ProviderKind::OpenAi, at, b"<html>oops</html>").unwrap_err();
        assert!(matches!(bad, ProviderError::InvalidJson { .. }), "{bad:?}");
        assert!(
            bad.to_string().starts_with(
                "OpenAI sent a page that is not valid JSON on /organization/costs (page 2): "
            ),
            "{bad}"
        );
        let shape =
            decode::<Page>(ProviderKind::OpenAi, at, br#"{"has_more": "yes"}"#).unwrap_err();
        assert!(
            matches!(shape, ProviderError::UnexpectedPage { .. }),
            "{shape:?}"
        );
    }
}
