//! The Cost Explorer client: the official SDK configured from the connection alone (its keys,
//! its base URL, spendlens's timeouts and retry policy), an interceptor that counts every HTTP
//! attempt and retry, and the translation of SDK errors into [`ProviderError`]s a user can act on.
//!
//! The SDK is built from `aws_sdk_costexplorer::Config` directly, not through `aws-config`: the
//! connection's keys must be the only credentials ever used, never the host's environment,
//! profile files or instance metadata.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use aws_sdk_costexplorer::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_costexplorer::config::retry::{RetryConfig, RetryPartition, TokenBucket};
use aws_sdk_costexplorer::config::timeout::TimeoutConfig;
use aws_sdk_costexplorer::config::{
    AppName, BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_costexplorer::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls;
use serde::Deserialize;
use spendlens_domain::{Credential, ProviderKind};

use crate::ConnectorConfig;
use crate::error::ProviderError;
use crate::http::{CallStats, HttpSettings};

pub(crate) const PROVIDER: ProviderKind = ProviderKind::Bedrock;

/// The IAM permissions spendlens needs, as the user must grant them.
pub(crate) const PERMISSIONS: &str = "ce:GetCostAndUsage and ce:GetDimensionValues";

/// The connection's AWS credential (`{"accessKeyId", "secretAccessKey", "region", "sessionToken"?}`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AwsKeys {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default)]
    session_token: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

/// The region Cost Explorer requests are signed for: its one endpoint per partition lives in
/// `us-east-1` (`cn-northwest-1` in China), whatever region the user's models run in.
pub(crate) fn signing_region(user_region: Option<&str>) -> &'static str {
    match user_region {
        Some(region) if region.starts_with("cn-") => "cn-northwest-1",
        _ => "us-east-1",
    }
}

/// HTTP attempts and retries counted by the interceptor, moved into [`CallStats`] after every
/// operation (the stats live with the caller, the interceptor must be `'static`).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    attempts: AtomicU64,
    retries: AtomicU64,
    /// Attempts of the operation running now (requests are sent one at a time).
    attempts_in_operation: AtomicU32,
}

#[derive(Debug)]
struct CountingInterceptor {
    counters: Arc<Counters>,
}

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "spendlens-call-counter"
    }

    fn read_before_execution(
        &self,
        _context: &aws_sdk_costexplorer::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.counters
            .attempts_in_operation
            .store(0, Ordering::Relaxed);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.counters.attempts.fetch_add(1, Ordering::Relaxed);
        let earlier = self
            .counters
            .attempts_in_operation
            .fetch_add(1, Ordering::Relaxed);
        if earlier > 0 {
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                provider = PROVIDER.as_str(),
                retry = earlier,
                "retrying a Cost Explorer request"
            );
        }
        Ok(())
    }
}

/// The SDK client of one fetch, with what it has counted so far.
pub(crate) struct CostExplorer<'a> {
    pub client: aws_sdk_costexplorer::Client,
    counters: Arc<Counters>,
    stats: &'a CallStats,
    /// Counts already moved into `stats`.
    moved: (u64, u64),
    pub settings: HttpSettings,
    secret: String,
    /// Where requests go, for messages.
    endpoint: String,
}

impl<'a> CostExplorer<'a> {
    /// Moves the interceptor's counts into the fetch's [`CallStats`].
    pub(crate) fn sync_stats(&mut self) {
        let attempts = self.counters.attempts.load(Ordering::Relaxed);
        let retries = self.counters.retries.load(Ordering::Relaxed);
        for _ in self.moved.0..attempts {
            self.stats.count_call();
        }
        for _ in self.moved.1..retries {
            self.stats.count_retry();
        }
        self.moved = (attempts, retries);
    }

    pub(crate) fn count_page(&self) {
        self.stats.count_page();
    }

    /// Retries the SDK made for the operation that just ended.
    pub(crate) fn retries_of_last_operation(&self) -> u32 {
        self.counters
            .attempts_in_operation
            .load(Ordering::Relaxed)
            .saturating_sub(1)
    }

    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }
}

