//! Verified credentials of the budget check route, remembered for [`CREDENTIAL_TTL`]: a gateway
//! checks before every model call, and a database lookup of its key on each check was most of
//! the check's time. Only credentials that verified are kept, by the SHA-256 of the secret
//! (the secret itself is never held). Revoking or regenerating a key or token through this
//! server goes through [`AppState`]'s methods here, which forget every entry at once; one
//! revoked through another server or the CLI stops passing checks within [`CREDENTIAL_TTL`].
//! Sending events and every other route still look the credential up each time.

use std::collections::HashMap;
use std::sync::Mutex;

use spendlens_store::{Actor, IngestKeyRow, NewIngestKey, OrgId, StoreResult};
use time::{Duration, OffsetDateTime};

use crate::AppState;

/// How long a verified credential is believed without a new lookup.
pub const CREDENTIAL_TTL: Duration = Duration::seconds(2);

/// Entries kept at most; past it the cache starts over (only valid credentials are kept, so
/// this is the number of live keys and tokens checking within two seconds).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<String, (OrgId, OffsetDateTime)>>,
}

impl CredentialCache {
    /// The organization of the secret hashed to `token_hash` ([`spendlens_store::hash_token`])
    /// if it verified less than [`CREDENTIAL_TTL`] before `now`.
    pub fn get(&self, token_hash: &str, now: OffsetDateTime) -> Option<OrgId> {
        let entries = self.lock();
        let (org, verified) = entries.get(token_hash)?;
        (now >= *verified && now - *verified < CREDENTIAL_TTL).then_some(*org)
    }

    /// Remembers that the secret hashed to `token_hash` verified as `org` at `now`.
    pub fn put(&self, token_hash: String, org: OrgId, now: OffsetDateTime) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, verified)| now - *verified < CREDENTIAL_TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(token_hash, (org, now));
    }

    /// Forgets every credential (after a key or token is revoked or regenerated).
    fn forget_all(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (OrgId, OffsetDateTime)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Every revocation of a credential the budget check accepts, so none can leave it believed.
impl AppState {
    /// Regenerates the key (audited as `actor`'s in the same transaction) and forgets every
    /// cached credential.
    pub async fn regenerate_ingest_key(
        &self,
        org: OrgId,
        id: i64,
        actor: Actor<'_>,
    ) -> StoreResult<NewIngestKey> {
        let new = self.store().regenerate_ingest_key(org, id, actor).await?;
        self.credentials.forget_all();
        Ok(new)
    }

    /// Revokes the key (audited as `actor`'s in the same transaction) and forgets every cached
    /// credential.
    pub async fn revoke_ingest_key(
        &self,
        org: OrgId,
        id: i64,
        actor: Actor<'_>,
    ) -> StoreResult<IngestKeyRow> {
        let key = self.store().revoke_ingest_key(org, id, actor).await?;
        self.credentials.forget_all();
        Ok(key)
    }

    /// Revokes the token (audited as `actor`'s in the same transaction) and forgets every
    /// cached credential.
    pub async fn revoke_api_token(&self, org: OrgId, id: i64, actor: Actor<'_>) -> StoreResult<()> {
        self.store().revoke_api_token(org, id, actor).await?;
        self.credentials.forget_all();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use spendlens_store::hash_token;

    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_credential_is_believed_for_the_ttl_and_not_after() {
        let cache = CredentialCache::default();
        let at = datetime!(2026-12-06 10:00:00 UTC);
        assert_eq!(cache.get(&hash_token("sl_ingest_a"), at), None);
        cache.put(hash_token("sl_ingest_a"), OrgId(7), at);
        assert_eq!(cache.get(&hash_token("sl_ingest_a"), at), Some(OrgId(7)));
        assert_eq!(
            cache.get(
                &hash_token("sl_ingest_a"),
                at + CREDENTIAL_TTL - Duration::milliseconds(1)
            ),
            Some(OrgId(7))
        );
        assert_eq!(
            cache.get(&hash_token("sl_ingest_a"), at + CREDENTIAL_TTL),
            None
        );
        // A clock that went back does not stretch the belief.
        assert_eq!(
            cache.get(&hash_token("sl_ingest_a"), at - Duration::seconds(1)),
            None
        );
        assert_eq!(cache.get(&hash_token("sl_ingest_b"), at), None);
    }

    #[test]
    fn forgetting_drops_every_credential() {
        let cache = CredentialCache::default();
        let at = datetime!(2026-12-06 10:00:00 UTC);
        cache.put(hash_token("sl_ingest_a"), OrgId(1), at);
        cache.put(hash_token("sl_tok"), OrgId(2), at);
        cache.forget_all();
        assert_eq!(cache.get(&hash_token("sl_ingest_a"), at), None);
        assert_eq!(cache.get(&hash_token("sl_tok"), at), None);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = CredentialCache::default();
        let at = datetime!(2026-12-06 10:00:00 UTC);
        for n in 0..MAX_ENTRIES + 10 {
            cache.put(hash_token(&format!("k{n}")), OrgId(1), at);
        }
        assert!(cache.lock().len() <= MAX_ENTRIES);
        assert_eq!(
            cache.get(&hash_token(&format!("k{}", MAX_ENTRIES + 9)), at),
            Some(OrgId(1))
        );
    }
}
