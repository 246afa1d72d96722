//! Ingest keys ("SDK keys"): write-only credentials an application uses to send metered events.
//! The secret is random (32 bytes), shown once, and stored only as its SHA-256. Regenerating
//! replaces the hash in place, so the old secret stops working at once.

use rand::RngCore;
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{Actor, audit_actor, audit_change, lock_org};
use crate::tokens::hash_token;
use crate::{OrgId, RowExt, Store, StoreError, StoreResult, from_millis, millis, with_pool};

/// Every ingest key starts with this: leaked keys are easy to recognize, and a read route can
/// tell an ingest key from an API token without a lookup.
pub const INGEST_KEY_PREFIX: &str = "sl_ingest_";

/// How precisely `last_used_at` is kept (one write a minute at most per key).
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// A key just created or regenerated: the only time its secret exists outside the caller.
#[derive(Debug)]
pub struct NewIngestKey {
    pub key: IngestKeyRow,
    pub secret: String,
}

/// An ingest key as listed: never its secret, only a masked hint.
#[derive(Clone, Debug, Serialize)]
pub struct IngestKeyRow {
    pub id: i64,
    pub name: String,
    /// The masked key: its prefix and last four characters (`sl_ingest_3f9a…c21d`).
    pub hint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub regenerated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// What a presented ingest key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IngestKeyCheck {
    /// A live key.
    Valid { org: OrgId, id: i64, name: String },
    /// A key that was revoked (when).
    Revoked { name: String, at: OffsetDateTime },
    /// The secret a key had before it was regenerated (when).
    Replaced { name: String, at: OffsetDateTime },
    /// No key has this secret.
    Unknown,
}

fn new_secret() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{INGEST_KEY_PREFIX}{}", hex::encode(bytes));
    let hint = mask(&secret);
    (secret, hint)
}

/// The masked form of a key: prefix, four characters, an ellipsis and the last four.
pub fn mask(secret: &str) -> String {
    let head: String = secret.chars().take(INGEST_KEY_PREFIX.len() + 4).collect();
    let tail: String = {
        let chars: Vec<char> = secret.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    };
    format!("{head}…{tail}")
}

fn check_name(name: &str) -> StoreResult<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "an ingest key needs a name of 1 to 80 printable characters".to_owned(),
        ));
    }
    Ok(name)
}

/// id, org, name, last used, revoked, regenerated, whether the current secret matched.
type KeyLookup = (
    i64,
    i64,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    bool,
);

const COLUMNS: &str = "id, name, hint, created_at, regenerated_at, last_used_at, revoked_at";

fn row_of<R: RowExt>(row: &R) -> StoreResult<IngestKeyRow> {
    Ok(IngestKeyRow {
        id: row.int("id")?,
        name: row.text("name")?,
        hint: row.text("hint")?,
        created_at: from_millis(row.int("created_at")?),
        regenerated_at: row.opt_int("regenerated_at")?.map(from_millis),
        last_used_at: row.opt_int("last_used_at")?.map(from_millis),
        revoked_at: row.opt_int("revoked_at")?.map(from_millis),
    })
}