/// Builds the SDK client for `credential`, signed for Cost Explorer's region, sent to the
/// connection's base URL when it has one, with spendlens's timeouts and retry policy.
pub(crate) fn client<'a>(
    credential: &Credential,
    config: &ConnectorConfig,
    stats: &'a CallStats,
) -> Result<CostExplorer<'a>, ProviderError> {
    let keys: AwsKeys = serde_json::from_str(credential.expose_secret()).map_err(|_| {
        ProviderError::UnreadableCredential {
            provider: PROVIDER,
            reason: "the AWS credential is not the expected JSON object".to_owned(),
            advice: "paste it again as {\"accessKeyId\": \"AKIA…\", \"secretAccessKey\": \"…\", \"region\": \"us-east-1\"}".to_owned(),
        }
    })?;
    let header_safe = |text: &str| text.chars().all(|c| c.is_ascii_graphic());
    if !header_safe(keys.access_key_id.trim())
        || !header_safe(keys.secret_access_key.trim())
        || keys
            .session_token
            .as_deref()
            .is_some_and(|token| !header_safe(token.trim()))
    {
        return Err(ProviderError::UnusableCredential { provider: PROVIDER });
    }
    // The binary installs ring at start; this makes the library work on its own too.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();

    let settings = &config.http;
    let credentials = Credentials::new(
        keys.access_key_id.trim(),
        keys.secret_access_key.trim(),
        keys.session_token
            .as_deref()
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .map(str::to_owned),
        None,
        "spendlens-connection",
    );
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    // The SDK retries throttling (LimitExceededException), 5xx and transport errors itself:
    // as many attempts as spendlens's own policy allows, with its backoff bounds. A token
    // bucket of its own per fetch, so one connection's throttling never starves another's.
    let retry = RetryConfig::standard()
        .with_max_attempts(settings.max_retries.saturating_add(1))
        .with_initial_backoff(settings.base_backoff)
        .with_max_backoff(settings.max_backoff);
    let partition = RetryPartition::custom("spendlens-cost-explorer")
        .token_bucket(TokenBucket::unlimited())
        .build();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(settings.connect_timeout)
        .operation_attempt_timeout(settings.timeout)
        .build();
    let counters = Arc::new(Counters::default());
    let mut builder = aws_sdk_costexplorer::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(signing_region(keys.region.as_deref())))
        .credentials_provider(credentials)
        .http_client(http_client)
        .retry_config(retry)
        .retry_partition(partition)
        .timeout_config(timeouts)
        .interceptor(CountingInterceptor {
            counters: Arc::clone(&counters),
        });
    if let Ok(app_name) = AppName::new("spendlens") {
        builder = builder.app_name(app_name);
    }
    if let Some(base) = &config.base_url {
        let scheme_ok = matches!(base.scheme(), "http" | "https");
        if !scheme_ok || base.host_str().is_none() {
            return Err(ProviderError::InvalidBaseUrl {
                provider: PROVIDER,
                url: base.to_string(),
                reason: "it must be an http:// or https:// URL with a host".to_owned(),
                default: crate::default_base_url(PROVIDER).to_string(),
            });
        }
        builder = builder.endpoint_url(base.as_str().trim_end_matches('/'));
    }
    Ok(CostExplorer {
        client: aws_sdk_costexplorer::Client::from_conf(builder.build()),
        counters,
        stats,
        moved: (0, 0),
        settings: settings.clone(),
        secret: keys.secret_access_key,
        endpoint: config.base_url.as_ref().map_or_else(
            || crate::default_base_url(PROVIDER).to_string(),
            ToString::to_string,
        ),
    })
}

/// Where in the fetch an error happened: the Cost Explorer operation and its page.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Op {
    pub name: &'static str,
    pub page: u32,
}

