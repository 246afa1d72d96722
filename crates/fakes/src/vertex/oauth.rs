//! `POST /token`: the service-account JWT bearer grant (doc §2, §10).
//!
//! Checks, in order: a form body (`application/x-www-form-urlencoded`), `grant_type =
//! urn:ietf:params:oauth:grant-type:jwt-bearer` (else `unsupported_grant_type`), an `assertion`,
//! a well-formed JWT with `alg` `RS256`, `iss` = the service account's email (else
//! `invalid_grant` "account not found"), a `kid`, if sent and the fake knows the key id, equal to
//! it, the RS256 signature against the configured public key (else `invalid_grant` "Invalid JWT
//! Signature.", also once the key is revoked with
//! [`RunningFake::set_revoked`](crate::RunningFake::set_revoked)), `aud` = this endpoint's URL,
//! integer `iat`/`exp` with `0 < exp − iat ≤ 3600` and, unless disabled, both within five
//! minutes of the wall clock, a non-empty `scope` (else `invalid_scope`), and no `sub` other
//! than the account itself (domain-wide delegation is `unauthorized_client`).
//!
//! Any non-empty scope gets a token; BigQuery then refuses tokens without one of its scopes.
//! The reply is `{"access_token": "ya29.…", "expires_in": N, "token_type": "Bearer"}` with the
//! configured lifetime (default 3599 s). Under
//! [`Fault::MissingField`](crate::Fault::MissingField) the reply lacks `access_token`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use super::http::{IssuedToken, ServerState};
use super::jwt;
use crate::common::respond::{ApiError, ErrorKind, Prepared, Variant, json_bytes};

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLOCK_SKEW_SECS: i64 = 300;

fn oauth_error(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, ErrorKind::InvalidRequest, message).code(code)
}

fn invalid_grant(message: impl Into<String>) -> ApiError {
    oauth_error("invalid_grant", message)
}

const TIMEFRAME: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a \
                         reasonable timeframe. Check your iat and exp values in the JWT claim.";

pub(crate) fn token(
    state: &ServerState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Prepared, ApiError> {
    let config = &state.config;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(oauth_error(
            "invalid_request",
            format!(
                "The token request must be a form (application/x-www-form-urlencoded); got \
                 '{content_type}'"
            ),
        ));
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match field("grant_type") {
        Some(GRANT_TYPE) => {}
        Some(other) => {
            return Err(oauth_error(
                "unsupported_grant_type",
                format!("Invalid grant_type: {other}"),
            ));
        }
        None => {
            return Err(oauth_error(
                "invalid_request",
                "Missing required parameter: grant_type",
            ));
        }
    }
    let Some(assertion) = field("assertion") else {
        return Err(oauth_error(
            "invalid_request",
            "Missing required parameter: assertion",
        ));
    };
    let jwt = jwt::decode(assertion).map_err(|m| invalid_grant(format!("Invalid JWT: {m}")))?;
    let alg = jwt.header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != "RS256" {
        return Err(invalid_grant(format!(
            "Invalid JWT: the algorithm must be RS256, not '{alg}'"
        )));
    }
    let claims = &jwt.claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(config.client_email.as_str()) {
        return Err(invalid_grant("Invalid grant: account not found"));
    }
    let bad_signature = || invalid_grant("Invalid JWT Signature.");
    if let (Some(kid), Some(known)) = (
        jwt.header.get("kid").and_then(Value::as_str),
        config.private_key_id.as_deref(),
    ) && kid != known
    {
        return Err(bad_signature());
    }
    let Some(key) = config.public_key.as_ref() else {
        return Err(bad_signature());
    };
    if state.controls.is_revoked() || !jwt.signed_by(key) {
        return Err(bad_signature());
    }
    let token_uri = state.token_uri.get().map(String::as_str).unwrap_or("");
    if text("aud") != Some(token_uri) {
        return Err(invalid_grant(format!(
            "Invalid JWT: Failed audience check. The right audience is {token_uri}"
        )));
    }
    let (Some(iat), Some(exp)) = (
        claims.get("iat").and_then(Value::as_i64),
        claims.get("exp").and_then(Value::as_i64),
    ) else {
        return Err(invalid_grant(TIMEFRAME));
    };
    if exp <= iat || exp - iat > 3600 {
        return Err(invalid_grant(TIMEFRAME));
    }
    if config.check_jwt_clock {
        #[expect(
            clippy::disallowed_methods,
            reason = "Google checks a JWT's iat against its own wall clock; the fake does too"
        )]
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        if iat > now + CLOCK_SKEW_SECS || exp < now - CLOCK_SKEW_SECS {
            return Err(invalid_grant(TIMEFRAME));
        }
    }
    let scopes: Vec<String> = text("scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() {
        return Err(oauth_error(
            "invalid_scope",
            "Empty or missing scope not allowed.",
        ));
    }
    if let Some(sub) = text("sub")
        && sub != config.client_email
    {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorKind::Authentication,
            "Client is unauthorized to retrieve access tokens using this method, or client not \
             authorized for any of the scopes requested.",
        )
        .code("unauthorized_client"));
    }
    let n = state.next_number();
    let access_token = format!("ya29.c.fake{}", state.random_text(0x70_4E, n, 96));
    state.tokens().insert(
        access_token.clone(),
        IssuedToken {
            expires_at: Instant::now() + Duration::from_secs(config.token_expires_in),
            scopes,
        },
    );
    let expires_in = config.token_expires_in;
    Ok(Prepared {
        page: 1,
        render: Arc::new(move |variant| {
            let body = if variant == Variant::MissingField {
                json!({"expires_in": expires_in, "token_type": "Bearer"})
            } else {
                json!({"access_token": access_token, "expires_in": expires_in,
                       "token_type": "Bearer"})
            };
            json_bytes(&body)
        }),
    })
}