impl Store {
    /// Creates a key named `name`; its secret is in the answer and nowhere else. Audited as
    /// `actor`'s (`ingest_key.create`, its name and hint) in the same transaction.
    pub async fn create_ingest_key(
        &self,
        org: OrgId,
        name: &str,
        actor: Actor<'_>,
    ) -> StoreResult<NewIngestKey> {
        let name = check_name(name)?;
        let (secret, hint) = new_secret();
        let key = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "ingest_key.create", name, &hint);
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO ingest_keys (org_id, name, key_hash, hint, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
            )))
            .bind(org.0)
            .bind(name)
            .bind(hash_token(&secret))
            .bind(&hint)
            .bind(millis(actor.at))
            .fetch_one(&mut *tx)
            .await?;
            let key = row_of(&row)?;
            tx.commit().await?;
            key
        });
        Ok(NewIngestKey { key, secret })
    }

    /// The organization's keys, revoked ones included (newest first).
    pub async fn list_ingest_keys(&self, org: OrgId) -> StoreResult<Vec<IngestKeyRow>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM ingest_keys WHERE org_id = $1 ORDER BY id DESC"
            )))
            .bind(org.0)
            .fetch_all(pool)
            .await?;
            rows.iter().map(row_of).collect()
        })
    }

    pub async fn get_ingest_key(&self, org: OrgId, id: i64) -> StoreResult<IngestKeyRow> {
        let row = with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM ingest_keys WHERE org_id = $1 AND id = $2"
            )))
            .bind(org.0)
            .bind(id)
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(row_of).transpose()?
        });
        row.ok_or_else(|| StoreError::NotFound {
            what: format!("ingest key {id}"),
        })
    }

    /// Gives a live key a new secret; the old one stops working with this statement. Audited
    /// as `actor`'s (`ingest_key.regenerate`, its name, `<old hint> replaced by <new hint>`) in
    /// the same transaction. `NotFound` when no active key has that id.
    pub async fn regenerate_ingest_key(
        &self,
        org: OrgId,
        id: i64,
        actor: Actor<'_>,
    ) -> StoreResult<NewIngestKey> {
        let (secret, hint) = new_secret();
        let key = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            let old_hint: Option<String> = sqlx::query_scalar(
                "SELECT hint FROM ingest_keys WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL",
            )
            .bind(org.0)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE ingest_keys SET previous_hash = key_hash, key_hash = $1, hint = $2, \
                 regenerated_at = $3 WHERE org_id = $4 AND id = $5 AND revoked_at IS NULL \
                 RETURNING {COLUMNS}"
            )))
            .bind(hash_token(&secret))
            .bind(&hint)
            .bind(millis(actor.at))
            .bind(org.0)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let key = row.as_ref().map(row_of).transpose()?;
            if let (Some(key), Some(old_hint)) = (&key, &old_hint) {
                let detail = format!("{old_hint} replaced by {}", key.hint);
                audit_actor!(tx, org, actor, "ingest_key.regenerate", &key.name, &detail);
                tx.commit().await?;
            }
            key
        });
        let key = key.ok_or_else(|| StoreError::NotFound {
            what: format!("active ingest key {id}"),
        })?;
        Ok(NewIngestKey { key, secret })
    }

    /// Revokes a live key: events sent with it are refused from now on (those already stored
    /// stay). Audited as `actor`'s (`ingest_key.revoke`, its name and hint) in the same
    /// transaction. `NotFound` when no active key has that id.
    pub async fn revoke_ingest_key(
        &self,
        org: OrgId,
        id: i64,
        actor: Actor<'_>,
    ) -> StoreResult<IngestKeyRow> {
        let key = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE ingest_keys SET revoked_at = $1 WHERE org_id = $2 AND id = $3 \
                 AND revoked_at IS NULL RETURNING {COLUMNS}"
            )))
            .bind(millis(actor.at))
            .bind(org.0)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let key = row.as_ref().map(row_of).transpose()?;
            if let Some(key) = &key {
                audit_actor!(tx, org, actor, "ingest_key.revoke", &key.name, &key.hint);
                tx.commit().await?;
            }
            key
        });
        key.ok_or_else(|| StoreError::NotFound {
            what: format!("active ingest key {id}"),
        })
    }

    /// What a presented secret is; records the use of a live key (at most once a minute).
    pub async fn check_ingest_key(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> StoreResult<IngestKeyCheck> {
        let hash = hash_token(secret);
        let found: Option<KeyLookup> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, org_id, name, last_used_at, revoked_at, regenerated_at, key_hash = $1 \
                 FROM ingest_keys WHERE key_hash = $1 OR previous_hash = $1 \
                 ORDER BY (key_hash = $1) DESC LIMIT 1",
            )
            .bind(&hash)
            .fetch_optional(pool)
            .await?
        });
        let Some((id, org, name, last_used, revoked, regenerated, current)) = found else {
            return Ok(IngestKeyCheck::Unknown);
        };
        if let Some(at) = revoked {
            return Ok(IngestKeyCheck::Revoked {
                name,
                at: from_millis(at),
            });
        }
        if !current {
            return Ok(IngestKeyCheck::Replaced {
                name,
                at: from_millis(regenerated.unwrap_or_default()),
            });
        }
        let now = millis(now);
        if last_used.is_none_or(|at| now - at >= LAST_USED_RESOLUTION_MS) {
            with_pool!(self, pool => {
                sqlx::query("UPDATE ingest_keys SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(pool)
                    .await?;
            });
        }
        Ok(IngestKeyCheck::Valid {
            org: OrgId(org),
            id,
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_the_prefix_and_the_last_four() {
        let (secret, hint) = new_secret();
        assert!(secret.starts_with(INGEST_KEY_PREFIX));
        assert_eq!(secret.len(), INGEST_KEY_PREFIX.len() + 64);
        assert!(hint.starts_with(&secret[..INGEST_KEY_PREFIX.len() + 4]));
        assert!(hint.ends_with(&secret[secret.len() - 4..]));
        assert!(!hint.contains(&secret[INGEST_KEY_PREFIX.len() + 4..secret.len() - 4]));
    }
}