/// What an SDK error means for the user.
pub(crate) fn map_error<E>(
    error: SdkError<E, aws_sdk_costexplorer::config::http::HttpResponse>,
    op: Op,
    retries: u32,
    ce: &CostExplorer<'_>,
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let endpoint = op.name.to_owned();
    let page = op.page;
    let status = error.raw_response().map(|raw| raw.status().as_u16());
    match &error {
        SdkError::ServiceError(service) if service.raw().status().is_success() => {
            // A 2xx answer the SDK could not read as the operation's output.
            let body = service.raw().body().bytes().unwrap_or_default();
            unreadable_body(body, op, root_cause(&error))
        }
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("").to_owned();
            let message = scrub(
                err.message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| body_text(service.raw().body().bytes())),
                ce.secret(),
            );
            service_error(&code, message, status.unwrap_or(400), op, retries)
        }
        SdkError::TimeoutError(_) => ProviderError::Unreachable {
            provider: PROVIDER,
            endpoint,
            page,
            retries,
            detail: format!(
                "no answer within {} s (timed out)",
                ce.settings.timeout.as_secs_f64()
            ),
        },
        SdkError::DispatchFailure(failure) => {
            let detail = if failure.is_timeout() {
                format!(
                    "no answer within {} s (timed out)",
                    ce.settings.timeout.as_secs_f64()
                )
            } else {
                root_cause(&error)
            };
            ProviderError::Unreachable {
                provider: PROVIDER,
                endpoint,
                page,
                retries,
                detail,
            }
        }
        SdkError::ResponseError(response) => {
            let raw = response.raw();
            let status = raw.status().as_u16();
            let body = raw.body().bytes().unwrap_or_default();
            if (500..600).contains(&status) {
                return ProviderError::ServerError {
                    provider: PROVIDER,
                    endpoint,
                    page,
                    status,
                    retries,
                    message: scrub(body_text(Some(body)), ce.secret()),
                };
            }
            unreadable_body(body, op, root_cause(&error))
        }
        SdkError::ConstructionFailure(_) => ProviderError::InvalidBaseUrl {
            provider: PROVIDER,
            url: ce.endpoint.clone(),
            reason: format!("the request could not be built ({})", root_cause(&error)),
            default: crate::default_base_url(PROVIDER).to_string(),
        },
        _ => ProviderError::UnexpectedPage {
            provider: PROVIDER,
            endpoint,
            page,
            detail: root_cause(&error),
        },
    }
}

/// A 2xx body the SDK could not read: cut off, not JSON, or JSON of the wrong shape.
fn unreadable_body(body: &[u8], op: Op, cause: String) -> ProviderError {
    let endpoint = op.name.to_owned();
    let page = op.page;
    match serde_json::from_slice::<serde_json::Value>(body) {
        Err(error) if error.classify() == serde_json::error::Category::Eof => {
            ProviderError::TruncatedPage {
                provider: PROVIDER,
                endpoint,
                page,
                detail: format!("the JSON stops early ({error})"),
            }
        }
        Err(error) => ProviderError::InvalidJson {
            provider: PROVIDER,
            endpoint,
            page,
            detail: error.to_string(),
        },
        Ok(_) => ProviderError::UnexpectedPage {
            provider: PROVIDER,
            endpoint,
            page,
            detail: cause,
        },
    }
}

