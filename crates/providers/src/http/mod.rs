//! The HTTP layer every connector shares: [`client`] (one reqwest client per fetch, the
//! request profile, GET/POST), [`retry`] (the one retry loop: exponential backoff with full
//! jitter honoring `Retry-After`, call counting), [`decode`] (pages and error messages), and
//! [`token`] (OAuth-style access tokens for Vertex and Azure). Listing guards and loops live in
//! [`crate::paging`].
//!
//! Secrets travel only in headers marked sensitive; nothing here logs a header, and provider
//! messages are scrubbed of the credential before they reach an error.

mod client;
mod decode;
mod retry;
mod token;

pub(crate) use client::{At, Client, Profile, endpoint_url, http_client, secret_header};
pub use client::{CallCounts, CallStats, HttpSettings};
pub(crate) use decode::{decode, number_text, provider_message};
pub(crate) use retry::{Answer, Attempts, RetryPolicy};
pub(crate) use token::{TokenGrant, TokenRefusal, TokenSource, authorized_send};
