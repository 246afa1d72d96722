//! BigQuery REST calls with a service-account token: the token comes from the shared
//! [`TokenSource`] (the key's own `token_uri`, a signed JWT-bearer grant, cached until shortly
//! before it expires, fetched again once when BigQuery answers 401); every call goes through the
//! shared retry loop, which also retries BigQuery's passing 403 reasons (`rateLimitExceeded`).
//!
//! Google's error envelope (`{"error": {"code", "message", "errors": [{"reason"}]}}`) becomes a
//! [`ProviderError`] that names the role to grant, the dataset to check, or the quota hit.

use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::ProviderError;
use crate::http::{
    Answer, At, Attempts, CallStats, HttpSettings, RetryPolicy, TokenGrant, TokenRefusal,
    TokenSource, authorized_send, decode, endpoint_url, http_client, provider_message,
};

use super::PROVIDER;
use super::key::ServiceAccount;

/// BigQuery error reasons worth another try (they come with HTTP 403 or 5xx).
const RETRYABLE_REASONS: [&str; 4] = [
    "rateLimitExceeded",
    "jobRateLimitExceeded",
    "backendError",
    "internalError",
];

/// The shared retry rules plus BigQuery's passing reasons.
const POLICY: RetryPolicy = RetryPolicy {
    retryable_body: retryable_reason,
    wait_headers: &[],
};

fn retryable_reason(_status: StatusCode, body: &[u8]) -> bool {
    reason_of(body).is_some_and(|reason| RETRYABLE_REASONS.contains(&reason.as_str()))
}

/// One fetch's BigQuery client.
pub(crate) struct BigQuery<'a> {
    http: reqwest::Client,
    base: Url,
    tokens: TokenSource<ServiceAccount>,
    settings: HttpSettings,
    stats: &'a CallStats,
}

impl TokenGrant for ServiceAccount {
    fn token_url(&self) -> &Url {
        &self.token_uri
    }

    fn form(&self, now_unix: i64) -> Result<Vec<(&'static str, String)>, ProviderError> {
        Ok(vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned(),
            ),
            ("assertion", self.assertion(now_unix)?),
        ])
    }

    fn refused(&self, refusal: TokenRefusal) -> ProviderError {
        ProviderError::CredentialRejected {
            provider: PROVIDER,
            endpoint: refusal.endpoint,
            status: refusal.status,
            advice: format!(
                "Google did not accept the service account {}: its key may have been deleted \
                 or disabled, or the account itself removed. Download a new JSON key (IAM & \
                 Admin → Service accounts → Keys → Add key) and update the connection; if \
                 the message mentions the time, check this server's clock.",
                self.client_email
            ),
            message: refusal.message,
        }
    }
}

#[derive(Deserialize, Default)]
struct Envelope {
    error: Option<GoogleError>,
}

#[derive(Deserialize, Default)]
struct GoogleError {
    status: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    reason: Option<String>,
}

/// The reason of a Google error envelope (`accessDenied`, `notFound`, …), if any.
fn reason_of(body: &[u8]) -> Option<String> {
    let envelope: Envelope = serde_json::from_slice(body).unwrap_or_default();
    let error = envelope.error?;
    error
        .errors
        .iter()
        .find_map(|item| item.reason.clone())
        .or(error.status)
}

