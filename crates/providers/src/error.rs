//! What can go wrong when reading a provider's billing API, in words a user can act on.
//!
//! Every message names the provider and, where one is involved, the endpoint path and the page
//! number, says what happened and what to do. No message ever carries the credential: provider
//! messages are scrubbed of it before they get here (see `http::provider_message`).

use spendlens_domain::ProviderKind;

/// Why a fetch or a connection check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The connection's base URL cannot be used to build request URLs.
    #[error(
        "The {} base URL \"{url}\" cannot be used ({reason}); fix the connection's base URL or remove it to use {default}",
        .provider.display_name()
    )]
    InvalidBaseUrl {
        provider: ProviderKind,
        url: String,
        reason: String,
        default: String,
    },

    /// The requested window cannot be expressed as the provider's time parameters.
    #[error("The window {window} cannot be requested from {}: {reason}", .provider.display_name())]
    InvalidWindow {
        provider: ProviderKind,
        window: String,
        reason: String,
    },

    /// The credential cannot even be put into a request header.
    #[error(
        "The {} key contains characters that cannot be sent in an HTTP header; paste the key again, without quotes or line breaks, and update the connection",
        .provider.display_name()
    )]
    UnusableCredential { provider: ProviderKind },

    /// HTTP 401 or 403: the provider refused the credential.
    #[error("{} rejected the key on {endpoint} (HTTP {status}: {message}). {advice}", .provider.display_name())]
    CredentialRejected {
        provider: ProviderKind,
        endpoint: String,
        status: u16,
        /// The provider's own words, scrubbed of the credential.
        message: String,
        /// What the user should do.
        advice: String,
    },

    /// HTTP 429 on every attempt.
    #[error(
        "{} kept rate-limiting (HTTP 429) on {endpoint} (page {page}) after {retries} retries; try again later",
        .provider.display_name()
    )]
    RateLimited {
        provider: ProviderKind,
        endpoint: String,
        page: u32,
        retries: u32,
    },

    /// A 5xx (or 529 overloaded) on every attempt.
    #[error(
        "{} kept failing with HTTP {status} on {endpoint} (page {page}) after {retries} retries ({message}); this is a problem on {}'s side, try again later",
        .provider.display_name(), .provider.display_name()
    )]
    ServerError {
        provider: ProviderKind,
        endpoint: String,
        page: u32,
        status: u16,
        retries: u32,
        message: String,
    },

    /// Another 4xx status: the provider did not accept the request.
    #[error(
        "{} refused the request to {endpoint} (page {page}) with HTTP {status} ({message}); {advice}",
        .provider.display_name()
    )]
    RequestRefused {
        provider: ProviderKind,
        endpoint: String,
        page: u32,
        status: u16,
        message: String,
        advice: String,
    },

    /// No response at all (connect error, timeout, reset) on every attempt.
    #[error(
        "Could not reach {} on {endpoint} (page {page}) after {retries} retries: {detail}; check the network, any proxy and the connection's base URL, then try again",
        .provider.display_name()
    )]
    Unreachable {
        provider: ProviderKind,
        endpoint: String,
        page: u32,
        retries: u32,
        detail: String,
    },

    /// The body ended early: the connection broke, or the JSON stops half way.
    #[error(
        "{} sent an incomplete page on {endpoint} (page {page}): {detail}; the response was cut off, try again later",
        .provider.display_name()
    )]
    TruncatedPage {
        provider: ProviderKind,
        endpoint: String,
        page: u32,
        detail: String,
    },

    /// The body is not JSON.
    #[error(
        "{} sent a page that is not valid JSON on {endpoint} (page {page}): {detail}",
        .provider.display_name()
    )]
    InvalidJson {
        provider: ProviderKind,
        endpoint: String,
        page: u32,
        detail: String,
    },

    /// Valid JSON, but not in the documented shape, or with values that make no sense
    /// (an amount that is not a number, a bucket that does not start at midnight UTC).
    #[error(
        "{} sent a page spendlens cannot read on {endpoint} (page {page}): {detail}; the API may have changed, please report it",
        .provider.display_name()
    )]
    UnexpectedPage {
        provider: ProviderKind,
        endpoint: String,
        page: u32,
        detail: String,
    },

    /// The pagination cursor did not advance: the next page would repeat one already read.
    #[error(
        "{} sent a page cursor on {endpoint} (page {page}) that points back to a page already read; stopped so nothing is counted twice, try again later",
        .provider.display_name()
    )]
    RepeatedPage {
        provider: ProviderKind,
        endpoint: String,
        page: u32,
    },

    /// The same day (bucket) appeared twice in one listing.
    #[error(
        "{} sent the day {day} twice on {endpoint} (page {page}); stopped so nothing is counted twice, try again later",
        .provider.display_name()
    )]
    DuplicateBucket {
        provider: ProviderKind,
        endpoint: String,
        page: u32,
        day: String,
    },

    /// More pages than the window can possibly need.
    #[error(
        "{} kept sending more pages on {endpoint} after {pages} pages, more than the request can need; stopped, try again later",
        .provider.display_name()
    )]
    TooManyPages {
        provider: ProviderKind,
        endpoint: String,
        pages: u32,
    },

    /// The credential has the right shape but a part of it cannot be used (a service-account
    /// private key that does not parse): found before any network call.
    #[error(
        "The {} credential cannot be used: {reason}; {advice}",
        .provider.display_name()
    )]
    UnreadableCredential {
        provider: ProviderKind,
        reason: String,
        advice: String,
    },

    /// The account has no billing data source spendlens can read yet (AWS Cost Explorer not
    /// enabled, no Cloud Billing export to BigQuery): the user must set it up once.
    #[error("{} has no billing data to read: {reason}; {advice}", .provider.display_name())]
    NotSetUp {
        provider: ProviderKind,
        reason: String,
        advice: String,
    },
}