/// The error codes Cost Explorer answers with (shared/providers/aws-bedrock.md §8), in words.
fn service_error(code: &str, message: String, status: u16, op: Op, retries: u32) -> ProviderError {
    let endpoint = op.name.to_owned();
    let page = op.page;
    let rejected = |advice: String| ProviderError::CredentialRejected {
        provider: PROVIDER,
        endpoint: op.name.to_owned(),
        status,
        message: message.clone(),
        advice,
    };
    let refused = |advice: &str| ProviderError::RequestRefused {
        provider: PROVIDER,
        endpoint: op.name.to_owned(),
        page,
        status,
        message: message.clone(),
        advice: advice.to_owned(),
    };
    let not_set_up = || ProviderError::NotSetUp {
        provider: PROVIDER,
        reason: format!(
            "Cost Explorer is not enabled for this AWS account, or has no data for the period \
             yet ({code} on {}: {message})",
            op.name
        ),
        advice: "enable Cost Explorer once in the AWS console (Billing and Cost Management → \
                 Cost Explorer → Launch Cost Explorer); data appears within 24 h, then sync \
                 again"
            .to_owned(),
    };
    // "User not enabled for cost explorer access" is how an account without Cost Explorer
    // answers too (the document is unsure which of the two codes comes).
    let not_enabled = message
        .to_ascii_lowercase()
        .contains("not enabled for cost explorer");
    match code {
        "DataUnavailableException" => not_set_up(),
        "AccessDeniedException" if not_enabled => not_set_up(),
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => rejected(format!(
            "The IAM user or role of these keys is not allowed to read Cost Explorer: attach a \
             policy allowing {PERMISSIONS} (nothing more is needed), and if this is a member \
             account, check that the management account has not turned off Cost Explorer \
             access for member accounts; then sync again."
        )),
        "UnrecognizedClientException" | "InvalidClientTokenId" => rejected(
            "AWS does not know this access key id: it is mistyped, deleted or deactivated. \
             Create a new access key for the IAM user (IAM → Users → Security credentials) and \
             update the connection."
                .to_owned(),
        ),
        "InvalidSignatureException" | "SignatureDoesNotMatch" | "IncompleteSignature" => rejected(
            "The secret access key does not belong to this access key id: paste both again \
                 (the secret is shown only once, when the key is created) and update the \
                 connection."
                .to_owned(),
        ),
        "ExpiredTokenException" | "ExpiredToken" | "RequestExpired" => rejected(
            "These temporary credentials (ASIA… with a session token) have expired: paste fresh \
             ones, or better, use a dedicated IAM user's long-lived access key, and update the \
             connection."
                .to_owned(),
        ),
        "LimitExceededException"
        | "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException" => ProviderError::RateLimited {
            provider: PROVIDER,
            endpoint,
            page,
            retries,
        },
        "BillExpirationException" => refused(
            "the window reaches further back than Cost Explorer keeps daily data (the current \
             month and the 13 before it); sync a later window",
        ),
        "InvalidNextTokenException" | "RequestChangedException" => {
            refused("Cost Explorer no longer accepts the page token of this listing; sync again")
        }
        "ValidationException" => refused(
            "Cost Explorer did not accept spendlens's request (a window older than 14 months or \
             starting in the future is refused); if the window is fine, please report it",
        ),
        _ if (500..600).contains(&status) => ProviderError::ServerError {
            provider: PROVIDER,
            endpoint,
            page,
            status,
            retries,
            message: if code.is_empty() {
                message
            } else {
                format!("{code}: {message}")
            },
        },
        _ => ProviderError::RequestRefused {
            provider: PROVIDER,
            endpoint,
            page,
            status,
            message: if code.is_empty() {
                message
            } else {
                format!("{code}: {message}")
            },
            advice: "try again later; if it persists, please report it".to_owned(),
        },
    }
}

fn body_text(body: Option<&[u8]>) -> String {
    crate::http::provider_message(body.unwrap_or_default(), "")
}

/// The provider's words, on one line, without the secret, shortened.
fn scrub(message: String, secret: &str) -> String {
    crate::http::provider_message(message.as_bytes(), secret)
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    let mut text = error.to_string();
    while let Some(source) = cause.source() {
        cause = source;
        text = cause.to_string();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_explorer_is_signed_in_its_partition_s_region() {
        assert_eq!(signing_region(Some("eu-west-1")), "us-east-1");
        assert_eq!(signing_region(None), "us-east-1");
        assert_eq!(signing_region(Some("cn-north-1")), "cn-northwest-1");
    }

    const OP: Op = Op {
        name: "GetCostAndUsage",
        page: 2,
    };

    #[test]
    fn access_denied_names_the_permissions() {
        let error = service_error(
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/x is not authorized".to_owned(),
            400,
            OP,
            0,
        );
        assert!(error.is_credential_rejected());
        let text = error.to_string();
        assert!(
            text.contains("ce:GetCostAndUsage and ce:GetDimensionValues"),
            "{text}"
        );
    }

    #[test]
    fn data_unavailable_says_to_enable_cost_explorer() {
        let text = service_error(
            "DataUnavailableException",
            "Data is not available".into(),
            400,
            OP,
            0,
        )
        .to_string();
        assert!(text.contains("Cost Explorer is not enabled"), "{text}");
        assert!(text.contains("within 24 h"), "{text}");
    }

    #[test]
    fn throttling_after_retries_is_a_rate_limit() {
        let error = service_error("LimitExceededException", "Rate exceeded".into(), 400, OP, 6);
        assert!(matches!(
            error,
            ProviderError::RateLimited {
                retries: 6,
                page: 2,
                ..
            }
        ));
        assert!(error.is_retryable_later());
    }
}