impl<'a> BigQuery<'a> {
    pub(crate) fn new(
        account: ServiceAccount,
        base: Url,
        settings: &HttpSettings,
        stats: &'a CallStats,
    ) -> Result<BigQuery<'a>, ProviderError> {
        let http = http_client(PROVIDER, &base, settings)?;
        Ok(BigQuery {
            http,
            base,
            tokens: TokenSource::new(account),
            settings: settings.clone(),
            stats,
        })
    }

    pub(crate) fn account(&self) -> &ServiceAccount {
        self.tokens.grant()
    }

    pub(crate) fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// GET `path` (relative to the BigQuery base URL) with `query`, as `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &mut self,
        path: &str,
        query: &[(&str, String)],
        page: u32,
    ) -> Result<T, ProviderError> {
        self.call(reqwest::Method::GET, path, query, None, page)
            .await
    }

    /// POST `body` as JSON to `path`, as `T`.
    pub(crate) async fn post<T: DeserializeOwned>(
        &mut self,
        path: &str,
        body: &serde_json::Value,
        page: u32,
    ) -> Result<T, ProviderError> {
        self.call(reqwest::Method::POST, path, &[], Some(body), page)
            .await
    }

    async fn call<T: DeserializeOwned>(
        &mut self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        page: u32,
    ) -> Result<T, ProviderError> {
        let at = At {
            endpoint: path,
            page,
        };
        let url = endpoint_url(&self.base, path, query);
        let attempts = Attempts {
            provider: PROVIDER,
            settings: &self.settings,
            stats: self.stats,
            policy: POLICY,
        };
        let http = &self.http;
        let (answer, token) = authorized_send(
            &mut self.tokens,
            http,
            &attempts,
            || {
                let request = http.request(method.clone(), url.clone());
                match body {
                    Some(json) => request.json(json),
                    None => request,
                }
            },
            at,
            self.base.as_str(),
        )
        .await?;
        if answer.status.is_success() {
            let value = decode(PROVIDER, at, &answer.body)?;
            self.stats.count_page();
            return Ok(value);
        }
        Err(self.bigquery_refusal(answer, at, &token))
    }

    /// What a BigQuery refusal means for the user.
    fn bigquery_refusal(&self, answer: Answer, at: At<'_>, token: &str) -> ProviderError {
        let status = answer.status.as_u16();
        let reason = reason_of(&answer.body).unwrap_or_default();
        let message = provider_message(&answer.body, token);
        let endpoint = at.endpoint.to_owned();
        let page = at.page;
        let email = &self.account().client_email;
        let project = &self.account().project_id;
        let refused = |advice: String| ProviderError::RequestRefused {
            provider: PROVIDER,
            endpoint: endpoint.clone(),
            page,
            status,
            message: message.clone(),
            advice,
        };
        match (status, reason.as_str()) {
            (401, _) => ProviderError::CredentialRejected {
                provider: PROVIDER,
                endpoint,
                status,
                message,
                advice: format!(
                    "BigQuery did not accept a fresh access token for {email}: the service \
                     account may be disabled; check it in IAM & Admin → Service accounts, or \
                     download a new JSON key and update the connection."
                ),
            },
            (403, "quotaExceeded") => refused(
                "a BigQuery quota of the project is used up; try again later or raise the quota"
                    .to_owned(),
            ),
            (403, "billingNotEnabled") => refused(format!(
                "BigQuery needs billing enabled on project {project}, which runs the queries"
            )),
            (403, _) => ProviderError::CredentialRejected {
                provider: PROVIDER,
                endpoint,
                status,
                message,
                advice: format!(
                    "Grant the service account {email} the BigQuery Data Viewer role \
                     (roles/bigquery.dataViewer) on the billing export dataset (or its project) \
                     and the BigQuery Job User role (roles/bigquery.jobUser) on project \
                     {project}, which runs the queries; then sync again."
                ),
            },
            (404, _) => refused(
                "check that the billing export dataset and table exist and that the service \
                 account can see them: set \"billing_dataset\" in the key JSON to the \
                 project.dataset of the Cloud Billing export (Billing → Billing export → \
                 BigQuery export), and check that the dataset's location (US, EU, …) is the \
                 one BigQuery reports"
                    .to_owned(),
            ),
            (_, "bytesBilledLimitExceeded") => refused(format!(
                "the billing export query would bill more than {} bytes ({}), the cap set so a \
                 sync never runs up a large BigQuery bill; raise \"maximum_bytes_billed\" in \
                 the connection's key JSON (BigQuery's answer above says how much the query \
                 needs), or sync a shorter window",
                self.account().maximum_bytes_billed,
                super::query::bytes_text(self.account().maximum_bytes_billed)
            )),
            (_, "invalidQuery") => refused(
                "the billing export table does not have the columns of the standard usage cost \
                 export (service, sku, usage_start_time, project, cost, credits, usage); check \
                 that billing_dataset points at a gcp_billing_export_v1_… table"
                    .to_owned(),
            ),
            _ => refused("try again later; if it persists, please report it".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_read_from_google_s_envelope() {
        let body = br#"{"error":{"code":403,"message":"Access Denied: Table x","errors":[{"message":"Access Denied","domain":"global","reason":"accessDenied"}],"status":"PERMISSION_DENIED"}}"#;
        assert_eq!(reason_of(body).as_deref(), Some("accessDenied"));
        let body = br#"{"error":{"code":403,"message":"Exceeded rate limits","errors":[{"reason":"rateLimitExceeded"}]}}"#;
        assert_eq!(reason_of(body).as_deref(), Some("rateLimitExceeded"));
        assert_eq!(reason_of(b"<html>"), None);
    }
}
