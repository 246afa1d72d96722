//! Typed clients for the providers' billing APIs, one module per provider.
//!
//! In: a decrypted [`Credential`], a [`ConnectorConfig`] (optional base-URL override, HTTP
//! settings) and a [`DayRange`]. Out: plain domain records ([`FetchedWindow`]) at the
//! provider's own grain. No SQL, no server code, no clock in the mapping: every record's day
//! comes from the provider's bucket.
//!
//! Layout: [`http`](crate::http) holds what every connector shares (client, the one retry
//! loop, decoding, access tokens), [`paging`](crate::paging) the listing loops and guards; each provider has its own module with `wire.rs` (the documented JSON as serde
//! types, lenient) and the mapping to domain records. Adding a provider = a module plus one arm
//! in [`fetch_window`], [`check_connection`] and [`default_base_url`].
//!
//! Architecture invariant: this crate knows HTTP and the providers' wire formats, and nothing
//! of storage, allocation or presentation. Secrets only ever go into request headers.

mod anthropic;
mod azure;
mod bedrock;
mod error;
mod fal;
mod http;
mod litellm;
mod openai;
mod openrouter;
mod paging;
mod piapi;
mod runway;
mod vertex;

use std::time::Duration;

pub use error::ProviderError;
pub use http::{CallCounts, CallStats, HttpSettings};
use spendlens_domain::{Credential, DayRange, FetchedWindow, ProviderKind};
use url::Url;

/// How to reach a provider: an optional base-URL override (proxies, tests) and HTTP settings,
/// and the connection's own choice of the services of its bill (Vertex).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectorConfig {
    /// `None`: the provider's public API ([`default_base_url`]).
    pub base_url: Option<Url>,
    pub http: HttpSettings,
    /// Services the user included or excluded, by id; others follow their kind's default.
    pub services: spendlens_domain::services::ServiceChoices,
}

impl ConnectorConfig {
    /// The public API with production HTTP settings.
    pub fn new() -> ConnectorConfig {
        ConnectorConfig::default()
    }

    /// Settings for tests against local fakes: short timeouts and near-instant backoff.
    pub fn for_tests(base_url: Url) -> ConnectorConfig {
        ConnectorConfig {
            base_url: Some(base_url),
            http: HttpSettings {
                timeout: Duration::from_secs(10),
                connect_timeout: Duration::from_secs(2),
                max_retries: 6,
                base_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
                max_retry_after: Duration::from_millis(50),
            },
            services: Default::default(),
        }
    }

    fn base_url_for(&self, provider: ProviderKind) -> Url {
        self.base_url
            .clone()
            .unwrap_or_else(|| default_base_url(provider))
    }
}

/// What a successful connection check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionCheck {
    /// One line for the user, e.g. "OpenAI organization reachable: 5 projects visible".
    pub summary: String,
}

/// The provider's public API base URL.
pub fn default_base_url(provider: ProviderKind) -> Url {
    let text = match provider {
        ProviderKind::OpenAi => "https://api.openai.com/v1",
        ProviderKind::Anthropic => "https://api.anthropic.com",
        ProviderKind::Bedrock => "https://ce.us-east-1.amazonaws.com",
        ProviderKind::Vertex => "https://bigquery.googleapis.com/bigquery/v2",
        ProviderKind::Fal => "https://api.fal.ai/v1",
        ProviderKind::Runway => "https://api.dev.runwayml.com",
        ProviderKind::OpenRouter => "https://openrouter.ai/api/v1",
        ProviderKind::LiteLlm => "http://localhost:4000",
        ProviderKind::AzureOpenAi => "https://management.azure.com",
        ProviderKind::PiApi => "https://api.piapi.ai",
    };
    #[expect(
        clippy::expect_used,
        reason = "constant URLs, every one parsed by the test default_base_urls_parse"
    )]
    Url::parse(text).expect("a constant base URL parses")
}

/// Fetches everything a connection has for `window`: workspaces, API keys, usage and billed
/// cost. Either the whole window or an error: a failure half way returns nothing partial.
/// `stats` is updated as calls are made, so it can be polled while this runs.
#[tracing::instrument(
    skip_all,
    fields(provider = credential.provider().as_str(), window = %window),
    err(Display)
)]
pub async fn fetch_window(
    credential: &Credential,
    config: &ConnectorConfig,
    window: DayRange,
    stats: &CallStats,
) -> Result<FetchedWindow, ProviderError> {
    let provider = credential.provider();
    match provider {
        ProviderKind::OpenAi => {
            let client = openai::client(credential, config, stats)?;
            openai::fetch_window(&client, window).await
        }
        ProviderKind::Anthropic => {
            let client = anthropic::client(credential, config, stats)?;
            anthropic::fetch_window(&client, window).await
        }
        ProviderKind::Bedrock => bedrock::fetch_window(credential, config, window, stats).await,
        ProviderKind::Vertex => vertex::fetch_window(credential, config, window, stats).await,
        ProviderKind::Fal => fal::fetch_window(credential, config, window, stats).await,
        ProviderKind::Runway => runway::fetch_window(credential, config, window, stats).await,
        ProviderKind::OpenRouter => {
            openrouter::fetch_window(credential, config, window, stats).await
        }
        ProviderKind::LiteLlm => litellm::fetch_window(credential, config, window, stats).await,
        ProviderKind::AzureOpenAi => azure::fetch_window(credential, config, window, stats).await,
        ProviderKind::PiApi => piapi::fetch_window(credential, config, window, stats).await,
    }
}

/// One cheap live call proving the credential works (list the projects / workspaces).
#[tracing::instrument(
    skip_all,
    fields(provider = credential.provider().as_str()),
    err(Display)
)]
pub async fn check_connection(
    credential: &Credential,
    config: &ConnectorConfig,
    stats: &CallStats,
) -> Result<ConnectionCheck, ProviderError> {
    let provider = credential.provider();
    match provider {
        ProviderKind::OpenAi => {
            let client = openai::client(credential, config, stats)?;
            openai::check_connection(&client).await
        }
        ProviderKind::Anthropic => {
            let client = anthropic::client(credential, config, stats)?;
            anthropic::check_connection(&client).await
        }
        ProviderKind::Bedrock => bedrock::check_connection(credential, config, stats).await,
        ProviderKind::Vertex => vertex::check_connection(credential, config, stats).await,
        ProviderKind::Fal => fal::check_connection(credential, config, stats).await,
        ProviderKind::Runway => runway::check_connection(credential, config, stats).await,
        ProviderKind::OpenRouter => openrouter::check_connection(credential, config, stats).await,
        ProviderKind::LiteLlm => litellm::check_connection(credential, config, stats).await,
        ProviderKind::AzureOpenAi => azure::check_connection(credential, config, stats).await,
        ProviderKind::PiApi => piapi::check_connection(credential, config, stats).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_base_urls_parse() {
        for provider in ProviderKind::ALL {
            let url = default_base_url(provider);
            assert!(url.scheme().starts_with("http"), "{provider}: {url}");
        }
        assert_eq!(
            default_base_url(ProviderKind::OpenAi).as_str(),
            "https://api.openai.com/v1"
        );
        assert_eq!(
            default_base_url(ProviderKind::Anthropic).as_str(),
            "https://api.anthropic.com/"
        );
    }
}