impl ProviderError {
    /// The provider refused the credential (HTTP 401/403) or it cannot be sent at all: the
    /// user must change the key; retrying will not help.
    pub fn is_credential_rejected(&self) -> bool {
        matches!(
            self,
            ProviderError::CredentialRejected { .. }
                | ProviderError::UnusableCredential { .. }
                | ProviderError::UnreadableCredential { .. }
        )
    }

    /// The failure is likely temporary (rate limits, provider outages, network trouble, a
    /// cut-off response): the same sync may well succeed later.
    pub fn is_retryable_later(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. }
                | ProviderError::ServerError { .. }
                | ProviderError::Unreachable { .. }
                | ProviderError::TruncatedPage { .. }
                | ProviderError::RepeatedPage { .. }
                | ProviderError::DuplicateBucket { .. }
                | ProviderError::TooManyPages { .. }
        )
    }

    /// The provider the error is about.
    pub fn provider(&self) -> ProviderKind {
        match self {
            ProviderError::InvalidBaseUrl { provider, .. }
            | ProviderError::InvalidWindow { provider, .. }
            | ProviderError::UnusableCredential { provider }
            | ProviderError::CredentialRejected { provider, .. }
            | ProviderError::RateLimited { provider, .. }
            | ProviderError::ServerError { provider, .. }
            | ProviderError::RequestRefused { provider, .. }
            | ProviderError::Unreachable { provider, .. }
            | ProviderError::TruncatedPage { provider, .. }
            | ProviderError::InvalidJson { provider, .. }
            | ProviderError::UnexpectedPage { provider, .. }
            | ProviderError::RepeatedPage { provider, .. }
            | ProviderError::DuplicateBucket { provider, .. }
            | ProviderError::TooManyPages { provider, .. }
            | ProviderError::UnreadableCredential { provider, .. }
            | ProviderError::NotSetUp { provider, .. } => *provider,
        }
    }
}
