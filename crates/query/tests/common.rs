//! Helpers the query suites share.

#![allow(clippy::expect_used)] // a failing test should stop loudly

use spendlens_domain::{Credential, ProviderKind};
use spendlens_store::vault::Vault;
use spendlens_store::{ConnectionId, NewConnection, OrgId, Store};
use time::OffsetDateTime;

/// An OpenAI connection named `name`, created at `now`.
pub async fn openai_connection(
    store: &Store,
    org: OrgId,
    name: &str,
    now: OffsetDateTime,
) -> ConnectionId {
    let credential = Credential::parse(
        ProviderKind::OpenAi,
        "sk-admin-AbCdefghijklmnopqrstuvwxYz12",
    )
    .expect("a valid admin key");
    store
        .create_connection(
            org,
            NewConnection {
                name,
                credential: &credential,
                base_url: None,
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: Some(3),
            },
            &Vault::from_key([1; 32]),
            now,
        )
        .await
        .expect("the connection is created")
        .id
}
