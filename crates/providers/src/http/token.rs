//! OAuth-style access tokens shared by the connectors that trade a credential for a bearer
//! token at a token endpoint: Google's JWT-bearer grant (Vertex) and Microsoft Entra ID's
//! client-credentials grant (Azure). A [`TokenSource`] fetches a token through the retry loop,
//! caches it until shortly before it expires, and [`authorized_send`] fetches a new one once
//! when the API answers 401.
//!
//! The token endpoint's refusal (`{"error", "error_description"}`, RFC 6749 §5.2) goes to the
//! grant, which knows what to tell the user.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use time::OffsetDateTime;
use url::Url;

use super::client::At;
use super::decode::{decode, provider_message};
use super::retry::{Answer, Attempts, send};
use crate::error::ProviderError;

/// How one kind of credential trades itself for an access token.
pub(crate) trait TokenGrant {
    /// The token endpoint.
    fn token_url(&self) -> &Url;
    /// The form fields of one token request (a fresh signed assertion, or client credentials).
    fn form(&self, now_unix: i64) -> Result<Vec<(&'static str, String)>, ProviderError>;
    /// The error for a token endpoint that refused the grant.
    fn refused(&self, refusal: TokenRefusal) -> ProviderError;
    /// A secret to scrub from any message kept (a client secret); empty when none.
    fn secret(&self) -> &str {
        ""
    }
}

/// A token endpoint's refusal, as the grant needs it to explain.
pub(crate) struct TokenRefusal {
    pub status: u16,
    /// `error_description`, or the body when it is not an OAuth error; scrubbed and shortened.
    pub message: String,
    /// The token endpoint, for the error's "where".
    pub endpoint: String,
}

/// An access token and when to stop using it.
struct AccessToken {
    value: String,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
}

/// A grant and the token it last obtained.
pub(crate) struct TokenSource<G> {
    grant: G,
    cached: Option<AccessToken>,
}

impl<G: TokenGrant> TokenSource<G> {
    pub(crate) fn new(grant: G) -> TokenSource<G> {
        TokenSource {
            grant,
            cached: None,
        }
    }

    pub(crate) fn grant(&self) -> &G {
        &self.grant
    }

    /// Forgets the cached token (the API refused it).
    pub(crate) fn invalidate(&mut self) {
        self.cached = None;
    }

    /// The cached access token, or a new one from the token endpoint.
    pub(crate) async fn token(
        &mut self,
        http: &reqwest::Client,
        attempts: &Attempts<'_>,
    ) -> Result<String, ProviderError> {
        if let Some(token) = &self.cached
            && Instant::now() < token.refresh_at
        {
            return Ok(token.value.clone());
        }
        let fetched = self.fetch(http, attempts).await?;
        let value = fetched.value.clone();
        self.cached = Some(fetched);
        Ok(value)
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        attempts: &Attempts<'_>,
    ) -> Result<AccessToken, ProviderError> {
        let provider = attempts.provider;
        let token_url = self.grant.token_url().clone();
        let endpoint = token_url.path().to_owned();
        let at = At {
            endpoint: &endpoint,
            page: 1,
        };
        #[expect(
            clippy::disallowed_methods,
            reason = "a signed grant's iat is checked against the token server's wall clock"
        )]
        let issued_at = OffsetDateTime::now_utc().unix_timestamp();
        let form = encode_form(&self.grant.form(issued_at)?);
        let secret = self.grant.secret();
        let answer = send(
            attempts,
            || {
                http.post(token_url.clone())
                    .header(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    )
                    .body(form.clone())
            },
            at,
            token_url.as_str(),
            secret,
        )
        .await?;
        if !answer.status.is_success() {
            let refusal: Option<OAuthError> = serde_json::from_slice(&answer.body).ok();
            let message = match refusal {
                Some(OAuthError {
                    error: Some(error),
                    error_description,
                }) => {
                    let message = match error_description {
                        Some(description) => format!("{error}: {description}"),
                        None => error,
                    };
                    provider_message(message.as_bytes(), secret)
                }
                _ => provider_message(&answer.body, secret),
            };
            return Err(self.grant.refused(TokenRefusal {
                status: answer.status.as_u16(),
                message,
                endpoint: format!("the token endpoint {token_url}"),
            }));
        }
        let reply: TokenReply = decode(provider, at, &answer.body)?;
        let value = reply
            .access_token
            .filter(|token| !token.trim().is_empty())
            .ok_or_else(|| ProviderError::UnexpectedPage {
                provider,
                endpoint: endpoint.clone(),
                page: 1,
                detail: "the token endpoint answered without an access_token".to_owned(),
            })?;
        let lifetime = reply
            .expires_in
            .and_then(|value| match value {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .unwrap_or(3600);
        Ok(AccessToken {
            value,
            refresh_at: Instant::now() + Duration::from_secs(usable_for(lifetime)),
        })
    }
}

/// The form body of a token request. (Not inline in the async fn: the serializer is not `Send`,
/// and the future must be.)
fn encode_form(fields: &[(&'static str, String)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        form.append_pair(name, value);
    }
    form.finish()
}

/// Seconds a token of `lifetime` seconds is used: a minute less, or a quarter less when short.
fn usable_for(lifetime: u64) -> u64 {
    lifetime.saturating_sub((lifetime / 4).min(60))
}

/// Sends a request with the source's bearer token through the retry loop. A 401 fetches a new
/// token and tries once more. Returns the answer (success or refusal) and the token used, to
/// scrub from any message read from it.
pub(crate) async fn authorized_send<G: TokenGrant>(
    source: &mut TokenSource<G>,
    http: &reqwest::Client,
    attempts: &Attempts<'_>,
    build: impl Fn() -> reqwest::RequestBuilder,
    at: At<'_>,
    target: &str,
) -> Result<(Answer, String), ProviderError> {
    let mut refreshed = false;
    loop {
        let token = source.token(http, attempts).await?;
        let mut bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            ProviderError::UnusableCredential {
                provider: attempts.provider,
            }
        })?;
        bearer.set_sensitive(true);
        let answer = send(
            attempts,
            || build().header(AUTHORIZATION, bearer.clone()),
            at,
            target,
            &token,
        )
        .await?;
        if answer.status == StatusCode::UNAUTHORIZED && !refreshed {
            // The token expired or was revoked early: fetch a new one, once.
            tracing::info!(
                provider = attempts.provider.as_str(),
                "the API answered 401; fetching a new access token"
            );
            source.invalidate();
            refreshed = true;
            attempts.stats.count_retry();
            continue;
        }
        return Ok((answer, token));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_dropped_a_little_before_they_expire() {
        assert_eq!(usable_for(3600), 3540);
        assert_eq!(usable_for(100), 75);
        assert_eq!(usable_for(0), 0);
    }
}
